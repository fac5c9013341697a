//! palm's `local_lat`: libzmq's latency echo side, same command line, same behaviour.
//!
//! ```text
//! local_lat <bind-to> <message-size> <roundtrip-count>
//! ```
//!
//! Binds a REP socket and sends every request back, `roundtrip-count` times, checking each
//! message's size; prints nothing unless something goes wrong (as libzmq's). Pairs with
//! libzmq's `remote_lat` or palm's (`examples/remote_lat.rs`).

use std::process::ExitCode;
use std::time::Duration;

use palm::{Socket, SocketType};

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 4 {
        println!("usage: local_lat <bind-to> <message-size> <roundtrip-count>");
        return ExitCode::from(1);
    }
    match run(&args[1], atoi(&args[2]), atoi(&args[3])) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{e}");
            ExitCode::from(255)
        }
    }
}

fn run(bind_to: &str, size: usize, roundtrips: usize) -> Result<(), String> {
    let mut rep = Socket::new(SocketType::Rep).map_err(|e| format!("error in zmq_socket: {e}"))?;
    rep.bind(bind_to)
        .map_err(|e| format!("error in zmq_bind: {e}"))?;
    for _ in 0..roundtrips {
        let msg = rep
            .recv_timeout(None)
            .map_err(|e| format!("error in zmq_recvmsg: {e}"))?;
        if msg.size() != size {
            return Err("message of incorrect size received".into());
        }
        rep.send(msg)
            .map_err(|e| format!("error in zmq_sendmsg: {e}"))?;
    }
    // As libzmq's: give the last reply a second to leave before closing.
    let _ = rep.recv_timeout(Some(Duration::from_secs(1)));
    Ok(())
}

/// C's `atoi`: leading digits, 0 when there are none.
fn atoi(s: &str) -> usize {
    let digits = s.trim_start().bytes().take_while(u8::is_ascii_digit);
    digits.fold(0usize, |n, d| {
        n.saturating_mul(10).saturating_add(usize::from(d - b'0'))
    })
}
