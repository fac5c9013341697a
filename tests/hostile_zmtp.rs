//! Hostile ZMTP peers against a palm socket: none may crash the process, starve a
//! well-behaved libzmq peer, or grow palm's memory past a stated bound.
//!
//! Each test binds a palm PULL on 127.0.0.1, keeps a libzmq PUSH (the `zmq` crate, in its own
//! thread) sending to it, drives palm's loop on the test thread, and runs one attack from raw
//! `TcpStream` clients in other threads. Memory is the process's VmRSS before and after the
//! attack. Tests run one at a time so that one's connections do not count against another's
//! memory.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use palm::{Options, Socket, SocketType};

/// Serializes the tests: RSS is per process.
static SERIAL: Mutex<()> = Mutex::new(());

/// RSS growth allowed for an attack over one connection.
const ONE_CONN_RSS_KIB: u64 = 16 * 1024;

fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

/// The process's resident set size in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

/// A palm PULL bound on loopback, driven by the test thread.
struct Palm {
    socket: Socket,
    endpoint: String,
    addr: SocketAddr,
    /// Messages received from the well-behaved peer.
    good: usize,
}

impl Palm {
    fn new(kind: SocketType, configure: impl FnOnce(&mut Options)) -> Palm {
        let mut socket = Socket::new(kind).unwrap();
        configure(socket.options_mut());
        let endpoint = socket.bind("tcp://127.0.0.1:0").unwrap();
        let addr = endpoint.trim_start_matches("tcp://").parse().unwrap();
        Palm {
            socket,
            endpoint,
            addr,
            good: 0,
        }
    }

    /// One short turn of the loop.
    fn turn(&mut self) {
        if self
            .socket
            .recv_timeout(Some(Duration::from_millis(5)))
            .is_ok()
        {
            self.good += 1;
        }
    }

    /// Turns the loop until `done` or `limit`; true when `done`.
    fn drive_until(&mut self, limit: Duration, mut done: impl FnMut(&Palm) -> bool) -> bool {
        let end = Instant::now() + limit;
        while Instant::now() < end {
            if done(self) {
                return true;
            }
            self.turn();
        }
        done(self)
    }
}

/// A libzmq PUSH that sends to palm every few milliseconds until stopped.
struct GoodPeer {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl GoodPeer {
    fn start(endpoint: &str) -> GoodPeer {
        let stop = Arc::new(AtomicBool::new(false));
        let (flag, endpoint) = (stop.clone(), endpoint.to_string());
        let thread = thread::spawn(move || {
            let ctx = zmq::Context::new();
            let push = ctx.socket(zmq::PUSH).unwrap();
            push.set_linger(0).unwrap();
            push.set_sndtimeo(100).unwrap();
            push.connect(&endpoint).unwrap();
            while !flag.load(Ordering::Relaxed) {
                let _ = push.send(&b"good"[..], 0);
                thread::sleep(Duration::from_millis(5));
            }
        });
        GoodPeer {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for GoodPeer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// Runs `attack` against a fresh palm PULL (set up by `configure`) while a libzmq PUSH keeps
/// sending; checks the PUSH is served during and after the attack and that RSS grew by less
/// than `rss_bound_kib`. Returns what the attack returned.
fn under_attack<T: Send + 'static>(
    name: &str,
    configure: impl FnOnce(&mut Options),
    rss_bound_kib: u64,
    attack: impl FnOnce(SocketAddr) -> T + Send + 'static,
) -> T {
    let mut palm = Palm::new(SocketType::Pull, configure);
    let _peer = GoodPeer::start(&palm.endpoint);
    assert!(
        palm.drive_until(Duration::from_secs(10), |p| p.good >= 20),
        "{name}: the libzmq peer never got through"
    );
    let rss_before = rss_kib();
    let (addr, started, good_before) = (palm.addr, Instant::now(), palm.good);
    let attacker = thread::spawn(move || attack(addr));
    let finished = palm.drive_until(Duration::from_secs(60), |_| attacker.is_finished());
    assert!(finished, "{name}: the attack did not finish");
    let (took, good_during) = (started.elapsed(), palm.good - good_before);
    let result = attacker.join().expect("attacker thread");
    let good_after = palm.good;
    assert!(
        palm.drive_until(Duration::from_secs(10), |p| p.good >= good_after + 20),
        "{name}: the libzmq peer is no longer served"
    );
    if took > Duration::from_millis(500) {
        assert!(
            good_during > 0,
            "{name}: the libzmq peer starved during the attack"
        );
    }
    let rss_after = rss_kib();
    let growth = rss_after.saturating_sub(rss_before);
    println!(
        "{name}: RSS {rss_before} KiB -> {rss_after} KiB (+{growth} KiB, bound {rss_bound_kib} \
         KiB); attack took {took:?}; {good_during} good messages during it"
    );
    assert!(growth < rss_bound_kib, "{name}: RSS grew by {growth} KiB");
    result
}

/// A libzmq 4.3 greeting: padding byte 8 = identity length + 1, ZMTP 3.1, NULL.
fn greeting() -> Vec<u8> {
    let mut g = vec![0u8; 64];
    g[0] = 0xff;
    g[8] = 1;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A command frame (long form when needed).
fn command(name: &[u8], data: &[u8]) -> Vec<u8> {
    let size = 1 + name.len() + data.len();
    let mut out = match u8::try_from(size) {
        Ok(size) => vec![0x04, size],
        Err(_) => {
            let mut out = vec![0x06];
            out.extend_from_slice(&(size as u64).to_be_bytes());
            out
        }
    };
    out.push(name.len() as u8);
    out.extend_from_slice(name);
    out.extend_from_slice(data);
    out
}

/// A READY property whose value length field says `claim`.
fn property(name: &[u8], value: &[u8], claim: u32) -> Vec<u8> {
    let mut out = vec![name.len() as u8];
    out.extend_from_slice(name);
    out.extend_from_slice(&claim.to_be_bytes());
    out.extend_from_slice(value);
    out
}

fn ready(socket_type: &[u8]) -> Vec<u8> {
    let p = property(b"Socket-Type", socket_type, socket_type.len() as u32);
    command(b"READY", &p)
}

/// How a raw connection ended.
#[derive(Debug, PartialEq, Eq)]
enum End {
    /// palm closed it cleanly.
    Eof,
    /// palm closed it with unread input, so the kernel reset it.
    Reset,
    /// Still open when we gave up.
    Open,
}

/// What a raw client saw: the bytes palm sent, how the connection ended and when.
#[derive(Debug)]
struct Seen {
    bytes: Vec<u8>,
    end: End,
    after: Duration,
}

/// Reads until palm closes the connection or `limit` passes.
fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> Seen {
    let start = Instant::now();
    let mut bytes = Vec::new();
    let mut buf = [0u8; 4096];
    let end = loop {
        let left = limit.saturating_sub(start.elapsed());
        if left.is_zero() {
            break End::Open;
        }
        stream.set_read_timeout(Some(left)).unwrap();
        match stream.read(&mut buf) {
            Ok(0) => break End::Eof,
            Ok(n) => bytes.extend_from_slice(&buf[..n]),
            Err(e) if is_reset(&e) => break End::Reset,
            Err(e) if is_timeout(&e) => break End::Open,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => panic!("read failed: {e}"),
        }
    };
    Seen {
        bytes,
        end,
        after: start.elapsed(),
    }
}

fn is_reset(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::ConnectionReset | io::ErrorKind::BrokenPipe
    )
}

fn is_timeout(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
    )
}

/// Writes everything it can; a reset from palm ends the write early.
fn write_all_or_reset(stream: &mut TcpStream, bytes: &[u8]) -> bool {
    match stream.write_all(bytes) {
        Ok(()) => true,
        Err(e) if is_reset(&e) => false,
        Err(e) => panic!("write failed: {e}"),
    }
}

/// Parses the frames palm sent after its greeting: (flags, body) pairs.
fn frames_after_greeting(bytes: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut rest = bytes.get(64..).unwrap_or_default();
    let mut frames = Vec::new();
    while let [flags, size, tail @ ..] = rest {
        let size = usize::from(*size);
        assert!(flags & 0x02 == 0, "palm sends short frames here");
        let Some(body) = tail.get(..size) else { break };
        frames.push((*flags, body.to_vec()));
        rest = &tail[size..];
    }
    frames
}

/// Runs an attack of one connection that sends a greeting and then what `after_greeting`
/// makes, all in one write, and reads until palm closes the connection.
fn attack_after_greeting(
    name: &str,
    after_greeting: impl FnOnce() -> Vec<u8> + Send + 'static,
) -> Seen {
    under_attack(
        name,
        |_| {},
        ONE_CONN_RSS_KIB,
        move |addr| {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut bytes = greeting();
            bytes.extend_from_slice(&after_greeting());
            write_all_or_reset(&mut s, &bytes);
            read_until_closed(&mut s, Duration::from_secs(10))
        },
    )
}

#[test]
fn greeting_that_never_completes_is_closed_at_the_handshake_deadline() {
    let _serial = serial();
    let seen = under_attack(
        "stalled greeting",
        |o| o.handshake_ivl = Some(Duration::from_millis(500)),
        ONE_CONN_RSS_KIB,
        |addr| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(&greeting()[..10]).unwrap();
            read_until_closed(&mut s, Duration::from_secs(10))
        },
    );
    assert_eq!(seen.end, End::Eof, "{seen:?}");
    assert!(seen.after >= Duration::from_millis(400), "{seen:?}");
    assert!(seen.after < Duration::from_secs(5), "{seen:?}");
    assert_eq!(
        seen.bytes.first(),
        Some(&0xff),
        "palm's greeting came first"
    );
}

#[test]
fn frame_claiming_2_pow_63_bytes_is_refused_without_allocating() {
    let _serial = serial();
    let seen = attack_after_greeting("2^63-byte frame", || {
        let mut bytes = ready(b"PUSH");
        bytes.push(0x02);
        bytes.extend_from_slice(&(1u64 << 63).to_be_bytes());
        bytes.extend_from_slice(&[0xab; 1000]);
        bytes
    });
    assert_ne!(seen.end, End::Open, "{seen:?}");
}

#[test]
fn ready_with_100_000_properties_is_refused() {
    let _serial = serial();
    let seen = attack_after_greeting("READY with 100,000 properties", || {
        let mut props = property(b"Socket-Type", b"PUSH", 4);
        for i in 0..100_000u32 {
            props.extend_from_slice(&property(format!("X-{i}").as_bytes(), b"", 0));
        }
        command(b"READY", &props)
    });
    assert_ne!(seen.end, End::Open, "{seen:?}");
}

#[test]
fn ready_property_claiming_2_gib_is_refused() {
    let _serial = serial();
    let seen = attack_after_greeting("READY property claiming 2 GiB", || {
        let mut props = property(b"Socket-Type", b"PUSH", 4);
        props.extend_from_slice(&property(b"Identity", b"abc", 1 << 31));
        command(b"READY", &props)
    });
    assert_eq!(seen.end, End::Eof, "{seen:?}");
    let frames = frames_after_greeting(&seen.bytes);
    assert!(
        frames
            .iter()
            .any(|(_, body)| body.starts_with(b"\x05ERROR")),
        "palm says why: {frames:?}"
    );
}

#[test]
fn data_frames_before_ready_are_refused() {
    let _serial = serial();
    let seen = attack_after_greeting("data before READY", || {
        b"\x01\x05hello\x00\x05world".to_vec()
    });
    assert_eq!(seen.end, End::Eof, "{seen:?}");
    let frames = frames_after_greeting(&seen.bytes);
    assert!(frames[0].1.starts_with(b"\x05READY"), "{frames:?}");
    assert!(frames[1].1.starts_with(b"\x05ERROR"), "{frames:?}");
}

#[test]
fn one_byte_per_second_drip_is_closed_by_the_handshake_deadline() {
    let _serial = serial();
    let (seen, sent) = under_attack(
        "1 byte/s drip",
        |o| o.handshake_ivl = Some(Duration::from_millis(2500)),
        ONE_CONN_RSS_KIB,
        |addr| {
            let mut s = TcpStream::connect(addr).unwrap();
            let start = Instant::now();
            let mut bytes = Vec::new();
            for (sent, &byte) in greeting().iter().enumerate() {
                if !write_all_or_reset(&mut s, &[byte]) {
                    return (
                        Seen {
                            bytes,
                            end: End::Reset,
                            after: start.elapsed(),
                        },
                        sent,
                    );
                }
                let seen = read_until_closed(&mut s, Duration::from_secs(1));
                bytes.extend_from_slice(&seen.bytes);
                if seen.end != End::Open {
                    let after = start.elapsed();
                    return (
                        Seen {
                            bytes,
                            end: seen.end,
                            after,
                        },
                        sent + 1,
                    );
                }
            }
            (
                Seen {
                    bytes,
                    end: End::Open,
                    after: start.elapsed(),
                },
                64,
            )
        },
    );
    assert_eq!(seen.end, End::Eof, "{seen:?}");
    assert!(sent <= 5, "closed after {sent} bytes: {seen:?}");
    assert!(seen.after >= Duration::from_secs(2), "{seen:?}");
}

/// The soft limit on open files, from /proc.
fn open_file_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    line.split_whitespace().nth(3)?.parse().ok()
}

#[test]
fn five_thousand_silent_connections() {
    let _serial = serial();
    // Each connection costs two descriptors here (both ends live in this process).
    let limit = open_file_limit().unwrap_or(1024);
    let wanted = 5000;
    let conns = wanted.min(limit.saturating_sub(200) / 2);
    if conns < wanted {
        println!(
            "NOTE: open-file limit {limit} allows only {conns} of {wanted} silent connections; \
             raise it (ulimit -n 10240) to run the full test"
        );
    }
    let seen = under_attack(
        "silent connections",
        |o| o.handshake_ivl = Some(Duration::from_secs(3)),
        64 * 1024,
        move |addr| {
            let mut streams = Vec::with_capacity(conns);
            for _ in 0..conns {
                streams.push(TcpStream::connect(addr).unwrap());
            }
            let connected = Instant::now();
            let ends: Vec<End> = streams
                .iter_mut()
                .map(|s| read_until_closed(s, Duration::from_secs(15)).end)
                .collect();
            (ends, connected.elapsed())
        },
    );
    let (ends, took) = seen;
    let open = ends.iter().filter(|e| **e == End::Open).count();
    println!("{conns} silent connections all closed {took:?} after the last connect");
    assert_eq!(
        open, 0,
        "{open} of {conns} silent connections outlived the deadline"
    );
}

#[test]
fn subscribe_flood_to_pull_does_not_grow_memory() {
    let _serial = serial();
    let (sent, seen) = under_attack(
        "SUBSCRIBE flood to PULL",
        |_| {},
        ONE_CONN_RSS_KIB,
        |addr| {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut bytes = greeting();
            bytes.extend_from_slice(&ready(b"PUSH"));
            write_all_or_reset(&mut s, &bytes);
            let mut sent = 0usize;
            let mut batch = Vec::new();
            for round in 0..200u32 {
                batch.clear();
                for i in 0..1000u32 {
                    let topic = format!("{round:08}-{i:08}-{}", "t".repeat(64));
                    batch.extend_from_slice(&command(b"SUBSCRIBE", topic.as_bytes()));
                }
                if !write_all_or_reset(&mut s, &batch) {
                    break;
                }
                sent += batch.len();
            }
            // Still served: one message after the flood, then close our side.
            write_all_or_reset(&mut s, b"\x00\x04last");
            s.shutdown(std::net::Shutdown::Write).unwrap();
            (sent, read_until_closed(&mut s, Duration::from_secs(10)))
        },
    );
    println!("SUBSCRIBE flood: {sent} bytes of commands sent");
    assert!(sent > 16 << 20, "the flood got through: {sent} bytes");
    assert_ne!(seen.end, End::Open, "{seen:?}");
}

/// Publishes on a palm PUB for up to `limit`, turning its loop; returns how many messages the
/// libzmq SUB received.
fn publish_for(pub_socket: &mut Socket, sub: &zmq::Socket, limit: Duration) -> usize {
    let (end, mut got) = (Instant::now() + limit, 0);
    while Instant::now() < end {
        let _ = pub_socket.send(&b"news"[..]);
        let _ = pub_socket.reactor().turn(Some(Duration::from_millis(2)));
        while sub.recv_bytes(zmq::DONTWAIT).is_ok() {
            got += 1;
        }
    }
    got
}

#[test]
fn subscribe_flood_to_pub_stays_bounded() {
    let _serial = serial();
    let mut palm = Palm::new(SocketType::Pub, |_| {});
    let ctx = zmq::Context::new();
    let sub = ctx.socket(zmq::SUB).unwrap();
    sub.set_linger(0).unwrap();
    sub.set_subscribe(b"news").unwrap();
    sub.connect(&palm.endpoint).unwrap();
    if publish_for(&mut palm.socket, &sub, Duration::from_secs(3)) == 0 {
        println!("SKIPPED: palm PUB does not deliver to a libzmq SUB yet; flood test not run");
        return;
    }
    let rss_before = rss_kib();
    let attacker = thread::spawn({
        let addr = palm.addr;
        move || {
            let mut s = TcpStream::connect(addr).unwrap();
            let mut bytes = greeting();
            bytes.extend_from_slice(&ready(b"SUB"));
            write_all_or_reset(&mut s, &bytes);
            let mut batch = Vec::new();
            for round in 0..200u32 {
                batch.clear();
                for i in 0..1000u32 {
                    // 100 distinct topics, subscribed over and over, then all cancelled.
                    let topic = format!("topic-{:03}", (round * 1000 + i) % 100);
                    batch.extend_from_slice(&command(b"SUBSCRIBE", topic.as_bytes()));
                }
                if !write_all_or_reset(&mut s, &batch) {
                    return false;
                }
            }
            s.shutdown(std::net::Shutdown::Write).unwrap();
            read_until_closed(&mut s, Duration::from_secs(30)).end != End::Open
        }
    });
    let (mut during, started) = (0, Instant::now());
    while !attacker.is_finished() {
        during += publish_for(&mut palm.socket, &sub, Duration::from_millis(50));
    }
    assert!(
        attacker.join().unwrap(),
        "the flooding SUB was not closed after its EOF"
    );
    let took = started.elapsed();
    let after = publish_for(&mut palm.socket, &sub, Duration::from_secs(1));
    let rss_after = rss_kib();
    let growth = rss_after.saturating_sub(rss_before);
    println!(
        "SUBSCRIBE flood to PUB: RSS {rss_before} KiB -> {rss_after} KiB (+{growth} KiB); \
         libzmq SUB got {during} messages during the {took:?} flood, {after} in 1 s after"
    );
    if took > Duration::from_millis(500) {
        assert!(during > 0, "the libzmq SUB starved during the flood");
    }
    assert!(after > 0, "the libzmq SUB is no longer served");
    assert!(growth < ONE_CONN_RSS_KIB, "RSS grew by {growth} KiB");
}
