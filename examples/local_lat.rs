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

#[path = "perf/common.rs"]
mod common;

fn main() -> ExitCode {
    common::main(
        "local_lat <bind-to> <message-size> <roundtrip-count>",
        false,
        run,
    )
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
