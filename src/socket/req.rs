//! REQ: a request goes out round-robin behind an empty delimiter frame, and the socket then
//! waits for the reply from that peer (libzmq's `req_t`).
//!
//! Strictly, send and receive alternate ([`Error::OutOfTurn`](super::Error::OutOfTurn)
//! otherwise). With `req_relaxed` a send while a reply is awaited starts over; with
//! `req_correlate` each request carries a 4-byte id frame before the delimiter and only the
//! reply echoing it is accepted. Replies from other peers, replies without the delimiter and
//! anything arriving while no reply is awaited are dropped as they arrive; whatever is still
//! queued when a new request starts is dropped too.

use bytes::Bytes;
use log::trace;

use super::{Error, PipeId, Role, SendError, SocketCore, random_u32, refuse};
use crate::zmtp::Msg;

/// A REQ's request/reply state.
#[derive(Debug)]
pub(super) struct Req {
    /// A request went out and its reply has not been received.
    awaiting: bool,
    /// The peer the request went to; `None` after its pipe went away (libzmq then takes a
    /// reply from any peer).
    reply_from: Option<PipeId>,
    /// The id of the last request (`req_correlate`); starts at a random value.
    request_id: u32,
}

impl Req {
    pub(super) fn new() -> Req {
        Req {
            awaiting: false,
            reply_from: None,
            request_id: random_u32(),
        }
    }

    /// True between a request and the receipt of its reply.
    pub(super) fn awaiting(&self) -> bool {
        self.awaiting
    }

    pub(super) fn forget(&mut self, id: PipeId) {
        if self.reply_from == Some(id) {
            self.reply_from = None;
        }
    }

    /// The id frame of the current request, as libzmq writes it (host byte order).
    fn id_frame(&self) -> Bytes {
        Bytes::copy_from_slice(&self.request_id.to_ne_bytes())
    }
}

impl SocketCore {
    /// Sends a request: delimiter (and id) in front, to the next peer with room.
    pub(super) fn send_request(&mut self, mut msg: Msg) -> Result<(), SendError> {
        let (relaxed, correlate) = (self.options.req_relaxed, self.options.req_correlate);
        let Role::Req(req) = &self.role else {
            return refuse(Error::NotSupported, msg);
        };
        if req.awaiting && !relaxed {
            return refuse(Error::OutOfTurn, msg);
        }
        let Some(target) = self.next_with_room() else {
            return refuse(Error::WouldBlock, msg);
        };
        self.drop_input();
        let Role::Req(req) = &mut self.role else {
            return refuse(Error::NotSupported, msg);
        };
        req.awaiting = true;
        req.reply_from = Some(target);
        msg.push_front(Bytes::new());
        if correlate {
            req.request_id = req.request_id.wrapping_add(1);
            // TODO: one 4-byte allocation per request in correlate mode; a shared pool of id
            // frames would avoid it if this mode ever matters for speed.
            msg.push_front(req.id_frame());
        }
        self.push_out(target, msg);
        Ok(())
    }

    /// Checks a message arriving on a REQ: the body of an awaited, well-formed reply, or
    /// `None` to drop it.
    pub(super) fn accept_reply(&mut self, id: PipeId, mut msg: Msg) -> Option<Msg> {
        let correlate = self.options.req_correlate;
        let Role::Req(req) = &self.role else {
            return None;
        };
        if !req.awaiting || req.reply_from.is_some_and(|p| p != id) {
            trace!("req: dropping a message that is not the awaited reply");
            return None;
        }
        let expected = req.request_id.to_ne_bytes();
        if correlate && msg.pop_front().is_none_or(|f| f[..] != expected[..]) {
            trace!("req: dropping a reply to another request");
            return None;
        }
        if msg.pop_front().is_none_or(|f| !f.is_empty()) || msg.is_empty() {
            trace!("req: dropping a reply without the empty delimiter");
            return None;
        }
        Some(msg)
    }

    /// Receives the reply; [`Error::OutOfTurn`] when no request is waiting for one.
    pub(super) fn recv_reply(&mut self, out: &mut Msg) -> Result<PipeId, Error> {
        match &self.role {
            Role::Req(req) if req.awaiting => {}
            _ => return Err(Error::OutOfTurn),
        }
        let received = self.recv_fair(out)?;
        if let Role::Req(req) = &mut self.role {
            req.awaiting = false;
            req.reply_from = None;
        }
        Ok(received)
    }
}
