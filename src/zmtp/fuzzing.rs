//! The bodies of the `zmtp_*` fuzz targets, kept in the library so `cargo test` builds and runs
//! them on the committed corpus.
//!
//! Each function takes arbitrary bytes, drives the sans-IO codec with them and panics only when
//! an invariant breaks: a prefix of a valid greeting rejected, a decoded value that does not
//! survive encode → decode, a result that depends on how the bytes were split, output or
//! buffering that grows faster than the input, a timer that fires without moving on. Nothing
//! here does IO or reads the clock except one `Instant::now()` as the origin of virtual time.

use std::time::{Duration, Instant};

use bytes::BytesMut;

use super::command;
use super::frame::{FrameHeader, MAX_HEADER_LEN};
use super::greeting::{GREETING_LEN, Greeting, NULL_MECHANISM};
use super::session::MAX_COMMAND_SIZE;
use super::{Error, Event, Heartbeat, Msg, Session, SessionConfig, SocketType, State};

/// The most a PING can make us send: a short header, the name and a two-byte TTL.
const PING_LEN: usize = 2 + 1 + 4 + 2;

/// How many timers `session` fires after the input ends.
const TAIL_TIMEOUTS: usize = 8;

/// Decodes every prefix of `data` as a greeting (`zmtp_greeting` target).
///
/// Checks that a rejected prefix stays rejected as bytes arrive (so every prefix of a valid
/// greeting asks for more), that only the first 64 bytes matter, that a decoded greeting
/// re-encodes to the fields it came from and decodes to itself, and that a [`Session`] fed the
/// same bytes one at a time agrees.
pub fn greeting(data: &[u8]) {
    let full = Greeting::decode(data);
    let mut first_error = None;
    for n in 0..=data.len().min(GREETING_LEN) {
        let prefix = data.get(..n).unwrap_or_default();
        match Greeting::decode(prefix) {
            Ok(None) => assert!(first_error.is_none(), "rejected prefix accepted at {n}"),
            Ok(Some(_)) => assert_eq!(n, GREETING_LEN, "greeting decoded from {n} bytes"),
            Err(e) => {
                check_greeting_error(&e);
                first_error.get_or_insert(n);
            }
        }
    }
    if data.len() >= GREETING_LEN {
        assert_eq!(Greeting::decode(&data[..GREETING_LEN]), full);
    }
    match &full {
        Ok(Some(g)) => check_greeting_round_trip(g, data),
        Ok(None) => assert!(data.len() < GREETING_LEN),
        Err(e) => assert!(first_error.is_some(), "{e} only on the whole input"),
    }
    greeting_through_session(data, &full);
}

fn check_greeting_error(e: &Error) {
    match e {
        Error::NotZmtp => {}
        Error::UnsupportedVersion { major } => assert!(*major < 3),
        other => panic!("a greeting cannot fail with {other:?}"),
    }
}

fn check_greeting_round_trip(g: &Greeting, data: &[u8]) {
    assert!(g.major >= 3);
    let bytes = g.encode();
    assert_eq!(Greeting::decode(&bytes), Ok(Some(*g)));
    assert_eq!(bytes[10..32], data[10..32], "version and mechanism survive");
    assert_eq!(g.as_server, data[32] != 0);
    assert!(g.mechanism.to_string().len() <= 20);
}

/// Feeds the bytes one at a time to a session, which must agree with `Greeting::decode`.
fn greeting_through_session(data: &[u8], full: &Result<Option<Greeting>, Error>) {
    let now = Instant::now();
    let mut session = Session::new(SessionConfig::new(SocketType::Pull), now);
    let (mut input, mut out) = (BytesMut::new(), BytesMut::new());
    let mut result = Ok(None);
    for &byte in data.iter().take(GREETING_LEN) {
        input.extend_from_slice(&[byte]);
        result = session.decode(&mut input, now, &mut out);
        if result.is_err() {
            break;
        }
    }
    assert!(out.is_empty(), "nothing is sent in answer to a greeting");
    match full {
        Ok(None) => assert_eq!(result, Ok(None)),
        Err(e) => assert_eq!(result.as_ref(), Err(e)),
        Ok(Some(g)) if g.mechanism != NULL_MECHANISM => {
            assert_eq!(result, Err(Error::UnsupportedMechanism(g.mechanism)));
        }
        Ok(Some(g)) => {
            assert_eq!(result, Ok(None));
            assert_eq!(session.state(), State::Handshake);
            let minor = if g.major > 3 { 1 } else { g.minor.min(1) };
            assert_eq!(session.minor(), minor);
        }
    }
}

/// Feeds bytes to a session past the handshake, in splits chosen by the input (`zmtp_frames`
/// target).
///
/// Byte 0: bits 0–1 choose the message size limit (256 bytes, 64 KiB, none, 0), bit 2 makes
/// the peer speak ZMTP 3.0, bits 4–7 how many split sizes follow (each byte `s` cuts `s + 1`
/// bytes, cycled). The rest is the peer's traffic. Checks that splitting changes nothing, that
/// every message and subscription re-encodes to bytes that decode to the same event, that
/// limits hold and that PONGs never outgrow the PINGs that asked for them.
pub fn frames(data: &[u8]) {
    let Some((&control, rest)) = data.split_first() else {
        return;
    };
    let (sizes, stream) = rest.split_at(usize::from(control >> 4).min(rest.len()));
    let mut config = SessionConfig::new(SocketType::Pull);
    config.max_msg_size = [Some(256), Some(64 << 10), None, Some(0)][usize::from(control & 3)];
    let minor = u8::from(control & 4 == 0);
    let whole = traffic(&config, minor, stream, &[]);
    if !sizes.is_empty() {
        let split = traffic(&config, minor, stream, sizes);
        assert_eq!(
            whole, split,
            "the result depends on how the input was split"
        );
    }
}

/// What a session made of some traffic.
#[derive(Debug, PartialEq)]
struct Outcome {
    events: Vec<Event>,
    error: Option<Error>,
    output: BytesMut,
}

/// A session that finished its handshake with a PUSH peer speaking 3.`minor`.
fn ready_session(config: &SessionConfig, minor: u8, now: Instant) -> Session {
    let mut session = Session::new(config.clone(), now);
    let mut input = BytesMut::from(&peer_prologue(SocketType::Push, minor)[..]);
    let event = session.decode(&mut input, now, &mut BytesMut::new());
    assert!(matches!(event, Ok(Some(Event::Ready(_)))), "{event:?}");
    assert!(input.is_empty());
    session
}

/// What a peer of `kind` speaking ZMTP 3.`minor` sends first: greeting, then READY.
fn peer_prologue(kind: SocketType, minor: u8) -> BytesMut {
    let mut bytes = BytesMut::new();
    let mut config = SessionConfig::new(kind);
    config.identity = bytes::Bytes::from_static(b"peer");
    Session::new(config, Instant::now()).start(&mut bytes);
    bytes[11] = minor;
    bytes
}

fn traffic(config: &SessionConfig, minor: u8, stream: &[u8], sizes: &[u8]) -> Outcome {
    let now = Instant::now();
    let mut session = ready_session(config, minor, now);
    let mut checker = Checker {
        session: ready_session(config, minor, now),
        now,
    };
    let mut outcome = Outcome {
        events: Vec::new(),
        error: None,
        output: BytesMut::new(),
    };
    let mut input = BytesMut::new();
    let mut rest = stream;
    for &size in sizes.iter().cycle() {
        let (chunk, tail) = rest.split_at((usize::from(size) + 1).min(rest.len()));
        rest = tail;
        input.extend_from_slice(chunk);
        if drain(&mut session, &mut input, &mut outcome, &mut checker) || rest.is_empty() {
            return outcome;
        }
    }
    input.extend_from_slice(rest);
    drain(&mut session, &mut input, &mut outcome, &mut checker);
    outcome
}

/// Decodes all it can; true once the session failed.
fn drain(session: &mut Session, input: &mut BytesMut, o: &mut Outcome, c: &mut Checker) -> bool {
    loop {
        let (before, out_before) = (input.len(), o.output.len());
        let result = session.decode(input, c.now, &mut o.output);
        assert!(input.len() <= before);
        assert!(
            o.output.len() - out_before <= before - input.len(),
            "output outgrew input"
        );
        match result {
            Ok(Some(event)) => {
                c.check(&event, session.config().max_msg_size);
                o.events.push(event);
            }
            Ok(None) => {
                check_wanted(session, input.len());
                return false;
            }
            Err(e) => {
                check_traffic_error(&e);
                o.error = Some(e);
                return true;
            }
        }
    }
}

/// After "need more bytes", the session must want more than it has, and no more than a frame
/// within the limits can need.
fn check_wanted(session: &Session, buffered: usize) {
    let wanted = session.wanted();
    assert!(wanted > buffered, "wants {wanted} bytes but has {buffered}");
    let Some(limit) = session.config().max_msg_size else {
        return;
    };
    let frame = usize::try_from(limit.max(MAX_COMMAND_SIZE)).unwrap_or(usize::MAX);
    let bound = GREETING_LEN.max(frame.saturating_add(MAX_HEADER_LEN));
    assert!(
        wanted <= bound,
        "wants {wanted} bytes, more than any frame may have"
    );
}

fn check_traffic_error(e: &Error) {
    match e {
        Error::MessageTooLarge { .. }
        | Error::CommandTooLarge { .. }
        | Error::MalformedCommand(_)
        | Error::PeerError(_) => {}
        other => panic!("traffic cannot fail with {other:?}"),
    }
}

/// Re-encodes decoded events and decodes them again with a second session.
struct Checker {
    session: Session,
    now: Instant,
}

impl Checker {
    fn check(&mut self, event: &Event, limit: Option<u64>) {
        let mut bytes = BytesMut::new();
        match event {
            Event::Message(msg) => {
                check_message_size(msg, limit);
                encode_msg(msg, &mut bytes);
            }
            Event::Subscribe(topic) => command::encode_subscription(true, topic, 1, &mut bytes),
            Event::Cancel(topic) => command::encode_subscription(false, topic, 1, &mut bytes),
            Event::Ready(_) => panic!("a second READY must be ignored"),
        }
        let again = self
            .session
            .decode(&mut bytes, self.now, &mut BytesMut::new());
        assert_eq!(
            again,
            Ok(Some(event.clone())),
            "re-encoded event decodes differently"
        );
        assert!(bytes.is_empty(), "re-encoded event left bytes over");
    }
}

fn check_message_size(msg: &Msg, limit: Option<u64>) {
    assert!(!msg.is_empty(), "a message has at least one frame");
    let Some(limit) = limit else { return };
    let counted: u64 = msg.frames().iter().map(|f| f.len() as u64 + 32).sum();
    assert!(
        counted <= limit + 32,
        "message of {counted} counted bytes past {limit}"
    );
}

/// Encodes a message the way the reactor's output buffer does.
fn encode_msg(msg: &Msg, out: &mut BytesMut) {
    let frames = msg.frames();
    for (i, body) in frames.iter().enumerate() {
        let header = FrameHeader::data(body.len(), i + 1 < frames.len());
        header.encode(out);
        out.extend_from_slice(body);
    }
}

/// Drives a whole session from its first byte with bytes and clock steps chosen by the input
/// (`zmtp_session` target).
///
/// Byte 0 configures our side: bits 0–3 the socket type, bit 4 heartbeats (100 ms interval,
/// 300 ms TTL), bit 5 no handshake timeout (else 1 s), bits 6–7 the message size limit. Byte
/// 1: bit 0 prepends a valid greeting and READY from a compatible peer, bit 1 makes that peer
/// speak ZMTP 3.0. Byte 2 counts the operations that follow: an operation `op` with the top
/// bit set moves the clock by `(op & 0x7f) × 20 ms` and fires timers; otherwise it feeds the
/// next `op + 1` payload bytes. The payload left after the operations is fed at once, then the
/// timers run out. Checks state order, event order, `wanted` and `next_timeout` sanity and
/// that output stays proportional to input.
pub fn session(data: &[u8]) {
    drive(data);
}

/// What [`session`] saw: whether the handshake finished, how many events followed, and the
/// error that ended the session, if any.
#[derive(Debug, PartialEq)]
struct Summary {
    ready: bool,
    events: usize,
    error: Option<Error>,
}

fn drive(data: &[u8]) -> Option<Summary> {
    let [config, flags, count, rest @ ..] = data else {
        return None;
    };
    let (ops, payload) = rest.split_at(usize::from(*count).min(rest.len()));
    let config = session_config(*config);
    let now = Instant::now();
    let mut driver = Driver {
        session: Session::new(config.clone(), now),
        input: BytesMut::new(),
        out: BytesMut::new(),
        now,
        ready: false,
        events: 0,
    };
    driver.session.start(&mut driver.out);
    let peer = SocketType::ALL
        .into_iter()
        .find(|&t| config.socket_type.compatible(t));
    if flags & 1 != 0
        && let Some(peer) = peer
    {
        driver.input = peer_prologue(peer, u8::from(flags & 2 == 0));
    }
    let error = driver
        .run(ops, payload)
        .and_then(|()| driver.run_out())
        .err();
    Some(Summary {
        ready: driver.ready,
        events: driver.events,
        error,
    })
}

fn session_config(byte: u8) -> SessionConfig {
    let kind = SocketType::ALL[usize::from(byte & 15) % SocketType::ALL.len()];
    let mut config = SessionConfig::new(kind);
    config.identity = bytes::Bytes::from_static(b"fuzz");
    if byte & 0x10 != 0 {
        config.heartbeat = Heartbeat {
            interval: Some(Duration::from_millis(100)),
            timeout: None,
            ttl: Some(Duration::from_millis(300)),
        };
    }
    if byte & 0x20 != 0 {
        config.handshake_timeout = None;
    } else {
        config.handshake_timeout = Some(Duration::from_secs(1));
    }
    config.max_msg_size = [Some(256), Some(64 << 10), None, Some(0)][usize::from(byte >> 6)];
    config
}

/// A session with its buffers and virtual clock.
struct Driver {
    session: Session,
    input: BytesMut,
    out: BytesMut,
    now: Instant,
    ready: bool,
    /// Events after Ready.
    events: usize,
}

impl Driver {
    fn run(&mut self, ops: &[u8], mut payload: &[u8]) -> Result<(), Error> {
        for &op in ops {
            if op & 0x80 != 0 {
                let at = self.now + Duration::from_millis(u64::from(op & 0x7f) * 20);
                self.fire(at)?;
                continue;
            }
            let (chunk, rest) = payload.split_at((usize::from(op) + 1).min(payload.len()));
            payload = rest;
            self.feed(chunk)?;
        }
        self.feed(payload)
    }

    /// Fires timers as they come due, a few times.
    fn run_out(&mut self) -> Result<(), Error> {
        for _ in 0..TAIL_TIMEOUTS {
            let Some(at) = self.session.next_timeout() else {
                break;
            };
            self.fire(at.max(self.now))?;
        }
        Ok(())
    }

    fn feed(&mut self, chunk: &[u8]) -> Result<(), Error> {
        self.input.extend_from_slice(chunk);
        loop {
            let (before, out_before) = (self.input.len(), self.out.len());
            let state = self.session.state();
            let result = self
                .session
                .decode(&mut self.input, self.now, &mut self.out);
            let consumed = before - self.input.len();
            assert!(
                self.out.len() - out_before <= consumed,
                "output outgrew input"
            );
            assert!(
                rank(self.session.state()) >= rank(state),
                "state went back from {state}"
            );
            match result? {
                Some(event) => self.check_event(&event),
                None => {
                    check_wanted(&self.session, self.input.len());
                    return Ok(());
                }
            }
        }
    }

    fn check_event(&mut self, event: &Event) {
        assert_eq!(
            self.session.state(),
            State::Ready,
            "{event:?} before the handshake"
        );
        match event {
            Event::Ready(peer) => {
                assert!(!self.ready, "second Ready event");
                assert!(
                    self.session
                        .config()
                        .socket_type
                        .compatible(peer.socket_type)
                );
                assert!(peer.minor <= 1);
                self.ready = true;
            }
            Event::Message(msg) => {
                assert!(self.ready, "message before Ready");
                check_message_size(msg, self.session.config().max_msg_size);
                self.events += 1;
            }
            Event::Subscribe(topic) | Event::Cancel(topic) => {
                assert!(self.ready, "subscription before Ready");
                self.events += 1;
                assert!(topic.len() as u64 <= MAX_COMMAND_SIZE);
            }
        }
    }

    /// Moves the clock to `at` and fires timers; a timer that stays due would spin the loop.
    fn fire(&mut self, at: Instant) -> Result<(), Error> {
        self.now = at;
        let out_before = self.out.len();
        self.session.handle_timeout(at, &mut self.out)?;
        assert!(
            self.out.len() - out_before <= PING_LEN,
            "a timer sent more than a PING"
        );
        if let Some(next) = self.session.next_timeout() {
            assert!(
                next > at,
                "timer at {next:?} still due after firing at {at:?}"
            );
        }
        Ok(())
    }
}

/// Orders states the way a session walks them.
fn rank(state: State) -> u8 {
    match state {
        State::Greeting => 0,
        State::Handshake => 1,
        State::Ready => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn corpus(target: &str) -> Vec<Vec<u8>> {
        let dir = format!("{}/fuzz/corpus/{target}", env!("CARGO_MANIFEST_DIR"));
        let mut seeds: Vec<_> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| std::fs::read(e.unwrap().path()).unwrap())
            .collect();
        seeds.sort();
        seeds
    }

    #[test]
    fn greeting_corpus_and_edge_cases() {
        let seeds = corpus("zmtp_greeting");
        assert!(seeds.len() >= 5);
        seeds.iter().for_each(|s| greeting(s));
        let ours = Greeting::ours().encode();
        for n in 0..=ours.len() {
            greeting(&ours[..n]);
        }
        greeting(b"GET / HTTP/1.1\r\n\r\n");
        greeting(&[0xff; 100]);
    }

    #[test]
    fn frames_corpus_and_edge_cases() {
        let seeds = corpus("zmtp_frames");
        assert!(seeds.len() >= 5);
        seeds.iter().for_each(|s| frames(s));
        let mut ping = vec![0x30, 0, 4];
        command::encode_ping(10, b"context", &mut ping);
        ping.extend_from_slice(b"\x01\x01a\x00\x00");
        frames(&ping);
        frames(&[0x02, 0x02, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    }

    /// Found by the fuzzer: with no size limit, a frame claiming nearly 2^64 bytes overflowed
    /// the header + body sum, and decode asked for more bytes while `wanted` still held a
    /// stale, smaller figure.
    #[test]
    fn regression_wanted_stale_on_size_overflow() {
        frames(&seed("zmtp_frames", "crash_wanted_stale_on_size_overflow"));
        let mut data = vec![0x02, 0x02];
        data.extend_from_slice(&[0xff; 8]);
        data.extend_from_slice(&[0; 100]);
        frames(&data);
    }

    #[test]
    fn session_corpus_and_edge_cases() {
        let seeds = corpus("zmtp_session");
        assert!(seeds.len() >= 5);
        seeds.iter().for_each(|s| session(s));
        for config in 0..=255u8 {
            session(&[config, 1, 2, 0xff, 3, b'x']);
        }
    }

    fn seed(target: &str, name: &str) -> Vec<u8> {
        let path = format!("{}/fuzz/corpus/{target}/{name}", env!("CARGO_MANIFEST_DIR"));
        std::fs::read(path).unwrap()
    }

    /// The seeds reach the states they are named after, so the fuzzer starts from there.
    #[test]
    fn session_seeds_reach_their_states() {
        let summary = |name| drive(&seed("zmtp_session", name)).unwrap();
        let done = |events| Summary {
            ready: true,
            events,
            error: None,
        };
        assert_eq!(summary("pull_from_libzmq_push"), done(2));
        assert_eq!(summary("pull_libzmq_greeting_steps"), done(1));
        assert_eq!(summary("router_from_dealer_identity"), done(1));
        assert_eq!(summary("pub_from_sub"), done(3));
        assert_eq!(summary("prologue_zmtp_3_0"), done(2));
        let failed = |name| summary(name).error.unwrap();
        assert_eq!(failed("handshake_timeout"), Error::HandshakeTimeout);
        assert_eq!(failed("data_before_ready"), Error::DataBeforeReady);
        assert!(matches!(
            failed("ready_too_large"),
            Error::CommandTooLarge { .. }
        ));
        assert!(matches!(
            failed("ready_property_2gib"),
            Error::MalformedCommand(_)
        ));
        assert_eq!(failed("pair_heartbeat"), Error::HeartbeatTimeout);
        assert!(summary("ready_many_properties").ready);
    }

    #[test]
    fn frames_seeds_decode_what_they_are_named_after() {
        let outcome = |name: &str| {
            let data = seed("zmtp_frames", name);
            let mut config = SessionConfig::new(SocketType::Pull);
            config.max_msg_size =
                [Some(256), Some(64 << 10), None, Some(0)][usize::from(data[0] & 3)];
            let skip = 1 + usize::from(data[0] >> 4);
            traffic(&config, u8::from(data[0] & 4 == 0), &data[skip..], &[])
        };
        let edge = outcome("limit_256_edge");
        assert_eq!(edge.events.len(), 1);
        assert_eq!(edge.error, Some(Error::MessageTooLarge { limit: 256 }));
        let subs = outcome("subscribe_cancel");
        assert_eq!(subs.events.len(), 5);
        assert!(matches!(&subs.events[0], Event::Subscribe(t) if t == "topic"));
        assert_eq!(outcome("long_frame_2000").events.len(), 1);
        assert!(!outcome("ping_pong").output.is_empty());
        let huge = outcome("huge_claim_unlimited");
        assert_eq!((huge.events.len(), huge.error), (0, None));
    }
}
