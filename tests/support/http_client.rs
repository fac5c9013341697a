//! Helpers shared by the HTTP server tests: a palm server on a loop thread of its own, and a
//! raw client that reads its responses off the wire.
//!
//! Include it with `#[path = "support/http_client.rs"] mod http_client;`. Each test binary
//! uses a different subset, hence the `dead_code` allowance.

#![allow(dead_code)]

use std::io::{self, BufRead};
use std::net::TcpStream;
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;

use palm::http::Limits;
use palm::{Handle, Handler, HttpServerId, Reactor};

/// How long a client waits for any answer before the test fails.
pub const PATIENCE: Duration = Duration::from_secs(20);

/// A palm HTTP server on a loop thread; stopped and joined on drop.
pub struct ServerThread {
    /// Where the server listens, as `host:port`.
    pub addr: String,
    handle: Handle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl ServerThread {
    /// Binds a server with `limits` to a free loopback port on a new loop thread and runs it
    /// with the handler that `handler` makes for it.
    pub fn start<H: Handler>(
        limits: Limits,
        handler: impl FnOnce(HttpServerId) -> H + Send + 'static,
    ) -> ServerThread {
        let (tx, rx) = mpsc::channel();
        let thread = thread::spawn(move || {
            let mut reactor = Reactor::new()?;
            let (server, addr) = reactor.http_bind("127.0.0.1:0", limits)?;
            let _ = tx.send((addr, reactor.handle()));
            reactor.run(&mut handler(server))
        });
        let (addr, handle) = rx.recv().expect("the server thread binds");
        ServerThread {
            addr,
            handle,
            thread: Some(thread),
        }
    }
}

impl Drop for ServerThread {
    fn drop(&mut self) {
        self.handle.stop();
        if let Some(thread) = self.thread.take() {
            let result = thread.join().expect("the server thread does not panic");
            if !thread::panicking() {
                result.expect("the loop ends cleanly");
            }
        }
    }
}

/// A connection to `addr` whose reads give up after [`PATIENCE`].
pub fn connect(addr: &str) -> TcpStream {
    let stream = TcpStream::connect(addr).expect("connect");
    stream.set_read_timeout(Some(PATIENCE)).expect("timeout");
    stream
}

/// One response as the client saw it.
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Reply {
    /// The value of the first header field called `name` (in any case).
    pub fn header(&self, name: &str) -> Option<&str> {
        let mut found = self
            .headers
            .iter()
            .filter(|(n, _)| n.eq_ignore_ascii_case(name));
        found.next().map(|(_, v)| v.as_str())
    }

    /// The body as text, invalid UTF-8 replaced.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    /// True when the response says `Connection: close`.
    pub fn closes(&self) -> bool {
        self.header("connection")
            .is_some_and(|v| v.eq_ignore_ascii_case("close"))
    }
}

/// Reads one response: its head, then a body as long as its Content-Length (none: empty).
pub fn read_reply(reader: &mut impl BufRead) -> io::Result<Reply> {
    let mut reply = read_head(reader)?;
    let length = match reply.header("content-length") {
        Some(length) => length.parse().map_err(|_| io::ErrorKind::InvalidData)?,
        None => 0,
    };
    reply.body = read_body(reader, length)?;
    Ok(reply)
}

/// Reads a response's status line and header fields; the body, if any, is left unread.
pub fn read_head(reader: &mut impl BufRead) -> io::Result<Reply> {
    let mut line = String::new();
    if reader.read_line(&mut line)? == 0 {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    let status = parse_status(&line)?;
    let mut headers = Vec::new();
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        let field = line.trim_end_matches(['\r', '\n']);
        if field.is_empty() {
            break;
        }
        let (name, value) = field.split_once(':').ok_or(io::ErrorKind::InvalidData)?;
        headers.push((name.to_string(), value.trim().to_string()));
    }
    Ok(Reply {
        status,
        headers,
        body: Vec::new(),
    })
}

/// Reads a body of exactly `length` bytes.
pub fn read_body(reader: &mut impl BufRead, length: usize) -> io::Result<Vec<u8>> {
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    Ok(body)
}

/// The status code of an `HTTP/1.x` status line.
fn parse_status(line: &str) -> io::Result<u16> {
    let mut parts = line.splitn(3, ' ');
    let version = parts.next().unwrap_or_default();
    if !version.starts_with("HTTP/1.") {
        return Err(io::Error::new(io::ErrorKind::InvalidData, line.to_string()));
    }
    let status = parts.next().and_then(|s| s.parse().ok());
    status.ok_or_else(|| io::Error::new(io::ErrorKind::InvalidData, line.to_string()))
}
