//! The gateway's per-request bookkeeping (function name, client id, encoded PalmMessage, the
//! reply's match and its response) draws on a shared arena: once warm, a request costs a few
//! hundredths of an allocation on average. Counted with a global allocator.

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use std::time::{Duration, Instant};

use bytes::Bytes;
use palm::http::{Connection, Limits, Request};
use palm::palm::gateway::Gateway;
use palm::palm::message::PalmMessage;
use palm::reactor::HttpRequestId;

fn request() -> Request {
    let mut conn = Connection::new(Limits::default(), Instant::now());
    conn.feed(
        b"POST /function HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello",
        Instant::now(),
    );
    conn.poll_request(Instant::now()).expect("a whole request")
}

/// Starts a request, answers it as a worker would, and checks the answer.
fn round_trip(gateway: &mut Gateway, request: &Request, n: u64, now: Instant) {
    let (_, encoded) = gateway.start(HttpRequestId::for_tests(n), request, "function", now);
    let mut reply = PalmMessage::decode(encoded).expect("the gateway's own encoding");
    reply.payload = Bytes::from_static(b"acknowledged");
    let (_, response) = gateway.complete(reply, now).expect("a pending request");
    assert_eq!(response.status(), 200);
}

#[test]
fn warm_gateway_requests_share_allocations() {
    const REQUESTS: u64 = 10_000;
    let mut gateway = Gateway::new(Duration::from_secs(30));
    let request = request();
    let now = Instant::now();
    for n in 0..1_000 {
        round_trip(&mut gateway, &request, n, now);
    }
    let before = counting_alloc::allocations();
    for n in 0..REQUESTS {
        round_trip(&mut gateway, &request, 1_000 + n, now);
    }
    let allocations = counting_alloc::allocations() - before;
    eprintln!("{allocations} allocations for {REQUESTS} gateway requests");
    // A 16 KiB arena block (two allocations: the buffer and the header that shares it)
    // serves some sixty requests: about 300 here, where reserving a block per string made
    // 80,000.
    assert!(
        allocations <= REQUESTS / 20,
        "{allocations} allocations for {REQUESTS} requests"
    );
}
