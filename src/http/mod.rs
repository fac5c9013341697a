//! HTTP/1.1 server side (RFC 9112), sans-IO: bytes and time in, requests and bytes out.
//!
//! This layer decodes request heads (with `httparse`) and bodies (Content-Length and chunked),
//! applies the framing, keep-alive, pipelining and `100 Continue` rules, enforces [`Limits`],
//! tracks deadlines as [`Instant`](std::time::Instant) values, and encodes responses. It never
//! touches a socket or reads a clock: the reactor owns sockets, timers and the wall clock
//! ([`HttpDate`]), and the handler (e.g. the gateway) decides what to answer. Requests are
//! delivered whole, bodies included; a body can be at most [`Limits::max_body`].
//!
//! Malformed requests never reach the handler: [`Connection`] answers them itself with the
//! status of their [`Error`] (400, 413, 414, 417, 431, 501, 505) and closes.
//!
//! # Driving a connection
//!
//! Per socket the reactor keeps one [`Connection`], and per loop turn one [`HttpDate`]:
//!
//! ```
//! use palm::http::{Connection, HttpDate, Limits, Response};
//! use std::io::{IoSlice, Read, Write};
//! use std::time::{Instant, SystemTime};
//!
//! # fn main() -> std::io::Result<()> {
//! let mut socket_in: &[u8] = b"GET /hello?x=1 HTTP/1.1\r\nHost: example\r\n\r\n";
//! let mut socket_out = Vec::new();
//! let mut date = HttpDate::new(SystemTime::now());
//! let now = Instant::now();
//! let mut conn = Connection::new(Limits::default(), now);
//!
//! // 1. Readable: read (until WouldBlock, within a budget) while the connection wants to.
//! if conn.wants_read() {
//!     let n = conn.read_from(now, |buf| socket_in.read(buf))?; // Ok(0): peer closed
//!     assert!(n > 0);
//! }
//! // 2. Hand every complete request to the handler; it may answer later and out of order.
//! while let Some(request) = conn.poll_request(now) {
//!     let body = format!("{} {}", request.method(), request.path());
//!     conn.respond(request.id(), Response::new(200).body(body));
//! }
//! // 3. Write: encode what is next in request order, then vectored writes of head + body.
//! date.refresh(SystemTime::now()); // once per loop turn, shared by all connections
//! while conn.poll_output(now, &date) {
//!     let mut iov = [IoSlice::new(&[]); 32];
//!     let n = conn.io_slices(&mut iov);
//!     let written = socket_out.write_vectored(&iov[..n])?; // WouldBlock: wait for writable
//!     conn.consumed(written, now);
//! }
//! // 4. Interest from wants_read()/wants_write(); a timer at next_deadline() that calls
//! //    on_timeout(now) and then steps 3-4 again; drop the socket once is_closed().
//! assert!(socket_out.starts_with(b"HTTP/1.1 200 OK\r\n"));
//! assert!(socket_out.ends_with(b"\r\n\r\nGET /hello"));
//! assert!(conn.wants_read() && !conn.wants_write() && !conn.is_closed());
//! assert!(conn.next_deadline().is_some());
//! # Ok(())
//! # }
//! ```
//!
//! When a handler answers later (the gateway, once a worker replies), the reactor calls
//! [`Connection::respond`] and then runs steps 2-4 for that connection: a response can unblock
//! reading when [`Limits::max_pipelined`] requests were outstanding. The reactor should call
//! `shutdown(write)` on the socket once [`Connection::is_closed`] and drain briefly before
//! closing, so that unread request bytes do not turn the close into a reset.
//!
//! Memory: a connection allocates its read buffer on the first read and keeps it while busy;
//! after [`Limits::buffer_linger`] of idleness [`Connection::on_timeout`] frees every buffer.
//! Requests are split off the read buffer as `Bytes` (head and body, chunked bodies decoded in
//! place), so a warm keep-alive connection allocates nothing per request as long as the
//! handler drops each request before the next read and answers with `Bytes` it already owns.

mod chunked;
mod conn;
mod date;
mod decoder;
mod error;
mod fuzz;
mod head;
mod request;
mod response;

#[cfg(test)]
mod tests;

pub use chunked::{CHUNK_END, LAST_CHUNK, MAX_TRAILERS_CAP, encode_chunk, encode_chunk_header};
pub use conn::{Connection, Expired};
pub use date::HttpDate;
pub use decoder::Decoder;
pub use error::Error;
#[doc(hidden)]
pub use fuzz::fuzz_request;
pub use head::MAX_HEADERS_CAP;
pub use request::{BodyFraming, Fields, Request, RequestId, Version};
pub use response::{CONTINUE, HeadEncoding, Response, reason};

use std::time::Duration;

/// Bounds on what a peer may send and how long it may take.
#[non_exhaustive]
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Largest request head (request line and header section); over it → 431. 64 KiB.
    pub max_head: usize,
    /// Most header fields in a head (at most [`MAX_HEADERS_CAP`]); over it → 431. 100.
    pub max_headers: usize,
    /// Longest request-target; over it → 414. 8 KiB.
    pub max_target: usize,
    /// Largest decoded body; over it → 413, from Content-Length before reading the body,
    /// or from chunk sizes as they arrive. 16 MiB.
    pub max_body: u64,
    /// Longest chunk extension on one chunk-size line; over it → 400. 1 KiB.
    pub max_chunk_extension: usize,
    /// Largest trailer section of a chunked body; over it → 431. 8 KiB.
    pub max_trailer_size: usize,
    /// Most trailer fields (at most [`MAX_TRAILERS_CAP`]); over it → 431. 32.
    pub max_trailers: usize,
    /// Most requests decoded and not yet answered; at this many the connection stops
    /// reading. 16.
    pub max_pipelined: usize,
    /// Smallest read offered to the reactor. 2 KiB: most requests fit, and larger input grows
    /// the buffer by doubling; this is most of an idle connection's memory while busy.
    pub read_chunk: usize,
    /// Time from the first byte of a head (or from accepting) to its end: slowloris. 10 s.
    pub header_timeout: Duration,
    /// Time a keep-alive connection may stay idle between requests. 60 s.
    pub keep_alive_timeout: Duration,
    /// Time a request body may make no progress. 30 s.
    pub body_timeout: Duration,
    /// Time output may make no progress. 30 s.
    pub write_timeout: Duration,
    /// Idle time after which a connection frees its buffers. 1 s.
    pub buffer_linger: Duration,
    /// Connections the kernel may hold before the loop accepts them (`listen(2)`). 1024, so a
    /// burst of clients is not made to wait a second for a SYN retry. Takes effect with the
    /// `backlog` feature; without it the listener gets mio's 128.
    pub backlog: u32,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_head: 64 * 1024,
            max_headers: 100,
            max_target: 8 * 1024,
            max_body: 16 * 1024 * 1024,
            max_chunk_extension: 1024,
            max_trailer_size: 8 * 1024,
            max_trailers: 32,
            max_pipelined: 16,
            read_chunk: 2 * 1024,
            header_timeout: Duration::from_secs(10),
            keep_alive_timeout: Duration::from_secs(60),
            body_timeout: Duration::from_secs(30),
            write_timeout: Duration::from_secs(30),
            buffer_linger: Duration::from_secs(1),
            backlog: 1024,
        }
    }
}
