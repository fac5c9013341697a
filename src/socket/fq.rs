//! Fair queueing: one message per readable pipe in turn (libzmq's `fq_t`), for every type
//! that receives.

use super::{Error, PipeId, SocketCore};
use crate::zmtp::Msg;

impl SocketCore {
    /// Takes the next message fair-queued across pipes into `out`, returning the pipe it came
    /// from. The caller reaps a drained pipe whose connection is gone once done with the id.
    #[inline(always)]
    pub(super) fn recv_fair(&mut self, out: &mut Msg) -> Result<PipeId, Error> {
        while let Some(&id) = self.ready.front() {
            let Some(pipe) = self.pipes.get_mut(id) else {
                self.ready.pop_front();
                continue;
            };
            let Some(msg) = pipe.inq.pop_front() else {
                pipe.readable = false;
                self.ready.pop_front();
                continue;
            };
            if pipe.inq.is_empty() {
                pipe.readable = false;
                self.ready.pop_front();
            } else if self.ready.len() > 1 {
                // Its turn is over: to the back of the line. A sole pipe just stays.
                self.ready.rotate_left(1);
            }
            *out = msg;
            return Ok(id);
        }
        Err(Error::WouldBlock)
    }

    /// Drops every message waiting to be received (REQ does so when a new request starts).
    pub(super) fn drop_input(&mut self) {
        self.resumable |= !self.ready.is_empty();
        while let Some(id) = self.ready.pop_front() {
            if let Some(pipe) = self.pipes.get_mut(id) {
                pipe.inq.clear();
                pipe.readable = false;
            }
            self.reap(id);
        }
    }
}
