//! `bare_tcp_lat local|remote <host:port> <message-size> <roundtrip-count>`: the floor for
//! `local_lat`/`remote_lat`: the same ping-pong over a plain TCP stream with TCP_NODELAY and
//! no framing. `remote` prints the same three lines as `remote_lat`.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::ExitCode;
use std::time::Instant;

// Only `atoi` is needed here; the shared `main` takes a libzmq-style endpoint.
#[allow(dead_code)]
#[path = "perf/common.rs"]
mod common;

use common::atoi;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() != 5 {
        println!("usage: bare_tcp_lat local|remote <host:port> <message-size> <roundtrip-count>");
        return ExitCode::from(1);
    }
    let (size, roundtrips) = (atoi(&args[3]), atoi(&args[4]));
    let result = match args[1].as_str() {
        "local" => echo(&args[2], size, roundtrips),
        "remote" => ping(&args[2], size, roundtrips),
        _ => Err(std::io::Error::other("first argument: local or remote")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            println!("{e}");
            ExitCode::from(255)
        }
    }
}

fn echo(addr: &str, size: usize, roundtrips: usize) -> std::io::Result<()> {
    let (mut stream, _) = TcpListener::bind(addr)?.accept()?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; size];
    for _ in 0..roundtrips {
        stream.read_exact(&mut buf)?;
        stream.write_all(&buf)?;
    }
    Ok(())
}

fn ping(addr: &str, size: usize, roundtrips: usize) -> std::io::Result<()> {
    let mut stream = TcpStream::connect(addr)?;
    stream.set_nodelay(true)?;
    let mut buf = vec![0u8; size];
    let start = Instant::now();
    for _ in 0..roundtrips {
        stream.write_all(&buf)?;
        stream.read_exact(&mut buf)?;
    }
    let latency = start.elapsed().as_secs_f64() * 1e6 / (roundtrips.max(1) as f64 * 2.0);
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
    println!("average latency: {latency:.3} [us]");
    Ok(())
}
