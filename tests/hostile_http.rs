//! Hostile HTTP peers against palm's server: each test asserts that the attacker is cut off,
//! other clients keep being served, and memory stays bounded (VmRSS of this process, which
//! runs the server in a thread).
//!
//! A counting allocator also tracks the bytes live on the heap, a figure that, unlike RSS, does
//! not depend on the allocator returning freed pages. The tests run one at a time (a lock) so
//! that their memory figures do not mix.

#[path = "support/http_client.rs"]
mod http_client;

use std::alloc::{GlobalAlloc, Layout, System};
use std::io::{self, BufReader, Read, Write};
use std::net::TcpStream;
use std::sync::atomic::{AtomicI64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_client::{PATIENCE, ServerThread, connect, read_reply};
use palm::http::{Limits, Request, Response};
use palm::{Handler, HttpRequestId, HttpServerId, Reactor};

const KIB: u64 = 1024;
const MIB: u64 = 1024 * 1024;

static SERIAL: Mutex<()> = Mutex::new(());

/// Bytes allocated and not yet freed, by every thread.
static LIVE: AtomicI64 = AtomicI64::new(0);

struct Counting;

// SAFETY: every call is forwarded unchanged to `System`, which upholds `GlobalAlloc`'s
// contract; the only addition is an atomic counter, which does not allocate.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        LIVE.fetch_add(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        LIVE.fetch_add(new_size as i64 - layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size() as i64, Ordering::Relaxed);
        // SAFETY: same contract as the caller's.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Bytes live on the heap now.
fn heap() -> u64 {
    LIVE.load(Ordering::Relaxed).max(0) as u64
}

fn serial() -> std::sync::MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// This process's resident set size in bytes.
fn rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").expect("/proc/self/status");
    let line = status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))
        .expect("VmRSS");
    let kib: u64 = line
        .split_whitespace()
        .nth(1)
        .and_then(|n| n.parse().ok())
        .expect("a number of KiB");
    kib * KIB
}

/// Answers `METHOD TARGET LEN`; `/big` gets a fresh 64 KiB body. Publishes the number of
/// open connections after every turn.
struct Hostile {
    server: HttpServerId,
    connections: Arc<AtomicUsize>,
}

impl Handler for Hostile {
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        let response = if request.path() == "/big" {
            Response::new(200).body(Bytes::from(vec![b'b'; 64 * 1024]))
        } else {
            let text = format!(
                "{} {} {}",
                request.method(),
                request.target(),
                request.body().len()
            );
            Response::new(200).body(text)
        };
        reactor.respond(id, response);
    }

    fn on_turn(&mut self, reactor: &mut Reactor) {
        let open = reactor.http_connections(self.server);
        self.connections.store(open, Ordering::Relaxed);
    }
}

/// A palm HTTP server answering with [`Hostile`] on a loop thread; stopped and joined on
/// drop.
struct Server {
    running: ServerThread,
    connections: Arc<AtomicUsize>,
}

impl Server {
    fn start(limits: Limits) -> Server {
        let connections = Arc::new(AtomicUsize::new(0));
        let published = Arc::clone(&connections);
        let running = ServerThread::start(limits, move |server| Hostile {
            server,
            connections: published,
        });
        Server {
            running,
            connections,
        }
    }

    fn connect(&self) -> TcpStream {
        connect(&self.running.addr)
    }

    /// One request on a fresh connection; returns the status and how long it took.
    fn probe(&self) -> (u16, Duration) {
        let started = Instant::now();
        let mut stream = self.connect();
        stream
            .write_all(b"GET /probe HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n")
            .expect("probe written");
        let mut reader = BufReader::new(stream);
        let status = read_reply(&mut reader)
            .expect("the probe is answered")
            .status;
        (status, started.elapsed())
    }

    /// Waits until the server has at most `count` connections open.
    fn wait_connections(&self, count: usize) -> bool {
        let started = Instant::now();
        while started.elapsed() < PATIENCE {
            if self.connections.load(Ordering::Relaxed) <= count {
                return true;
            }
            // A turn publishes the count; a probe makes one.
            let _ = self.probe();
            thread::sleep(Duration::from_millis(50));
        }
        false
    }
}

/// Writes `block` over and over on `stream` until `total` bytes or an error; returns the
/// bytes written and whether an error (the server cutting the connection) stopped it.
fn flood(mut stream: TcpStream, first: &[u8], block: &[u8], total: u64) -> (u64, bool) {
    let mut sent = 0;
    if stream.write_all(first).is_err() {
        return (0, true);
    }
    sent += first.len() as u64;
    while sent < total {
        match stream.write(block) {
            Ok(n) => sent += n as u64,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => return (sent, true),
        }
    }
    (sent, false)
}

#[test]
fn a_gib_of_headers_is_cut_off_with_431() {
    let _serial = serial();
    let server = Server::start(Limits::default());
    assert_eq!(server.probe().0, 200);
    let before = rss();

    let attacker = server.connect();
    let writer = attacker.try_clone().unwrap();
    let mut block = Vec::new();
    while block.len() < 64 * 1024 {
        block.extend_from_slice(
            b"X-Flood: aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n",
        );
    }
    let first = b"GET / HTTP/1.1\r\nHost: t\r\n";
    let flooder = thread::spawn(move || flood(writer, first, &block, 1024 * MIB));
    let mut reader = BufReader::new(attacker);
    let status = read_reply(&mut reader)
        .expect("an answer to the flood")
        .status;
    assert_eq!(status, 431);

    // Others are served while the attacker keeps sending.
    let mut slowest = Duration::ZERO;
    for _ in 0..10 {
        let (status, took) = server.probe();
        assert_eq!(status, 200);
        slowest = slowest.max(took);
    }
    let (sent, cut) = flooder.join().unwrap();
    let grown = rss().saturating_sub(before);
    eprintln!(
        "1 GiB of headers: 431, connection cut: {cut} after {} MiB sent; slowest other \
         request {slowest:?}; RSS grew {} KiB",
        sent / MIB,
        grown / KIB
    );
    // The server drains input for a second after the 431 (so that the answer is not lost to
    // a reset) and then closes: a fast client may get its whole GiB in before that.
    let mut rest = Vec::new();
    let end = reader.read_to_end(&mut rest);
    assert!(
        end.is_ok() || cut,
        "the answer is followed by the end of the stream"
    );
    assert!(rest.is_empty(), "nothing after the 431");
    assert!(grown < 32 * MIB, "RSS grew by {} KiB", grown / KIB);
    assert!(
        server.wait_connections(0),
        "the attacker's connection is dropped"
    );
}

#[test]
fn a_client_that_never_reads_is_dropped_at_the_write_deadline() {
    const CLIENTS: usize = 8;
    let _serial = serial();
    let mut limits = Limits::default();
    limits.write_timeout = Duration::from_secs(1);
    let server = Server::start(limits);
    assert_eq!(server.probe().0, 200);
    let before = rss();

    let request = b"GET /big HTTP/1.1\r\nHost: t\r\n\r\n";
    let block: Vec<u8> = request.repeat(100);
    let started = Instant::now();
    let flooders: Vec<_> = (0..CLIENTS)
        .map(|_| {
            let stream = server.connect();
            let block = block.clone();
            thread::spawn(move || {
                let result = flood(stream, b"", &block, 16 * 1024 * MIB);
                (result, started.elapsed())
            })
        })
        .collect();
    // Sample memory while the clients are stuck, and check others are still served.
    let (mut peak, mut heap_peak, heap_before) = (before, heap(), heap());
    let mut slowest = Duration::ZERO;
    while !flooders.iter().all(thread::JoinHandle::is_finished) && started.elapsed() < PATIENCE {
        peak = peak.max(rss());
        heap_peak = heap_peak.max(heap());
        let (status, took) = server.probe();
        assert_eq!(status, 200);
        slowest = slowest.max(took);
        thread::sleep(Duration::from_millis(100));
    }
    let mut latest = Duration::ZERO;
    for flooder in flooders {
        let ((sent, cut), when) = flooder.join().unwrap();
        assert!(
            cut,
            "the server drops a client that never reads ({} MiB sent)",
            sent / MIB
        );
        latest = latest.max(when);
    }
    let grown = peak.saturating_sub(before);
    let heap_grown = heap_peak.saturating_sub(heap_before);
    eprintln!(
        "{CLIENTS} clients that never read: all dropped within {latest:?} (write timeout 1 s); \
         peak growth RSS {} KiB, heap {} KiB; slowest other request {slowest:?}",
        grown / KIB,
        heap_grown / KIB
    );
    assert!(latest < PATIENCE);
    assert!(grown < 64 * MIB, "RSS grew by {} KiB", grown / KIB);
    assert!(server.wait_connections(0));
}

#[test]
fn idle_keep_alive_connections_are_small() {
    const IDLE: usize = 5_000;
    let _serial = serial();
    // Opening 5,000 connections can outlast the 10 s header deadline on a busy machine, and
    // the deadline rightly closes a connection that has said nothing; this test is about
    // memory, so its server waits longer.
    let mut limits = Limits::default();
    limits.header_timeout = Duration::from_secs(300);
    limits.keep_alive_timeout = Duration::from_secs(300);
    let server = Server::start(limits);
    for _ in 0..100 {
        assert_eq!(server.probe().0, 200);
    }
    let (before, heap_before) = (rss(), heap());
    let mut idle: Vec<_> = (0..IDLE).map(|_| server.connect()).collect();
    let connected = heap().saturating_sub(heap_before) / IDLE as u64;
    // All at once, as a burst of clients would.
    for (i, stream) in idle.iter_mut().enumerate() {
        let request = format!("GET /{i} HTTP/1.1\r\nHost: t\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
    }
    for stream in &idle {
        let mut reader = BufReader::with_capacity(256, stream);
        let status = read_reply(&mut reader).expect("an answer").status;
        assert_eq!(status, 200);
        assert!(reader.buffer().is_empty());
    }
    let busy = rss().saturating_sub(before) / IDLE as u64;
    let heap_busy = heap().saturating_sub(heap_before) / IDLE as u64;
    // Idle buffers are released after `Limits::buffer_linger` (1 s).
    thread::sleep(Duration::from_millis(2500));
    assert_eq!(server.probe().0, 200);
    let settled = rss().saturating_sub(before) / IDLE as u64;
    let heap_idle = heap().saturating_sub(heap_before) / IDLE as u64;
    eprintln!(
        "{IDLE} keep-alive connections, per connection: heap +{connected} B once connected; \
         right after one request each RSS +{busy} B, heap +{heap_busy} B; once idle RSS \
         +{settled} B, heap +{heap_idle} B"
    );
    assert!(
        heap_idle < 2 * KIB,
        "{heap_idle} B of heap per idle connection"
    );
    assert!(settled < 16 * KIB, "{settled} B of RSS per idle connection");
    // Every one still works.
    for (i, stream) in idle.iter_mut().enumerate().step_by(500) {
        let request = format!("GET /again/{i} HTTP/1.1\r\nHost: t\r\n\r\n");
        stream.write_all(request.as_bytes()).unwrap();
        let reply = read_reply(&mut BufReader::new(&*stream)).expect("an answer");
        assert_eq!(
            (reply.status, reply.body),
            (200, format!("GET /again/{i} 0").into_bytes())
        );
    }
}
