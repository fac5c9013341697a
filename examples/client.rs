//! `client [URL]`: the seed's client, `GET http://127.0.0.1:8888/function`, printing the body.
//! A plain HTTP/1.1 request over a TCP stream, no HTTP library needed.

use std::io::{Read, Write};
use std::net::TcpStream;

fn main() -> std::io::Result<()> {
    let url = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "http://127.0.0.1:8888/function".into());
    let rest = url.strip_prefix("http://").unwrap_or(&url);
    let (host, path) = rest
        .split_once('/')
        .map_or((rest, "/".to_string()), |(h, p)| (h, format!("/{p}")));
    let mut stream = TcpStream::connect(host)?;
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n"
    )?;
    let mut response = Vec::new();
    stream.read_to_end(&mut response)?;
    let split = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map_or(response.len(), |i| i + 4);
    let status = String::from_utf8_lossy(&response[..split])
        .lines()
        .next()
        .unwrap_or("")
        .to_string();
    std::io::stdout().write_all(&response[split..])?;
    println!();
    if !status.contains(" 200 ") {
        eprintln!("{status}");
        std::process::exit(1);
    }
    Ok(())
}
