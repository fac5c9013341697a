//! The baseline for `local_thr`/`remote_thr`: the same payload bytes over a bare TCP stream,
//! with no framing, no messages and no event loop.
//!
//! ```text
//! bare_tcp_thr local <bind-to> <message-size> <message-count>
//! bare_tcp_thr remote <connect-to> <message-size> <message-count>
//! ```
//!
//! Endpoints are `tcp://host:port` (or plain `host:port`). `remote` writes
//! `message-size × message-count` bytes in large writes and closes; `local` reads them all,
//! starting the clock at the first byte (as `local_thr` starts it at the first message), and
//! prints `local_thr`'s four lines, counting a "message" per `message-size` bytes, so the
//! figures compare line for line.

use std::io::{self, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::{Duration, Instant};

/// Bytes per `write` and per `read`.
const CHUNK: usize = 256 * 1024;

/// How long `remote` keeps retrying a refused connect (the receiver may start late).
const CONNECT_PATIENCE: Duration = Duration::from_secs(10);

// Only `atoi` is needed here; the shared `main` takes a libzmq-style endpoint.
#[allow(dead_code)]
#[path = "perf/common.rs"]
mod common;

use common::atoi;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 || !matches!(args[1].as_str(), "local" | "remote") {
        println!("usage: bare_tcp_thr (local|remote) <endpoint> <message-size> <message-count>");
        return ExitCode::from(1);
    }
    let addr = args[2]
        .trim_start_matches("tcp://")
        .replacen('*', "0.0.0.0", 1);
    let (size, count) = (atoi(&args[3]), atoi(&args[4]));
    let total = size.saturating_mul(count);
    let result = match args[1].as_str() {
        "local" => local(&addr, total).map(|elapsed| report(size, count, elapsed)),
        _ => remote(&addr, total),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("error: {e}");
            ExitCode::from(255)
        }
    }
}

/// Receives `total` bytes; returns the microseconds from the first byte to the last.
fn local(addr: &str, total: usize) -> io::Result<u64> {
    let listener = TcpListener::bind(addr)?;
    let (mut stream, _) = listener.accept()?;
    let mut buf = vec![0u8; CHUNK];
    let mut got = stream.read(&mut buf)?;
    let start = Instant::now();
    while got < total {
        match stream.read(&mut buf)? {
            0 => return Err(io::ErrorKind::UnexpectedEof.into()),
            n => got += n,
        }
    }
    Ok((start.elapsed().as_micros() as u64).max(1))
}

fn remote(addr: &str, total: usize) -> io::Result<()> {
    let mut stream = connect(addr)?;
    stream.set_nodelay(true)?;
    let buf = vec![0u8; CHUNK];
    let mut left = total;
    while left > 0 {
        let n = left.min(CHUNK);
        stream.write_all(&buf[..n])?;
        left -= n;
    }
    stream.shutdown(std::net::Shutdown::Write)?;
    // Wait for the receiver to close, so that every byte was taken before exiting.
    let _ = stream.read(&mut [0u8; 1]);
    Ok(())
}

fn connect(addr: &str) -> io::Result<TcpStream> {
    let deadline = Instant::now() + CONNECT_PATIENCE;
    loop {
        match TcpStream::connect(addr) {
            Err(e) if e.kind() == io::ErrorKind::ConnectionRefused && Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(20));
            }
            other => return other,
        }
    }
}

/// Prints `local_thr`'s lines with its arithmetic.
fn report(size: usize, count: usize, elapsed_us: u64) {
    let throughput = count as f64 / elapsed_us as f64 * 1_000_000.0;
    let megabits = throughput * size as f64 * 8.0 / 1_000_000.0;
    println!("message size: {size} [B]");
    println!("message count: {count}");
    println!("mean throughput: {} [msg/s]", throughput as i32);
    println!("mean throughput: {megabits:.3} [Mb/s]");
}
