//! One HTTP/1.1 server connection as a sans-IO state machine (RFC 9112 §9).
//!
//! The reactor moves bytes and time in and out; [`Connection`] decides everything else:
//! which requests to hand to the handler and when to stop reading, the order of responses
//! (pipelining: always request order, whatever order the handler answers in), `100 Continue`,
//! keep-alive and close, and every deadline as an [`Instant`] value.
//!
//! Buffers: the read buffer is allocated on the first read and reused while the connection is
//! busy, so a warm keep-alive connection allocates nothing per request. Once the connection
//! has been idle for [`Limits::buffer_linger`], [`Connection::on_timeout`] releases all its
//! buffers, so an idle keep-alive connection holds only this struct.

use super::Limits;
use super::date::HttpDate;
use super::decoder::Decoder;
use super::request::{Request, RequestId, Version};
use super::response::{CONTINUE, HeadEncoding, Response};
use crate::readbuf;
use bytes::{Buf, Bytes, BytesMut};
use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::time::{Duration, Instant};

/// Largest single read offered to the reactor, so zeroing spare capacity stays cheap.
const MAX_READ: usize = 64 * 1024;

/// The deadline that [`Connection::on_timeout`] found expired, after acting on it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Expired {
    /// No complete request head in time (slowloris): 408 queued then close, or closed at
    /// once when nothing was received.
    Header,
    /// A request body stalled: 408 queued, then close.
    Body,
    /// A keep-alive connection stayed idle: closed.
    Idle,
    /// Output made no progress: closed at once.
    Write,
}

/// Which read deadline runs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum ReadTimer {
    Header,
    Body,
    Idle,
}

/// Progress of an `Expect: 100-continue` exchange for the body being read.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Continue {
    No,
    Wanted,
    Sent,
}

/// A request handed to the handler (or refused), in request order, awaiting its response.
#[derive(Debug)]
struct Slot {
    id: u64,
    head_request: bool,
    close: bool,
    keep_alive_header: bool,
    response: Option<Response>,
}

/// A sans-IO HTTP/1.1 server connection: bytes and `now` in, requests and output out.
#[derive(Debug)]
pub struct Connection {
    decoder: Decoder,
    read: BytesMut,
    /// Initialized bytes right after `read`'s data that the last read did not fill.
    read_spare: BytesMut,
    next_id: u64,
    slots: VecDeque<Slot>,
    out: VecDeque<Bytes>,
    out_head: BytesMut,
    expect: Continue,
    /// No more requests are read; close once every slot is answered and written.
    closing: bool,
    closed: bool,
    read_deadline: Option<(Instant, ReadTimer)>,
    write_deadline: Option<Instant>,
    linger_deadline: Option<Instant>,
}

impl Connection {
    /// A connection accepted at `now`; the header deadline runs from here.
    pub fn new(limits: Limits, now: Instant) -> Self {
        let read_deadline = after(now, limits.header_timeout).map(|t| (t, ReadTimer::Header));
        Connection {
            decoder: Decoder::new(limits),
            read: BytesMut::new(),
            read_spare: BytesMut::new(),
            next_id: 0,
            slots: VecDeque::new(),
            out: VecDeque::new(),
            out_head: BytesMut::new(),
            expect: Continue::No,
            closing: false,
            closed: false,
            read_deadline,
            write_deadline: None,
            linger_deadline: None,
        }
    }

    /// The limits this connection enforces.
    pub fn limits(&self) -> &Limits {
        self.decoder.limits()
    }

    /// Reads through `read`, which gets spare space in the read buffer and returns how much it
    /// filled (e.g. `|buf| stream.read(buf)`). `Ok(0)` is the peer's end of stream.
    /// Returns `read`'s result; bytes read after the connection stopped reading are dropped.
    /// Call it only while [`wants_read`](Self::wants_read); otherwise it may refuse with
    /// `WouldBlock` without calling `read`.
    pub fn read_from<F>(&mut self, now: Instant, read: F) -> io::Result<usize>
    where
        F: FnOnce(&mut [u8]) -> io::Result<usize>,
    {
        if !self.closing && !self.wants_read() && self.read.len() >= self.limits().max_head {
            return Err(io::ErrorKind::WouldBlock.into()); // bound memory if called regardless
        }
        let start = self.read.len();
        readbuf::reclaim_spare(&mut self.read, &mut self.read_spare);
        let want = self.read_size(start);
        readbuf::fill_to(&mut self.read, start + want);
        let result = read(self.read.get_mut(start..start + want).unwrap_or_default());
        let count = result.as_ref().map_or(0, |&n| n.min(want));
        readbuf::keep_spare(&mut self.read, &mut self.read_spare, start + count);
        match result {
            Ok(0) => self.handle_eof(now),
            Ok(_) => self.handle_bytes(now),
            Err(_) => {}
        }
        result.map(|_| count)
    }

    /// Appends bytes already read (a copy); for tests, fuzzing and callers with their own
    /// buffers. Empty `data` does nothing.
    pub fn feed(&mut self, data: &[u8], now: Instant) {
        if data.is_empty() || self.closed {
            return;
        }
        self.read.extend_from_slice(data);
        self.handle_bytes(now);
    }

    /// The peer closed its sending side: read nothing more, answer what is in flight, close.
    pub fn handle_eof(&mut self, now: Instant) {
        log::trace!("http: peer finished sending");
        self.stop_reading();
        self.check_closed();
        self.update_read_deadline(now);
    }

    /// The spare room when there is a fair amount of it, else a full chunk. Asking for a full
    /// chunk on top of a few buffered bytes would double the buffer on the read that only
    /// finds `WouldBlock`: 8 KiB per connection instead of 4.
    fn read_size(&self, buffered: usize) -> usize {
        let chunk = self.limits().read_chunk.max(1);
        let spare = self.read.capacity().saturating_sub(buffered);
        let want = if spare >= chunk / 2 { spare } else { chunk };
        want.min(MAX_READ.max(chunk))
    }

    fn handle_bytes(&mut self, now: Instant) {
        self.linger_deadline = None;
        if self.closing {
            self.read.clear();
            return;
        }
        if self.expect == Continue::Wanted {
            self.expect = Continue::No; // the client sends the body without waiting
        }
        if self.decoder.in_body() {
            self.read_deadline = None; // progress restarts the body deadline
        }
        self.update_read_deadline(now);
    }

    /// The next complete request, if one is buffered and another may be outstanding.
    ///
    /// Call it until `None` after every read, response and write. A malformed request is
    /// answered here with its error status (the connection then closes) and never returned.
    pub fn poll_request(&mut self, now: Instant) -> Option<Request> {
        if self.closing || self.slots.len() >= self.limits().max_pipelined.max(1) {
            return None;
        }
        let was_in_body = self.decoder.in_body();
        match self.decoder.decode(&mut self.read) {
            Ok(Some(request)) => Some(self.accept(request, now)),
            Ok(None) => {
                self.body_pending(was_in_body, now);
                None
            }
            Err(error) => {
                log::debug!("http: refusing request: {error}");
                self.refuse(Response::error(error));
                None
            }
        }
    }

    fn accept(&mut self, mut request: Request, now: Instant) -> Request {
        let id = self.take_id();
        request.id = RequestId(id);
        let close = !request.keep_alive();
        self.slots.push_back(Slot {
            id,
            head_request: request.method() == "HEAD",
            close,
            keep_alive_header: !close && request.version() == Version::Http10,
            response: None,
        });
        self.expect = Continue::No;
        if close {
            self.stop_reading();
        }
        self.update_read_deadline(now);
        log::trace!("http: request {id} decoded");
        request
    }

    /// A head whose body is still arriving: maybe ask for the body with `100 Continue`.
    // TODO: let the handler see a head before its body, so it can refuse an upload (e.g. 401)
    // without a 100 Continue; today every head within the limits gets its body read.
    fn body_pending(&mut self, was_in_body: bool, now: Instant) {
        if !self.decoder.in_body() {
            return;
        }
        if !was_in_body {
            self.read_deadline = None;
            let expects = self
                .decoder
                .pending_head()
                .is_some_and(Request::expects_continue);
            if expects && self.decoder.body_not_started(&self.read) {
                self.expect = Continue::Wanted;
            }
        }
        self.update_read_deadline(now);
    }

    /// Queues `response` as the answer to request `id`. It is sent once every earlier
    /// request's response has been. Returns false for an unknown or already answered id
    /// (e.g. the connection closed meanwhile).
    pub fn respond(&mut self, id: RequestId, response: Response) -> bool {
        let Some(front) = self.slots.front() else {
            return false;
        };
        let index =
            id.0.checked_sub(front.id)
                .and_then(|i| usize::try_from(i).ok());
        match index.and_then(|i| self.slots.get_mut(i)) {
            Some(slot) if slot.id == id.0 && slot.response.is_none() => {
                slot.response = Some(response);
                true
            }
            _ => false,
        }
    }

    /// Encodes the responses that are next in request order (and a due `100 Continue`) into
    /// the output queue. Returns whether output is waiting to be written.
    pub fn poll_output(&mut self, now: Instant, date: &HttpDate) -> bool {
        if self.closed {
            return false;
        }
        let had_output = !self.out.is_empty();
        while self
            .slots
            .front()
            .is_some_and(|slot| slot.response.is_some())
        {
            let Some(slot) = self.slots.pop_front() else {
                break;
            };
            self.encode(slot, date);
        }
        if self.expect == Continue::Wanted && self.slots.is_empty() && !self.closing {
            self.out.push_back(Bytes::from_static(CONTINUE));
            self.expect = Continue::Sent;
        }
        if !had_output && !self.out.is_empty() {
            self.write_deadline = after(now, self.limits().write_timeout);
        }
        self.check_closed();
        self.update_read_deadline(now);
        !self.out.is_empty()
    }

    fn encode(&mut self, slot: Slot, date: &HttpDate) {
        let Some(response) = slot.response else {
            return;
        };
        let close = slot.close || response.closes() || (self.closing && self.slots.is_empty());
        let keep_alive_header = slot.keep_alive_header && !close;
        let encoding = HeadEncoding {
            close,
            keep_alive_header,
        };
        response.encode_head(encoding, date, &mut self.out_head);
        self.out.push_back(self.out_head.split().freeze());
        if let Some(body) = response.into_body_to_send(slot.head_request) {
            self.out.push_back(body);
        }
        log::trace!("http: response {} queued", slot.id);
        if close {
            self.stop_reading();
            self.slots.clear();
        }
    }

    /// Fills `dst` with the queued output, in order, for one vectored write; returns how many
    /// entries were filled.
    pub fn io_slices<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        let mut filled = 0;
        for (slice, bytes) in dst.iter_mut().zip(&self.out) {
            *slice = IoSlice::new(bytes);
            filled += 1;
        }
        filled
    }

    /// The queued output, in order.
    pub fn output(&self) -> impl Iterator<Item = &[u8]> {
        self.out.iter().map(|bytes| &bytes[..])
    }

    /// Bytes of output queued.
    pub fn pending_output(&self) -> usize {
        self.out.iter().map(Bytes::len).sum()
    }

    /// Drops the first `written` bytes of output, after a (possibly partial) write.
    pub fn consumed(&mut self, written: usize, now: Instant) {
        let mut left = written;
        while let Some(front) = self.out.front_mut() {
            if left < front.len() {
                front.advance(left);
                break;
            }
            left -= front.len();
            self.out.pop_front();
        }
        if written > 0 {
            let more = !self.out.is_empty();
            self.write_deadline = more
                .then(|| after(now, self.limits().write_timeout))
                .flatten();
        }
        self.check_closed();
        self.update_read_deadline(now);
    }

    /// Whether the reactor should read: open, and fewer than
    /// [`Limits::max_pipelined`] requests outstanding (so memory stays bounded).
    pub fn wants_read(&self) -> bool {
        !self.closing && self.slots.len() < self.limits().max_pipelined.max(1)
    }

    /// Whether [`poll_output`](Self::poll_output) has or would produce bytes to write.
    pub fn wants_write(&self) -> bool {
        let ready = self
            .slots
            .front()
            .is_some_and(|slot| slot.response.is_some());
        let interim = self.expect == Continue::Wanted && self.slots.is_empty() && !self.closing;
        !self.closed && (!self.out.is_empty() || ready || interim)
    }

    /// Whether the connection is finished: the reactor closes the socket and drops it.
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Requests handed out or refused whose responses are not yet encoded.
    pub fn in_flight(&self) -> usize {
        self.slots.len()
    }

    /// Bytes received and not yet decoded into a request.
    pub fn buffered(&self) -> usize {
        self.read.len()
    }

    /// The earliest deadline, for the reactor's timer.
    pub fn next_deadline(&self) -> Option<Instant> {
        let read = self.read_deadline.map(|(at, _)| at);
        [read, self.write_deadline, self.linger_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Acts on the deadlines that passed by `now`: releases idle buffers, closes, or queues a
    /// 408 and closes after it. Returns what expired, if anything did.
    pub fn on_timeout(&mut self, now: Instant) -> Option<Expired> {
        if self.closed {
            return None;
        }
        if self.write_deadline.is_some_and(|at| at <= now) {
            self.close_now();
            return Some(Expired::Write);
        }
        if self.linger_deadline.is_some_and(|at| at <= now) {
            self.release_buffers();
        }
        let (at, timer) = self.read_deadline?;
        if at > now {
            return None;
        }
        self.read_deadline = None;
        Some(self.read_expired(timer))
    }

    fn read_expired(&mut self, timer: ReadTimer) -> Expired {
        log::debug!("http: read deadline passed ({timer:?})");
        match timer {
            ReadTimer::Idle => {
                self.close_now();
                Expired::Idle
            }
            ReadTimer::Header if self.read.is_empty() => {
                self.close_now();
                Expired::Header
            }
            ReadTimer::Header | ReadTimer::Body => {
                self.refuse(Response::new(408).close());
                if timer == ReadTimer::Body {
                    Expired::Body
                } else {
                    Expired::Header
                }
            }
        }
    }

    /// Graceful shutdown: take no new request, drop a partly received one, answer those in
    /// flight, then close. An idle connection closes at once.
    pub fn shutdown(&mut self, now: Instant) {
        self.stop_reading();
        self.check_closed();
        self.update_read_deadline(now);
    }

    /// Answers with `response` after everything in flight, then closes.
    fn refuse(&mut self, response: Response) {
        self.stop_reading();
        let id = self.take_id();
        let slot = Slot {
            id,
            head_request: false,
            close: true,
            keep_alive_header: false,
            response: None,
        };
        self.slots.push_back(Slot {
            response: Some(response),
            ..slot
        });
    }

    fn stop_reading(&mut self) {
        self.closing = true;
        self.read.clear();
        self.decoder.reset();
        self.expect = Continue::No;
        self.read_deadline = None;
    }

    fn check_closed(&mut self) {
        if self.closing && self.slots.is_empty() && self.out.is_empty() {
            self.close_now();
        }
    }

    fn close_now(&mut self) {
        if !self.closed {
            log::debug!("http: connection done");
        }
        self.closing = true;
        self.closed = true;
        self.slots.clear();
        self.out.clear();
        self.read_deadline = None;
        self.write_deadline = None;
        self.linger_deadline = None;
        self.release_buffers();
    }

    fn release_buffers(&mut self) {
        log::trace!("http: releasing idle buffers");
        if self.read.is_empty() {
            self.read = BytesMut::new();
        }
        self.read_spare = BytesMut::new();
        if self.out.is_empty() {
            self.out = VecDeque::new();
        }
        if self.slots.is_empty() {
            self.slots = VecDeque::new();
        }
        self.out_head = BytesMut::new();
        self.linger_deadline = None;
    }

    fn take_id(&mut self) -> u64 {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        id
    }

    fn is_idle(&self) -> bool {
        let nothing_buffered = self.read.is_empty() && !self.decoder.in_body();
        !self.closing && self.slots.is_empty() && self.out.is_empty() && nothing_buffered
    }

    /// Which read deadline applies now, keeping a running one of the same kind.
    fn update_read_deadline(&mut self, now: Instant) {
        let timer = if self.closing || self.expect == Continue::Wanted {
            None // nothing to read, or the client waits for our 100 Continue
        } else if self.decoder.in_body() {
            Some(ReadTimer::Body)
        } else if !self.read.is_empty() && self.slots.is_empty() {
            Some(ReadTimer::Header)
        } else if self.is_idle() {
            Some(ReadTimer::Idle)
        } else {
            None
        };
        self.read_deadline = match (timer, self.read_deadline) {
            (None, _) => None,
            (Some(ReadTimer::Idle), Some((at, ReadTimer::Header))) => Some((at, ReadTimer::Header)),
            (Some(timer), Some((at, running))) if running == timer => Some((at, timer)),
            (Some(timer), _) => after(now, self.timeout(timer)).map(|at| (at, timer)),
        };
        self.update_linger(now);
    }

    fn update_linger(&mut self, now: Instant) {
        if !self.is_idle() {
            self.linger_deadline = None;
        } else if self.linger_deadline.is_none() {
            self.linger_deadline = after(now, self.limits().buffer_linger);
        }
    }

    fn timeout(&self, timer: ReadTimer) -> Duration {
        let limits = self.limits();
        match timer {
            ReadTimer::Header => limits.header_timeout,
            ReadTimer::Body => limits.body_timeout,
            ReadTimer::Idle => limits.keep_alive_timeout,
        }
    }
}

fn after(now: Instant, timeout: Duration) -> Option<Instant> {
    now.checked_add(timeout)
}
