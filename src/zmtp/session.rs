//! One ZMTP connection's protocol state machine, without IO.
//!
//! [`Session`] walks the states RFC 23 names — greeting, handshake, ready — over bytes the
//! caller reads, and writes everything it must send (greeting, READY, PONG, PING) into a buffer
//! the caller owns. It never reads a clock: every call that can start or fire a timer takes
//! `now`, and [`Session::next_timeout`] says when the caller should call back.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use log::trace;

use super::command::{self, Command};
use super::frame::FrameHeader;
use super::greeting::{GREETING_LEN, Greeting, NULL_MECHANISM};
use super::{Error, Msg, SocketType};

/// The longest command palm accepts; READY metadata, PING and subscriptions fit easily.
pub const MAX_COMMAND_SIZE: u64 = 64 * 1024;

/// What each frame costs against the maximum message size beyond its body, so that a message
/// of millions of empty frames is bounded too.
const FRAME_OVERHEAD: u64 = 32;

/// Past this much unsent output, PONGs are skipped: a peer that pings but never reads cannot
/// grow our memory.
const MAX_PENDING_OUTPUT_FOR_PONG: usize = 1 << 20;

/// How a session is set up; one per socket, cloned per connection.
#[derive(Clone, Debug)]
pub struct SessionConfig {
    /// Our socket type, announced in READY.
    pub socket_type: SocketType,
    /// Our identity, announced by REQ, DEALER and ROUTER.
    pub identity: Bytes,
    /// The largest message accepted, counting each frame's body plus 32 bytes; `None` for no
    /// limit.
    pub max_msg_size: Option<u64>,
    /// How long the greeting and READY exchange may take; `None` waits forever.
    pub handshake_timeout: Option<Duration>,
    /// Heartbeat settings.
    pub heartbeat: Heartbeat,
}

impl SessionConfig {
    /// Defaults for a socket type: no identity, 64 MiB messages, 30 s handshake, no heartbeat.
    pub fn new(socket_type: SocketType) -> SessionConfig {
        SessionConfig {
            socket_type,
            identity: Bytes::new(),
            max_msg_size: Some(64 << 20),
            handshake_timeout: Some(Duration::from_secs(30)),
            heartbeat: Heartbeat::default(),
        }
    }
}

/// ZMTP heartbeat settings (libzmq's `ZMQ_HEARTBEAT_IVL`, `_TIMEOUT` and `_TTL`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Heartbeat {
    /// Send a PING this often; `None` sends none (PINGs are still answered).
    pub interval: Option<Duration>,
    /// Close when nothing arrives this long after a PING; defaults to the interval.
    pub timeout: Option<Duration>,
    /// The TTL our PINGs ask the peer to apply to us, rounded down to tenths of a second.
    pub ttl: Option<Duration>,
}

/// The protocol states of a connection.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum State {
    /// Waiting for the peer's 64-byte greeting.
    Greeting,
    /// Waiting for the peer's READY.
    Handshake,
    /// Exchanging messages.
    Ready,
}

impl std::fmt::Display for State {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            State::Greeting => "greeting",
            State::Handshake => "handshake",
            State::Ready => "ready",
        })
    }
}

/// What the handshake told us about the peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PeerInfo {
    /// The peer's socket type.
    pub socket_type: SocketType,
    /// The identity the peer announced; empty when none.
    pub identity: Bytes,
    /// The protocol minor version both sides speak: min(ours, peer's).
    pub minor: u8,
}

/// What a session yields as it decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Event {
    /// The handshake finished; messages may flow both ways.
    Ready(PeerInfo),
    /// A whole message arrived.
    Message(Msg),
    /// The peer subscribed to a topic prefix (SUBSCRIBE command).
    Subscribe(Bytes),
    /// The peer cancelled a subscription (CANCEL command).
    Cancel(Bytes),
}

/// One connection's ZMTP state machine.
#[derive(Debug)]
pub struct Session {
    config: SessionConfig,
    state: State,
    minor: u8,
    /// Frames of a message whose last frame has not arrived.
    partial: Msg,
    /// What `partial` counts against the maximum message size.
    partial_size: u64,
    /// Input bytes needed before decoding can go on.
    wanted: usize,
    timers: Timers,
}

/// Deadlines a session keeps; `None` when not armed.
#[derive(Debug, Default)]
struct Timers {
    handshake: Option<Instant>,
    next_ping: Option<Instant>,
    /// Set when we sent a PING and have heard nothing since.
    silence: Option<Instant>,
    /// The TTL the peer asked for in its last PING.
    peer_ttl: Option<Duration>,
    /// When the peer's TTL runs out unless it sends something.
    peer_ttl_deadline: Option<Instant>,
}

impl Session {
    /// A session that has sent nothing yet; call [`Session::start`] once connected.
    pub fn new(config: SessionConfig, now: Instant) -> Session {
        let handshake = config.handshake_timeout.map(|t| now + t);
        Session {
            config,
            state: State::Greeting,
            minor: 1,
            partial: Msg::new(),
            partial_size: 0,
            wanted: GREETING_LEN,
            timers: Timers {
                handshake,
                ..Timers::default()
            },
        }
    }

    /// Writes our greeting and READY at once: libzmq reads both without waiting on us.
    pub fn start(&self, out: &mut BytesMut) {
        out.extend_from_slice(&Greeting::ours().encode());
        command::encode_ready(self.config.socket_type, &self.config.identity, out);
    }

    /// The current protocol state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The protocol minor version both sides speak (valid once past the greeting).
    pub fn minor(&self) -> u8 {
        self.minor
    }

    /// The session's configuration.
    pub fn config(&self) -> &SessionConfig {
        &self.config
    }

    /// How many bytes `input` must hold before [`Session::decode`] can make progress.
    pub fn wanted(&self) -> usize {
        self.wanted
    }

    /// Decodes the next event from the front of `input`, consuming what it used. Returns
    /// `Ok(None)` when more bytes are needed (see [`Session::wanted`]); command replies such as
    /// PONG are appended to `out`. An error means the connection must close.
    pub fn decode(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
        out: &mut BytesMut,
    ) -> Result<Option<Event>, Error> {
        match self.state {
            State::Greeting => match self.decode_greeting(input)? {
                true => self.decode_handshake(input, now),
                false => Ok(None),
            },
            State::Handshake => self.decode_handshake(input, now),
            State::Ready => self.decode_traffic(input, now, out),
        }
    }

    /// Consumes the peer's greeting; false while it is incomplete.
    fn decode_greeting(&mut self, input: &mut BytesMut) -> Result<bool, Error> {
        let Some(greeting) = Greeting::decode(input)? else {
            self.wanted = GREETING_LEN;
            return Ok(false);
        };
        if greeting.mechanism != NULL_MECHANISM {
            return Err(Error::UnsupportedMechanism(greeting.mechanism));
        }
        self.minor = if greeting.major > 3 {
            1
        } else {
            greeting.minor.min(1)
        };
        input.advance(GREETING_LEN);
        trace!(
            "zmtp greeting: peer {}.{}, using 3.{}",
            greeting.major, greeting.minor, self.minor
        );
        self.state = State::Handshake;
        Ok(true)
    }

    fn decode_handshake(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
    ) -> Result<Option<Event>, Error> {
        let Some(body) = self.take_frame(input, true)? else {
            return Ok(None);
        };
        let meta = match Command::decode(body)? {
            Command::Ready(meta) => meta,
            Command::Error(reason) => return Err(Error::PeerError(reason)),
            _ => return Err(Error::UnexpectedCommand),
        };
        let name = meta.socket_type.unwrap_or_default();
        let peer = SocketType::from_name(&name).ok_or(Error::UnknownSocketType(name))?;
        let ours = self.config.socket_type;
        if !ours.compatible(peer) {
            return Err(Error::IncompatibleSocketType { ours, peer });
        }
        self.state = State::Ready;
        self.arm_heartbeat(now);
        trace!("zmtp handshake done: peer is {peer}");
        let info = PeerInfo {
            socket_type: peer,
            identity: meta.identity,
            minor: self.minor,
        };
        Ok(Some(Event::Ready(info)))
    }

    fn decode_traffic(
        &mut self,
        input: &mut BytesMut,
        now: Instant,
        out: &mut BytesMut,
    ) -> Result<Option<Event>, Error> {
        loop {
            let Some((header, header_len)) = FrameHeader::decode(input) else {
                self.wanted = input.len() + 1;
                return Ok(None);
            };
            if header.is_command() {
                let Some(body) = self.take_frame(input, true)? else {
                    return Ok(None);
                };
                self.heard_from_peer(now);
                match self.handle_command(body, now, out)? {
                    Some(event) => return Ok(Some(event)),
                    None => continue,
                }
            }
            self.check_size(header)?;
            let Some(body) = self.take_body(input, header, header_len) else {
                return Ok(None);
            };
            self.heard_from_peer(now);
            if !header.more() && self.partial.is_empty() {
                // The common case, a one-frame message, skips the partial message.
                return Ok(Some(Event::Message(Msg::single(body))));
            }
            self.partial.push(body);
            if !header.more() {
                self.partial_size = 0;
                return Ok(Some(Event::Message(std::mem::take(&mut self.partial))));
            }
            self.partial_size += header.size + FRAME_OVERHEAD;
        }
    }

    /// Refuses a data frame that would take the message past the limit, before its body
    /// arrives.
    fn check_size(&self, header: FrameHeader) -> Result<(), Error> {
        let Some(limit) = self.config.max_msg_size else {
            return Ok(());
        };
        let total = self
            .partial_size
            .checked_add(header.size)
            .and_then(|t| t.checked_add(FRAME_OVERHEAD));
        match total {
            Some(total) if total <= limit.saturating_add(FRAME_OVERHEAD) => Ok(()),
            _ => Err(Error::MessageTooLarge { limit }),
        }
    }

    /// Takes a whole command frame off the front of `input`, or asks for more bytes. A data
    /// frame here is a protocol error when `command_only` is set.
    fn take_frame(
        &mut self,
        input: &mut BytesMut,
        command_only: bool,
    ) -> Result<Option<Bytes>, Error> {
        let Some((header, header_len)) = FrameHeader::decode(input) else {
            self.wanted = input.len() + 1;
            return Ok(None);
        };
        if command_only && !header.is_command() {
            return Err(Error::DataBeforeReady);
        }
        if header.size > MAX_COMMAND_SIZE {
            return Err(Error::CommandTooLarge { size: header.size });
        }
        Ok(self.take_body(input, header, header_len))
    }

    /// Splits a frame's body off `input` without copying, once all of it is there.
    fn take_body(
        &mut self,
        input: &mut BytesMut,
        header: FrameHeader,
        header_len: usize,
    ) -> Option<Bytes> {
        let total = usize::try_from(header.size)
            .ok()
            .and_then(|s| s.checked_add(header_len));
        let Some(total) = total else {
            // A size no buffer can hold: it will never all arrive, but wanted must still say
            // that more is needed.
            self.wanted = usize::MAX;
            return None;
        };
        if input.len() < total {
            self.wanted = total;
            return None;
        }
        let mut frame = input.split_to(total);
        frame.advance(header_len);
        Some(frame.freeze())
    }

    fn handle_command(
        &mut self,
        body: Bytes,
        now: Instant,
        out: &mut BytesMut,
    ) -> Result<Option<Event>, Error> {
        match Command::decode(body)? {
            Command::Ping { ttl, context } => {
                self.timers.peer_ttl =
                    (ttl > 0).then(|| Duration::from_millis(u64::from(ttl) * 100));
                self.timers.peer_ttl_deadline = self.timers.peer_ttl.map(|t| now + t);
                if out.len() < MAX_PENDING_OUTPUT_FOR_PONG {
                    command::encode_pong(&context, out);
                }
                Ok(None)
            }
            Command::Subscribe(topic) => Ok(Some(Event::Subscribe(topic))),
            Command::Cancel(topic) => Ok(Some(Event::Cancel(topic))),
            Command::Error(reason) => Err(Error::PeerError(reason)),
            Command::Pong(_) | Command::Ready(_) | Command::Unknown(_) => Ok(None),
        }
    }

    fn arm_heartbeat(&mut self, now: Instant) {
        self.timers.handshake = None;
        // An interval of zero means no heartbeat, as in libzmq.
        let interval = self.config.heartbeat.interval.filter(|i| !i.is_zero());
        self.timers.next_ping = interval.map(|i| now + i);
    }

    /// Any frame proves the peer alive.
    fn heard_from_peer(&mut self, now: Instant) {
        self.timers.silence = None;
        if let Some(ttl) = self.timers.peer_ttl {
            self.timers.peer_ttl_deadline = Some(now + ttl);
        }
    }

    /// The earliest instant at which [`Session::handle_timeout`] has work to do.
    pub fn next_timeout(&self) -> Option<Instant> {
        let t = &self.timers;
        [t.handshake, t.next_ping, t.silence, t.peer_ttl_deadline]
            .into_iter()
            .flatten()
            .min()
    }

    /// Fires the timers due at `now`: sends a PING when one is due (into `out`), and fails the
    /// session when the handshake or the peer's liveness ran out.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut BytesMut) -> Result<(), Error> {
        let due = |deadline: Option<Instant>| deadline.is_some_and(|d| d <= now);
        if due(self.timers.handshake) {
            return Err(Error::HandshakeTimeout);
        }
        if due(self.timers.silence) || due(self.timers.peer_ttl_deadline) {
            return Err(Error::HeartbeatTimeout);
        }
        if due(self.timers.next_ping) {
            self.send_ping(now, out);
        }
        Ok(())
    }

    fn send_ping(&mut self, now: Instant, out: &mut BytesMut) {
        let hb = self.config.heartbeat;
        let Some(interval) = hb.interval.filter(|i| !i.is_zero()) else {
            return;
        };
        let ttl = hb.ttl.map_or(0, |t| {
            u16::try_from(t.as_millis() / 100).unwrap_or(u16::MAX)
        });
        command::encode_ping(ttl, b"", out);
        self.timers.next_ping = Some(now + interval);
        if self.timers.silence.is_none() {
            self.timers.silence = Some(now + hb.timeout.unwrap_or(interval));
        }
        trace!("zmtp heartbeat: PING sent");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::zmtp::{encode_ping, frame};

    /// The bytes a peer of `socket_type` sends: greeting, READY, then `rest`.
    fn peer_bytes(socket_type: SocketType, rest: &[u8]) -> Vec<u8> {
        let mut out = BytesMut::new();
        Session::new(SessionConfig::new(socket_type), Instant::now()).start(&mut out);
        out.extend_from_slice(rest);
        out.to_vec()
    }

    fn pull() -> Session {
        Session::new(SessionConfig::new(SocketType::Pull), Instant::now())
    }

    /// Feeds `bytes` in chunks of `chunk`, collecting every event until an error.
    fn feed(session: &mut Session, bytes: &[u8], chunk: usize) -> Result<Vec<Event>, Error> {
        let (mut input, mut out, mut events) = (BytesMut::new(), BytesMut::new(), Vec::new());
        for piece in bytes.chunks(chunk.max(1)) {
            input.extend_from_slice(piece);
            while let Some(event) = session.decode(&mut input, Instant::now(), &mut out)? {
                events.push(event);
            }
            assert!(session.wanted() > input.len() || input.is_empty());
        }
        Ok(events)
    }

    fn messages(events: &[Event]) -> Vec<Vec<Vec<u8>>> {
        let msgs = events.iter().filter_map(|e| match e {
            Event::Message(m) => Some(m.frames().iter().map(|f| f.to_vec()).collect()),
            _ => None,
        });
        msgs.collect()
    }

    #[test]
    fn handshake_then_messages_in_any_chunking() {
        let data = b"\x01\x01a\x00\x00\x02\x00\x00\x00\x00\x00\x00\x01\x00";
        let mut big = data.to_vec();
        big.extend(std::iter::repeat_n(7u8, 256));
        let bytes = peer_bytes(SocketType::Push, &big);
        for chunk in [1, 2, 3, 7, 64, 65, 1000] {
            let events = feed(&mut pull(), &bytes, chunk).unwrap();
            let Event::Ready(peer) = &events[0] else {
                panic!("{events:?}")
            };
            assert_eq!((peer.socket_type, peer.minor), (SocketType::Push, 1));
            let want = vec![vec![b"a".to_vec(), vec![]], vec![vec![7u8; 256]]];
            assert_eq!(messages(&events), want, "chunk {chunk}");
        }
    }

    #[test]
    fn every_prefix_of_the_handshake_needs_more_bytes() {
        let bytes = peer_bytes(SocketType::Push, b"");
        for n in 0..bytes.len() {
            let mut input = BytesMut::from(&bytes[..n]);
            let mut s = pull();
            assert_eq!(
                s.decode(&mut input, Instant::now(), &mut BytesMut::new()),
                Ok(None)
            );
        }
    }

    #[test]
    fn start_writes_greeting_and_ready() {
        let mut out = BytesMut::new();
        let mut config = SessionConfig::new(SocketType::Dealer);
        config.identity = Bytes::from_static(b"me");
        Session::new(config, Instant::now()).start(&mut out);
        assert_eq!(Greeting::decode(&out).unwrap().unwrap(), Greeting::ours());
        let (h, n) = FrameHeader::decode(&out[GREETING_LEN..]).unwrap();
        let body = Bytes::copy_from_slice(&out[GREETING_LEN + n..]);
        assert_eq!(h.size as usize, body.len());
        let Command::Ready(meta) = Command::decode(body).unwrap() else {
            panic!()
        };
        assert_eq!(meta.identity, Bytes::from_static(b"me"));
    }

    #[test]
    fn incompatible_peer_is_refused() {
        let bytes = peer_bytes(SocketType::Pull, b"");
        let err = feed(&mut pull(), &bytes, 100).unwrap_err();
        let want = Error::IncompatibleSocketType {
            ours: SocketType::Pull,
            peer: SocketType::Pull,
        };
        assert_eq!(err, want);
        assert_eq!(err.to_string(), "socket type PULL may not connect to PULL");
    }

    #[test]
    fn data_before_ready_is_refused() {
        let mut bytes = Greeting::ours().encode().to_vec();
        bytes.extend_from_slice(b"\x00\x01x");
        assert_eq!(feed(&mut pull(), &bytes, 100), Err(Error::DataBeforeReady));
    }

    #[test]
    fn other_mechanisms_and_peer_errors_are_refused() {
        let mut g = Greeting::ours();
        g.mechanism.0[..5].copy_from_slice(b"PLAIN");
        let err = feed(&mut pull(), &g.encode(), 64).unwrap_err();
        assert!(matches!(err, Error::UnsupportedMechanism(_)));
        let mut bytes = Greeting::ours().encode().to_vec();
        command::encode_error("go away", &mut bytes);
        let err = feed(&mut pull(), &bytes, 100).unwrap_err();
        assert_eq!(err, Error::PeerError(Bytes::from_static(b"go away")));
    }

    #[test]
    fn huge_frame_claim_fails_before_its_body_arrives() {
        let mut claim = vec![frame::LONG];
        claim.extend_from_slice(&(1u64 << 63).to_be_bytes());
        let bytes = peer_bytes(SocketType::Push, &claim);
        let err = feed(&mut pull(), &bytes, 100).unwrap_err();
        assert_eq!(err, Error::MessageTooLarge { limit: 64 << 20 });
        let mut unlimited = SessionConfig::new(SocketType::Pull);
        unlimited.max_msg_size = None;
        let mut s = Session::new(unlimited, Instant::now());
        assert!(feed(&mut s, &bytes, 100).is_ok());
        assert!(
            s.wanted() > 1 << 62,
            "asks for the bytes, allocates nothing"
        );
    }

    #[test]
    fn many_empty_frames_count_against_the_limit() {
        let mut config = SessionConfig::new(SocketType::Pull);
        config.max_msg_size = Some(1000);
        let frames = b"\x01\x00".repeat(100);
        let bytes = peer_bytes(SocketType::Push, &frames);
        let err = feed(&mut Session::new(config, Instant::now()), &bytes, 100).unwrap_err();
        assert_eq!(err, Error::MessageTooLarge { limit: 1000 });
    }

    #[test]
    fn oversized_command_is_refused() {
        let mut cmd = vec![frame::COMMAND | frame::LONG];
        cmd.extend_from_slice(&(MAX_COMMAND_SIZE + 1).to_be_bytes());
        let bytes = peer_bytes(SocketType::Push, &cmd);
        let err = feed(&mut pull(), &bytes, 100).unwrap_err();
        assert!(matches!(err, Error::CommandTooLarge { .. }));
    }

    #[test]
    fn ping_is_answered_and_unknown_commands_ignored() {
        let mut rest = Vec::new();
        encode_ping(0, b"hi", &mut rest);
        rest.extend_from_slice(b"\x04\x06\x05HELLO");
        rest.extend_from_slice(b"\x00\x01z");
        let bytes = peer_bytes(SocketType::Push, &rest);
        let mut s = pull();
        let (mut input, mut out) = (BytesMut::from(&bytes[..]), BytesMut::new());
        let now = Instant::now();
        assert!(matches!(
            s.decode(&mut input, now, &mut out),
            Ok(Some(Event::Ready(_)))
        ));
        let msg = s.decode(&mut input, now, &mut out).unwrap();
        assert_eq!(msg, Some(Event::Message(Msg::from(&b"z"[..]))));
        let mut pong = Vec::new();
        command::encode_pong(b"hi", &mut pong);
        assert_eq!(&out[..], &pong[..]);
    }

    #[test]
    fn subscriptions_are_events() {
        let mut rest = Vec::new();
        command::encode_subscription(true, b"ab", 1, &mut rest);
        command::encode_subscription(false, b"ab", 1, &mut rest);
        let bytes = peer_bytes(SocketType::Sub, &rest);
        let mut publisher = Session::new(SessionConfig::new(SocketType::Pub), Instant::now());
        let events = feed(&mut publisher, &bytes, 5).unwrap();
        assert_eq!(
            events[1..],
            [Event::Subscribe("ab".into()), Event::Cancel("ab".into())]
        );
    }

    #[test]
    fn zmtp_3_0_peer_is_spoken_to_as_3_0() {
        let mut bytes = peer_bytes(SocketType::Push, b"");
        bytes[11] = 0;
        let events = feed(&mut pull(), &bytes, 100).unwrap();
        assert!(matches!(&events[0], Event::Ready(p) if p.minor == 0));
    }

    #[test]
    fn handshake_timeout() {
        let t0 = Instant::now();
        let mut s = Session::new(SessionConfig::new(SocketType::Pull), t0);
        let deadline = s.next_timeout().unwrap();
        assert_eq!(deadline, t0 + Duration::from_secs(30));
        assert_eq!(
            s.handle_timeout(deadline - Duration::from_millis(1), &mut BytesMut::new()),
            Ok(())
        );
        assert_eq!(
            s.handle_timeout(deadline, &mut BytesMut::new()),
            Err(Error::HandshakeTimeout)
        );
    }

    #[test]
    fn heartbeat_pings_then_times_out_on_silence() {
        let t0 = Instant::now();
        let ivl = Duration::from_millis(100);
        let mut config = SessionConfig::new(SocketType::Pull);
        config.heartbeat = Heartbeat {
            interval: Some(ivl),
            timeout: None,
            ttl: Some(ivl * 3),
        };
        let mut s = Session::new(config, t0);
        let bytes = peer_bytes(SocketType::Push, b"");
        let (mut input, mut out) = (BytesMut::from(&bytes[..]), BytesMut::new());
        assert!(matches!(
            s.decode(&mut input, t0, &mut out),
            Ok(Some(Event::Ready(_)))
        ));
        assert_eq!(s.next_timeout(), Some(t0 + ivl));
        s.handle_timeout(t0 + ivl, &mut out).unwrap();
        let mut ping = Vec::new();
        encode_ping(3, b"", &mut ping);
        assert_eq!(&out[..], &ping[..]);
        // A frame from the peer clears the silence deadline.
        input.extend_from_slice(b"\x00\x00");
        assert!(s.decode(&mut input, t0 + ivl, &mut out).unwrap().is_some());
        s.handle_timeout(t0 + ivl * 2, &mut out).unwrap();
        assert_eq!(
            s.handle_timeout(t0 + ivl * 3, &mut out),
            Err(Error::HeartbeatTimeout)
        );
    }

    #[test]
    fn zero_heartbeat_interval_means_none() {
        let t0 = Instant::now();
        let mut config = SessionConfig::new(SocketType::Pull);
        config.heartbeat.interval = Some(Duration::ZERO);
        let mut s = Session::new(config, t0);
        let bytes = peer_bytes(SocketType::Push, b"");
        let (mut input, mut out) = (BytesMut::from(&bytes[..]), BytesMut::new());
        assert!(matches!(
            s.decode(&mut input, t0, &mut out),
            Ok(Some(Event::Ready(_)))
        ));
        assert_eq!(s.next_timeout(), None);
    }

    #[test]
    fn peer_ttl_closes_a_silent_peer() {
        let t0 = Instant::now();
        let mut rest = Vec::new();
        encode_ping(5, b"", &mut rest);
        let bytes = peer_bytes(SocketType::Push, &rest);
        let mut s = pull();
        let (mut input, mut out) = (BytesMut::from(&bytes[..]), BytesMut::new());
        while s.decode(&mut input, t0, &mut out).unwrap().is_some() {}
        assert_eq!(s.next_timeout(), Some(t0 + Duration::from_millis(500)));
        let late = t0 + Duration::from_millis(500);
        assert_eq!(
            s.handle_timeout(late, &mut out),
            Err(Error::HeartbeatTimeout)
        );
    }
}
