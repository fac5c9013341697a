//! ROUTER: routing ids and routing by the first frame (libzmq's `router_t`).
//!
//! A peer becomes routable when its handshake finishes. Its routing id is the identity it
//! announced, or, when it announced none (or an empty one), an auto id: `0x00` then a
//! big-endian `u32` counter that starts at a random value. A peer announcing an identity
//! already in use is ignored (its messages are dropped and nothing routes to it) unless
//! `router_handover` is set; then it takes the identity over, the older pipe gets an auto id
//! and its connection is handed to the reactor to close.
//!
//! libzmq parks an ignored duplicate as an "anonymous" pipe and later reads the first frame
//! of its next message as a routing id; palm does not copy that accident.

use std::collections::HashMap;

use bytes::Bytes;
use log::{debug, trace};

use super::{Error, PipeId, Role, SendError, SocketCore, random_u32, refuse};
use crate::zmtp::Msg;

/// A ROUTER's routing table and auto-id counter.
#[derive(Debug)]
pub(super) struct Router {
    table: HashMap<Bytes, PipeId>,
    next_id: u32,
    /// Connections to close after a handover.
    pub(super) evicted: Vec<usize>,
}

impl Router {
    pub(super) fn new() -> Router {
        Router {
            table: HashMap::new(),
            next_id: random_u32(),
            evicted: Vec::new(),
        }
    }

    /// The next auto id not in use (an announced identity may look like one).
    fn auto_id(&mut self) -> Bytes {
        loop {
            let mut id = [0u8; 5];
            id[1..].copy_from_slice(&self.next_id.to_be_bytes());
            self.next_id = self.next_id.wrapping_add(1);
            if !self.table.contains_key(&id[..]) {
                return Bytes::copy_from_slice(&id);
            }
        }
    }
}

impl SocketCore {
    /// Gives a freshly attached pipe its routing id and enters it in the table.
    pub(super) fn identify(&mut self, id: PipeId) {
        let handover = self.options.router_handover;
        let Role::Router(router) = &mut self.role else {
            return;
        };
        let Some(announced) = self.pipes.get(id).map(|p| p.routing_id.clone()) else {
            return;
        };
        let rid = if announced.is_empty() {
            router.auto_id()
        } else {
            announced
        };
        if let Some(&holder) = router.table.get(&rid).filter(|&&h| h != id) {
            if !handover {
                debug!("router: ignoring a peer whose routing id is already in use");
                return;
            }
            // TODO: when the evicted pipe is a connecting one, its reconnect claims the id
            // back and the two peers take turns; libzmq behaves the same, but a guard would help.
            debug!("router: routing id handed over to a new peer");
            let temporary = router.auto_id();
            if let Some(old) = self.pipes.get_mut(holder) {
                old.routing_id = temporary.clone();
                router.evicted.extend(old.conn);
                router.table.insert(temporary, holder);
            }
        }
        router.table.insert(rid.clone(), id);
        if let Some(pipe) = self.pipes.get_mut(id) {
            pipe.routing_id = rid;
            pipe.routed = true;
        }
    }

    /// Takes a pipe out of the routing table (its connection went away).
    pub(super) fn unroute(&mut self, id: PipeId) {
        let Role::Router(router) = &mut self.role else {
            return;
        };
        let Some(pipe) = self.pipes.get_mut(id).filter(|p| p.routed) else {
            return;
        };
        pipe.routed = false;
        if router.table.get(&pipe.routing_id) == Some(&id) {
            router.table.remove(&pipe.routing_id);
        }
    }

    /// Routes by the first frame, which is stripped. A message with no frame after the id is
    /// dropped, as libzmq does; so is one for an unknown peer or a full queue, unless
    /// `router_mandatory` asks for [`Error::Unroutable`] / [`Error::WouldBlock`].
    pub(super) fn send_routed(&mut self, mut msg: Msg) -> Result<(), SendError> {
        let mandatory = self.options.router_mandatory;
        let Role::Router(router) = &self.role else {
            return refuse(Error::NotSupported, msg);
        };
        if msg.len() < 2 {
            trace!("router: dropping a message with a routing id and no body");
            return Ok(());
        }
        let target = msg
            .get(0)
            .and_then(|rid| router.table.get(&rid[..]))
            .copied();
        let error = match target {
            Some(id) if self.has_room(id) => {
                msg.pop_front();
                self.push_out(id, msg);
                return Ok(());
            }
            Some(_) => Error::WouldBlock,
            None => Error::Unroutable,
        };
        if mandatory {
            return refuse(error, msg);
        }
        trace!("router: dropping a message: {error}");
        Ok(())
    }

    /// The next message, fair-queued, with the sender's routing id as the first frame.
    pub(super) fn recv_routed(&mut self, out: &mut Msg) -> Result<PipeId, Error> {
        let id = self.recv_fair(out)?;
        let rid = self.pipes.get(id).map(|p| p.routing_id.clone());
        out.push_front(rid.unwrap_or_default());
        Ok(id)
    }

    /// libzmq's ROUTER is always writable, except with `router_mandatory`: then only while
    /// some routable peer has room.
    pub(super) fn router_writable(&self) -> bool {
        if !self.options.router_mandatory {
            return true;
        }
        let routed = self.pipes.iter().filter(|(_, p)| p.routed);
        routed.map(|(id, _)| id).any(|id| self.has_room(id))
    }
}
