//! The HTTP gateway's bookkeeping, without IO.
//!
//! [`Gateway`] turns an HTTP request into a `PalmMessage` for the workers and a worker's
//! reply back into the HTTP answer, matched by the message's `client` field. It keeps the
//! requests in flight, their deadlines (FIFO: every request gets the same timeout, so the
//! oldest expires first), which worker each went to (so a lost worker's requests can be sent
//! once more), and the counters behind `/-/metrics`. The server part that owns it
//! ([`crate::palm::server`]) does the sockets.

use std::collections::VecDeque;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use slab::Slab;

use super::message::{PalmMessage, Utf8Bytes, Uuid4Generator};
use crate::http::{Request, Response};
use crate::reactor::{HttpRequestId, PipeId};

/// Upper bounds of the latency histogram, in seconds.
const BUCKETS: [f64; 12] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0,
];

/// The statuses counted one by one in the metrics; others count as "other".
const STATUSES: [u16; 7] = [200, 400, 404, 500, 502, 503, 504];

/// Where a request path leads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Route<'a> {
    /// A worker function, named as pylm names it (`_.name`, or the segment as is when it has
    /// a dot).
    Function(&'a str),
    /// `/-/health`.
    Health,
    /// `/-/metrics`.
    Metrics,
    /// Nothing: an empty name, or an unknown reserved path.
    NotFound,
}

/// Maps a request path (query string already removed) to a [`Route`]. The reserved paths start
/// with `/-/`, which no Python method name can clash with.
pub fn route(path: &str) -> Route<'_> {
    let segment = path.trim_start_matches('/').split('/').next().unwrap_or("");
    match path {
        "/-/health" => return Route::Health,
        "/-/metrics" => return Route::Metrics,
        _ => {}
    }
    if segment.is_empty() || segment == "-" {
        return Route::NotFound;
    }
    Route::Function(segment)
}

/// One request waiting for a worker's reply.
#[derive(Debug)]
struct Inflight {
    request: HttpRequestId,
    client: [u8; 36],
    started: Instant,
    /// The encoded message, kept for a resend.
    message: Bytes,
    /// The worker it went to, when known.
    pipe: Option<PipeId>,
    resent: bool,
}

/// Request and reply bookkeeping for one gateway.
#[derive(Debug)]
pub struct Gateway {
    inflight: Slab<Inflight>,
    deadlines: VecDeque<(Instant, usize, [u8; 36])>,
    ids: Uuid4Generator,
    timeout: Duration,
    arena: BytesMut,
    metrics: Metrics,
}

/// What the gateway has counted.
#[derive(Debug, Default)]
struct Metrics {
    by_status: [u64; STATUSES.len() + 1],
    buckets: [u64; BUCKETS.len()],
    count: u64,
    sum_seconds: f64,
    resent: u64,
}

/// What to do after a worker was lost.
#[derive(Debug)]
pub enum Recovery {
    /// Send this message once more (to another worker).
    Resend(usize, Bytes),
    /// Answer this request: it was sent twice already.
    Answer(HttpRequestId, Response),
}

impl Gateway {
    /// A gateway whose requests time out (504) after `timeout`.
    pub fn new(timeout: Duration) -> Gateway {
        Gateway {
            inflight: Slab::new(),
            deadlines: VecDeque::new(),
            ids: Uuid4Generator::new(),
            timeout,
            arena: BytesMut::new(),
            metrics: Metrics::default(),
        }
    }

    /// Requests waiting for a worker.
    pub fn in_flight(&self) -> usize {
        self.inflight.len()
    }

    /// Registers a request for `function` and returns its slot and the encoded `PalmMessage`
    /// to push to a worker: the body is the payload (pylm sends `No Payload` when the request
    /// has no body framing at all), `client` names the slot, `pipeline` and `cache` are fresh
    /// uuid4 strings, `stage` is 0.
    pub fn start(
        &mut self,
        id: HttpRequestId,
        request: &Request,
        function: &str,
        now: Instant,
    ) -> (usize, Bytes) {
        let slot = self.inflight.vacant_key();
        let client = self.client_id(slot);
        let payload = match request.framing() {
            crate::http::BodyFraming::Empty => Bytes::from_static(b"No Payload"),
            _ => request.body().clone(),
        };
        let function = self.function_name(function);
        let message = PalmMessage {
            pipeline: self.uuid(),
            client: self.utf8(&client),
            stage: 0,
            function,
            cache: self.uuid(),
            payload,
        };
        let encoded = self.encode(&message);
        self.inflight.insert(Inflight {
            request: id,
            client,
            started: now,
            message: encoded.clone(),
            pipe: None,
            resent: false,
        });
        self.deadlines.push_back((now + self.timeout, slot, client));
        (slot, encoded)
    }

    /// Records which worker a request's message was handed to.
    pub fn sent_to(&mut self, slot: usize, pipe: Option<PipeId>) {
        if let Some(entry) = self.inflight.get_mut(slot) {
            entry.pipe = pipe;
        }
    }

    /// Forgets a request that could not be sent, answering it with `status`.
    pub fn abandon(
        &mut self,
        slot: usize,
        status: u16,
        now: Instant,
    ) -> Option<(HttpRequestId, Response)> {
        let entry = self.inflight.try_remove(slot)?;
        Some((entry.request, self.answer(status, &entry, now, None)))
    }

    /// Matches a worker's reply to its request: the answer to send, or `None` for a reply
    /// whose `client` is unknown (late, duplicate or foreign).
    pub fn complete(
        &mut self,
        reply: PalmMessage,
        now: Instant,
    ) -> Option<(HttpRequestId, Response)> {
        let slot = self.slot_of(reply.client.as_bytes())?;
        let entry = self.inflight.remove(slot);
        Some((
            entry.request,
            self.answer(200, &entry, now, Some(reply.payload)),
        ))
    }

    /// Answers 504 for every request whose deadline passed.
    pub fn expire(&mut self, now: Instant, mut answer: impl FnMut(HttpRequestId, Response)) {
        while let Some(&(deadline, slot, client)) = self.deadlines.front() {
            if deadline > now {
                return;
            }
            self.deadlines.pop_front();
            if self.inflight.get(slot).is_some_and(|e| e.client == client) {
                let entry = self.inflight.remove(slot);
                answer(entry.request, self.answer(504, &entry, now, None));
            }
        }
    }

    /// When the oldest request times out.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.deadlines.front().map(|&(d, _, _)| d)
    }

    /// A worker went away: its requests are sent once more, or answered 502 if they were
    /// already resent.
    pub fn worker_lost(&mut self, pipe: PipeId, now: Instant, mut recover: impl FnMut(Recovery)) {
        let lost: Vec<usize> = self
            .inflight
            .iter()
            .filter(|(_, e)| e.pipe == Some(pipe))
            .map(|(k, _)| k)
            .collect();
        for slot in lost {
            let entry = &mut self.inflight[slot];
            if entry.resent {
                let entry = self.inflight.remove(slot);
                recover(Recovery::Answer(
                    entry.request,
                    self.answer(502, &entry, now, None),
                ));
            } else {
                entry.resent = true;
                entry.pipe = None;
                self.metrics.resent += 1;
                recover(Recovery::Resend(slot, entry.message.clone()));
            }
        }
    }

    /// Counts an answer the server gave itself (404, 503, health, metrics).
    pub fn count(&mut self, status: u16) {
        self.metrics.by_status[status_index(status)] += 1;
    }

    /// The Prometheus text for `/-/metrics`.
    pub fn metrics_text(&self, workers: usize) -> String {
        let m = &self.metrics;
        let mut out = String::with_capacity(2048);
        out.push_str("# HELP palm_http_requests_total HTTP requests answered, by status.\n");
        out.push_str("# TYPE palm_http_requests_total counter\n");
        for (i, status) in STATUSES.iter().enumerate() {
            let _ = writeln!(
                out,
                "palm_http_requests_total{{status=\"{status}\"}} {}",
                m.by_status[i]
            );
        }
        let _ = writeln!(
            out,
            "palm_http_requests_total{{status=\"other\"}} {}",
            m.by_status[STATUSES.len()]
        );
        out.push_str("# HELP palm_requests_in_flight Requests waiting for a worker.\n");
        out.push_str("# TYPE palm_requests_in_flight gauge\n");
        let _ = writeln!(out, "palm_requests_in_flight {}", self.inflight.len());
        out.push_str("# HELP palm_workers Workers connected to the push service.\n");
        out.push_str("# TYPE palm_workers gauge\n");
        let _ = writeln!(out, "palm_workers {workers}");
        out.push_str(
            "# HELP palm_requests_resent_total Requests sent again after a worker was lost.\n",
        );
        out.push_str("# TYPE palm_requests_resent_total counter\n");
        let _ = writeln!(out, "palm_requests_resent_total {}", m.resent);
        self.write_histogram(&mut out);
        out
    }

    fn write_histogram(&self, out: &mut String) {
        let m = &self.metrics;
        out.push_str("# HELP palm_request_duration_seconds Time from request to worker reply.\n");
        out.push_str("# TYPE palm_request_duration_seconds histogram\n");
        for (le, n) in BUCKETS.iter().zip(m.buckets) {
            let _ = writeln!(
                out,
                "palm_request_duration_seconds_bucket{{le=\"{le}\"}} {n}"
            );
        }
        let _ = writeln!(
            out,
            "palm_request_duration_seconds_bucket{{le=\"+Inf\"}} {}",
            m.count
        );
        let _ = writeln!(out, "palm_request_duration_seconds_sum {}", m.sum_seconds);
        let _ = writeln!(out, "palm_request_duration_seconds_count {}", m.count);
    }

    fn answer(
        &mut self,
        status: u16,
        entry: &Inflight,
        now: Instant,
        body: Option<Bytes>,
    ) -> Response {
        self.count(status);
        let elapsed = now.saturating_duration_since(entry.started).as_secs_f64();
        let m = &mut self.metrics;
        m.count += 1;
        m.sum_seconds += elapsed;
        for (bound, n) in BUCKETS.iter().zip(m.buckets.iter_mut()) {
            if elapsed <= *bound {
                *n += 1;
            }
        }
        let response = Response::new(status).content_type("text/plain");
        match body {
            Some(body) => response.body(body),
            None => response.body(Bytes::from_static(reason_body(status))),
        }
    }

    /// A client id in uuid4 form whose first eight hex digits are the slot, so a reply finds
    /// its request without a hash lookup; the rest is random.
    fn client_id(&mut self, slot: usize) -> [u8; 36] {
        let mut id = self.ids.next_ascii();
        let slot = (slot as u32).to_be_bytes();
        for (i, b) in slot.iter().enumerate() {
            id[2 * i] = HEX[usize::from(b >> 4)];
            id[2 * i + 1] = HEX[usize::from(b & 0xf)];
        }
        id
    }

    fn slot_of(&self, client: &[u8]) -> Option<usize> {
        let hex = client.get(..8)?;
        let mut slot = 0usize;
        for &c in hex {
            slot = slot << 4 | usize::from(char::from(c).to_digit(16)? as u8);
        }
        self.inflight
            .get(slot)
            .filter(|e| e.client[..] == *client)?;
        Some(slot)
    }

    fn function_name(&mut self, segment: &str) -> Utf8Bytes {
        if segment.contains('.') {
            return self.utf8(segment.as_bytes());
        }
        self.room(segment.len() + 2);
        self.arena.extend_from_slice(b"_.");
        self.arena.extend_from_slice(segment.as_bytes());
        Utf8Bytes::from_utf8(self.arena.split().freeze()).unwrap_or_default()
    }

    fn uuid(&mut self) -> Utf8Bytes {
        let id = self.ids.next_ascii();
        self.utf8(&id)
    }

    /// Copies into the arena: many small strings share one allocation.
    fn utf8(&mut self, bytes: &[u8]) -> Utf8Bytes {
        self.room(bytes.len());
        self.arena.extend_from_slice(bytes);
        Utf8Bytes::from_utf8(self.arena.split().freeze()).unwrap_or_default()
    }

    fn encode(&mut self, message: &PalmMessage) -> Bytes {
        self.room(message.encoded_len());
        message.encode(&mut self.arena);
        self.arena.split().freeze()
    }

    /// Makes room for `len` more bytes in the arena. Only when the current block is used up
    /// does it take a new one of at least [`ARENA_BLOCK`]: asking `reserve` for a whole block
    /// each time would allocate on every call, since the split-off parts keep the old block
    /// shared and `reserve` cannot reclaim it.
    fn room(&mut self, len: usize) {
        if self.arena.capacity() - self.arena.len() < len {
            self.arena.reserve(len.max(ARENA_BLOCK));
        }
    }
}

/// Bytes per arena block: some sixty requests' names, client ids and encoded messages.
const ARENA_BLOCK: usize = 16 * 1024;

const HEX: [u8; 16] = *b"0123456789abcdef";

fn status_index(status: u16) -> usize {
    STATUSES
        .iter()
        .position(|&s| s == status)
        .unwrap_or(STATUSES.len())
}

/// The body of an answer the gateway gives itself.
pub fn reason_body(status: u16) -> &'static [u8] {
    match status {
        404 => b"no such function\n",
        502 => b"the worker was lost twice\n",
        503 => b"no worker available\n",
        504 => b"no reply from a worker in time\n",
        _ => b"",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Connection, Limits};

    #[test]
    fn routes_like_pylm_with_reserved_paths() {
        assert_eq!(route("/function"), Route::Function("function"));
        assert_eq!(route("/server.foo/x"), Route::Function("server.foo"));
        assert_eq!(route("/"), Route::NotFound);
        assert_eq!(route("/-/health"), Route::Health);
        assert_eq!(route("/-/metrics"), Route::Metrics);
        assert_eq!(route("/-/other"), Route::NotFound);
    }

    /// A decoded request for `raw`, with the id the reactor would give it.
    fn request(raw: &[u8]) -> Request {
        let mut conn = Connection::new(Limits::default(), Instant::now());
        conn.feed(raw, Instant::now());
        conn.poll_request(Instant::now()).expect("a whole request")
    }

    fn fake_id(n: u64) -> HttpRequestId {
        HttpRequestId::for_tests(n)
    }

    #[test]
    fn reply_matches_its_request_by_client() {
        let mut gw = Gateway::new(Duration::from_secs(30));
        let now = Instant::now();
        let req = request(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi");
        let (_, encoded) = gw.start(fake_id(1), &req, "echo", now);
        let sent = PalmMessage::decode(encoded).unwrap();
        assert_eq!(sent.function.as_str(), "_.echo");
        assert_eq!(&sent.payload[..], b"hi");
        assert_eq!(
            (sent.pipeline.len(), sent.client.len(), sent.cache.len()),
            (36, 36, 36)
        );
        let mut reply = sent.clone();
        reply.payload = Bytes::from_static(b"done");
        let (id, response) = gw.complete(reply.clone(), now).unwrap();
        assert_eq!((id, response.status()), (fake_id(1), 200));
        assert!(
            gw.complete(reply, now).is_none(),
            "a second reply is dropped"
        );
        assert_eq!(gw.in_flight(), 0);
    }

    #[test]
    fn no_body_is_no_payload_and_dotted_names_stay() {
        let mut gw = Gateway::new(Duration::from_secs(30));
        let req = request(b"GET /a.b HTTP/1.1\r\nHost: x\r\n\r\n");
        let (_, encoded) = gw.start(fake_id(1), &req, "a.b", Instant::now());
        let sent = PalmMessage::decode(encoded).unwrap();
        assert_eq!(
            (sent.function.as_str(), &sent.payload[..]),
            ("a.b", &b"No Payload"[..])
        );
    }

    #[test]
    fn deadlines_expire_in_order_with_504() {
        let mut gw = Gateway::new(Duration::from_secs(1));
        let t0 = Instant::now();
        let req = request(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
        gw.start(fake_id(1), &req, "f", t0);
        gw.start(fake_id(2), &req, "f", t0 + Duration::from_millis(500));
        let mut answered = Vec::new();
        gw.expire(t0 + Duration::from_millis(1200), |id, r| {
            answered.push((id, r.status()))
        });
        assert_eq!(answered, [(fake_id(1), 504)]);
        assert_eq!(gw.next_deadline(), Some(t0 + Duration::from_millis(1500)));
    }

    #[test]
    fn lost_worker_resends_once_then_502() {
        let mut gw = Gateway::new(Duration::from_secs(30));
        let now = Instant::now();
        let req = request(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
        let (slot, first) = gw.start(fake_id(1), &req, "f", now);
        gw.sent_to(slot, Some(7));
        let mut resent = Vec::new();
        gw.worker_lost(7, now, |r| resent.push(r));
        assert!(matches!(&resent[..], [Recovery::Resend(s, m)] if *s == slot && *m == first));
        gw.sent_to(slot, Some(8));
        let mut last = Vec::new();
        gw.worker_lost(8, now, |r| last.push(r));
        assert!(
            matches!(&last[..], [Recovery::Answer(id, r)] if *id == fake_id(1) && r.status() == 502)
        );
        assert!(
            gw.metrics_text(1)
                .contains("palm_http_requests_total{status=\"502\"} 1")
        );
    }

    #[test]
    fn client_ids_never_match_a_reused_slot() {
        let mut gw = Gateway::new(Duration::from_secs(30));
        let now = Instant::now();
        let req = request(b"GET /f HTTP/1.1\r\nHost: x\r\n\r\n");
        let (_, old) = gw.start(fake_id(1), &req, "f", now);
        let old = PalmMessage::decode(old).unwrap();
        gw.complete(old.clone(), now).unwrap();
        gw.start(fake_id(2), &req, "f", now);
        assert!(
            gw.complete(old, now).is_none(),
            "a late reply must not answer the new request"
        );
    }
}
