//! HTTP/1.1 connections on the loop: accept, read, hand requests to the handler, write
//! answers in request order, deadlines, lingering close and graceful shutdown.
//!
//! The protocol lives in [`crate::http::Connection`]; this file only moves bytes and time.

use std::io::{self, IoSlice, Read, Write};
use std::net::Shutdown;
use std::time::{Duration, Instant};

use log::{debug, trace, warn};
use mio::net::TcpStream;
use mio::{Interest, Token};

use super::timer::TimerKey;
use super::{Entry, Reactor, register};
use crate::http::{Connection, Limits, Request, RequestId, Response};

/// Bytes read from one HTTP connection per readiness event.
const READ_BUDGET: usize = 256 * 1024;
/// How long a closing connection drains unread input so the close is not a reset.
const LINGER: Duration = Duration::from_secs(1);
/// The most iovecs one write hands the kernel.
const MAX_IOVECS: usize = 32;

/// Identifies an HTTP server (one listening address) on a reactor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HttpServerId(pub(super) usize);

/// Identifies one request until it is answered. Stale ids (their connection gone) are
/// refused by [`Reactor::respond`], never answered on another connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct HttpRequestId {
    token: usize,
    serial: u64,
    request: RequestId,
    server: usize,
}

impl HttpRequestId {
    /// An id that names no connection, for unit tests of code that keeps ids.
    #[doc(hidden)]
    pub fn for_tests(n: u64) -> HttpRequestId {
        HttpRequestId {
            token: usize::MAX,
            serial: n,
            request: RequestId(n),
            server: 0,
        }
    }

    /// The server (listening address) the request came to.
    pub fn server(&self) -> HttpServerId {
        HttpServerId(self.server)
    }

    /// The connection's serial number: unique per reactor, for logs and correlation.
    pub fn connection(&self) -> u64 {
        self.serial
    }
}

/// One listening HTTP address.
#[derive(Debug)]
pub(super) struct HttpServer {
    limits: Limits,
    listener: Option<usize>,
    draining: bool,
}

/// One HTTP connection.
#[derive(Debug)]
pub(super) struct HttpConn {
    pub(super) stream: TcpStream,
    server: usize,
    serial: u64,
    conn: Connection,
    writable: bool,
    /// Listed in `Reactor::http_dirty`.
    dirty: bool,
    /// Reading stopped because the connection would take no more (pipelining bound).
    stalled: bool,
    /// Set once the write side is shut: drain input until EOF or this instant.
    closing: Option<Instant>,
    wake_at: Option<Instant>,
}

impl Reactor {
    /// Listens for HTTP/1.1 on `addr` (`host:port`, port 0 for a free one) and returns the
    /// server id and the address bound. Requests reach [`super::Handler::on_request`].
    pub fn http_bind(&mut self, addr: &str, limits: Limits) -> io::Result<(HttpServerId, String)> {
        let addr = super::endpoint::resolve_bind(&format!("tcp://{addr}"))?;
        let mut listener = super::endpoint::listen(addr, limits.backlog)?;
        let local = listener.local_addr()?.to_string();
        let server = self.http_servers.insert(HttpServer {
            limits,
            listener: None,
            draining: false,
        });
        let token = self.entries.vacant_key();
        self.poll
            .registry()
            .register(&mut listener, Token(token), Interest::READABLE)?;
        self.entries
            .insert(Entry::HttpListener { listener, server });
        self.http_servers[server].listener = Some(token);
        debug!("http listening on {local}");
        Ok((HttpServerId(server), local))
    }

    /// Answers a request. Returns false when the id is stale (the connection closed) or was
    /// answered already. The answer is written when the loop turns, in request order.
    pub fn respond(&mut self, id: HttpRequestId, response: Response) -> bool {
        let Some(Entry::Http(conn)) = self.entries.get_mut(id.token) else {
            return false;
        };
        if conn.serial != id.serial || !conn.conn.respond(id.request, response) {
            return false;
        }
        if !conn.dirty {
            conn.dirty = true;
            self.http_dirty.push(id.token);
        }
        true
    }

    /// Stops accepting on a server, lets in-flight requests finish and closes idle
    /// connections.
    pub fn http_shutdown(&mut self, server: HttpServerId) {
        let Some(state) = self.http_servers.get_mut(server.0) else {
            return;
        };
        state.draining = true;
        if let Some(token) = state.listener.take() {
            self.close_entry(token);
        }
        let now = Instant::now();
        let tokens: Vec<usize> = self.http_conns_of(server.0);
        for token in tokens {
            if let Some(Entry::Http(conn)) = self.entries.get_mut(token) {
                conn.conn.shutdown(now);
            }
            self.http_write(token);
        }
    }

    /// How many connections a server has open.
    pub fn http_connections(&self, server: HttpServerId) -> usize {
        self.http_conns_of(server.0).len()
    }

    fn http_conns_of(&self, server: usize) -> Vec<usize> {
        let mine = self.entries.iter().filter_map(|(t, e)| match e {
            Entry::Http(c) if c.server == server => Some(t),
            _ => None,
        });
        mine.collect()
    }

    /// Accepts every waiting HTTP connection.
    pub(super) fn http_accept(&mut self, token: usize) {
        loop {
            let Some(Entry::HttpListener { listener, server }) = self.entries.get(token) else {
                return;
            };
            let server = *server;
            match listener.accept() {
                Ok((stream, addr)) => {
                    trace!("http accepted {addr}");
                    self.add_http_conn(stream, server);
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.accept_failed(token, &e),
            }
        }
    }

    fn add_http_conn(&mut self, mut stream: TcpStream, server: usize) {
        let limits = self.http_servers[server].limits.clone();
        let _ = stream.set_nodelay(true);
        let token = self.entries.vacant_key();
        if let Err(e) = register(&self.poll, &mut stream, token) {
            warn!("cannot register an http connection: {e}");
            return;
        }
        self.http_serial += 1;
        let conn = Connection::new(limits, Instant::now());
        let serial = self.http_serial;
        let entry = HttpConn {
            stream,
            server,
            serial,
            conn,
            writable: true,
            dirty: false,
            stalled: false,
            closing: None,
            wake_at: None,
        };
        self.entries.insert(Entry::Http(Box::new(entry)));
        self.http_arm_timer(token);
    }

    /// Handles readiness on an HTTP connection.
    pub(super) fn http_event(
        &mut self,
        token: usize,
        readable: bool,
        writable: bool,
        read_closed: bool,
    ) {
        if writable {
            if let Some(Entry::Http(conn)) = self.entries.get_mut(token) {
                conn.writable = true;
            }
            self.http_write(token);
        }
        if readable {
            self.http_read(token, !read_closed);
        }
    }

    /// Reads within the budget, then queues every complete request for the handler. With
    /// `short_ends` a read that did not fill the room offered ends the pass: the kernel had
    /// nothing more, and edge-triggered readiness fires again on new data, so the read that
    /// would only find `WouldBlock` is saved. Without it (the peer's FIN was seen, or a
    /// resumed read) it reads on to `WouldBlock`, so no input or end of stream is missed.
    pub(super) fn http_read(&mut self, token: usize, short_ends: bool) {
        let now = Instant::now();
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        if conn.closing.is_some() {
            return self.http_drain(token);
        }
        let mut budget = READ_BUDGET;
        conn.stalled = false;
        loop {
            if !conn.conn.wants_read() {
                // The kernel may still hold input, and no new edge will say so: read again
                // once an answer lets the connection take more.
                conn.stalled = !conn.conn.is_closed();
                break;
            }
            if budget == 0 {
                break;
            }
            let stream = &mut conn.stream;
            let mut offered = 0;
            let result = conn.conn.read_from(now, |buf| {
                offered = buf.len();
                stream.read(buf)
            });
            match result {
                Ok(0) => {
                    conn.conn.handle_eof(now);
                    break;
                }
                Ok(n) if short_ends && n < offered => break,
                Ok(n) => budget = budget.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    debug!("http read failed: {e}");
                    return self.http_close(token);
                }
            }
        }
        if budget == 0 {
            self.http_pending_reads.push(token);
        }
        self.http_collect(token, now);
    }

    /// Moves decoded requests to the handler queue and writes whatever is ready.
    fn http_collect(&mut self, token: usize, now: Instant) {
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        while let Some(request) = conn.conn.poll_request(now) {
            let id = HttpRequestId {
                token,
                serial: conn.serial,
                request: request.id(),
                server: conn.server,
            };
            self.http_requests.push_back((id, request));
        }
        self.http_write(token);
    }

    /// Encodes and writes answers in order until done or `WouldBlock`.
    pub(super) fn http_write(&mut self, token: usize) {
        let now = Instant::now();
        self.http_date.refresh(std::time::SystemTime::now());
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        conn.dirty = false;
        if conn.closing.is_some() {
            return;
        }
        while conn.writable && conn.conn.poll_output(now, &self.http_date) {
            let mut iov = [IoSlice::new(&[]); MAX_IOVECS];
            let n = conn.conn.io_slices(&mut iov);
            match conn.stream.write_vectored(&iov[..n]) {
                Ok(written) => conn.conn.consumed(written, now),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => conn.writable = false,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    debug!("http write failed: {e}");
                    return self.http_close(token);
                }
            }
        }
        if conn.conn.is_closed() {
            return self.http_start_close(token, now);
        }
        self.http_arm_timer(token);
    }

    /// Answers pipelined reads that stopped on their budget.
    pub(super) fn http_resume_reads(&mut self) {
        let pending = std::mem::take(&mut self.http_pending_reads);
        for &token in &pending {
            self.http_read(token, false);
        }
    }

    /// Writes every connection that got answers since the last flush.
    pub(super) fn http_flush(&mut self) {
        if self.http_dirty.is_empty() {
            return;
        }
        let now = Instant::now();
        while let Some(token) = self.http_dirty.pop() {
            self.http_write(token);
            // An answer may let a connection that hit its pipelining bound read again.
            self.http_collect(token, now);
            self.http_read_if_unblocked(token);
        }
    }

    fn http_read_if_unblocked(&mut self, token: usize) {
        let Some(Entry::Http(conn)) = self.entries.get(token) else {
            return;
        };
        if conn.stalled && conn.conn.wants_read() {
            self.http_read(token, false);
        }
    }

    /// Fires an HTTP connection's deadlines.
    pub(super) fn http_timeout(&mut self, token: usize, now: Instant) {
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        conn.wake_at = None;
        if let Some(deadline) = conn.closing {
            if deadline <= now {
                return self.http_close(token);
            }
            return self.http_arm_timer(token);
        }
        if let Some(expired) = conn.conn.on_timeout(now) {
            trace!("http deadline passed: {expired:?}");
        }
        self.http_write(token);
    }

    fn http_arm_timer(&mut self, token: usize) {
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        let Some(next) = conn.closing.or_else(|| conn.conn.next_deadline()) else {
            return;
        };
        self.timers
            .arm(&mut conn.wake_at, next, TimerKey::Conn(token));
    }

    /// Shuts the write side and drains input for a while, so unread request bytes do not
    /// turn the close into a reset that would destroy the last answer.
    fn http_start_close(&mut self, token: usize, now: Instant) {
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        let _ = conn.stream.shutdown(Shutdown::Write);
        conn.closing = Some(now + LINGER);
        self.http_arm_timer(token);
        self.http_drain(token);
    }

    /// Discards input within the read budget; a peer that keeps sending cannot hold the loop,
    /// and is dropped once the linger deadline has passed.
    fn http_drain(&mut self, token: usize) {
        let Some(Entry::Http(conn)) = self.entries.get_mut(token) else {
            return;
        };
        if conn
            .closing
            .is_some_and(|deadline| deadline <= Instant::now())
        {
            return self.http_close(token);
        }
        let mut sink = [0u8; 4096];
        let mut budget = READ_BUDGET;
        while budget > 0 {
            match conn.stream.read(&mut sink) {
                Ok(0) => return self.http_close(token),
                Ok(n) => budget = budget.saturating_sub(n),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => return self.http_close(token),
            }
        }
        // More may be waiting, and no new edge will say so: drain again next turn.
        self.http_pending_reads.push(token);
    }

    fn http_close(&mut self, token: usize) {
        trace!("http connection {token} closed");
        self.close_entry(token);
    }

    /// Takes the next request waiting for the handler (plain, handler-less use).
    pub fn next_request(&mut self) -> Option<(HttpRequestId, Request)> {
        self.http_requests.pop_front()
    }
}
