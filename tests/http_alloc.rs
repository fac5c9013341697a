//! A warm keep-alive HTTP connection serves requests without allocating.
//!
//! A counting global allocator counts allocations made by this test's thread only, so the
//! test harness's own threads do not disturb the count.

use bytes::Bytes;
use palm::http::{Connection, HttpDate, Limits, Response};
use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::IoSlice;
use std::time::{Instant, UNIX_EPOCH};

struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count() {
    // `try_with`: the thread-local may already be gone while a thread shuts down.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the only addition is bumping a const-initialised thread-local counter, which
// does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn allocations() -> u64 {
    ALLOCATIONS.with(Cell::get)
}

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
