//! REP: receives a request, keeps its envelope (every frame up to and including the first
//! empty one) and puts it back in front of the reply, which goes to the same peer (libzmq's
//! `rep_t`). That keeps REQ → ROUTER/DEALER broker → REP chains working, however many
//! routing ids the brokers stacked up.
//!
//! A request with no empty frame before its last frame is malformed and dropped. A reply
//! whose peer has gone, or whose queue is full, is dropped, as libzmq's ROUTER underneath REP
//! does.

use log::trace;

use super::{Error, PipeId, Role, SendError, SocketCore, refuse};
use crate::zmtp::Msg;

/// A REP's request/reply state.
#[derive(Debug, Default)]
pub(super) struct Rep {
    /// The envelope of the request being answered.
    envelope: Msg,
    /// The peer the request came from; `None` once its pipe went away.
    reply_to: Option<PipeId>,
    /// A request was received and its reply not yet sent.
    replying: bool,
}

impl Rep {
    /// True between a request and its reply.
    pub(super) fn replying(&self) -> bool {
        self.replying
    }

    pub(super) fn forget(&mut self, id: PipeId) {
        if self.reply_to == Some(id) {
            self.reply_to = None;
        }
    }
}

/// True when the message has an empty delimiter frame with at least one frame after it.
pub(super) fn well_formed(msg: &Msg) -> bool {
    let frames = msg.frames();
    let labels = frames.len().saturating_sub(1);
    frames.iter().take(labels).any(|f| f.is_empty())
}

impl SocketCore {
    /// Receives a request without its envelope; [`Error::OutOfTurn`] while a reply is due.
    pub(super) fn recv_request(&mut self, out: &mut Msg) -> Result<PipeId, Error> {
        match &self.role {
            Role::Rep(rep) if !rep.replying => {}
            _ => return Err(Error::OutOfTurn),
        }
        let id = self.recv_fair(out)?;
        let mut envelope = Msg::new();
        while let Some(frame) = out.pop_front() {
            let bottom = frame.is_empty();
            envelope.push(frame);
            if bottom {
                break;
            }
        }
        if let Role::Rep(rep) = &mut self.role {
            rep.envelope = envelope;
            rep.reply_to = Some(id);
            rep.replying = true;
        }
        Ok(id)
    }

    /// Sends the reply behind the saved envelope; [`Error::OutOfTurn`] with no request to
    /// answer.
    pub(super) fn send_reply(&mut self, mut msg: Msg) -> Result<(), SendError> {
        let Role::Rep(rep) = &mut self.role else {
            return refuse(Error::NotSupported, msg);
        };
        if !rep.replying {
            return refuse(Error::OutOfTurn, msg);
        }
        rep.replying = false;
        let mut reply = std::mem::take(&mut rep.envelope);
        while let Some(frame) = msg.pop_front() {
            reply.push(frame);
        }
        match rep.reply_to.take().filter(|&id| self.has_room(id)) {
            Some(id) => self.push_out(id, reply),
            None => trace!("rep: dropping a reply: its peer is gone or full"),
        }
        Ok(())
    }
}
