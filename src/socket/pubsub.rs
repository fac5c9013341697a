//! PUB and SUB (libzmq's `xpub_t`/`pub_t` with `dist_t`, and `xsub_t`/`sub_t`).
//!
//! PUB keeps, per peer, the set of prefixes it subscribed to (a set, as libzmq's multi-trie
//! keeps pipes per prefix: a repeated SUBSCRIBE from one peer is one subscription, and one
//! CANCEL ends it). Subscriptions arrive as SUBSCRIBE/CANCEL commands or, from ZMTP 3.0
//! peers, as frames starting with `0x01`/`0x00`; both are accepted on any connection, and
//! PUB ignores every other message. A message goes to every peer with a subscription that
//! prefixes its first frame, and is dropped for a peer whose queue is full: PUB never blocks.
//!
//! SUB counts its own subscriptions: peers hear of a prefix when its count goes from 0 to 1
//! and of its cancellation when it drops back to 0. Every new connection gets all current
//! prefixes before anything else, so subscriptions survive reconnects and publisher restarts.
//! SUB also filters what arrives, like libzmq's, so a cancelled topic stops even if a
//! publisher keeps sending it.

use bytes::Bytes;
use log::trace;

use super::{Control, Error, PipeId, Role, SocketCore, mark_dirty};
use crate::zmtp::Msg;

// TODO: SUB filters on arrival; libzmq filters on receive, so messages already queued when
// their topic is cancelled are still delivered here and not there.
// TODO: matching is a linear scan over each peer's prefixes; a trie would pay off for
// publishers with many peers and many topics.

/// A SUB's counted subscriptions, in the order they were made.
#[derive(Debug, Default)]
pub(super) struct Subscriptions {
    topics: Vec<(Bytes, usize)>,
}

impl Subscriptions {
    /// Counts a subscription; true when the prefix is new.
    fn add(&mut self, topic: Bytes) -> bool {
        match self.topics.iter_mut().find(|(t, _)| *t == topic) {
            Some((_, count)) => {
                *count += 1;
                false
            }
            None => {
                self.topics.push((topic, 1));
                true
            }
        }
    }

    /// Drops one subscription; true when it was the last for the prefix.
    fn remove(&mut self, topic: &[u8]) -> bool {
        let Some(at) = self.topics.iter().position(|(t, _)| t[..] == *topic) else {
            return false;
        };
        let last = self.topics.get_mut(at).is_some_and(|(_, count)| {
            *count -= 1;
            *count == 0
        });
        if last {
            self.topics.remove(at);
        }
        last
    }

    /// True when some subscription prefixes the message's first frame.
    pub(super) fn matches(&self, msg: &Msg) -> bool {
        let first = msg.get(0).map_or(&[][..], |f| &f[..]);
        self.topics.iter().any(|(t, _)| first.starts_with(t))
    }
}

impl SocketCore {
    /// PUB: queues a copy for every attached peer whose subscriptions match and that has
    /// room; the rest miss it.
    pub(super) fn publish(&mut self, msg: Msg) {
        let first = msg.get(0).map_or(&[][..], |f| &f[..]);
        for at in 0..self.order.len() {
            let Some(&id) = self.order.get(at) else {
                break;
            };
            let wanted = self
                .pipes
                .get(id)
                .is_some_and(|p| p.peer.is_some() && p.subs.iter().any(|s| first.starts_with(s)));
            if !wanted {
                continue;
            }
            if !self.has_room(id) {
                trace!("pub: dropping a message for a full subscriber");
                continue;
            }
            self.push_out(id, msg.clone());
        }
    }

    /// PUB: a message from a subscriber; ZMTP 3.0 subscriptions are frames starting with
    /// `0x01` (subscribe) or `0x00` (cancel). Anything else is ignored.
    pub(super) fn on_upstream(&mut self, id: PipeId, msg: &Msg) {
        for frame in msg.frames() {
            match frame.first() {
                Some(&1) => self.peer_subscription(id, &frame[1..], true),
                Some(&0) => self.peer_subscription(id, &frame[1..], false),
                _ => trace!("pub: ignoring a message from a subscriber"),
            }
        }
    }

    /// PUB: a peer's subscription (`on`) or cancellation of `topic`.
    pub(super) fn peer_subscription(&mut self, id: PipeId, topic: &[u8], on: bool) {
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        let at = pipe.subs.iter().position(|s| s[..] == *topic);
        match (at, on) {
            (None, true) => pipe.subs.push(Bytes::copy_from_slice(topic)),
            (Some(at), false) => {
                pipe.subs.swap_remove(at);
            }
            _ => {}
        }
    }

    /// SUB: counts a subscription or cancellation and tells attached peers when the set of
    /// prefixes changed.
    pub(super) fn local_subscription(&mut self, topic: Bytes, on: bool) -> Result<(), Error> {
        let Role::Sub(subs) = &mut self.role else {
            return Err(Error::NotSupported);
        };
        let control = if on {
            subs.add(topic.clone()).then_some(Control::Subscribe(topic))
        } else {
            subs.remove(&topic).then_some(Control::Cancel(topic))
        };
        if let Some(control) = control {
            self.broadcast_control(&control);
        }
        Ok(())
    }

    /// Queues a command for every attached peer.
    fn broadcast_control(&mut self, control: &Control) {
        for (id, pipe) in self.pipes.iter_mut() {
            if pipe.peer.is_some() {
                pipe.ctrl.push_back(control.clone());
                mark_dirty(&mut self.dirty, pipe, id);
            }
        }
    }

    /// SUB: a new connection starts with every current subscription.
    pub(super) fn replay_subscriptions(&mut self, id: PipeId) {
        let Role::Sub(subs) = &self.role else {
            return;
        };
        let Some(pipe) = self.pipes.get_mut(id) else {
            return;
        };
        pipe.ctrl.clear();
        let topics = subs
            .topics
            .iter()
            .map(|(t, _)| Control::Subscribe(t.clone()));
        pipe.ctrl.extend(topics);
    }
}
