//! A pipe: the two bounded message queues between a socket and one peer connection.

use std::collections::VecDeque;

use bytes::Bytes;

use super::Control;
use crate::zmtp::{Msg, PeerInfo};

/// Identifies a pipe inside its socket.
pub type PipeId = usize;

/// The queues and state a socket keeps for one peer.
#[derive(Debug)]
pub struct Pipe {
    /// The reactor's connection key while a connection carries this pipe.
    pub(crate) conn: Option<usize>,
    /// Messages accepted from the user and not yet handed to the connection.
    pub(crate) outq: VecDeque<Msg>,
    /// Messages read from the peer and not yet taken by the user.
    pub(crate) inq: VecDeque<Msg>,
    /// What the handshake told us; `None` before it finished.
    pub(crate) peer: Option<PeerInfo>,
    /// The routing id a ROUTER knows this peer by.
    pub(crate) routing_id: Bytes,
    /// True while listed in the socket's list of pipes with output to write.
    pub(crate) dirty: bool,
    /// True while listed in the socket's ring of pipes with input to read.
    pub(crate) readable: bool,
    /// Set when the pipe belongs to a connecting endpoint: it outlives its connections.
    pub(crate) persistent: bool,
    /// Set when a transient pipe lost its connection but still holds input to deliver; it is
    /// removed once drained.
    pub(crate) gone: bool,
    /// ROUTER: true while the routing table maps `routing_id` to this pipe.
    pub(crate) routed: bool,
    /// PUB: the peer's subscriptions (a set of prefixes, as libzmq's multi-trie keeps them).
    pub(crate) subs: Vec<Bytes>,
    /// SUB: protocol commands waiting to be written ahead of messages.
    pub(crate) ctrl: VecDeque<Control>,
}

impl Pipe {
    pub(crate) fn new(persistent: bool) -> Pipe {
        Pipe {
            conn: None,
            outq: VecDeque::new(),
            inq: VecDeque::new(),
            peer: None,
            routing_id: Bytes::new(),
            dirty: false,
            readable: false,
            persistent,
            gone: false,
            routed: false,
            subs: Vec::new(),
            ctrl: VecDeque::new(),
        }
    }

    /// True when something waits to be written: a protocol command or a message.
    pub(crate) fn has_output(&self) -> bool {
        !self.outq.is_empty() || !self.ctrl.is_empty()
    }

    /// The connection key carrying this pipe, if one is connected.
    pub fn conn(&self) -> Option<usize> {
        self.conn
    }

    /// The peer's handshake details, once known.
    pub fn peer(&self) -> Option<&PeerInfo> {
        self.peer.as_ref()
    }

    /// Messages waiting to be written.
    pub fn queued_out(&self) -> usize {
        self.outq.len()
    }

    /// Messages waiting to be received.
    pub fn queued_in(&self) -> usize {
        self.inq.len()
    }

    /// The topic prefixes this peer subscribed to (PUB).
    pub fn subscriptions(&self) -> &[Bytes] {
        &self.subs
    }
}
