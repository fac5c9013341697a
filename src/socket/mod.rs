//! ZeroMQ socket semantics, without IO.
//!
//! A [`SocketCore`] owns one [`Pipe`] per peer: bounded queues in each direction. It decides
//! which pipe the next outgoing message goes to (round-robin for PUSH, fair-queued input for
//! PULL, and so on per socket type) and enforces high-water marks. It never touches a
//! connection: the reactor attaches and detaches pipes as connections come and go, feeds in
//! what peers send, and drains the pipes listed as having output.

mod options;
mod pipe;

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
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Error::WouldBlock => "operation would block",
            Error::NotSupported => "operation not supported by this socket type",
            Error::EmptyMessage => "a message needs at least one frame",
            Error::TimedOut => "timed out",
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

/// One socket's peers, queues and routing rules.
#[derive(Debug)]
pub struct SocketCore {
    kind: SocketType,
    options: Options,
    pipes: Slab<Pipe>,
    /// Pipes in round-robin order, for sending.
    order: Vec<PipeId>,
    /// Where the next round-robin search starts.
    cursor: usize,
    /// Pipes with queued input, in the order they became readable (fair queueing).
    ready: VecDeque<PipeId>,
    /// Pipes with queued output for the reactor to write.
    dirty: Vec<PipeId>,
    /// The pipe the last successful send queued on.
    last_pipe: Option<PipeId>,
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

    /// Records a finished handshake on a pipe.
    pub fn attach(&mut self, id: PipeId, peer: PeerInfo) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.routing_id = peer.identity.clone();
        pipe.peer = Some(peer);
        if !pipe.outq.is_empty() {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }

    /// The connection under a pipe went away. A persistent pipe keeps its queued output for
    /// the next connection (a partly written message is lost with the connection, as in
    /// libzmq); a transient one is removed with everything queued on it.
    pub fn detach(&mut self, id: PipeId) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        if pipe.persistent {
            pipe.conn = None;
            pipe.peer = None;
            pipe.dirty = false;
            return;
        }
        self.remove_pipe(id);
    }

    /// Removes a pipe and whatever is queued on it.
    pub fn remove_pipe(&mut self, id: PipeId) {
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
            _ => refuse(Error::NotSupported, msg),
        }
    }

    /// Takes the next received message, fair-queued across peers.
    pub fn recv(&mut self) -> Result<Msg, Error> {
        match self.kind {
            SocketType::Pull | SocketType::Dealer | SocketType::Pair => self.recv_fair(),
            _ => Err(Error::NotSupported),
        }
    }

    /// True when a receive would return a message now.
    pub fn readable(&self) -> bool {
        !self.ready.is_empty()
    }

    /// True when a send would find room now.
    pub fn writable(&self) -> bool {
        self.order.iter().any(|&id| self.has_room(id))
    }

    /// Takes a message a peer sent. Returns false when the pipe's input queue is at its
    /// high-water mark: the caller must stop reading from that peer until
    /// [`SocketCore::can_resume`] says otherwise.
    pub fn on_message(&mut self, id: PipeId, msg: Msg) -> bool {
        let hwm = self.options.rcvhwm;
        let Some(pipe) = self.pipes.get_mut(id) else {
            return true;
        };
        match self.kind {
            SocketType::Push => return true,
            _ => pipe.inq.push_back(msg),
        }
        if !pipe.readable {
            pipe.readable = true;
            self.ready.push_back(id);
        }
        hwm == 0 || pipe.inq.len() < hwm
    }

    /// True once a pipe whose input queue filled up has drained to half its high-water mark,
    /// so reading from its peer may resume (the gap avoids stopping and starting per message).
    pub fn can_resume(&self, id: PipeId) -> bool {
        let hwm = self.options.rcvhwm;
        self.pipes
            .get(id)
            .is_none_or(|p| hwm == 0 || p.inq.len() <= hwm / 2)
    }

    /// A peer subscribed to (`on`) or cancelled a topic prefix.
    pub fn on_subscription(&mut self, id: PipeId, topic: Bytes, on: bool) {
        // Only PUB keeps subscriptions; other types ignore them, as libzmq does.
        let _ = (id, topic, on);
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
        // TODO: SUB subscriptions arrive with the socket-types work.
        let _ = id;
        None
    }

    /// Subscribes a SUB socket to a topic prefix (every peer, now and after reconnects).
    pub fn subscribe(&mut self, topic: Bytes) -> Result<(), Error> {
        // TODO: SUB subscriptions arrive with the socket-types work.
        let _ = topic;
        Err(Error::NotSupported)
    }

    /// Cancels one subscription to a topic prefix on a SUB socket.
    pub fn unsubscribe(&mut self, topic: Bytes) -> Result<(), Error> {
        let _ = topic;
        Err(Error::NotSupported)
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
        if let Some(pipe) = self.pipes.get_mut(id).filter(|p| !p.outq.is_empty()) {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }

    /// True when some connected pipe still has messages queued for its peer.
    pub fn has_queued_output(&self) -> bool {
        self.pipes
            .iter()
            .any(|(_, p)| p.conn.is_some() && !p.outq.is_empty())
    }

    /// The routing id of a pipe (ROUTER's view of the peer).
    pub fn routing_id(&self, id: PipeId) -> Option<&Bytes> {
        self.pipes.get(id).map(|p| &p.routing_id)
    }

    fn has_room(&self, id: PipeId) -> bool {
        let hwm = self.options.sndhwm;
        self.pipes
            .get(id)
            .is_some_and(|p| hwm == 0 || p.outq.len() < hwm)
    }

    fn send_round_robin(&mut self, msg: Msg) -> Result<(), SendError> {
        let n = self.order.len();
        for step in 0..n {
            let at = (self.cursor + step) % n;
            let id = self.order[at];
            if self.has_room(id) {
                self.cursor = (at + 1) % n;
                self.push_out(id, msg);
                return Ok(());
            }
        }
        refuse(Error::WouldBlock, msg)
    }

    /// The pipe the last successful send queued its message on: which peer got it.
    pub fn last_pipe(&self) -> Option<PipeId> {
        self.last_pipe
    }

    fn push_out(&mut self, id: PipeId, msg: Msg) {
        self.last_pipe = Some(id);
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.outq.push_back(msg);
        if pipe.peer.is_some() {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }

    fn recv_fair(&mut self) -> Result<Msg, Error> {
        while let Some(id) = self.ready.pop_front() {
            let Some(pipe) = self.pipes.get_mut(id) else {
                continue;
            };
            let Some(msg) = pipe.inq.pop_front() else {
                pipe.readable = false;
                continue;
            };
            if pipe.inq.is_empty() {
                pipe.readable = false;
            } else {
                self.ready.push_back(id);
            }
            return Ok(msg);
        }
        Err(Error::WouldBlock)
    }
}

fn mark_dirty(dirty: &mut Vec<PipeId>, pipe: &mut Pipe, id: PipeId) {
    if !pipe.dirty {
        pipe.dirty = true;
        dirty.push(id);
    }
}
