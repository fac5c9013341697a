//! `http_conns ADDR [COUNT] [--hold SECS]`: opens COUNT (default 10,000) keep-alive HTTP/1.1
//! connections to ADDR, sends one request on each and reads its answer, then holds them all
//! open for SECS (default 2) so that the server's peak memory can be read. Used by
//! `scripts/bench-http.sh`; the open-files limit must allow COUNT sockets.
//!
//! Each request is sent as soon as its connection is up, and the answers are read once all
//! are open. Opening 10,000 connections can take tens of seconds here: a listener's backlog
//! is 128 (mio's and std's), and a SYN that finds it full is retried by the kernel only after
//! a second. A connection that said nothing for that long would meet the server's header
//! deadline, which is the server doing its job, not what this tool measures.

use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

const REQUEST: &[u8] = b"GET /conns HTTP/1.1\r\nHost: bench\r\n\r\n";

/// Reads one response and returns its status; the body is read by Content-Length.
fn read_status(reader: &mut impl BufRead) -> io::Result<u16> {
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let status = line.split(' ').nth(1).and_then(|s| s.parse().ok());
    let status = status.ok_or(io::ErrorKind::InvalidData)?;
    let mut length = 0u64;
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if line == "\r\n" {
            break;
        }
        let lower = line.to_ascii_lowercase();
        if let Some(value) = lower.strip_prefix("content-length:") {
            length = value
                .trim()
                .parse()
                .map_err(|_| io::ErrorKind::InvalidData)?;
        }
    }
    io::copy(&mut reader.take(length), &mut io::sink())?;
    Ok(status)
}

fn usage() -> ! {
    eprintln!("usage: http_conns ADDR [COUNT] [--hold SECS]");
    std::process::exit(2);
}

fn main() -> io::Result<()> {
    let mut args = std::env::args().skip(1);
    let addr = args.next().unwrap_or_else(|| usage());
    let mut count = 10_000usize;
    let mut hold = Duration::from_secs(2);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--hold" => {
                let secs = args.next().and_then(|s| s.parse().ok());
                hold = Duration::from_secs(secs.unwrap_or_else(|| usage()));
            }
            n => count = n.parse().unwrap_or_else(|_| usage()),
        }
    }
    let started = Instant::now();
    let mut conns = Vec::with_capacity(count);
    for _ in 0..count {
        let mut stream = TcpStream::connect(&addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(30)))?;
        stream.write_all(REQUEST)?;
        conns.push(BufReader::with_capacity(512, stream));
    }
    let connected = started.elapsed();
    let mut ok = 0;
    for conn in &mut conns {
        if read_status(conn)? == 200 {
            ok += 1;
        }
    }
    println!(
        "{ok} of {count} connections answered 200 (connected and sent at {connected:?}, \
         answers read at {:?}); holding them {hold:?}",
        started.elapsed()
    );
    std::thread::sleep(hold);
    if ok == count {
        Ok(())
    } else {
        Err(io::Error::other("not every connection was answered"))
    }
}
