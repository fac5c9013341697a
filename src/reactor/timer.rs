//! Deadlines for the loop, kept in a min-heap and driven by the poll timeout.
//!
//! Entries are wake-up hints, not promises: whoever handles an expired entry checks whether
//! its deadline really passed. So a deadline that moves later needs no heap update, and one
//! for a connection that has gone simply finds nothing to do.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::time::{Duration, Instant};

/// What a deadline is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum TimerKey {
    /// A connection's protocol timers (handshake, heartbeat, HTTP deadlines).
    Conn(usize),
    /// A connecting endpoint's next attempt: (socket, endpoint).
    Reconnect(usize, usize),
    /// A listener whose last accept failed (out of descriptors, say): try it again.
    Accept(usize),
    /// A timer the user set, by id.
    User(u64),
}

/// A min-heap of (deadline, key).
#[derive(Debug, Default)]
pub struct Timers {
    heap: BinaryHeap<Reverse<(Instant, TimerKey)>>,
}

impl Timers {
    /// Schedules `key` at `at`.
    pub fn insert(&mut self, at: Instant, key: TimerKey) {
        self.heap.push(Reverse((at, key)));
    }

    /// Schedules `key` at `next` unless `wake_at`, the earliest wake-up already scheduled
    /// for it, comes first; `wake_at` then holds the earlier of the two.
    pub fn arm(&mut self, wake_at: &mut Option<Instant>, next: Instant, key: TimerKey) {
        if wake_at.is_none_or(|w| next < w) {
            *wake_at = Some(next);
            self.insert(next, key);
        }
    }

    /// Takes the next entry due at `now`, if any.
    pub fn pop_due(&mut self, now: Instant) -> Option<TimerKey> {
        let Reverse((at, key)) = *self.heap.peek()?;
        if at > now {
            return None;
        }
        self.heap.pop();
        Some(key)
    }

    /// How long until the next entry is due; zero when one is overdue. The clock is read
    /// only when there is an entry.
    pub fn until_next(&self, now: impl FnOnce() -> Instant) -> Option<Duration> {
        let Reverse((at, _)) = self.heap.peek()?;
        Some(at.saturating_duration_since(now()))
    }

    /// True when no deadline is set.
    pub fn is_empty(&self) -> bool {
        self.heap.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_deadline_order_only_when_due() {
        let t0 = Instant::now();
        let mut timers = Timers::default();
        timers.insert(t0 + Duration::from_millis(20), TimerKey::User(2));
        timers.insert(t0 + Duration::from_millis(10), TimerKey::Conn(1));
        assert_eq!(timers.until_next(|| t0), Some(Duration::from_millis(10)));
        assert_eq!(timers.pop_due(t0), None);
        let later = t0 + Duration::from_millis(30);
        assert_eq!(timers.pop_due(later), Some(TimerKey::Conn(1)));
        assert_eq!(timers.pop_due(later), Some(TimerKey::User(2)));
        assert_eq!(timers.until_next(|| later), None);
    }

    #[test]
    fn arm_schedules_only_an_earlier_wake_up() {
        let t0 = Instant::now();
        let (soon, late) = (
            t0 + Duration::from_millis(10),
            t0 + Duration::from_millis(20),
        );
        let mut timers = Timers::default();
        let mut wake_at = None;
        timers.arm(&mut wake_at, late, TimerKey::Conn(7));
        timers.arm(&mut wake_at, late, TimerKey::Conn(7));
        assert_eq!((wake_at, timers.heap.len()), (Some(late), 1));
        timers.arm(&mut wake_at, soon, TimerKey::Conn(7));
        assert_eq!((wake_at, timers.heap.len()), (Some(soon), 2));
        assert_eq!(timers.pop_due(soon), Some(TimerKey::Conn(7)));
    }
}
