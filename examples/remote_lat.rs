//! palm's `remote_lat`: libzmq's latency measuring side, same command line, same output.
//!
//! ```text
//! remote_lat <connect-to> <message-size> <roundtrip-count>
//! ```
//!
//! Connects a REQ socket, sends a message of `message-size` bytes and waits for it back,
//! `roundtrip-count` times, then prints, as libzmq's `perf/remote_lat.cpp` does:
//!
//! ```text
//! message size: 64 [B]
//! roundtrip count: 100000
//! average latency: 12.345 [us]
//! ```
//!
//! The latency is one way: elapsed time / (2 × round trips).

use std::process::ExitCode;
use std::time::Instant;

use bytes::Bytes;
use palm::{Msg, Socket, SocketType};

#[path = "perf/common.rs"]
mod common;

fn main() -> ExitCode {
    common::main(
        "remote_lat <connect-to> <message-size> <roundtrip-count>",
        false,
        run,
    )
}

fn run(connect_to: &str, size: usize, roundtrips: usize) -> Result<(), String> {
    let mut req = Socket::new(SocketType::Req).map_err(|e| format!("error in zmq_socket: {e}"))?;
    req.connect(connect_to)
        .map_err(|e| format!("error in zmq_connect: {e}"))?;
    let body = Bytes::from(vec![0u8; size]);
    let start = Instant::now();
    for _ in 0..roundtrips {
        req.send_timeout(Msg::from(body.clone()), None)
            .map_err(|e| format!("error in zmq_sendmsg: {e}"))?;
        let reply = req
            .recv_timeout(None)
            .map_err(|e| format!("error in zmq_recvmsg: {e}"))?;
        if reply.size() != size {
            return Err("message of incorrect size received".into());
        }
    }
    let elapsed_us = start.elapsed().as_secs_f64() * 1e6;
    let latency = elapsed_us / (roundtrips.max(1) as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}
