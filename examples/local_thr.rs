//! palm's `local_thr`: libzmq's throughput receiver, same command line, same output.
//!
//! ```text
//! local_thr <bind-to> <message-size> <message-count>
//! ```
//!
//! Binds a PULL socket, waits for the first message, then times the remaining
//! `message-count - 1` (the clock starts at the first message, as in libzmq's
//! `perf/local_thr.cpp`) and prints:
//!
//! ```text
//! message size: 8 [B]
//! message count: 1000000
//! mean throughput: 2500000 [msg/s]
//! mean throughput: 160.000 [Mb/s]
//! ```
//!
//! Pairs with libzmq's `remote_thr` or palm's (`examples/remote_thr.rs`).

use std::process::ExitCode;
use std::time::Instant;

use palm::{Msg, Socket, SocketType};

#[path = "perf/common.rs"]
mod common;

fn main() -> ExitCode {
    common::main(
        "local_thr <bind-to> <message-size> <message-count> [<enable_curve>]",
        true,
        run,
    )
}

fn run(bind_to: &str, size: usize, count: usize) -> Result<(), String> {
    let mut pull = Socket::new(SocketType::Pull).map_err(|e| format!("error in socket: {e}"))?;
    pull.bind(bind_to)
        .map_err(|e| format!("error in bind: {e}"))?;
    // One message reused for every receive, as libzmq's tool reuses its zmq_msg_t.
    let mut msg = Msg::new();
    receive_one(&mut pull, &mut msg, size)?;
    let start = Instant::now();
    for _ in 1..count {
        receive_one(&mut pull, &mut msg, size)?;
    }
    let elapsed = (start.elapsed().as_micros() as u64).max(1);
    // The same arithmetic and truncations as libzmq's tool, so outputs compare directly.
    let throughput = count as f64 / elapsed as f64 * 1_000_000.0;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as i32);
    println!("mean throughput: {megabits:.3} [Mb/s]");
    Ok(())
}

fn receive_one(pull: &mut Socket, msg: &mut Msg, size: usize) -> Result<(), String> {
    pull.recv_timeout_into(msg, None)
        .map_err(|e| format!("error in recv: {e}"))?;
    if msg.size() != size || msg.len() != 1 {
        return Err("message of incorrect size received".into());
    }
    Ok(())
}
