//! Parts and routes: pylm's `ServerTemplate` on one event loop.
//!
//! A [`Server`] is built from named [`Part`]s registered as inbound, outbound or bypass, and
//! routes between them by name. A message that arrives at a part (from its socket, or from the
//! HTTP gateway) is decoded once into a [`PalmMessage`], passed through the part's `gather`
//! hook, and handed to the part named by its route; that part's `scatter` hook may turn it
//! into several before it leaves. Every hop is a function call on the loop's thread: no
//! `inproc` sockets, no threads.
//!
//! Built-in parts: the HTTP gateway, the worker push and pull services, the cache service,
//! and generic pull, push, publish and reply services.
//!
//! ```no_run
//! use palm::palm::{Part, Server};
//!
//! let mut server = Server::new("server")?;
//! server
//!     .register_inbound(Part::worker_pull("WorkerPull", "tcp://127.0.0.1:5557").route("Gateway"))
//!     .register_outbound(Part::worker_push("WorkerPush", "tcp://127.0.0.1:5558"))
//!     .register_bypass(Part::http_gateway("Gateway", "127.0.0.1:8888").route("WorkerPush"))
//!     .register_bypass(Part::cache("Cache", "tcp://127.0.0.1:5559"));
//! server.preset_cache("worker_push_address", "tcp://127.0.0.1:5558");
//! server.run()?;
//! # Ok::<(), std::io::Error>(())
//! ```

use std::collections::HashMap;
use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use log::{debug, info, warn};

use super::cache::{Cache, CacheLimits};
use super::gateway::{self, Gateway, Recovery, Route};
use super::message::PalmMessage;
use crate::http::{Limits, Request, Response};
use crate::reactor::{Handler, HttpRequestId, HttpServerId, PeerEvent, Reactor, SocketId, TimerId};
use crate::socket::Options;
use crate::zmtp::{Msg, SocketType};

/// A hook that sees every message passing a part and emits zero or more in its place.
pub type Hook = Box<dyn FnMut(PalmMessage, &mut dyn FnMut(PalmMessage))>;

/// The role a part was registered with (pylm's terms).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// Takes messages in from outside and routes them to another part.
    Inbound,
    /// Sends messages out; what comes back may be routed onward.
    Outbound,
    /// Stands on its own (the cache, the gateway).
    Bypass,
}

/// What a part does.
#[derive(Debug)]
enum Kind {
    /// HTTP front door: requests out to its route, replies in by `client`.
    Gateway {
        listen: String,
        limits: Limits,
        timeout: Duration,
    },
    /// PUSH, binds: hands messages to workers round-robin.
    WorkerPush { bind: String },
    /// PULL, binds: takes workers' replies.
    WorkerPull { bind: String },
    /// PULL, binds: takes messages from clients.
    Pull { bind: String },
    /// PUSH, binds or connects.
    Push { endpoint: String, connect: bool },
    /// PUB, binds: publishes each message as `[client, message]`.
    Pub { bind: String },
    /// REP, binds: the key-value cache service.
    Cache { bind: String },
    /// REP, binds: answers each request with what its handler returns.
    Rep { bind: String },
}

/// The handler of a reply part: takes a request, returns the reply.
pub type Reply = Box<dyn FnMut(PalmMessage) -> PalmMessage>;

/// A named part of a server, before it starts.
pub struct Part {
    name: String,
    kind: Kind,
    route: Option<String>,
    gather: Option<Hook>,
    scatter: Option<Hook>,
    reply: Option<Reply>,
}

impl std::fmt::Debug for Part {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Part")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .finish()
    }
}

impl Part {
    fn new(name: &str, kind: Kind) -> Part {
        let name = name.to_string();
        Part {
            name,
            kind,
            route: None,
            gather: None,
            scatter: None,
            reply: None,
        }
    }

    /// The HTTP gateway listening on `listen` (`host:port`); requests time out after 30 s.
    pub fn http_gateway(name: &str, listen: &str) -> Part {
        let timeout = Duration::from_secs(30);
        Part::new(
            name,
            Kind::Gateway {
                listen: listen.to_string(),
                limits: Limits::default(),
                timeout,
            },
        )
    }

    /// The service that pushes work to workers (PUSH, binds).
    pub fn worker_push(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::WorkerPush {
                bind: bind.to_string(),
            },
        )
    }

    /// The service that pulls workers' results (PULL, binds).
    pub fn worker_pull(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::WorkerPull {
                bind: bind.to_string(),
            },
        )
    }

    /// A generic pull service (PULL, binds), e.g. for pylm clients.
    pub fn pull(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::Pull {
                bind: bind.to_string(),
            },
        )
    }

    /// A generic push service that binds.
    pub fn push(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::Push {
                endpoint: bind.to_string(),
                connect: false,
            },
        )
    }

    /// A generic push service that connects.
    pub fn push_connect(name: &str, endpoint: &str) -> Part {
        Part::new(
            name,
            Kind::Push {
                endpoint: endpoint.to_string(),
                connect: true,
            },
        )
    }

    /// A publish service (PUB, binds): each message goes out as `[client, message]`, so a
    /// pylm client subscribed to its own id gets its results.
    pub fn publish(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::Pub {
                bind: bind.to_string(),
            },
        )
    }

    /// The cache service (REP, binds), speaking pylm's `_.set`, `_.get`, `_.delete`.
    pub fn cache(name: &str, bind: &str) -> Part {
        Part::new(
            name,
            Kind::Cache {
                bind: bind.to_string(),
            },
        )
    }

    /// A reply service (REP, binds): every request, a `PalmMessage`, is answered with what
    /// `handler` returns (an undecodable request gets an empty reply, so the peer's REQ is not
    /// left waiting).
    pub fn reply(
        name: &str,
        bind: &str,
        handler: impl FnMut(PalmMessage) -> PalmMessage + 'static,
    ) -> Part {
        let mut part = Part::new(
            name,
            Kind::Rep {
                bind: bind.to_string(),
            },
        );
        part.reply = Some(Box::new(handler));
        part
    }

    /// Routes what this part takes in to the part named `to`.
    pub fn route(mut self, to: &str) -> Part {
        self.route = Some(to.to_string());
        self
    }

    /// Runs `hook` on every message this part takes in, before routing (pylm's gather).
    pub fn gather(
        mut self,
        hook: impl FnMut(PalmMessage, &mut dyn FnMut(PalmMessage)) + 'static,
    ) -> Part {
        self.gather = Some(Box::new(hook));
        self
    }

    /// Runs `hook` on every message before this part sends it (pylm's scatter).
    pub fn scatter(
        mut self,
        hook: impl FnMut(PalmMessage, &mut dyn FnMut(PalmMessage)) + 'static,
    ) -> Part {
        self.scatter = Some(Box::new(hook));
        self
    }

    /// Sets the gateway's reply deadline (504 after it).
    pub fn timeout(mut self, timeout: Duration) -> Part {
        if let Kind::Gateway { timeout: t, .. } = &mut self.kind {
            *t = timeout;
        }
        self
    }

    /// Sets the gateway's HTTP limits.
    pub fn limits(mut self, limits: Limits) -> Part {
        if let Kind::Gateway { limits: l, .. } = &mut self.kind {
            *l = limits;
        }
        self
    }
}

/// A running part.
struct Live {
    name: String,
    route: Option<usize>,
    gather: Option<Hook>,
    scatter: Option<Hook>,
    reply: Option<Reply>,
    io: Io,
}

enum Io {
    Gateway {
        gateway: Box<Gateway>,
        timer: Option<(Instant, TimerId)>,
    },
    Socket {
        socket: SocketId,
        kind: SocketType,
        cache: bool,
    },
}

/// A PALM server: parts, routes and the cache on one reactor.
pub struct Server {
    reactor: Reactor,
    pending: Vec<(Role, Part)>,
    routes: Routes,
}

/// The running parts and the cache: what the loop calls into, kept apart from the loop so
/// both can be borrowed at once.
struct Routes {
    name: String,
    parts: Vec<Live>,
    by_socket: HashMap<SocketId, usize>,
    by_http: HashMap<HttpServerId, usize>,
    cache: Cache,
    addresses: HashMap<String, String>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("name", &self.routes.name)
            .field("parts", &self.routes.parts.len())
            .finish()
    }
}

impl Server {
    /// A server called `name` (what pylm clients check) with no parts yet.
    pub fn new(name: &str) -> io::Result<Server> {
        let mut cache = Cache::new();
        cache.preset(
            Bytes::copy_from_slice(b"name"),
            Bytes::copy_from_slice(name.as_bytes()),
        );
        Ok(Server {
            reactor: Reactor::new()?,
            pending: Vec::new(),
            routes: Routes {
                name: name.to_string(),
                parts: Vec::new(),
                by_socket: HashMap::new(),
                by_http: HashMap::new(),
                cache,
                addresses: HashMap::new(),
            },
        })
    }

    /// Registers a part that takes messages in and routes them on.
    pub fn register_inbound(&mut self, part: Part) -> &mut Server {
        self.pending.push((Role::Inbound, part));
        self
    }

    /// Registers a part that sends messages out.
    pub fn register_outbound(&mut self, part: Part) -> &mut Server {
        self.pending.push((Role::Outbound, part));
        self
    }

    /// Registers a part that stands on its own.
    pub fn register_bypass(&mut self, part: Part) -> &mut Server {
        self.pending.push((Role::Bypass, part));
        self
    }

    /// Stores a value in the cache before the server starts (pylm's `preset_cache`).
    pub fn preset_cache(&mut self, key: &str, value: &str) -> &mut Server {
        let (key, value) = (key.as_bytes(), value.as_bytes());
        self.routes
            .cache
            .preset(Bytes::copy_from_slice(key), Bytes::copy_from_slice(value));
        self
    }

    /// Bounds the cache; least recently used entries are evicted (presets never are).
    pub fn cache_limits(&mut self, limits: CacheLimits) -> &mut Server {
        let mut cache = Cache::with_limits(limits);
        std::mem::swap(&mut cache, &mut self.routes.cache);
        // Presets move over unbounded.
        self.routes.cache.preset(
            Bytes::from_static(b"name"),
            Bytes::copy_from_slice(self.routes.name.as_bytes()),
        );
        self
    }

    /// The cache, for the server's own reads and writes.
    pub fn cache_mut(&mut self) -> &mut Cache {
        &mut self.routes.cache
    }

    /// The loop underneath.
    pub fn reactor(&mut self) -> &mut Reactor {
        &mut self.reactor
    }

    /// The address a part actually bound (with the real port when it asked for port 0).
    pub fn address(&self, part: &str) -> Option<&str> {
        self.routes.addresses.get(part).map(String::as_str)
    }

    /// Binds every part and resolves the routes. Called by [`Server::run`]; call it yourself
    /// to learn the bound addresses first.
    pub fn start(&mut self) -> io::Result<()> {
        let pending = std::mem::take(&mut self.pending);
        let names: Vec<String> = pending.iter().map(|(_, p)| p.name.clone()).collect();
        for (role, part) in pending {
            let route = match &part.route {
                Some(to) => Some(names.iter().position(|n| n == to).ok_or_else(|| {
                    io::Error::new(
                        io::ErrorKind::InvalidInput,
                        format!("part {}: no part named {to}", part.name),
                    )
                })?),
                None => None,
            };
            if role == Role::Inbound && route.is_none() {
                let why = format!("inbound part {} needs a route", part.name);
                return Err(io::Error::new(io::ErrorKind::InvalidInput, why));
            }
            self.start_part(part, route)?;
        }
        Ok(())
    }

    fn start_part(&mut self, part: Part, route: Option<usize>) -> io::Result<()> {
        let index = self.routes.parts.len();
        let (io, address) = match &part.kind {
            Kind::Gateway {
                listen,
                limits,
                timeout,
            } => {
                let (server, bound) = self.reactor.http_bind(listen, limits.clone())?;
                self.routes.by_http.insert(server, index);
                (
                    Io::Gateway {
                        gateway: Box::new(Gateway::new(*timeout)),
                        timer: None,
                    },
                    bound,
                )
            }
            kind => {
                let (socket_type, endpoint, connect) = socket_of(kind);
                let socket = self.reactor.socket_with(socket_type, Options::default());
                let bound = if connect {
                    self.reactor.connect(socket, endpoint)?;
                    endpoint.to_string()
                } else {
                    self.reactor.bind(socket, endpoint)?
                };
                self.routes.by_socket.insert(socket, index);
                let cache = matches!(kind, Kind::Cache { .. });
                (
                    Io::Socket {
                        socket,
                        kind: socket_type,
                        cache,
                    },
                    bound,
                )
            }
        };
        info!("part {} on {address}", part.name);
        self.routes.addresses.insert(part.name.clone(), address);
        let Part {
            name,
            gather,
            scatter,
            reply,
            ..
        } = part;
        self.routes.parts.push(Live {
            name,
            route,
            gather,
            scatter,
            reply,
            io,
        });
        Ok(())
    }

    /// Starts (if needed) and runs the loop until a [`crate::Handle::stop`].
    pub fn run(&mut self) -> io::Result<()> {
        if !self.pending.is_empty() || self.routes.parts.is_empty() {
            self.start()?;
        }
        self.reactor.run(&mut self.routes)
    }
}

impl Routes {
    /// Hands `msg` to part `to`: through its scatter hook, then out of its socket or, for a
    /// gateway, back to the waiting HTTP client.
    fn deliver(&mut self, reactor: &mut Reactor, to: usize, msg: PalmMessage) {
        let Some(mut hook) = self.parts[to].scatter.take() else {
            return self.send_out(reactor, to, msg);
        };
        let mut out = Vec::new();
        hook(msg, &mut |m| out.push(m));
        self.parts[to].scatter = Some(hook);
        out.into_iter().for_each(|m| self.send_out(reactor, to, m));
    }

    /// Passes a message a part took in through its gather hook and on along its route.
    fn take_in(&mut self, reactor: &mut Reactor, from: usize, msg: PalmMessage) {
        let Some(to) = self.parts[from].route else {
            return debug!(
                "part {} has no route; message dropped",
                self.parts[from].name
            );
        };
        let Some(mut hook) = self.parts[from].gather.take() else {
            return self.deliver(reactor, to, msg);
        };
        let mut out = Vec::new();
        hook(msg, &mut |m| out.push(m));
        self.parts[from].gather = Some(hook);
        out.into_iter().for_each(|m| self.deliver(reactor, to, m));
    }

    fn send_out(&mut self, reactor: &mut Reactor, to: usize, msg: PalmMessage) {
        match &mut self.parts[to].io {
            Io::Gateway { gateway, .. } => {
                if let Some((id, response)) = gateway.complete(msg, Instant::now()) {
                    reactor.respond(id, response);
                } else {
                    debug!("reply for an unknown client dropped");
                }
            }
            Io::Socket {
                socket,
                kind: SocketType::Pub,
                ..
            } => {
                let frames: Msg = [msg.client.clone().into_bytes(), msg.to_bytes()]
                    .into_iter()
                    .collect();
                let _ = reactor.enqueue(*socket, frames);
            }
            Io::Socket { socket, .. } => {
                if let Err(e) = reactor.enqueue(*socket, Msg::from(msg.to_bytes())) {
                    warn!("part {}: message dropped: {}", self.parts[to].name, e.error);
                }
            }
        }
    }

    fn on_socket(&mut self, reactor: &mut Reactor, index: usize, socket: SocketId) {
        let cache = matches!(self.parts[index].io, Io::Socket { cache: true, .. });
        while let Ok(msg) = reactor.recv(socket) {
            if cache {
                self.serve_cache(reactor, socket, msg);
                continue;
            }
            if self.parts[index].reply.is_some() {
                self.serve_reply(reactor, index, socket, msg);
                continue;
            }
            let Some(frame) = msg.frames().last().cloned() else {
                continue;
            };
            match PalmMessage::decode(frame) {
                Ok(m) => self.take_in(reactor, index, m),
                Err(e) => warn!(
                    "part {}: undecodable message dropped: {e}",
                    self.parts[index].name
                ),
            }
        }
    }

    fn serve_reply(&mut self, reactor: &mut Reactor, index: usize, socket: SocketId, msg: Msg) {
        let request = msg.frames().last().cloned().unwrap_or_default();
        let reply = match (
            PalmMessage::decode(request),
            self.parts[index].reply.as_mut(),
        ) {
            (Ok(request), Some(handler)) => handler(request).to_bytes(),
            (Err(e), _) => {
                warn!(
                    "part {}: undecodable request answered empty: {e}",
                    self.parts[index].name
                );
                Bytes::new()
            }
            (Ok(_), None) => Bytes::new(),
        };
        if let Err(e) = reactor.send(socket, Msg::from(reply)) {
            warn!(
                "part {}: reply not sent: {}",
                self.parts[index].name, e.error
            );
        }
    }

    fn serve_cache(&mut self, reactor: &mut Reactor, socket: SocketId, msg: Msg) {
        let request = msg.frames().last().cloned().unwrap_or_default();
        let reply = self.cache.handle_request(request).unwrap_or_else(|e| {
            warn!("cache request refused: {e}");
            Bytes::new()
        });
        if let Err(e) = reactor.send(socket, Msg::from(reply)) {
            warn!("cache reply not sent: {}", e.error);
        }
    }

    fn on_http(
        &mut self,
        reactor: &mut Reactor,
        index: usize,
        id: HttpRequestId,
        request: Request,
    ) {
        let route = self.parts[index].route;
        let workers = route.map_or(0, |to| self.peers_of(reactor, to));
        let now = Instant::now();
        let Io::Gateway { gateway, .. } = &mut self.parts[index].io else {
            return;
        };
        let function = match gateway::route(request.path()) {
            Route::Function(f) => f,
            Route::Health => {
                gateway.count(200);
                let body = format!(
                    "ok\nworkers: {workers}\nin_flight: {}\n",
                    gateway.in_flight()
                );
                reactor.respond(id, Response::new(200).content_type("text/plain").body(body));
                return;
            }
            Route::Metrics => {
                gateway.count(200);
                let body = gateway.metrics_text(workers);
                let response = Response::new(200).content_type("text/plain; version=0.0.4");
                reactor.respond(id, response.body(body));
                return;
            }
            Route::NotFound => return answer_now(reactor, gateway, id, 404),
        };
        let Some(to) = route.filter(|_| workers > 0) else {
            return answer_now(reactor, gateway, id, 503);
        };
        let (slot, encoded) = gateway.start(id, &request, function, now);
        self.arm_gateway_timer(reactor, index);
        self.push_to_workers(reactor, index, to, slot, encoded);
    }

    /// Sends a gateway request's message out of part `to`, noting the worker it went to.
    fn push_to_workers(
        &mut self,
        reactor: &mut Reactor,
        gw: usize,
        to: usize,
        slot: usize,
        encoded: Bytes,
    ) {
        let Io::Socket { socket, .. } = self.parts[to].io else {
            return;
        };
        let sent = reactor.enqueue(socket, Msg::from(encoded));
        let pipe = reactor.last_pipe(socket);
        let Io::Gateway { gateway, .. } = &mut self.parts[gw].io else {
            return;
        };
        match sent {
            Ok(()) => gateway.sent_to(slot, pipe),
            Err(_) => {
                if let Some((id, response)) = gateway.abandon(slot, 503, Instant::now()) {
                    reactor.respond(id, response);
                }
            }
        }
    }

    fn peers_of(&self, reactor: &Reactor, part: usize) -> usize {
        match self.parts[part].io {
            Io::Socket { socket, .. } => reactor.peer_count(socket),
            Io::Gateway { .. } => 1,
        }
    }

    fn arm_gateway_timer(&mut self, reactor: &mut Reactor, index: usize) {
        let Io::Gateway { gateway, timer, .. } = &mut self.parts[index].io else {
            return;
        };
        let Some(next) = gateway.next_deadline() else {
            return;
        };
        if timer.is_none_or(|(at, _)| next < at) {
            *timer = Some((next, reactor.set_timer(next)));
        }
    }

    fn on_worker_lost(&mut self, reactor: &mut Reactor, event: PeerEvent) {
        let Some(&to) = self.by_socket.get(&event.socket) else {
            return;
        };
        let gateways: Vec<usize> = (0..self.parts.len())
            .filter(|&i| self.parts[i].route == Some(to))
            .collect();
        for gw in gateways {
            let mut resend = Vec::new();
            let Io::Gateway { gateway, .. } = &mut self.parts[gw].io else {
                continue;
            };
            gateway.worker_lost(event.pipe, Instant::now(), |r| match r {
                Recovery::Resend(slot, msg) => resend.push((slot, msg)),
                Recovery::Answer(id, response) => {
                    reactor.respond(id, response);
                }
            });
            for (slot, msg) in resend {
                self.push_to_workers(reactor, gw, to, slot, msg);
            }
        }
    }
}

fn answer_now(reactor: &mut Reactor, gateway: &mut Gateway, id: HttpRequestId, status: u16) {
    gateway.count(status);
    let body = Bytes::from_static(gateway::reason_body(status));
    reactor.respond(
        id,
        Response::new(status).content_type("text/plain").body(body),
    );
}

fn socket_of(kind: &Kind) -> (SocketType, &str, bool) {
    match kind {
        Kind::WorkerPush { bind } => (SocketType::Push, bind, false),
        Kind::WorkerPull { bind } | Kind::Pull { bind } => (SocketType::Pull, bind, false),
        Kind::Push { endpoint, connect } => (SocketType::Push, endpoint, *connect),
        Kind::Pub { bind } => (SocketType::Pub, bind, false),
        Kind::Cache { bind } | Kind::Rep { bind } => (SocketType::Rep, bind, false),
        Kind::Gateway { listen, .. } => (SocketType::Pair, listen, false),
    }
}

impl Handler for Routes {
    fn on_readable(&mut self, reactor: &mut Reactor, socket: SocketId) {
        if let Some(&index) = self.by_socket.get(&socket) {
            self.on_socket(reactor, index, socket);
        }
    }

    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        let Some(&index) = self.by_http.get(&id.server()) else {
            reactor.respond(id, Response::new(404));
            return;
        };
        self.on_http(reactor, index, id, request);
    }

    fn on_peer(&mut self, reactor: &mut Reactor, event: PeerEvent) {
        if !event.up {
            self.on_worker_lost(reactor, event);
        }
    }

    fn on_timer(&mut self, reactor: &mut Reactor, timer: TimerId) {
        let now = Instant::now();
        for index in 0..self.parts.len() {
            let Io::Gateway {
                gateway,
                timer: armed,
                ..
            } = &mut self.parts[index].io
            else {
                continue;
            };
            if armed.is_some_and(|(_, t)| t == timer) {
                *armed = None;
                gateway.expire(now, |id, response| {
                    reactor.respond(id, response);
                });
                self.arm_gateway_timer(reactor, index);
            }
        }
    }
}
