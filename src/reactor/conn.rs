//! ZMTP connections on the loop: connect, accept, read and decode, write, time out, reconnect.

use std::io::{self, Read};
use std::net::SocketAddr;
use std::time::Instant;

use bytes::BytesMut;
use log::{debug, trace, warn};
use mio::net::TcpStream;

use super::outbuf::OutBuf;
use super::timer::TimerKey;
use super::{Endpoint, Entry, Reactor, SocketId, register};
use crate::readbuf;
use crate::socket::{Control, PipeId, SocketCore};
use crate::zmtp::{self, Event, Session, SessionConfig};

/// What a peer that hangs up mid-handshake most likely means.
const HANDSHAKE_HINT: &str = "is its socket type compatible, and does it speak ZMTP 3 with NULL?";

/// Bytes read from one connection per readiness event before others get a turn.
const READ_BUDGET: usize = 512 * 1024;
/// The first read size; it doubles up to [`MAX_READ_CHUNK`] while reads fill it.
const MIN_READ_CHUNK: usize = 8 * 1024;
const MAX_READ_CHUNK: usize = 128 * 1024;
/// Below this much spare room a read first makes more.
const MIN_SPARE: usize = 1024;
/// Read buffers kept for reuse after messages still pointed into them.
const MAX_RETIRED: usize = 2;
/// Output gathered from a pipe before a write.
const WRITE_BATCH: usize = 256 * 1024;

/// One ZMTP connection: its stream, protocol state and buffers.
#[derive(Debug)]
pub(super) struct ZmtpConn {
    pub(super) stream: TcpStream,
    pub(super) socket: SocketId,
    /// The connecting endpoint that made this connection, if any.
    connector: Option<usize>,
    pipe: Option<PipeId>,
    session: Session,
    rbuf: BytesMut,
    /// Bytes right after `rbuf`'s data, in the same allocation, that an earlier read offered
    /// and did not fill: already initialized, so the next read need not zero them again.
    zeroed: BytesMut,
    /// Earlier read buffers, reused once the messages cut from them are dropped.
    retired: Vec<BytesMut>,
    read_chunk: usize,
    pub(super) out: OutBuf,
    peer_addr: Option<SocketAddr>,
    connecting: bool,
    writable: bool,
    /// Listed in `Reactor::pending_reads`.
    read_pending: bool,
    /// Stopped reading because the pipe's input queue is full.
    blocked: bool,
    /// The earliest deadline already in the timer heap.
    wake_at: Option<Instant>,
    /// Set by a finished handshake until the reactor has seen it.
    just_attached: bool,
}

/// Why a connection is closing.
enum Close {
    Eof,
    /// The socket gave the connection up (a ROUTER handing its routing id to a new peer).
    Evicted,
    Io(io::Error),
    Protocol(zmtp::Error),
}

/// What a read pass ended with.
enum ReadEnd {
    Drained,
    Budget,
    Blocked,
}

impl Reactor {
    /// Starts a TCP connect for a connecting endpoint.
    pub(super) fn start_connect(&mut self, socket: SocketId, ep: usize) {
        let Some(Endpoint::Connect(c)) = self.endpoint(socket, ep) else {
            return;
        };
        let (addr, pipe) = (c.addr, c.pipe);
        c.retry_at = None;
        let token = match TcpStream::connect(addr) {
            Ok(stream) => self.add_conn(stream, socket, Some(ep), Some(pipe), true),
            Err(e) => {
                debug!("connect to {addr} failed: {e}");
                None
            }
        };
        let Some(token) = token else {
            return self.schedule_reconnect(socket, ep);
        };
        if let Some(Endpoint::Connect(c)) = self.endpoint(socket, ep) {
            c.conn = Some(token);
        }
        self.sockets[socket.0].core.link(pipe, token);
    }

    fn endpoint(&mut self, socket: SocketId, ep: usize) -> Option<&mut Endpoint> {
        self.sockets.get_mut(socket.0)?.endpoints.get_mut(ep)
    }

    /// Puts a new stream on the loop with a fresh session; greeting and READY are queued.
    fn add_conn(
        &mut self,
        stream: TcpStream,
        socket: SocketId,
        connector: Option<usize>,
        pipe: Option<PipeId>,
        connecting: bool,
    ) -> Option<usize> {
        let config = session_config(&self.sockets[socket.0].core);
        let mut conn = Box::new(ZmtpConn {
            peer_addr: stream.peer_addr().ok(),
            stream,
            socket,
            connector,
            pipe,
            session: Session::new(config, Instant::now()),
            rbuf: BytesMut::new(),
            zeroed: BytesMut::new(),
            retired: Vec::new(),
            read_chunk: MIN_READ_CHUNK,
            out: OutBuf::default(),
            connecting,
            writable: !connecting,
            read_pending: false,
            blocked: false,
            wake_at: None,
            just_attached: false,
        });
        conn.session.start(conn.out.staging());
        let token = self.entries.vacant_key();
        if let Err(e) = register(&self.poll, &mut conn.stream, token) {
            warn!("cannot register a connection: {e}");
            return None;
        }
        self.entries.insert(Entry::Zmtp(conn));
        self.arm_conn_timer(token);
        Some(token)
    }

    /// Accepts every waiting connection on a listener.
    pub(super) fn accept(&mut self, token: usize) {
        loop {
            let Some(Entry::Listener { listener, socket }) = self.entries.get(token) else {
                return;
            };
            let socket = *socket;
            match listener.accept() {
                Ok((stream, addr)) => {
                    let _ = stream.set_nodelay(true);
                    debug!("accepted {addr}");
                    if let Some(conn) = self.add_conn(stream, socket, None, None, false) {
                        self.flush_conn(conn);
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return self.accept_failed(token, &e),
            }
        }
    }

    /// Handles readiness on a ZMTP connection.
    pub(super) fn zmtp_event(
        &mut self,
        token: usize,
        readable: bool,
        writable: bool,
        read_closed: bool,
    ) {
        if writable {
            let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
                return;
            };
            conn.writable = true;
            if conn.connecting {
                match finish_connect(conn) {
                    Ok(true) => {}
                    Ok(false) => return,
                    Err(e) => return self.close_conn(token, Close::Io(e)),
                }
            }
            self.flush_conn(token);
        }
        if readable {
            self.read_conn(token, !read_closed);
        }
    }

    /// Reads and decodes until `WouldBlock`, the budget, or a full input queue.
    pub(super) fn read_conn(&mut self, token: usize, short_ends: bool) {
        let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
            return;
        };
        if conn.connecting {
            return;
        }
        let Some(state) = self.sockets.get_mut(conn.socket.0) else {
            return;
        };
        let result = conn.read(&mut state.core, token, Instant::now(), short_ends);
        let readable = state.core.readable();
        let (socket, connector) = (conn.socket, conn.connector);
        if let (true, Some(pipe)) = (std::mem::take(&mut conn.just_attached), conn.pipe) {
            self.after_handshake(socket, connector, pipe);
        }
        match result {
            Err(close) => return self.close_conn(token, close),
            Ok(ReadEnd::Budget) => self.pending_reads.push(token),
            Ok(ReadEnd::Blocked) => self.blocked_reads.push(token),
            Ok(ReadEnd::Drained) => {}
        }
        if readable {
            self.note_readable(socket);
        }
        self.flush_conn(token);
        self.arm_conn_timer(token);
    }

    fn after_handshake(&mut self, socket: SocketId, connector: Option<usize>, pipe: PipeId) {
        self.peer_changed(socket, pipe, true);
        while let Some(old) = self.sockets[socket.0].core.take_evicted() {
            self.close_conn(old, Close::Evicted);
        }
        let Some(ep) = connector else { return };
        let ivl = self.sockets[socket.0].core.options().reconnect_ivl;
        if let Some(Endpoint::Connect(c)) = self.endpoint(socket, ep) {
            c.backoff = ivl;
        }
    }

    /// Continues reads that stopped on their budget or on a queue that now has room.
    pub(super) fn resume_reads(&mut self) {
        let mut pending = std::mem::take(&mut self.pending_reads);
        for token in pending.drain(..) {
            if let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) {
                conn.read_pending = false;
                self.read_conn(token, false);
            }
        }
        if self.pending_reads.is_empty() {
            self.pending_reads = pending;
        }
        self.resume_blocked();
    }

    /// Resumes connections whose input queue has drained to half its high-water mark.
    pub(super) fn resume_blocked(&mut self) {
        let mut i = 0;
        while i < self.blocked_reads.len() {
            let token = self.blocked_reads[i];
            let resume = match self.entries.get(token) {
                Some(Entry::Zmtp(conn)) => {
                    let core = &self.sockets[conn.socket.0].core;
                    conn.pipe.is_none_or(|p| core.can_resume(p))
                }
                _ => true,
            };
            if !resume {
                i += 1;
                continue;
            }
            self.blocked_reads.swap_remove(i);
            if let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) {
                conn.blocked = false;
                self.read_conn(token, false);
            }
        }
    }

    /// Writes what a socket's pipes have queued.
    pub(super) fn flush_socket(&mut self, socket: SocketId) {
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return;
        };
        let mut dirty = state.core.take_dirty();
        for &pipe in &dirty {
            let core = &mut self.sockets[socket.0].core;
            match core.pipe(pipe).and_then(|p| p.conn()) {
                Some(token) => self.flush_conn(token),
                None => core.clear_dirty(pipe),
            }
        }
        dirty.clear();
        if let Some(state) = self.sockets.get_mut(socket.0) {
            state.core.restore_dirty(dirty);
        }
    }

    /// Moves queued messages into the connection's output and writes until `WouldBlock`.
    pub(super) fn flush_conn(&mut self, token: usize) {
        let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
            return;
        };
        if conn.connecting || !conn.writable {
            return;
        }
        let Some(state) = self.sockets.get_mut(conn.socket.0) else {
            return;
        };
        if let Err(e) = conn.write(&mut state.core) {
            self.close_conn(token, Close::Io(e));
        }
    }

    /// Fires a connection's protocol timers.
    pub(super) fn zmtp_timeout(&mut self, token: usize, now: Instant) {
        let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
            return;
        };
        conn.wake_at = None;
        if let Err(e) = conn.session.handle_timeout(now, conn.out.staging()) {
            return self.close_conn(token, Close::Protocol(e));
        }
        self.flush_conn(token);
        self.arm_conn_timer(token);
    }

    /// Makes sure the timer heap holds the connection's next deadline.
    fn arm_conn_timer(&mut self, token: usize) {
        let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
            return;
        };
        let Some(next) = conn.session.next_timeout() else {
            return;
        };
        self.timers
            .arm(&mut conn.wake_at, next, TimerKey::Conn(token));
    }

    /// Closes a connection, detaches its pipe and schedules a reconnect for a connecting one.
    fn close_conn(&mut self, token: usize, why: Close) {
        let Some(Entry::Zmtp(conn)) = self.entries.get_mut(token) else {
            return;
        };
        let peer = conn
            .peer_addr
            .map_or_else(|| "peer".to_string(), |a| a.to_string());
        match &why {
            Close::Eof if conn.session.state() != zmtp::State::Ready => {
                // libzmq refuses a wrong socket type by closing without a word: say so, once
                // per connecting endpoint (it retries), at debug for accepted peers.
                let endpoint = conn
                    .connector
                    .and_then(|ep| self.sockets.get_mut(conn.socket.0)?.endpoints.get_mut(ep));
                let first = match endpoint {
                    Some(Endpoint::Connect(c)) => !std::mem::replace(&mut c.warned, true),
                    _ => false,
                };
                if first {
                    warn!("{peer} closed the connection during the handshake: {HANDSHAKE_HINT}");
                } else {
                    debug!("{peer} closed the connection during the handshake");
                }
            }
            Close::Eof => debug!("{peer} closed the connection"),
            Close::Evicted => debug!("closing connection to {peer}: replaced by a newer peer"),
            Close::Io(e) => debug!("connection to {peer} failed: {e}"),
            Close::Protocol(e) => {
                warn!("closing connection to {peer}: {e}");
                say_error(conn, e);
            }
        }
        let (socket, pipe, connector) = (conn.socket, conn.pipe, conn.connector);
        let was_up = conn.session.state() == zmtp::State::Ready;
        self.close_entry(token);
        if let (Some(pipe), true) = (pipe, was_up) {
            self.peer_changed(socket, pipe, false);
        }
        if let (Some(state), Some(pipe)) = (self.sockets.get_mut(socket.0), pipe) {
            state.core.detach(pipe);
        }
        if let Some(ep) = connector {
            self.schedule_reconnect(socket, ep);
        }
    }

    fn schedule_reconnect(&mut self, socket: SocketId, ep: usize) {
        let jitter = self.random();
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return;
        };
        let max = state.core.options().reconnect_ivl_max;
        let Some(Endpoint::Connect(c)) = state.endpoints.get_mut(ep) else {
            return;
        };
        let ivl = c.backoff;
        let jitter_ms = jitter % (ivl.as_millis() as u64).max(1);
        let at = Instant::now() + ivl + std::time::Duration::from_millis(jitter_ms);
        c.conn = None;
        c.retry_at = Some(at);
        if let Some(max) = max {
            c.backoff = (ivl * 2).min(max).max(ivl.min(max));
        }
        trace!("reconnecting to {} in {:?}", c.name, at - Instant::now());
        self.timers.insert(at, TimerKey::Reconnect(socket.0, ep));
    }

    /// A reconnect timer fired; connect again if the endpoint still waits for it.
    pub(super) fn retry_connect(&mut self, socket: SocketId, ep: usize, now: Instant) {
        let due = match self.endpoint(socket, ep) {
            Some(Endpoint::Connect(c)) => c.conn.is_none() && c.retry_at.is_some_and(|t| t <= now),
            _ => false,
        };
        if due {
            self.start_connect(socket, ep);
        }
    }
}

impl ZmtpConn {
    /// Reads and decodes. With `short_ends` a read that did not fill the room offered ends
    /// the pass: the kernel had nothing more, and edge-triggered readiness fires again on new
    /// data. Without it (the peer's FIN was seen, or a resumed read) it reads on to
    /// `WouldBlock`, so an end of stream is never missed.
    fn read(
        &mut self,
        core: &mut SocketCore,
        token: usize,
        now: Instant,
        short_ends: bool,
    ) -> Result<ReadEnd, Close> {
        let mut budget = READ_BUDGET;
        let mut drained = false;
        loop {
            if !self.decode(core, token, now)? {
                self.blocked = true;
                return Ok(ReadEnd::Blocked);
            }
            if drained {
                return Ok(ReadEnd::Drained);
            }
            if budget == 0 {
                self.read_pending = true;
                return Ok(ReadEnd::Budget);
            }
            match self.read_some() {
                Ok((0, _)) => return Err(Close::Eof),
                Ok((n, offered)) => {
                    budget = budget.saturating_sub(n);
                    drained = short_ends && n < offered;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(ReadEnd::Drained),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(Close::Io(e)),
            }
        }
    }

    /// One `read` into the buffer's spare room, grown as the session asks (never by more
    /// than the bytes already there, so a claimed size is not allocated up front).
    fn read_some(&mut self) -> io::Result<(usize, usize)> {
        let len = self.rbuf.len();
        let wanted = self.session.wanted().saturating_sub(len);
        let room = wanted.clamp(self.read_chunk, self.read_chunk.max(len));
        readbuf::reclaim_spare(&mut self.rbuf, &mut self.zeroed);
        let spare = self.rbuf.capacity() - len;
        if spare < MIN_SPARE || (wanted > spare && spare < self.read_chunk) {
            self.rbuf.truncate(len);
            self.make_room(room);
        }
        let end = self.rbuf.capacity().min(len + room.max(self.read_chunk));
        readbuf::fill_to(&mut self.rbuf, end);
        let result = self.stream.read(&mut self.rbuf[len..end]);
        let n = *result.as_ref().unwrap_or(&0);
        readbuf::keep_spare(&mut self.rbuf, &mut self.zeroed, len + n);
        if n == end - len && self.read_chunk < MAX_READ_CHUNK {
            self.read_chunk *= 2;
        }
        result.map(|n| (n, end - len))
    }

    /// Makes `room` bytes of spare capacity without allocating when it can: the buffer is
    /// reclaimed in place once no message points into it any more, or a retired buffer whose
    /// messages are all gone is taken back. Only when every buffer is still in use is a new
    /// one allocated, and the one it replaces is kept for later reuse.
    fn make_room(&mut self, room: usize) {
        if self.rbuf.try_reclaim(room) {
            return;
        }
        let len = self.rbuf.len();
        let reusable = self
            .retired
            .iter_mut()
            .position(|b| b.try_reclaim(len + room));
        let mut next = match reusable {
            Some(i) => self.retired.swap_remove(i),
            None => BytesMut::with_capacity((len + room).max(self.rbuf.capacity())),
        };
        next.extend_from_slice(&self.rbuf);
        let mut old = std::mem::replace(&mut self.rbuf, next);
        old.clear();
        if self.retired.len() == MAX_RETIRED {
            self.retired.remove(0);
        }
        self.retired.push(old);
    }

    /// Decodes buffered input into the socket. False when the pipe's input queue filled up.
    fn decode(&mut self, core: &mut SocketCore, token: usize, now: Instant) -> Result<bool, Close> {
        loop {
            let event = self.session.decode(&mut self.rbuf, now, self.out.staging());
            match event.map_err(Close::Protocol)? {
                None => return Ok(true),
                Some(Event::Ready(peer)) => self.attach(core, token, peer),
                Some(Event::Message(msg)) => {
                    let Some(pipe) = self.pipe else { continue };
                    if !core.on_message(pipe, msg) {
                        return Ok(false);
                    }
                }
                Some(Event::Subscribe(topic)) => self.subscribe(core, topic, true),
                Some(Event::Cancel(topic)) => self.subscribe(core, topic, false),
            }
        }
    }

    fn attach(&mut self, core: &mut SocketCore, token: usize, peer: zmtp::PeerInfo) {
        let pipe = *self.pipe.get_or_insert_with(|| core.add_pipe(false));
        core.link(pipe, token);
        core.attach(pipe, peer);
        self.just_attached = true;
    }

    fn subscribe(&mut self, core: &mut SocketCore, topic: bytes::Bytes, on: bool) {
        if let Some(pipe) = self.pipe {
            core.on_subscription(pipe, topic, on);
        }
    }

    /// Gathers queued messages into the output and writes until done or `WouldBlock`.
    fn write(&mut self, core: &mut SocketCore) -> io::Result<()> {
        loop {
            if let Some(pipe) = self.pipe {
                let minor = self.session.minor();
                while let Some(control) = core.pop_control(pipe) {
                    encode_control(&control, minor, self.out.staging());
                }
                while self.out.len() < WRITE_BATCH {
                    let Some(msg) = core.pop_outbound(pipe) else {
                        break;
                    };
                    self.out.push_msg(&msg);
                }
            }
            if self.out.is_empty() {
                return Ok(());
            }
            self.out.write_to(&mut self.stream)?;
            if !self.out.is_empty() {
                self.writable = false;
                return Ok(());
            }
        }
    }
}

fn encode_control(control: &Control, minor: u8, out: &mut BytesMut) {
    match control {
        Control::Subscribe(topic) => zmtp::encode_subscription(true, topic, minor, out),
        Control::Cancel(topic) => zmtp::encode_subscription(false, topic, minor, out),
    }
}

/// Checks a connect that reported writable: true once connected, false if still pending.
fn finish_connect(conn: &mut ZmtpConn) -> io::Result<bool> {
    if let Some(e) = conn.stream.take_error()? {
        return Err(e);
    }
    match conn.stream.peer_addr() {
        Ok(addr) => {
            conn.connecting = false;
            conn.peer_addr = Some(addr);
            let _ = conn.stream.set_nodelay(true);
            debug!("connected to {addr}");
            Ok(true)
        }
        Err(e) if e.kind() == io::ErrorKind::NotConnected => Ok(false),
        Err(e) => Err(e),
    }
}

/// Tells a peer why its handshake failed, best effort, before the connection closes.
fn say_error(conn: &mut ZmtpConn, e: &zmtp::Error) {
    if conn.session.state() == zmtp::State::Ready || conn.connecting {
        return;
    }
    zmtp::encode_error(&e.to_string(), conn.out.staging());
    let _ = conn.out.write_to(&mut conn.stream);
}

fn session_config(core: &SocketCore) -> SessionConfig {
    let options = core.options();
    let mut config = SessionConfig::new(core.kind());
    config.identity = options.identity.clone();
    config.max_msg_size = options.max_msg_size;
    config.handshake_timeout = options.handshake_ivl;
    config.heartbeat = options.heartbeat;
    config
}
