//! The event loop: the only code in palm that touches sockets and the clock.
//!
//! One [`Reactor`] owns one `mio::Poll`, a slab of connections and listeners (slab key = mio
//! `Token`), the ZeroMQ sockets built on them, and a timer heap driven by the poll timeout.
//! Protocol work is delegated: bytes go to [`crate::zmtp::Session`], messages to
//! [`crate::socket::SocketCore`]. Connections are registered once for read and write
//! readiness (mio is edge-triggered), read until `WouldBlock` within a per-event budget, and
//! written with vectored writes that batch many frames per syscall.
//!
//! Two ways to use it:
//! - as plain sockets: [`Reactor::send`], [`Reactor::recv`] and their blocking forms drive
//!   the loop while they wait, like libzmq's blocking calls (see also [`Socket`] for a
//!   one-socket program);
//! - as a loop that calls your code: [`Reactor::run`] with a [`Handler`].
//!
//! Output is written when the loop turns, when a batch fills, or at once by
//! [`Reactor::send`]; [`Reactor::enqueue`] leaves it for the loop to batch.

mod conn;
mod endpoint;
mod http;
mod outbuf;
mod single;
mod timer;

pub use crate::socket::PipeId;
pub use http::{HttpRequestId, HttpServerId};
pub use outbuf::{OutBuf, ZERO_COPY_MIN};
pub use single::Socket;

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, warn};
use mio::net::{TcpListener, TcpStream};
use mio::{Events, Interest, Poll, Token, Waker};
use slab::Slab;

use crate::http::{HttpDate, Request, Response};
use crate::socket::{self, Options, SendError, SocketCore};
use crate::zmtp::{Msg, SocketType};
use conn::ZmtpConn;
use timer::{TimerKey, Timers};

/// Identifies a socket inside its reactor.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SocketId(usize);

/// Identifies a user timer.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TimerId(u64);

/// The token of the cross-thread waker; never a slab key.
const WAKER: Token = Token(usize::MAX);
/// How long a listener rests after a failed accept before trying again.
const ACCEPT_RETRY: Duration = Duration::from_millis(100);

/// How many mio events one poll takes.
const EVENT_CAPACITY: usize = 1024;

/// Messages other threads may queue through a [`Handle`] before it pushes back.
const INBOX_CAPACITY: usize = 4096;

/// Code the loop calls from [`Reactor::run`].
pub trait Handler {
    /// Messages are waiting on `socket`; take them with [`Reactor::recv`].
    fn on_readable(&mut self, reactor: &mut Reactor, socket: SocketId) {
        let _ = (reactor, socket);
    }

    /// An HTTP request arrived; answer it now or later with [`Reactor::respond`]. The
    /// default answers 404.
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        let _ = request;
        reactor.respond(id, Response::new(404));
    }

    /// A peer finished its handshake (`up`) or its connection went away.
    fn on_peer(&mut self, reactor: &mut Reactor, event: PeerEvent) {
        let _ = (reactor, event);
    }

    /// A timer set with [`Reactor::set_timer`] fired.
    fn on_timer(&mut self, reactor: &mut Reactor, timer: TimerId) {
        let _ = (reactor, timer);
    }

    /// Called once per loop turn, after events and timers.
    fn on_turn(&mut self, reactor: &mut Reactor) {
        let _ = reactor;
    }
}

/// The handler of a turn nobody handles: requests wait in the queue for [`Reactor::run`] or
/// [`Reactor::next_request`].
struct NoHandler;

impl Handler for NoHandler {}

/// A peer of a socket came up (handshake done) or went down (connection closed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PeerEvent {
    /// The socket.
    pub socket: SocketId,
    /// The socket's pipe for that peer.
    pub pipe: PipeId,
    /// True when the peer came up.
    pub up: bool,
}

/// What the slab holds.
#[derive(Debug)]
enum Entry {
    Listener {
        listener: TcpListener,
        socket: SocketId,
    },
    Zmtp(Box<ZmtpConn>),
    HttpListener {
        listener: TcpListener,
        server: usize,
    },
    Http(Box<http::HttpConn>),
}

/// A socket's semantics plus where it is bound and connected.
#[derive(Debug)]
struct SocketState {
    core: SocketCore,
    endpoints: Slab<Endpoint>,
    /// Listed in `Reactor::dirty_sockets`.
    dirty: bool,
    /// Listed in `Reactor::readable_sockets`.
    notified: bool,
    /// Peers past their handshake.
    peers: usize,
}

#[derive(Debug)]
enum Endpoint {
    Bind { token: usize, name: String },
    Connect(Connector),
}

/// A connecting endpoint: its address, persistent pipe and reconnect state.
#[derive(Debug)]
struct Connector {
    name: String,
    addr: std::net::SocketAddr,
    pipe: PipeId,
    conn: Option<usize>,
    backoff: Duration,
    retry_at: Option<Instant>,
    /// A mid-handshake hang-up was already reported for this endpoint.
    warned: bool,
}

/// Messages handed in from other threads.
#[derive(Debug, Default)]
struct Inbox {
    queue: Mutex<std::collections::VecDeque<(SocketId, Msg)>>,
    stop: AtomicBool,
}

/// A cloneable, `Send` handle that lets other threads hand messages to the loop and stop it.
#[derive(Clone, Debug)]
pub struct Handle {
    inbox: Arc<Inbox>,
    waker: Arc<Waker>,
}

impl Handle {
    /// Queues `msg` for sending on `socket` from the loop's thread; gives the message back
    /// when the inbox is full. A message no peer can take yet waits in the inbox (in order)
    /// until one can.
    pub fn send(&self, socket: SocketId, msg: Msg) -> Result<(), Msg> {
        let mut queue = self.inbox.queue.lock().unwrap_or_else(|e| e.into_inner());
        if queue.len() >= INBOX_CAPACITY {
            return Err(msg);
        }
        queue.push_back((socket, msg));
        drop(queue);
        let _ = self.waker.wake();
        Ok(())
    }

    /// Asks [`Reactor::run`] to return after its current turn.
    pub fn stop(&self) {
        self.inbox.stop.store(true, Ordering::Release);
        let _ = self.waker.wake();
    }
}

/// One event loop with its sockets and connections.
pub struct Reactor {
    poll: Poll,
    events: Events,
    entries: Slab<Entry>,
    sockets: Slab<SocketState>,
    timers: Timers,
    /// Connections that stopped reading before `WouldBlock` on their budget.
    pending_reads: Vec<usize>,
    /// Listeners with connections waiting, accepted at the end of a poll's events.
    ready_listeners: Vec<usize>,
    /// Connections that stopped reading because their input queue is full.
    blocked_reads: Vec<usize>,
    dirty_sockets: Vec<SocketId>,
    readable_sockets: Vec<SocketId>,
    /// Peers that came up or went down this turn.
    peer_events: Vec<PeerEvent>,
    /// Timers the user set that fired this turn.
    fired_timers: Vec<TimerId>,
    next_timer: u64,
    cancelled_timers: Vec<u64>,
    rng: u64,
    inbox: Arc<Inbox>,
    /// Set when the waker fired (or messages from other threads are still held back): the
    /// inbox needs looking at, which otherwise costs a lock per turn.
    inbox_waiting: bool,
    waker: Arc<Waker>,
    http_servers: Slab<http::HttpServer>,
    /// Requests decoded and not yet handed to the handler.
    http_requests: std::collections::VecDeque<(HttpRequestId, Request)>,
    /// HTTP connections with answers to write.
    http_dirty: Vec<usize>,
    /// HTTP connections that stopped reading on their budget.
    http_pending_reads: Vec<usize>,
    http_serial: u64,
    http_date: HttpDate,
}

impl std::fmt::Debug for Reactor {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reactor")
            .field("entries", &self.entries.len())
            .field("sockets", &self.sockets.len())
            .finish()
    }
}

impl Reactor {
    /// A new loop with nothing registered.
    pub fn new() -> io::Result<Reactor> {
        let poll = Poll::new()?;
        let waker = Arc::new(Waker::new(poll.registry(), WAKER)?);
        Ok(Reactor {
            poll,
            events: Events::with_capacity(EVENT_CAPACITY),
            entries: Slab::new(),
            sockets: Slab::new(),
            timers: Timers::default(),
            pending_reads: Vec::new(),
            ready_listeners: Vec::new(),
            blocked_reads: Vec::new(),
            dirty_sockets: Vec::new(),
            readable_sockets: Vec::new(),
            fired_timers: Vec::new(),
            peer_events: Vec::new(),
            next_timer: 0,
            cancelled_timers: Vec::new(),
            rng: seed(),
            inbox: Arc::default(),
            inbox_waiting: false,
            waker,
            http_servers: Slab::new(),
            http_requests: std::collections::VecDeque::new(),
            http_dirty: Vec::new(),
            http_pending_reads: Vec::new(),
            http_serial: 0,
            http_date: HttpDate::new(std::time::SystemTime::now()),
        })
    }

    /// A handle other threads can use to send through this loop or stop it.
    pub fn handle(&self) -> Handle {
        Handle {
            inbox: Arc::clone(&self.inbox),
            waker: Arc::clone(&self.waker),
        }
    }

    /// Creates a socket of `kind` with default options.
    pub fn socket(&mut self, kind: SocketType) -> SocketId {
        self.socket_with(kind, Options::default())
    }

    /// Creates a socket of `kind` with `options`.
    pub fn socket_with(&mut self, kind: SocketType, options: Options) -> SocketId {
        SocketId(self.sockets.insert(SocketState {
            core: SocketCore::new(kind, options),
            endpoints: Slab::new(),
            dirty: false,
            notified: false,
            peers: 0,
        }))
    }

    /// A socket's options, for changing before it binds or connects.
    ///
    /// # Panics
    /// If `socket` was closed: using a closed socket id is a bug in the caller.
    pub fn options_mut(&mut self, socket: SocketId) -> &mut Options {
        self.sockets[socket.0].core.options_mut()
    }

    /// A socket's semantic state (pipes, queues), for inspection.
    pub fn core(&self, socket: SocketId) -> Option<&SocketCore> {
        self.sockets.get(socket.0).map(|s| &s.core)
    }

    /// Binds `socket` to `tcp://host:port` (`*` for any host; port `0` or `*` for a free one)
    /// and returns the endpoint actually bound, with the real port.
    pub fn bind(&mut self, socket: SocketId, endpoint: &str) -> io::Result<String> {
        let addr = endpoint::resolve_bind(endpoint)?;
        let backlog = self.state(socket)?.core.options().backlog;
        let mut listener = endpoint::listen(addr, backlog)?;
        let name = endpoint::format(listener.local_addr()?);
        let token = self.entries.vacant_key();
        self.poll
            .registry()
            .register(&mut listener, Token(token), Interest::READABLE)?;
        self.entries.insert(Entry::Listener { listener, socket });
        let state = self.state(socket)?;
        state.endpoints.insert(Endpoint::Bind {
            token,
            name: name.clone(),
        });
        debug!("{} bound to {name}", state.core.kind());
        Ok(name)
    }

    /// Connects `socket` to `tcp://host:port`. The peer's queue exists at once, so messages
    /// sent before the connection is up wait for it; a lost connection is retried with
    /// backoff.
    pub fn connect(&mut self, socket: SocketId, endpoint: &str) -> io::Result<()> {
        let addr = endpoint::resolve_connect(endpoint)?;
        let state = self.state(socket)?;
        let backoff = state.core.options().reconnect_ivl;
        let pipe = state.core.add_pipe(true);
        let name = endpoint.to_string();
        let connector = Connector {
            name,
            addr,
            pipe,
            conn: None,
            backoff,
            retry_at: None,
            warned: false,
        };
        let ep = state.endpoints.insert(Endpoint::Connect(connector));
        self.start_connect(socket, ep);
        Ok(())
    }

    /// Stops listening on an endpoint `bind` returned (or was given). Accepted connections
    /// stay up, as in libzmq.
    pub fn unbind(&mut self, socket: SocketId, endpoint: &str) -> io::Result<()> {
        let state = self.state(socket)?;
        let found = state.endpoints.iter().find_map(|(key, ep)| match ep {
            Endpoint::Bind { token, name } if name == endpoint => Some((key, *token)),
            _ => None,
        });
        let (key, token) = found.ok_or_else(|| not_found(endpoint))?;
        state.endpoints.remove(key);
        self.close_entry(token);
        Ok(())
    }

    /// Drops a connection made by [`Reactor::connect`], with everything queued for it.
    pub fn disconnect(&mut self, socket: SocketId, endpoint: &str) -> io::Result<()> {
        let state = self.state(socket)?;
        let found = state.endpoints.iter().find_map(|(key, ep)| match ep {
            Endpoint::Connect(c) if c.name == endpoint => Some((key, c.pipe, c.conn)),
            _ => None,
        });
        let (key, pipe, conn) = found.ok_or_else(|| not_found(endpoint))?;
        state.endpoints.remove(key);
        state.core.remove_pipe(pipe);
        if let Some(token) = conn {
            self.close_entry(token);
        }
        Ok(())
    }

    /// Closes a socket: waits up to its linger time for queued messages to be written, then
    /// drops its listeners and connections.
    pub fn close(&mut self, socket: SocketId) -> io::Result<()> {
        let linger = self.state(socket)?.core.options().linger;
        let deadline = linger.map(|l| Instant::now() + l);
        while self.has_pending_output(socket) && deadline.is_none_or(|d| Instant::now() < d) {
            let wait = deadline.map(|d| d.saturating_duration_since(Instant::now()));
            self.turn(wait.map(|w| w.min(Duration::from_millis(100))))?;
        }
        let tokens: Vec<usize> = self.entries_of(socket);
        tokens.into_iter().for_each(|t| self.close_entry(t));
        self.sockets.remove(socket.0);
        Ok(())
    }

    /// Queues `msg` on `socket` and writes it out at once when the peer's connection can
    /// take it. Fails with [`socket::Error::WouldBlock`] when no peer has room, handing the
    /// message back.
    pub fn send(&mut self, socket: SocketId, msg: Msg) -> Result<(), SendError> {
        self.enqueue(socket, msg)?;
        self.flush_socket(socket);
        Ok(())
    }

    /// Queues `msg` on `socket` without writing: the loop writes it at its next turn, or
    /// when a peer's queue fills. Many messages then leave in one syscall.
    pub fn enqueue(&mut self, socket: SocketId, msg: Msg) -> Result<(), SendError> {
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return Err(SendError {
                error: socket::Error::NotSupported,
                msg,
            });
        };
        match state.core.send(msg) {
            Err(SendError {
                error: socket::Error::WouldBlock,
                msg,
            }) => {
                // Writing what is queued may make room.
                self.flush_socket(socket);
                self.sockets[socket.0].core.send(msg)?;
            }
            other => other?,
        }
        self.note_dirty(socket);
        Ok(())
    }

    /// Sends, driving the loop while no peer has room, for at most `timeout` (`None`: no
    /// limit). Fails with [`socket::Error::TimedOut`] when time runs out.
    pub fn send_timeout(
        &mut self,
        socket: SocketId,
        mut msg: Msg,
        timeout: Option<Duration>,
    ) -> Result<(), SendError> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            match self.send(socket, msg) {
                Err(SendError {
                    error: socket::Error::WouldBlock,
                    msg: back,
                }) => msg = back,
                other => return other,
            }
            if let Err(error) = self.wait_turn(deadline) {
                return Err(SendError { error, msg });
            }
        }
    }

    /// Takes the next message on `socket` without waiting (beyond one non-blocking look at
    /// the network). Fails with [`socket::Error::WouldBlock`] when none is waiting.
    pub fn recv(&mut self, socket: SocketId) -> Result<Msg, socket::Error> {
        let mut msg = Msg::new();
        self.recv_into(socket, &mut msg).map(|()| msg)
    }

    /// [`Reactor::recv`] into `out`, replacing what it held (libzmq's `zmq_msg_recv`): a
    /// receive loop that reuses one message moves less. `out` is left alone on error.
    pub fn recv_into(&mut self, socket: SocketId, out: &mut Msg) -> Result<(), socket::Error> {
        match self.take_message(socket, out) {
            Err(socket::Error::WouldBlock) => {
                self.turn(Some(Duration::ZERO))
                    .map_err(|_| socket::Error::WouldBlock)?;
                self.take_message(socket, out)
            }
            other => other,
        }
    }

    /// Receives, driving the loop until a message arrives or `timeout` passes (`None`: no
    /// limit).
    pub fn recv_timeout(
        &mut self,
        socket: SocketId,
        timeout: Option<Duration>,
    ) -> Result<Msg, socket::Error> {
        let mut msg = Msg::new();
        self.recv_timeout_into(socket, &mut msg, timeout)
            .map(|()| msg)
    }

    /// [`Reactor::recv_timeout`] into `out`, replacing what it held; left alone on error.
    pub fn recv_timeout_into(
        &mut self,
        socket: SocketId,
        out: &mut Msg,
        timeout: Option<Duration>,
    ) -> Result<(), socket::Error> {
        let deadline = timeout.map(|t| Instant::now() + t);
        loop {
            match self.take_message(socket, out) {
                Err(socket::Error::WouldBlock) => self.wait_turn(deadline)?,
                other => return other,
            }
        }
    }

    /// Subscribes a SUB socket to messages starting with `topic` (empty: every message).
    pub fn subscribe(&mut self, socket: SocketId, topic: &[u8]) -> Result<(), socket::Error> {
        let state = self
            .sockets
            .get_mut(socket.0)
            .ok_or(socket::Error::NotSupported)?;
        state.core.subscribe(Bytes::copy_from_slice(topic))?;
        self.note_dirty(socket);
        self.flush_socket(socket);
        Ok(())
    }

    /// Cancels one earlier [`Reactor::subscribe`] to `topic`.
    pub fn unsubscribe(&mut self, socket: SocketId, topic: &[u8]) -> Result<(), socket::Error> {
        let state = self
            .sockets
            .get_mut(socket.0)
            .ok_or(socket::Error::NotSupported)?;
        state.core.unsubscribe(Bytes::copy_from_slice(topic))?;
        self.note_dirty(socket);
        self.flush_socket(socket);
        Ok(())
    }

    /// Writes everything queued on every socket as far as the peers take it.
    pub fn flush(&mut self) {
        self.http_flush();
        while let Some(socket) = self.dirty_sockets.pop() {
            if let Some(state) = self.sockets.get_mut(socket.0) {
                state.dirty = false;
            }
            self.flush_socket(socket);
        }
    }

    /// Runs one turn of the loop: writes pending output, waits for events for at most
    /// `timeout` (`None`: until something happens), handles them and any due timers.
    pub fn turn(&mut self, timeout: Option<Duration>) -> io::Result<()> {
        self.turn_with(timeout, None::<&mut NoHandler>)
    }

    /// A turn; with a handler, each HTTP connection's requests reach it as soon as that
    /// connection has been read, and its answers are written before the next connection is
    /// read, so the first request of a busy turn does not wait for the last one.
    fn turn_with<H: Handler>(
        &mut self,
        timeout: Option<Duration>,
        handler: Option<&mut H>,
    ) -> io::Result<()> {
        self.peer_events.clear();
        self.flush();
        let timeout = self.poll_timeout(timeout);
        match self.poll.poll(&mut self.events, timeout) {
            Err(e) if e.kind() == io::ErrorKind::Interrupted => return Ok(()),
            other => other?,
        }
        self.dispatch_events(handler);
        self.resume_reads();
        self.http_resume_reads();
        if !self.timers.is_empty() {
            self.fire_timers(Instant::now());
        }
        self.drain_inbox();
        self.flush();
        Ok(())
    }

    /// Runs the loop, calling `handler`, until a [`Handle::stop`].
    pub fn run(&mut self, handler: &mut impl Handler) -> io::Result<()> {
        while !self.inbox.stop.swap(false, Ordering::AcqRel) {
            self.turn_with(None, Some(&mut *handler))?;
            self.call_handler(handler);
        }
        Ok(())
    }

    /// Runs one turn and calls `handler` for what happened in it. For loops that also do
    /// their own work between turns.
    pub fn run_once(
        &mut self,
        handler: &mut impl Handler,
        timeout: Option<Duration>,
    ) -> io::Result<()> {
        self.turn_with(timeout, Some(&mut *handler))?;
        self.call_handler(handler);
        Ok(())
    }

    /// Sets a timer that fires once at `at`; [`Handler::on_timer`] hears of it.
    pub fn set_timer(&mut self, at: Instant) -> TimerId {
        self.next_timer += 1;
        self.timers.insert(at, TimerKey::User(self.next_timer));
        TimerId(self.next_timer)
    }

    /// Cancels a timer that has not fired.
    pub fn cancel_timer(&mut self, timer: TimerId) {
        self.cancelled_timers.push(timer.0);
    }

    fn call_handler(&mut self, handler: &mut impl Handler) {
        let mut events = std::mem::take(&mut self.peer_events);
        for event in events.drain(..) {
            handler.on_peer(self, event);
        }
        if self.peer_events.is_empty() {
            self.peer_events = events;
        }
        let mut timers = std::mem::take(&mut self.fired_timers);
        for timer in timers.drain(..) {
            handler.on_timer(self, timer);
        }
        self.fired_timers = timers;
        self.hand_requests(handler);
        while let Some(socket) = self.readable_sockets.pop() {
            let Some(state) = self.sockets.get_mut(socket.0) else {
                continue;
            };
            state.notified = false;
            if state.core.readable() {
                handler.on_readable(self, socket);
            }
        }
        handler.on_turn(self);
        self.flush();
    }

    #[inline]
    fn take_message(&mut self, socket: SocketId, out: &mut Msg) -> Result<(), socket::Error> {
        let state = self
            .sockets
            .get_mut(socket.0)
            .ok_or(socket::Error::NotSupported)?;
        state.core.recv_into(out)?;
        if state.core.take_resumable() && !self.blocked_reads.is_empty() {
            self.resume_blocked();
        }
        Ok(())
    }

    /// One turn bounded by `deadline`; `TimedOut` once it has passed.
    fn wait_turn(&mut self, deadline: Option<Instant>) -> Result<(), socket::Error> {
        let wait = match deadline {
            Some(d) => match d.checked_duration_since(Instant::now()) {
                Some(wait) if !wait.is_zero() => Some(wait),
                _ => return Err(socket::Error::TimedOut),
            },
            None => None,
        };
        self.turn(wait).map_err(|e| {
            warn!("poll failed: {e}");
            socket::Error::TimedOut
        })
    }

    fn poll_timeout(&self, timeout: Option<Duration>) -> Option<Duration> {
        let waiting = !self.http_requests.is_empty() || !self.http_pending_reads.is_empty();
        if !self.pending_reads.is_empty() || waiting {
            return Some(Duration::ZERO);
        }
        let timer = self.timers.until_next(Instant::now);
        match (timeout, timer) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Handles one poll's events. Listeners are accepted after all the others: a connection
    /// closed by an earlier event frees its slab key, and a connection accepted in the same
    /// pass could take that key and then receive the closed one's later events (a stale
    /// read-closed would hang it up).
    fn dispatch_events<H: Handler>(&mut self, mut handler: Option<&mut H>) {
        let events = std::mem::replace(&mut self.events, Events::with_capacity(0));
        let mut listeners = std::mem::take(&mut self.ready_listeners);
        for event in events.iter() {
            let token = event.token();
            if token == WAKER {
                self.inbox_waiting = true;
                continue;
            }
            let readable = event.is_readable() || event.is_read_closed() || event.is_error();
            let writable = event.is_writable() || event.is_error();
            let read_closed = event.is_read_closed() || event.is_error();
            match self.entries.get(token.0) {
                Some(Entry::Listener { .. } | Entry::HttpListener { .. }) => {
                    listeners.push(token.0)
                }
                Some(Entry::Zmtp(_)) => self.zmtp_event(token.0, readable, writable, read_closed),
                Some(Entry::Http(_)) => {
                    self.http_event(token.0, readable, writable, read_closed);
                    if let Some(handler) = handler.as_deref_mut() {
                        self.answer_http(handler);
                    }
                }
                None => {}
            }
        }
        self.events = events;
        for token in listeners.drain(..) {
            match self.entries.get(token) {
                Some(Entry::Listener { .. }) => self.accept(token),
                Some(Entry::HttpListener { .. }) => self.http_accept(token),
                _ => {}
            }
        }
        self.ready_listeners = listeners;
    }

    /// Hands the requests read so far to `handler` and writes what it answered.
    fn answer_http<H: Handler>(&mut self, handler: &mut H) {
        self.hand_requests(handler);
        self.http_flush();
    }

    /// Hands every queued HTTP request to `handler`, in arrival order.
    fn hand_requests<H: Handler>(&mut self, handler: &mut H) {
        while let Some((id, request)) = self.http_requests.pop_front() {
            handler.on_request(self, id, request);
        }
    }

    fn fire_timers(&mut self, now: Instant) {
        while let Some(key) = self.timers.pop_due(now) {
            match key {
                TimerKey::Conn(token) => match self.entries.get(token) {
                    Some(Entry::Zmtp(_)) => self.zmtp_timeout(token, now),
                    Some(Entry::Http(_)) => self.http_timeout(token, now),
                    _ => {}
                },
                TimerKey::Reconnect(socket, ep) => self.retry_connect(SocketId(socket), ep, now),
                TimerKey::Accept(token) => match self.entries.get(token) {
                    Some(Entry::Listener { .. }) => self.accept(token),
                    Some(Entry::HttpListener { .. }) => self.http_accept(token),
                    _ => {}
                },
                TimerKey::User(id) => {
                    if let Some(i) = self.cancelled_timers.iter().position(|&c| c == id) {
                        self.cancelled_timers.swap_remove(i);
                    } else {
                        self.fired_timers.push(TimerId(id));
                    }
                }
            }
        }
    }

    /// An accept failed for a reason other than an empty backlog, most likely no free file
    /// descriptor (EMFILE/ENFILE). The waiting connections raise no new readiness edge, so
    /// the listener is tried again on a timer, once descriptors may have been freed.
    fn accept_failed(&mut self, token: usize, e: &io::Error) {
        warn!("accept failed: {e}; trying again in {ACCEPT_RETRY:?}");
        let at = Instant::now() + ACCEPT_RETRY;
        self.timers.insert(at, TimerKey::Accept(token));
    }

    fn drain_inbox(&mut self) {
        if !self.inbox_waiting {
            return;
        }
        let inbox = Arc::clone(&self.inbox);
        let mut queue = inbox.queue.lock().unwrap_or_else(|e| e.into_inner());
        while let Some((socket, msg)) = queue.pop_front() {
            match self.sockets.get_mut(socket.0).map(|s| s.core.send(msg)) {
                Some(Ok(())) => self.note_dirty(socket),
                Some(Err(SendError {
                    error: socket::Error::WouldBlock,
                    msg,
                })) => {
                    // No peer has room yet: keep it, in order, for a later turn.
                    queue.push_front((socket, msg));
                    break;
                }
                Some(Err(e)) => debug!("message from another thread not sent: {}", e.error),
                None => debug!("message from another thread for a closed socket"),
            }
        }
        self.inbox_waiting = !queue.is_empty();
    }

    /// The pipe (peer) the last successful send on `socket` went to.
    pub fn last_pipe(&self, socket: SocketId) -> Option<PipeId> {
        self.sockets.get(socket.0).and_then(|s| s.core.last_pipe())
    }

    /// How many peers of `socket` have finished their handshake.
    pub fn peer_count(&self, socket: SocketId) -> usize {
        self.sockets.get(socket.0).map_or(0, |s| s.peers)
    }

    pub(super) fn peer_changed(&mut self, socket: SocketId, pipe: PipeId, up: bool) {
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return;
        };
        state.peers = if up {
            state.peers + 1
        } else {
            state.peers.saturating_sub(1)
        };
        self.peer_events.push(PeerEvent { socket, pipe, up });
    }

    fn note_dirty(&mut self, socket: SocketId) {
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return;
        };
        if state.core.has_dirty() && !state.dirty {
            state.dirty = true;
            self.dirty_sockets.push(socket);
        }
    }

    fn note_readable(&mut self, socket: SocketId) {
        let Some(state) = self.sockets.get_mut(socket.0) else {
            return;
        };
        if !state.notified {
            state.notified = true;
            self.readable_sockets.push(socket);
        }
    }

    fn has_pending_output(&self, socket: SocketId) -> bool {
        let Some(state) = self.sockets.get(socket.0) else {
            return false;
        };
        // Only connections with a pipe can hold messages; the others have a handshake at
        // most.
        state.core.has_queued_output()
            || state.core.conns().any(|t| match self.entries.get(t) {
                Some(Entry::Zmtp(c)) => !c.out.is_empty(),
                _ => false,
            })
    }

    fn entries_of(&self, socket: SocketId) -> Vec<usize> {
        let mine = self.entries.iter().filter(|(_, e)| match e {
            Entry::Listener { socket: s, .. } => *s == socket,
            Entry::Zmtp(c) => c.socket == socket,
            Entry::HttpListener { .. } | Entry::Http(_) => false,
        });
        mine.map(|(t, _)| t).collect()
    }

    fn state(&mut self, socket: SocketId) -> io::Result<&mut SocketState> {
        self.sockets
            .get_mut(socket.0)
            .ok_or_else(|| not_found("socket"))
    }

    /// Removes a listener or connection from the loop.
    fn close_entry(&mut self, token: usize) {
        let Some(entry) = self.entries.try_remove(token) else {
            return;
        };
        let registry = self.poll.registry();
        let _ = match entry {
            Entry::Listener { mut listener, .. } | Entry::HttpListener { mut listener, .. } => {
                registry.deregister(&mut listener)
            }
            Entry::Zmtp(mut conn) => registry.deregister(&mut conn.stream),
            Entry::Http(mut conn) => registry.deregister(&mut conn.stream),
        };
    }

    /// The next pseudo-random number (xorshift); for reconnect jitter, not for secrets.
    fn random(&mut self) -> u64 {
        self.rng ^= self.rng << 13;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        self.rng
    }
}

fn seed() -> u64 {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let local = 0u8;
    (t.as_nanos() as u64) ^ (std::ptr::addr_of!(local) as u64).rotate_left(32) | 1
}

fn not_found(what: &str) -> io::Error {
    io::Error::new(io::ErrorKind::NotFound, format!("{what}: not found"))
}

/// Registers a new stream for read and write readiness (edge-triggered, once for its life).
fn register(poll: &Poll, stream: &mut TcpStream, token: usize) -> io::Result<()> {
    poll.registry().register(
        stream,
        Token(token),
        Interest::READABLE | Interest::WRITABLE,
    )
}
