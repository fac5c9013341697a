//! ZeroMQ socket semantics, without IO.
//!
//! A [`SocketCore`] owns one [`Pipe`] per peer: bounded queues in each direction. It decides
//! which pipe the next outgoing message goes to and enforces high-water marks, following
//! libzmq's observable behaviour per socket type:
//!
//! - PUSH, DEALER, PAIR send round-robin over peers with room ([`lb`](self)); PULL, DEALER,
//!   PAIR, SUB receive fair-queued ([`fq`](self));
//! - ROUTER prefixes received messages with the peer's routing id and routes sends by the
//!   first frame (`router.rs`);
//! - REQ adds the empty delimiter and alternates send and receive (`req.rs`); REP strips and
//!   restores the envelope (`rep.rs`);
//! - PUB filters by the prefixes each peer subscribed to and drops for full peers; SUB keeps
//!   counted subscriptions, replays them on every connection and filters too (`pubsub.rs`).
//!
//! It never touches a connection: the reactor attaches and detaches pipes as connections come
//! and go, feeds in what peers send, and drains the pipes listed as having output.

mod fq;
mod lb;
mod options;
mod pipe;
mod pubsub;
mod rep;
mod req;
mod router;

pub use options::Options;
pub use pipe::{Pipe, PipeId};

use std::collections::VecDeque;

use bytes::Bytes;
use slab::Slab;

use crate::zmtp::{Msg, PeerInfo, SocketType};

/// Why a send or receive did not happen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// No peer can take the message now (every queue at its high-water mark, or no peer);
    /// or, for a receive, no message is waiting.
    WouldBlock,
    /// This socket type cannot do that (send on PULL, receive on PUSH).
    NotSupported,
    /// The message is empty: a message has at least one frame.
    EmptyMessage,
    /// A blocking call ran out of time.
    TimedOut,
    /// The call is out of turn: REQ must receive a reply before the next request (unless
    /// relaxed) and cannot receive before a request; REP must reply before the next receive
    /// and cannot reply before one (libzmq's `EFSM`).
    OutOfTurn,
    /// A ROUTER with `router_mandatory` has no peer with the message's routing id (libzmq's
    /// `EHOSTUNREACH`).
    Unroutable,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::WouldBlock => "operation would block",
            Error::NotSupported => "operation not supported by this socket type",
            Error::EmptyMessage => "a message needs at least one frame",
            Error::TimedOut => "timed out",
            Error::OutOfTurn => "send and receive out of turn for this socket type",
            Error::Unroutable => "no peer with that routing id",
        })
    }
}

impl std::error::Error for Error {}

/// A send that did not happen, with the message handed back for a retry.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SendError {
    /// Why the message was not queued.
    pub error: Error,
    /// The message, untouched.
    pub msg: Msg,
}

impl std::fmt::Display for SendError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "send failed: {}", self.error)
    }
}

impl std::error::Error for SendError {}

impl From<SendError> for Error {
    fn from(e: SendError) -> Error {
        e.error
    }
}

fn refuse(error: Error, msg: Msg) -> Result<(), SendError> {
    Err(SendError { error, msg })
}

/// A protocol command a socket asks the connection to send, ahead of queued messages.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Control {
    /// Subscribe to a topic prefix (SUB): a SUBSCRIBE command, or a `0x01` message for a
    /// ZMTP 3.0 peer.
    Subscribe(Bytes),
    /// Cancel a subscription (SUB): a CANCEL command, or a `0x00` message for ZMTP 3.0.
    Cancel(Bytes),
}

/// The per-type state beyond pipes and queues.
#[derive(Debug)]
enum Role {
    /// PUSH, PULL, PAIR, DEALER: queues only.
    Plain,
    Router(router::Router),
    Req(req::Req),
    Rep(rep::Rep),
    Pub,
    Sub(pubsub::Subscriptions),
}

impl Role {
    fn for_kind(kind: SocketType) -> Role {
        match kind {
            SocketType::Router => Role::Router(router::Router::new()),
            SocketType::Req => Role::Req(req::Req::new()),
            SocketType::Rep => Role::Rep(rep::Rep::default()),
            SocketType::Pub => Role::Pub,
            SocketType::Sub => Role::Sub(pubsub::Subscriptions::default()),
            _ => Role::Plain,
        }
    }
}

/// One socket's peers, queues and routing rules.
#[derive(Debug)]
pub struct SocketCore {
    kind: SocketType,
    options: Options,
    pipes: Slab<Pipe>,
    /// Pipes that may take output, in round-robin order.
    order: Vec<PipeId>,
    /// Where the next round-robin search starts.
    cursor: usize,
    /// Pipes with queued input, in the order they became readable (fair queueing).
    ready: VecDeque<PipeId>,
    /// Pipes with queued output for the reactor to write.
    dirty: Vec<PipeId>,
    /// The pipe the last successful send queued on.
    last_pipe: Option<PipeId>,
    /// Set when a receive drained some pipe's input queue to half its high-water mark: a
    /// reader stopped on that pipe may go on. Lets the reactor skip its check otherwise.
    resumable: bool,
    role: Role,
}

impl SocketCore {
    /// A socket of `kind` with `options` and no peers.
    pub fn new(kind: SocketType, options: Options) -> SocketCore {
        SocketCore {
            kind,
            options,
            pipes: Slab::new(),
            order: Vec::new(),
            cursor: 0,
            ready: VecDeque::new(),
            dirty: Vec::new(),
            last_pipe: None,
            resumable: false,
            role: Role::for_kind(kind),
        }
    }

    /// The socket type.
    pub fn kind(&self) -> SocketType {
        self.kind
    }

    /// The socket's options.
    pub fn options(&self) -> &Options {
        &self.options
    }

    /// The options, for changing; changes apply to connections made afterwards.
    pub fn options_mut(&mut self) -> &mut Options {
        &mut self.options
    }

    /// A pipe by id.
    pub fn pipe(&self, id: PipeId) -> Option<&Pipe> {
        self.pipes.get(id)
    }

    /// How many pipes the socket has.
    pub fn pipe_count(&self) -> usize {
        self.pipes.len()
    }

    /// Adds a pipe. A connecting endpoint makes a `persistent` pipe as soon as it is set up,
    /// so messages queue for the peer before it connects and across reconnects; a binding one
    /// makes a transient pipe when an accepted connection finishes its handshake.
    pub fn add_pipe(&mut self, persistent: bool) -> PipeId {
        let id = self.pipes.insert(Pipe::new(persistent));
        self.order.push(id);
        id
    }

    /// Links a pipe to the reactor's connection `conn`.
    pub fn link(&mut self, id: PipeId, conn: usize) {
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.conn = Some(conn);
        }
    }

    /// Records a finished handshake on a pipe: from now on the peer is routable, receives
    /// the subscriptions (SUB) and whatever was queued for it.
    pub fn attach(&mut self, id: PipeId, peer: PeerInfo) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.routing_id = peer.identity.clone();
        pipe.peer = Some(peer);
        pipe.subs.clear();
        match self.kind {
            SocketType::Router => self.identify(id),
            SocketType::Sub => self.replay_subscriptions(id),
            _ => {}
        }
        if let Some(pipe) = self.pipes.get_mut(id).filter(|p| p.has_output()) {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }

    /// The connection under a pipe went away. A persistent pipe keeps its queued output for
    /// the next connection (a partly written message is lost with the connection, as in
    /// libzmq); a transient one drops its output and is removed once the user has taken what
    /// it received (libzmq delivers messages that arrived before a disconnect).
    pub fn detach(&mut self, id: PipeId) {
        self.unroute(id);
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.conn = None;
        pipe.peer = None;
        pipe.dirty = false;
        pipe.subs.clear();
        pipe.ctrl.clear();
        if pipe.persistent {
            return;
        }
        if pipe.inq.is_empty() {
            return self.remove_pipe(id);
        }
        pipe.gone = true;
        pipe.outq.clear();
        self.order.retain(|&p| p != id);
        self.dirty.retain(|&p| p != id);
        self.forget_pipe(id);
    }

    /// Removes a pipe and whatever is queued on it.
    pub fn remove_pipe(&mut self, id: PipeId) {
        self.unroute(id);
        self.forget_pipe(id);
        if self.pipes.try_remove(id).is_none() {
            return;
        }
        self.order.retain(|&p| p != id);
        self.ready.retain(|&p| p != id);
        self.dirty.retain(|&p| p != id);
    }

    /// Queues a message for sending, choosing the peer by the socket type's rules. A refused
    /// message comes back inside the error.
    pub fn send(&mut self, msg: Msg) -> Result<(), SendError> {
        if msg.is_empty() {
            return refuse(Error::EmptyMessage, msg);
        }
        match self.kind {
            SocketType::Push | SocketType::Dealer | SocketType::Pair => self.send_round_robin(msg),
            SocketType::Router => self.send_routed(msg),
            SocketType::Req => self.send_request(msg),
            SocketType::Rep => self.send_reply(msg),
            SocketType::Pub => {
                self.publish(msg);
                Ok(())
            }
            _ => refuse(Error::NotSupported, msg),
        }
    }

    /// Takes the next received message, fair-queued across peers, as the socket type shows
    /// it (ROUTER: routing id first; REQ and REP: without the envelope).
    #[inline]
    pub fn recv(&mut self) -> Result<Msg, Error> {
        let mut msg = Msg::new();
        self.recv_into(&mut msg).map(|()| msg)
    }

    /// [`SocketCore::recv`] into `out`, replacing what it held; `out` is left alone on error.
    #[inline]
    pub fn recv_into(&mut self, out: &mut Msg) -> Result<(), Error> {
        let id = match self.kind {
            SocketType::Pull | SocketType::Dealer | SocketType::Pair | SocketType::Sub => {
                self.recv_fair(out)?
            }
            SocketType::Router => self.recv_routed(out)?,
            SocketType::Req => self.recv_reply(out)?,
            SocketType::Rep => self.recv_request(out)?,
            _ => return Err(Error::NotSupported),
        };
        self.reap(id);
        Ok(())
    }

    /// True when a receive would return a message now.
    pub fn readable(&self) -> bool {
        let turn = match &self.role {
            Role::Req(req) => req.awaiting(),
            Role::Rep(rep) => !rep.replying(),
            _ => true,
        };
        turn && !self.ready.is_empty()
    }

    /// True when a send would be accepted now.
    pub fn writable(&self) -> bool {
        match &self.role {
            Role::Pub => true,
            Role::Sub(_) => false,
            Role::Router(_) => self.router_writable(),
            Role::Rep(rep) => rep.replying(),
            Role::Req(req) if req.awaiting() && !self.options.req_relaxed => false,
            _ if self.kind == SocketType::Pull => false,
            _ => self.order.iter().any(|&id| self.has_room(id)),
        }
    }

    /// Takes a message a peer sent. Returns false when the pipe's input queue is at its
    /// high-water mark: the caller must stop reading from that peer until
    /// [`SocketCore::can_resume`] says otherwise. Messages the socket type does not deliver
    /// (a SUB's unsubscribed topics, a REQ's stray replies, malformed requests) are dropped.
    #[inline]
    pub fn on_message(&mut self, id: PipeId, msg: Msg) -> bool {
        let Some(pipe) = self.pipes.get(id) else {
            return true;
        };
        let msg = match &self.role {
            Role::Pub => {
                self.on_upstream(id, &msg);
                return true;
            }
            Role::Sub(subs) if !subs.matches(&msg) => return true,
            Role::Req(_) => match self.accept_reply(id, msg) {
                Some(body) => body,
                None => return true,
            },
            Role::Rep(_) if !rep::well_formed(&msg) => {
                log::trace!("rep: dropping a request without an envelope delimiter");
                return true;
            }
            Role::Router(_) if !pipe.routed => return true,
            _ if self.kind == SocketType::Push => return true,
            _ => msg,
        };
        self.queue_in(id, msg)
    }

    /// True (once) when input was taken since the last call such that a stopped reader may
    /// resume: a queue drained to half its high-water mark, or input dropped wholesale.
    pub fn take_resumable(&mut self) -> bool {
        std::mem::take(&mut self.resumable)
    }

    /// True once a pipe whose input queue filled up has drained to half its high-water mark,
    /// so reading from its peer may resume (the gap avoids stopping and starting per message).
    pub fn can_resume(&self, id: PipeId) -> bool {
        let hwm = self.options.rcvhwm;
        self.pipes
            .get(id)
            .is_none_or(|p| hwm == 0 || p.inq.len() <= hwm / 2)
    }

    /// A peer subscribed to (`on`) or cancelled a topic prefix. Only PUB keeps subscriptions;
    /// other types ignore them, as libzmq does.
    pub fn on_subscription(&mut self, id: PipeId, topic: Bytes, on: bool) {
        if self.kind == SocketType::Pub {
            self.peer_subscription(id, &topic, on);
        }
    }

    /// Takes the list of pipes with output to write, leaving an empty list behind. Hand it
    /// back with [`SocketCore::restore_dirty`] once drained, to keep its storage.
    pub fn take_dirty(&mut self) -> Vec<PipeId> {
        std::mem::take(&mut self.dirty)
    }

    /// Returns the (drained) list from [`SocketCore::take_dirty`], keeping its allocation.
    pub fn restore_dirty(&mut self, mut list: Vec<PipeId>) {
        list.clear();
        if self.dirty.is_empty() {
            self.dirty = list;
        }
    }

    /// True when some pipe has output waiting for its connection.
    pub fn has_dirty(&self) -> bool {
        !self.dirty.is_empty()
    }

    /// Takes the next protocol command to write on a pipe, once its handshake is done; these
    /// go out before any queued message.
    pub fn pop_control(&mut self, id: PipeId) -> Option<Control> {
        let pipe = self.pipes.get_mut(id)?;
        pipe.peer.as_ref()?;
        pipe.ctrl.pop_front()
    }

    /// Subscribes a SUB socket to a topic prefix (every peer, now and after reconnects).
    /// Subscriptions are counted: each needs its own [`SocketCore::unsubscribe`].
    pub fn subscribe(&mut self, topic: Bytes) -> Result<(), Error> {
        self.local_subscription(topic, true)
    }

    /// Cancels one subscription to a topic prefix on a SUB socket; peers hear of it when the
    /// last one for that prefix goes. Cancelling a topic never subscribed does nothing.
    pub fn unsubscribe(&mut self, topic: Bytes) -> Result<(), Error> {
        self.local_subscription(topic, false)
    }

    /// Takes the next message to write on a pipe, once its handshake is done.
    pub fn pop_outbound(&mut self, id: PipeId) -> Option<Msg> {
        let pipe = self.pipes.get_mut(id)?;
        pipe.peer.as_ref()?;
        let msg = pipe.outq.pop_front();
        if msg.is_none() {
            pipe.dirty = false;
        }
        msg
    }

    /// Marks a pipe as having no more output for now (its connection could not take more).
    pub fn clear_dirty(&mut self, id: PipeId) {
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.dirty = false;
        }
    }

    /// Lists a pipe again as having output (after its connection became writable).
    pub fn mark_dirty(&mut self, id: PipeId) {
        if let Some(pipe) = self.pipes.get_mut(id).filter(|p| p.has_output()) {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }

    /// True when some pipe still has messages queued for its peer, connected or not yet.
    pub fn has_queued_output(&self) -> bool {
        // A connecting pipe's queue counts while its peer is not up yet: closing lingers for
        // it, as libzmq does.
        self.pipes.iter().any(|(_, p)| !p.outq.is_empty())
    }

    /// The connection keys of the pipes that have a connection.
    pub fn conns(&self) -> impl Iterator<Item = usize> + '_ {
        self.pipes.iter().filter_map(|(_, p)| p.conn)
    }

    /// The routing id of a pipe (ROUTER's view of the peer).
    pub fn routing_id(&self, id: PipeId) -> Option<&Bytes> {
        self.pipes.get(id).map(|p| &p.routing_id)
    }

    /// The pipe the last successful send queued its message on: which peer got it.
    pub fn last_pipe(&self) -> Option<PipeId> {
        self.last_pipe
    }

    /// Takes the next connection the socket wants closed: a ROUTER with `router_handover`
    /// gives up the older connection when a newer peer claims its routing id.
    pub fn take_evicted(&mut self) -> Option<usize> {
        match &mut self.role {
            Role::Router(router) => router.evicted.pop(),
            _ => None,
        }
    }

    /// Appends a message to a pipe's input queue; false once the queue is at its HWM.
    #[inline]
    fn queue_in(&mut self, id: PipeId, msg: Msg) -> bool {
        let hwm = self.options.rcvhwm;
        let Some(pipe) = self.pipes.get_mut(id) else {
            return true;
        };
        pipe.inq.push_back(msg);
        if !pipe.readable {
            pipe.readable = true;
            self.ready.push_back(id);
        }
        hwm == 0 || pipe.inq.len() < hwm
    }

    /// After a message was taken from pipe `id`: notes a queue drained to the resume mark,
    /// and removes a pipe whose connection is gone once its last message was taken.
    #[inline]
    fn reap(&mut self, id: PipeId) {
        let Some(pipe) = self.pipes.get(id) else {
            return;
        };
        let queued = pipe.inq.len();
        if queued == self.options.rcvhwm / 2 {
            self.resumable = true;
        }
        if pipe.gone && queued == 0 {
            self.remove_pipe(id);
        }
    }

    /// Drops the per-type references to a pipe that can take no more output.
    fn forget_pipe(&mut self, id: PipeId) {
        match &mut self.role {
            Role::Req(req) => req.forget(id),
            Role::Rep(rep) => rep.forget(id),
            _ => {}
        }
    }
}

fn mark_dirty(dirty: &mut Vec<PipeId>, pipe: &mut Pipe, id: PipeId) {
    if !pipe.dirty {
        pipe.dirty = true;
        dirty.push(id);
    }
}

/// A random number from the standard library's per-process hash keys (seeded by the OS), for
/// the starting points libzmq randomizes: ROUTER auto ids and REQ request ids.
fn random_u32() -> u32 {
    use std::hash::{BuildHasher, Hasher};
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    hasher.write_u128(now.map_or(0, |d| d.as_nanos()));
    hasher.finish() as u32
}

#[cfg(test)]
mod tests;
