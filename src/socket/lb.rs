//! Load balancing: round-robin over the pipes that have room (libzmq's `lb_t`), as used by
//! PUSH, DEALER, PAIR and REQ, plus the shared output-queue helpers.

use super::{Error, PipeId, SendError, SocketCore, mark_dirty, refuse};
use crate::zmtp::Msg;

impl SocketCore {
    /// True when the pipe's output queue is below the send high-water mark.
    pub(super) fn has_room(&self, id: PipeId) -> bool {
        let hwm = self.options.sndhwm;
        self.pipes
            .get(id)
            .is_some_and(|p| !p.gone && (hwm == 0 || p.outq.len() < hwm))
    }

    /// The next pipe in round-robin order with room, moving the cursor past it.
    pub(super) fn next_with_room(&mut self) -> Option<PipeId> {
        let n = self.order.len();
        for step in 0..n {
            let at = (self.cursor + step) % n;
            let Some(&id) = self.order.get(at) else {
                break;
            };
            if self.has_room(id) {
                self.cursor = (at + 1) % n;
                return Some(id);
            }
        }
        None
    }

    /// Sends to the next pipe with room; `WouldBlock` when every queue is full (or there is
    /// no peer at all).
    pub(super) fn send_round_robin(&mut self, msg: Msg) -> Result<(), SendError> {
        match self.next_with_room() {
            Some(id) => {
                self.push_out(id, msg);
                Ok(())
            }
            None => refuse(Error::WouldBlock, msg),
        }
    }

    /// Appends to a pipe's output queue and lists it for writing once its peer is attached.
    pub(super) fn push_out(&mut self, id: PipeId, msg: Msg) {
        self.last_pipe = Some(id);
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.outq.push_back(msg);
        if pipe.peer.is_some() {
            mark_dirty(&mut self.dirty, pipe, id);
        }
    }
}
