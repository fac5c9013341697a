//! A warm keep-alive HTTP connection serves requests without allocating.
//!
//! A counting global allocator counts allocations made by this test's thread only, so the
//! test harness's own threads do not disturb the count.

use bytes::Bytes;
use palm::http::{Connection, HttpDate, Limits, Response};
use std::io::IoSlice;
use std::time::{Instant, UNIX_EPOCH};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

const REQUESTS: [&[u8]; 3] = [
    b"GET /function HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
    b"POST /function HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
];

/// One request through the connection: read, decode, answer, write. Returns bytes written.
fn serve_one(conn: &mut Connection, input: &[u8], now: Instant, date: &HttpDate) -> usize {
    let mut input = input;
    let read = conn.read_from(now, |buf| std::io::Read::read(&mut input, buf));
    assert!(read.is_ok_and(|n| n > 0));
    let request = conn.poll_request(now).expect("a complete request");
    let body = if request.body().is_empty() {
        Bytes::from_static(b"acknowledged")
    } else {
        request.body().clone()
    };
    let id = request.id();
    drop(request);
    let response = Response::new(200)
        .content_type(Bytes::from_static(b"text/plain"))
        .body(body);
    assert!(conn.respond(id, response));
    let mut written = 0;
    while conn.poll_output(now, date) {
        let mut iov = [IoSlice::new(&[]); 8];
        let n = conn.io_slices(&mut iov);
        let len: usize = iov.iter().take(n).map(|s| s.len()).sum();
        conn.consumed(len, now);
        written += len;
    }
    written
}

#[test]
fn warm_keep_alive_requests_allocate_nothing() {
    let now = Instant::now();
    let date = HttpDate::new(UNIX_EPOCH);
    let mut conn = Connection::new(Limits::default(), now);
    for i in 0..100 {
        serve_one(&mut conn, REQUESTS[i % REQUESTS.len()], now, &date);
    }
    let before = allocations();
    assert!(before > 0, "the counting allocator counts the warm-up");
    let mut written = 0;
    for i in 0..1000 {
        written += serve_one(&mut conn, REQUESTS[i % REQUESTS.len()], now, &date);
    }
    let after = allocations();
    assert!(written > 1000 * 60);
    assert_eq!(
        after - before,
        0,
        "allocations while serving 1000 warm requests"
    );
    assert!(!conn.is_closed());
}
