//! Once warm, sending and receiving ZMTP messages allocates nothing.
//!
//! A palm PUSH and a palm PULL share one [`Reactor`] (so no threads) over a real loopback
//! TCP connection. After a warm-up that lets buffers and queues reach their working size,
//! 10,000 messages of 8 B and of 1 KiB go through, one at a time and in batches, while a
//! counting global allocator counts the allocations made by this test's thread (the harness's
//! other threads do not disturb the count). Run with `--nocapture` to see the figures.

mod support;

use bytes::Bytes;
use palm::{Msg, Reactor, SocketId, SocketType};
use support::{TIMEOUT, drive_until, handshakes_done};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

/// Messages measured per size and pattern.
const N: usize = 10_000;

/// Messages per batch in the batched pattern: well under the default high-water mark.
const BATCH: usize = 100;

/// Message bodies that cost nothing to make: cloning a static `Bytes` never allocates.
static BODY: [u8; 1024] = [0x5a; 1024];

/// A PUSH and a PULL on one loop, connected and past their handshake.
struct Pair {
    reactor: Reactor,
    push: SocketId,
    pull: SocketId,
}

impl Pair {
    fn new() -> Pair {
        let mut reactor = Reactor::new().unwrap();
        let pull = reactor.socket(SocketType::Pull);
        let push = reactor.socket(SocketType::Push);
        let ep = reactor.bind(pull, "tcp://127.0.0.1:0").unwrap();
        reactor.connect(push, &ep).unwrap();
        drive_until(&mut reactor, "the handshake", |r| {
            handshakes_done(r, push, 1) == 1
        });
        Pair {
            reactor,
            push,
            pull,
        }
    }

    /// Sends one message and receives it, `n` times.
    fn one_by_one(&mut self, size: usize, n: usize) {
        let body = Bytes::from_static(&BODY[..size]);
        for _ in 0..n {
            self.reactor
                .send(self.push, Msg::from(body.clone()))
                .unwrap();
            let msg = self.reactor.recv_timeout(self.pull, TIMEOUT).unwrap();
            assert_eq!(msg.size(), size);
        }
    }

    /// Queues `BATCH` messages (written together when the loop turns), then receives them;
    /// `n / BATCH` times.
    fn batched(&mut self, size: usize, n: usize) {
        let body = Bytes::from_static(&BODY[..size]);
        for _ in 0..n / BATCH {
            for _ in 0..BATCH {
                let msg = Msg::from(body.clone());
                self.reactor.enqueue(self.push, msg).unwrap();
            }
            for _ in 0..BATCH {
                let msg = self.reactor.recv_timeout(self.pull, TIMEOUT).unwrap();
                assert_eq!(msg.size(), size);
            }
        }
    }
}

/// Allocations made while `f` runs on this thread.
fn allocations_during(f: impl FnOnce()) -> u64 {
    let before = allocations();
    f();
    allocations() - before
}

/// Runs one pattern warm, then measured, and returns the measured allocation count.
fn measure(size: usize, pattern: fn(&mut Pair, usize, usize)) -> u64 {
    let mut pair = Pair::new();
    // Warm-up: queues, read buffer and output staging reach their working size.
    pattern(&mut pair, size, 2 * N);
    allocations_during(|| pattern(&mut pair, size, N))
}

fn check(what: &str, size: usize, pattern: fn(&mut Pair, usize, usize)) {
    let count = measure(size, pattern);
    println!("{what}, {size} B: {count} allocations for {N} messages sent and received");
    assert_eq!(
        count, 0,
        "{what}, {size} B: allocations for {N} warm messages"
    );
}

#[test]
fn warm_push_pull_one_by_one_allocates_nothing() {
    assert!(
        allocations_during(|| drop(Box::new(1))) == 1,
        "the allocator counts"
    );
    check("one by one", 8, Pair::one_by_one);
    check("one by one", 1024, Pair::one_by_one);
}

#[test]
fn warm_push_pull_in_batches_allocates_nothing() {
    check("batched", 8, Pair::batched);
    check("batched", 1024, Pair::batched);
}
