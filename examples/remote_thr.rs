//! palm's `remote_thr`: libzmq's throughput sender, same command line.
//!
//! ```text
//! remote_thr <connect-to> <message-size> <message-count>
//! ```
//!
//! Connects a PUSH socket and sends `message-count` messages of `message-size` zero bytes,
//! then closes, waiting until everything is written (libzmq's default infinite linger). Like
//! libzmq's `perf/remote_thr.cpp` it prints nothing.
//!
//! Messages are queued with [`palm::Socket::enqueue`], so the loop writes them in batches
//! (many messages per `writev`), the way libzmq's I/O thread batches behind its pipe. Every
//! message shares one static body buffer (palm's frames are `Bytes`), where libzmq's tool
//! allocates each; the bytes on the wire are the same.

use std::process::ExitCode;
use std::time::Duration;

use bytes::Bytes;
use palm::socket::Error;
use palm::{Msg, Options, SendError, Socket, SocketType};

#[path = "perf/common.rs"]
mod common;

fn main() -> ExitCode {
    common::main(
        "remote_thr <connect-to> <message-size> <message-count> [<enable_curve>]",
        true,
        run,
    )
}

fn run(connect_to: &str, size: usize, count: usize) -> Result<(), String> {
    let mut options = Options::default();
    options.linger = None;
    let mut push = Socket::with_options(SocketType::Push, options)
        .map_err(|e| format!("error in socket: {e}"))?;
    push.connect(connect_to)
        .map_err(|e| format!("error in connect: {e}"))?;
    // Leaked once, so cloning it per message is a plain copy with no reference count.
    let body = Bytes::from_static(vec![0u8; size].leak());
    for _ in 0..count {
        let msg = Msg::from(body.clone());
        match push.enqueue(msg) {
            Ok(()) => {}
            // Every queue is full: drive the loop until the peer takes some.
            Err(SendError {
                error: Error::WouldBlock,
                msg,
            }) => push
                .send_timeout(msg, None)
                .map_err(|e| format!("error in send: {e}"))?,
            Err(e) => return Err(format!("error in send: {e}")),
        }
    }
    // A message queued before the connection came up is not yet "pending output" for the
    // linger below: wait until the connecting pipe (the socket's only one) has handed all.
    let id = push.id();
    while push
        .reactor()
        .core(id)
        .and_then(|core| core.pipe(0))
        .is_some_and(|pipe| pipe.queued_out() > 0)
    {
        push.reactor()
            .turn(Some(Duration::from_millis(100)))
            .map_err(|e| format!("error in poll: {e}"))?;
    }
    // Dropping the socket lingers until everything queued is written.
    drop(push);
    Ok(())
}
