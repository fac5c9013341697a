//! A warm keep-alive connection served through the real reactor allocates nothing per request.
//!
//! `tests/http_alloc.rs` proves it for the sans-IO [`palm::http::Connection`]; this test adds
//! the loop: readiness, reads, the handler queue, timers and vectored writes. The reactor runs
//! on the test's thread and a counting allocator counts that thread's allocations only; the
//! client, on another thread, sends one request at a time and reads its answer.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use palm::http::{Limits, Request, Response};
use palm::{Handler, HttpRequestId, Reactor};

#[path = "support/counting_alloc.rs"]
mod counting_alloc;

use counting_alloc::allocations;

/// Answers with bytes it already owns, so that what is counted is palm's.
struct Static;

impl Handler for Static {
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        let body = if request.body().is_empty() {
            Bytes::from_static(b"acknowledged")
        } else {
            request.body().clone()
        };
        drop(request);
        let response = Response::new(200)
            .content_type(Bytes::from_static(b"text/plain"))
            .body(body);
        reactor.respond(id, response);
    }
}

const REQUESTS: [&[u8]; 3] = [
    b"GET /function HTTP/1.1\r\nHost: localhost\r\nUser-Agent: t\r\nAccept: */*\r\n\r\n",
    b"POST /function HTTP/1.1\r\nHost: localhost\r\nContent-Length: 11\r\n\r\nhello world",
    b"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;x=y\r\nhello\r\n0\r\nT: 1\r\n\r\n",
];

const WARM: u32 = 200;
const MEASURED: u32 = 2000;

/// Sends `count` requests one at a time on `stream`, reading each answer.
fn exchange(reader: &mut BufReader<TcpStream>, count: u32) {
    let mut line = String::new();
    for i in 0..count {
        let request = REQUESTS[i as usize % REQUESTS.len()];
        reader
            .get_mut()
            .write_all(request)
            .expect("request written");
        let mut length = 0;
        loop {
            line.clear();
            assert!(reader.read_line(&mut line).expect("an answer") > 0);
            if line == "\r\n" {
                break;
            }
            if let Some(value) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                length = value.trim().parse().expect("a length");
            }
        }
        let mut body = vec![0; length];
        reader.read_exact(&mut body).expect("the body");
    }
}

#[test]
fn warm_keep_alive_requests_through_the_reactor_allocate_nothing() {
    let mut reactor = Reactor::new().expect("a reactor");
    let (_, addr) = reactor
        .http_bind("127.0.0.1:0", Limits::default())
        .expect("bound");
    // 0: warming up; 1: warm, waiting for the first count; 2: measuring; 3: done.
    let phase = Arc::new(AtomicU32::new(0));
    let client_phase = Arc::clone(&phase);
    let client = thread::spawn(move || {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(20)))
            .unwrap();
        let mut reader = BufReader::new(stream);
        exchange(&mut reader, WARM);
        client_phase.store(1, Ordering::SeqCst);
        while client_phase.load(Ordering::SeqCst) == 1 {
            thread::sleep(Duration::from_millis(1));
        }
        exchange(&mut reader, MEASURED);
        client_phase.store(3, Ordering::SeqCst);
        reader
    });
    let mut handler = Static;
    let mut before = 0;
    let deadline = Instant::now() + Duration::from_secs(120);
    while phase.load(Ordering::SeqCst) != 3 && Instant::now() < deadline {
        reactor
            .run_once(&mut handler, Some(Duration::from_millis(5)))
            .expect("a turn");
        if phase.load(Ordering::SeqCst) == 1 {
            before = allocations();
            phase.store(2, Ordering::SeqCst);
        }
    }
    let after = allocations();
    let _connection = client.join().expect("the client finishes");
    assert_eq!(
        phase.load(Ordering::SeqCst),
        3,
        "the client finished in time"
    );
    assert!(before > 0, "the counting allocator counts this thread");
    eprintln!(
        "{MEASURED} warm requests through the reactor: {} allocations on the loop thread",
        after - before
    );
    assert_eq!(
        after - before,
        0,
        "allocations while serving {MEASURED} warm requests"
    );
}
