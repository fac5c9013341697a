//! palm's HTTP/1.1 server against real clients: curl and raw sockets, one case per rule of
//! RFC 9112 that a gateway must get right (WIRE.md), and 10,000 concurrent keep-alive
//! connections.
//!
//! Each test starts its own [`Reactor`] in a thread with a small handler that answers
//! `METHOD TARGET LEN` (like `examples/http_hello.rs`), echoes the body for `/echo`, and can
//! answer later (`?delay=MS`, through a reactor timer) or in reverse order.

#[path = "support/http_client.rs"]
mod http_client;

use std::collections::HashMap;
use std::fmt::Write as _;
use std::io::{self, BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, mpsc};
use std::thread;
use std::time::{Duration, Instant};

use http_client::{PATIENCE, Reply, ServerThread, connect, read_body, read_head};
use palm::http::{Limits, Request, Response};
use palm::{Handler, HttpRequestId, Reactor, TimerId};

/// In which order the handler answers the requests of one loop turn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Order {
    AtOnce,
    Reverse,
}

/// Answers every request with `METHOD TARGET LEN`, or the body itself for `/echo`; holds an
/// answer back for `?delay=MS`, and answers a turn's requests backwards in [`Order::Reverse`].
struct TestHandler {
    order: Order,
    held: Vec<(HttpRequestId, Response)>,
    timers: HashMap<TimerId, (HttpRequestId, Response)>,
}

impl Handler for TestHandler {
    fn on_request(&mut self, reactor: &mut Reactor, id: HttpRequestId, request: Request) {
        let response = answer(&request);
        if let Some(delay) = delay(&request) {
            let timer = reactor.set_timer(Instant::now() + delay);
            self.timers.insert(timer, (id, response));
        } else if self.order == Order::Reverse {
            self.held.push((id, response));
        } else {
            reactor.respond(id, response);
        }
    }

    fn on_timer(&mut self, reactor: &mut Reactor, timer: TimerId) {
        if let Some((id, response)) = self.timers.remove(&timer) {
            reactor.respond(id, response);
        }
    }

    fn on_turn(&mut self, reactor: &mut Reactor) {
        while let Some((id, response)) = self.held.pop() {
            reactor.respond(id, response);
        }
    }
}

fn answer(request: &Request) -> Response {
    let mut response = if request.path() == "/echo" {
        Response::new(200).body(request.body().clone())
    } else {
        let len = request.body().len();
        let text = format!("{} {} {len}", request.method(), request.target());
        Response::new(200).content_type("text/plain").body(text)
    };
    if let Some(value) = request.trailer("x-check") {
        response = response.header("x-trailer", value.to_vec());
    }
    response
}

fn delay(request: &Request) -> Option<Duration> {
    let query = request.query()?;
    let ms = query.split('&').find_map(|kv| kv.strip_prefix("delay="))?;
    ms.parse().ok().map(Duration::from_millis)
}

/// A palm HTTP server answering with a [`TestHandler`] on a loop thread; stopped and joined
/// on drop.
struct Server {
    running: ServerThread,
}

impl Server {
    fn start(limits: Limits, order: Order) -> Server {
        let running = ServerThread::start(limits, move |_| TestHandler {
            order,
            held: Vec::new(),
            timers: HashMap::new(),
        });
        Server { running }
    }

    fn new() -> Server {
        Server::start(Limits::default(), Order::AtOnce)
    }

    fn with(limits: Limits) -> Server {
        Server::start(limits, Order::AtOnce)
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.running.addr)
    }

    /// A connection that sent `bytes`, ready to read answers.
    fn send(&self, bytes: &[u8]) -> BufReader<TcpStream> {
        let mut stream = self.connect();
        stream.write_all(bytes).expect("request written");
        BufReader::new(stream)
    }

    fn connect(&self) -> TcpStream {
        let stream = connect(&self.running.addr);
        stream.set_nodelay(true).expect("nodelay");
        stream
    }
}

/// Reads one response (interim or final). A final one must carry Date and Content-Length;
/// its body is read by Content-Length.
fn read_reply(reader: &mut impl BufRead) -> io::Result<Reply> {
    let mut reply = read_head(reader)?;
    if reply.status >= 200 {
        let date = reply.header("date").expect("every response carries Date");
        assert!(date.ends_with(" GMT"), "an IMF-fixdate: {date}");
        let length = reply.header("content-length");
        let length = length.expect("every response carries Content-Length");
        let length: usize = length.parse().expect("a decimal Content-Length");
        reply.body = read_body(reader, length)?;
    }
    Ok(reply)
}

fn reply(reader: &mut impl BufRead) -> Reply {
    read_reply(reader).expect("a response")
}

/// Asserts the server closes: end of stream (or a reset) before [`PATIENCE`].
fn assert_closed(reader: &mut BufReader<TcpStream>) {
    let mut rest = Vec::new();
    match reader.read_to_end(&mut rest) {
        Ok(_) => assert!(rest.is_empty(), "nothing after the last response: {rest:?}"),
        Err(e) if e.kind() == io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("expected the server to close, got {e}"),
    }
}

/// Sends `request`, expects `status` with `Connection: close`, then the server's close.
fn assert_refused(server: &Server, request: &[u8], status: u16) {
    let mut reader = server.send(request);
    let reply = reply(&mut reader);
    assert_eq!(reply.status, status, "{}: {}", show(request), reply.text());
    assert!(
        reply.closes(),
        "a refused request closes: {:?}",
        reply.headers
    );
    assert_closed(&mut reader);
}

fn show(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    text.chars().take(120).collect()
}

fn get(path: &str) -> String {
    format!("GET {path} HTTP/1.1\r\nHost: test\r\n\r\n")
}

// ---------------------------------------------------------------------------------------------
// Framing and syntax

#[test]
fn smuggling_with_content_length_and_chunked_is_refused_and_closed() {
    let server = Server::new();
    let smuggle = b"POST / HTTP/1.1\r\nHost: test\r\nContent-Length: 6\r\n\
        Transfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /smuggled HTTP/1.1\r\nHost: test\r\n\r\n";
    assert_refused(&server, smuggle, 400);
    let reversed = b"POST / HTTP/1.1\r\nHost: test\r\nTransfer-Encoding: chunked\r\n\
        Content-Length: 3\r\n\r\n0\r\n\r\n";
    assert_refused(&server, reversed, 400);
}

#[test]
fn differing_or_malformed_content_lengths_are_refused() {
    let server = Server::new();
    let cases: [&[u8]; 5] = [
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 5, 6\r\n\r\nhello!",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n",
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 0x5\r\n\r\nhello",
    ];
    for case in cases {
        assert_refused(&server, case, 400);
    }
}

#[test]
fn equal_duplicate_content_lengths_are_one_length() {
    let server = Server::new();
    let request =
        b"POST /d HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello";
    let mut reader = server.send(request);
    let reply = reply(&mut reader);
    // RFC 9112 §6.3 allows either accepting the one value or refusing; never a different length.
    assert!(
        (reply.status == 200 && reply.text() == "POST /d 5") || reply.status == 400,
        "{} {}",
        reply.status,
        reply.text()
    );
}

#[test]
fn space_before_the_colon_is_refused() {
    let server = Server::new();
    assert_refused(&server, b"GET / HTTP/1.1\r\nHost : test\r\n\r\n", 400);
    assert_refused(
        &server,
        b"GET / HTTP/1.1\r\nHost: t\r\nX-A : b\r\n\r\n",
        400,
    );
}

#[test]
fn chunk_size_overflow_is_refused() {
    let server = Server::new();
    let request = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
        10000000000000000\r\nhello\r\n0\r\n\r\n";
    assert_refused(&server, request, 400);
    let request = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
        ffffffffffffffffffffffffffffffff\r\nhello\r\n0\r\n\r\n";
    assert_refused(&server, request, 400);
}

#[test]
fn chunked_with_extensions_and_trailers_is_decoded() {
    let server = Server::new();
    let request = b"POST /echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n\
        5;name=value;flag\r\nhello\r\n1 ; spaced=\"quoted\"\r\n,\r\n6\r\n world\r\n\
        0;last=yes\r\nX-Check: ok\r\nX-Other: 1\r\n\r\n\
        GET /after HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut reader = server.send(request);
    let first = reply(&mut reader);
    assert_eq!(first.status, 200);
    assert_eq!(first.text(), "hello, world");
    assert_eq!(first.header("x-trailer"), Some("ok"));
    let second = reply(&mut reader);
    assert_eq!(second.text(), "GET /after 0");
    assert!(!second.closes());
}

#[test]
fn unknown_transfer_coding_is_not_implemented() {
    let server = Server::new();
    let request =
        b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n";
    assert_refused(&server, request, 501);
}

#[test]
fn binary_junk_is_refused() {
    let server = Server::new();
    let mut junk = vec![0x16, 0x03, 0x01, 0x02, 0x00]; // a TLS ClientHello's start
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    for _ in 0..1024 {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        junk.push(x as u8);
    }
    assert_refused(&server, &junk, 400);
    assert_refused(&server, b"\x00\x01\x02\x03\r\n\r\n", 400);
}

#[test]
fn http_2_is_an_unsupported_version() {
    let server = Server::new();
    assert_refused(&server, b"GET / HTTP/2.0\r\nHost: t\r\n\r\n", 505);
}

#[test]
fn http_1_1_without_host_is_refused() {
    let server = Server::new();
    assert_refused(&server, b"GET / HTTP/1.1\r\nAccept: */*\r\n\r\n", 400);
    // HTTP/1.0 does not need Host.
    let mut reader = server.send(b"GET /old HTTP/1.0\r\n\r\n");
    assert_eq!(reply(&mut reader).text(), "GET /old 0");
}

#[test]
fn a_malformed_or_repeated_host_is_refused() {
    let server = Server::new();
    assert_refused(&server, b"GET / HTTP/1.1\r\nHost: a b\r\n\r\n", 400);
    assert_refused(&server, b"GET / HTTP/1.1\r\nHost: evil.com/x\r\n\r\n", 400);
    assert_refused(&server, b"GET / HTTP/1.1\r\nHost: a:b\r\n\r\n", 400);
    assert_refused(
        &server,
        b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        400,
    );
    // An IPv6 literal with a port and an empty Host are both valid.
    let mut reader = server.send(b"GET /v6 HTTP/1.1\r\nHost: [::1]:80\r\n\r\n");
    assert_eq!(reply(&mut reader).text(), "GET /v6 0");
    let mut reader = server.send(b"GET /empty HTTP/1.1\r\nHost:\r\n\r\n");
    assert_eq!(reply(&mut reader).text(), "GET /empty 0");
}

// ---------------------------------------------------------------------------------------------
// Limits

#[test]
fn head_over_the_limit_is_431() {
    let server = Server::new();
    let mut request = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: ".to_vec();
    request.resize(request.len() + 70 * 1024, b'a');
    request.extend_from_slice(b"\r\n\r\n");
    assert_refused(&server, &request, 431);
}

#[test]
fn long_target_is_414() {
    let server = Server::new();
    let target = format!("/{}", "t".repeat(9 * 1024));
    assert_refused(&server, get(&target).as_bytes(), 414);
}

#[test]
fn too_many_headers_is_431() {
    let server = Server::new();
    let mut request = "GET / HTTP/1.1\r\nHost: t\r\n".to_string();
    for i in 0..101 {
        let _ = write!(request, "X-H{i}: {i}\r\n");
    }
    request.push_str("\r\n");
    assert_refused(&server, request.as_bytes(), 431);
}

#[test]
fn body_over_the_limit_is_413_without_reading_it() {
    let mut limits = Limits::default();
    limits.max_body = 1024;
    let server = Server::with(limits);
    // Only the head is sent: the 413 must not wait for a body.
    let head = b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 1048576\r\n\r\n";
    let started = Instant::now();
    assert_refused(&server, head, 413);
    assert!(started.elapsed() < PATIENCE);
    // Chunked: refused once the chunk sizes pass the limit.
    let chunked = b"POST / HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n100000\r\n";
    assert_refused(&server, chunked, 413);
}

// ---------------------------------------------------------------------------------------------
// Pipelining, keep-alive and close

fn pipeline(count: usize, delayed: bool) -> Vec<u8> {
    let mut all = String::new();
    for i in 0..count {
        // Later requests finish first when delayed.
        let query = if delayed {
            format!("?delay={}", (count - i) % 7 * 15)
        } else {
            String::new()
        };
        all.push_str(&get(&format!("/{i}{query}")));
    }
    all.into_bytes()
}

fn assert_in_order(reader: &mut BufReader<TcpStream>, count: usize, delayed: bool) {
    for i in 0..count {
        let reply = reply(reader);
        assert_eq!(reply.status, 200);
        let query = if delayed {
            format!("?delay={}", (count - i) % 7 * 15)
        } else {
            String::new()
        };
        assert_eq!(reply.text(), format!("GET /{i}{query} 0"), "response {i}");
        assert!(!reply.closes());
    }
}

#[test]
fn hundred_pipelined_requests_in_one_write_are_answered_in_order() {
    let server = Server::new();
    let mut reader = server.send(&pipeline(100, false));
    assert_in_order(&mut reader, 100, false);
    // Still open for more.
    reader.get_mut().write_all(get("/more").as_bytes()).unwrap();
    assert_eq!(reply(&mut reader).text(), "GET /more 0");
}

#[test]
fn pipelined_requests_answered_in_reverse_are_sent_in_order() {
    let server = Server::start(Limits::default(), Order::Reverse);
    let mut reader = server.send(&pipeline(100, false));
    assert_in_order(&mut reader, 100, false);
}

#[test]
fn pipelined_requests_answered_later_out_of_order_are_sent_in_order() {
    let server = Server::new();
    let mut reader = server.send(&pipeline(100, true));
    assert_in_order(&mut reader, 100, true);
}

#[test]
fn connection_close_is_honoured() {
    let server = Server::new();
    let mut reader = server.send(b"GET /bye HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n");
    let reply = reply(&mut reader);
    assert_eq!(reply.text(), "GET /bye 0");
    assert!(reply.closes());
    assert_closed(&mut reader);
    // Pipelined after a close: the later request is not answered.
    let both = b"GET /a HTTP/1.1\r\nHost: t\r\nConnection: close\r\n\r\n\
        GET /b HTTP/1.1\r\nHost: t\r\n\r\n";
    let mut reader = server.send(both);
    assert_eq!(self::reply(&mut reader).text(), "GET /a 0");
    assert_closed(&mut reader);
}

#[test]
fn http_1_0_keeps_alive_only_when_asked() {
    let server = Server::new();
    let mut reader = server.send(b"GET /plain HTTP/1.0\r\n\r\n");
    let plain = reply(&mut reader);
    assert_eq!(plain.text(), "GET /plain 0");
    assert!(
        plain
            .header("connection")
            .is_none_or(|v| v.eq_ignore_ascii_case("close"))
    );
    assert_closed(&mut reader);

    let asked = b"GET /1 HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let mut reader = server.send(asked);
    let first = reply(&mut reader);
    assert_eq!(first.text(), "GET /1 0");
    assert_eq!(
        first
            .header("connection")
            .map(str::to_ascii_lowercase)
            .as_deref(),
        Some("keep-alive")
    );
    reader.get_mut().write_all(asked).unwrap();
    assert_eq!(reply(&mut reader).text(), "GET /1 0");
    reader
        .get_mut()
        .write_all(b"GET /2 HTTP/1.0\r\n\r\n")
        .unwrap();
    assert_eq!(reply(&mut reader).text(), "GET /2 0");
    assert_closed(&mut reader);
}

#[test]
fn http_1_0_with_transfer_encoding_closes_after_the_response() {
    let server = Server::new();
    let request = b"POST /echo HTTP/1.0\r\nConnection: keep-alive\r\n\
        Transfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n";
    let mut reader = server.send(request);
    let reply = reply(&mut reader);
    // Either answered then closed, or refused then closed.
    assert!(
        reply.status == 200 || reply.status == 400,
        "{}",
        reply.status
    );
    assert_closed(&mut reader);
}

#[test]
fn head_request_has_a_length_and_no_body() {
    let server = Server::new();
    let mut reader =
        server.send(b"HEAD /h HTTP/1.1\r\nHost: t\r\n\r\nGET /g HTTP/1.1\r\nHost: t\r\n\r\n");
    let mut line = String::new();
    reader.read_line(&mut line).unwrap();
    assert!(line.starts_with("HTTP/1.1 200"), "{line}");
    let mut saw_length = false;
    loop {
        line.clear();
        reader.read_line(&mut line).unwrap();
        saw_length |= line.to_ascii_lowercase().starts_with("content-length:");
        if line == "\r\n" {
            break;
        }
    }
    assert!(saw_length);
    // No body follows: the next bytes are the second response.
    assert_eq!(reply(&mut reader).text(), "GET /g 0");
}

// ---------------------------------------------------------------------------------------------
// Expect: 100-continue

#[test]
fn expect_continue_gets_100_then_the_answer() {
    let server = Server::new();
    let head =
        b"POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    let mut reader = server.send(head);
    let interim = reply(&mut reader);
    assert_eq!(interim.status, 100);
    reader.get_mut().write_all(b"hello").unwrap();
    let last = reply(&mut reader);
    assert_eq!((last.status, last.text().as_str()), (200, "hello"));
}

#[test]
fn expect_continue_never_overtakes_an_earlier_response() {
    let server = Server::new();
    let both = b"GET /slow?delay=300 HTTP/1.1\r\nHost: t\r\n\r\n\
        POST /echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n";
    let mut reader = server.send(both);
    let first = reply(&mut reader);
    assert_eq!(
        (first.status, first.text().as_str()),
        (200, "GET /slow?delay=300 0")
    );
    assert_eq!(reply(&mut reader).status, 100);
    reader.get_mut().write_all(b"hello").unwrap();
    assert_eq!(reply(&mut reader).text(), "hello");
}

#[test]
fn expect_continue_over_the_body_limit_is_413_without_100() {
    let mut limits = Limits::default();
    limits.max_body = 1024;
    let server = Server::with(limits);
    let head =
        b"POST / HTTP/1.1\r\nHost: t\r\nContent-Length: 2048\r\nExpect: 100-continue\r\n\r\n";
    assert_refused(&server, head, 413);
}

// ---------------------------------------------------------------------------------------------
// Deadlines

/// Sends `start`, then one header line every 200 ms until the server answers or closes;
/// returns what it answered (if anything) and when.
fn drip(server: &Server, start: &[u8]) -> (Option<Reply>, Duration) {
    let mut stream = server.connect();
    let started = Instant::now();
    stream.write_all(start).unwrap();
    let stop = Arc::new(AtomicBool::new(false));
    let mut writer = stream.try_clone().unwrap();
    let stopped = Arc::clone(&stop);
    let dripper = thread::spawn(move || {
        while !stopped.load(Ordering::Relaxed) && started.elapsed() < PATIENCE {
            thread::sleep(Duration::from_millis(200));
            if writer.write_all(b"X-Drip: 1\r\n").is_err() {
                break;
            }
        }
    });
    let mut reader = BufReader::new(stream);
    let answer = read_reply(&mut reader).ok();
    let elapsed = started.elapsed();
    if answer.is_some() {
        assert_closed(&mut reader);
    }
    stop.store(true, Ordering::Relaxed);
    dripper.join().unwrap();
    (answer, elapsed)
}

#[test]
fn slowloris_is_cut_at_the_header_deadline() {
    let mut limits = Limits::default();
    limits.header_timeout = Duration::from_secs(1);
    let server = Server::with(limits);
    let (answer, elapsed) = drip(&server, b"GET / HTTP/1.1\r\nHost: t\r\n");
    if let Some(reply) = answer {
        assert_eq!(reply.status, 408);
        assert!(reply.closes());
    }
    assert!(
        elapsed >= Duration::from_millis(900),
        "cut early: {elapsed:?}"
    );
    assert!(elapsed < Duration::from_secs(10), "cut late: {elapsed:?}");
    // A connection that says nothing is closed at the same deadline.
    let mut silent = BufReader::new(server.connect());
    let started = Instant::now();
    assert_closed(&mut silent);
    assert!(started.elapsed() < Duration::from_secs(10));
    // The server still serves.
    assert_eq!(
        reply(&mut server.send(get("/ok").as_bytes())).text(),
        "GET /ok 0"
    );
}

// ---------------------------------------------------------------------------------------------
// curl

fn curl_available() -> bool {
    let found = Command::new("curl").arg("--version").output();
    let ok = found.is_ok_and(|out| out.status.success());
    if !ok {
        eprintln!("SKIPPED: curl not found; the curl cases did not run");
    }
    ok
}

/// Runs curl with `args` (plus `-sS`), feeding `stdin`; returns stdout and stderr.
fn curl(args: &[&str], stdin: &[u8]) -> (String, String) {
    let mut child = Command::new("curl")
        .args(["-sS", "--max-time", "20"])
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("curl runs");
    let mut input = child.stdin.take().expect("stdin");
    input.write_all(stdin).expect("curl reads its input");
    drop(input);
    let out = child.wait_with_output().expect("curl finishes");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "curl {args:?} failed: {stderr}");
    (stdout, stderr)
}

#[test]
fn curl_get_post_chunked_and_keep_alive() {
    if !curl_available() {
        return;
    }
    let server = Server::new();
    let (out, _) = curl(&["-i", &server.url("/hello?x=1")], b"");
    let lower = out.to_ascii_lowercase();
    assert!(out.starts_with("HTTP/1.1 200 OK\r\n"), "{out}");
    assert!(lower.contains("\r\ndate: ") && lower.contains("\r\ncontent-length: 16\r\n"));
    assert!(out.ends_with("\r\n\r\nGET /hello?x=1 0"), "{out}");

    let (out, _) = curl(&["-d", "hello", &server.url("/form")], b"");
    assert_eq!(out, "POST /form 5");

    let body = vec![b'z'; 100_000];
    let chunked = ["-H", "Transfer-Encoding: chunked", "--data-binary", "@-"];
    let (out, _) = curl(
        &[&chunked[..], &[server.url("/up").as_str()]].concat(),
        &body,
    );
    assert_eq!(out, "POST /up 100000");

    // Three transfers on one connection: only the first one connects.
    let (a, b, c) = (server.url("/a"), server.url("/b"), server.url("/c"));
    let (out, _) = curl(&["-w", " %{num_connects}\n", &a, &b, &c], b"");
    assert_eq!(out, "GET /a 0 1\nGET /b 0 0\nGET /c 0 0\n");

    let (out, _) = curl(&["--http1.0", &server.url("/old")], b"");
    assert_eq!(out, "GET /old 0");

    let (out, _) = curl(&["-I", &server.url("/head")], b"");
    assert!(
        out.to_ascii_lowercase().contains("content-length: "),
        "{out}"
    );
}

#[test]
fn curl_expect_continue() {
    if !curl_available() {
        return;
    }
    let server = Server::new();
    let args = ["-v", "-H", "Expect: 100-continue", "--data-binary", "@-"];
    let (out, err) = curl(
        &[&args[..], &[server.url("/echo").as_str()]].concat(),
        b"hello",
    );
    assert_eq!(out, "hello");
    assert!(err.contains("HTTP/1.1 100 Continue"), "{err}");

    // Over the limit: curl gets 413 and never sends the body.
    let mut limits = Limits::default();
    limits.max_body = 1024;
    let small = Server::with(limits);
    let args = ["-v", "-H", "Expect: 100-continue", "--data-binary", "@-"];
    let body = vec![b'x'; 4096];
    let (_, err) = curl(&[&args[..], &[small.url("/").as_str()]].concat(), &body);
    assert!(err.contains("HTTP/1.1 413"), "{err}");
    assert!(!err.contains("100 Continue"), "{err}");
}

// ---------------------------------------------------------------------------------------------
// Many connections

/// (soft, hard) RLIMIT_NOFILE of this process, from /proc.
fn open_files_limit() -> Option<(u64, u64)> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits.lines().find(|l| l.starts_with("Max open files"))?;
    let mut numbers = line
        .split_whitespace()
        .filter_map(|w| w.parse::<u64>().ok());
    Some((numbers.next()?, numbers.next()?))
}

/// Raises the soft RLIMIT_NOFILE to at least `want` (within the hard limit, which needs no
/// privilege) with util-linux's `prlimit` on this process; returns whether it is now enough.
fn raise_open_files(want: u64) -> bool {
    let Some((soft, hard)) = open_files_limit() else {
        return false;
    };
    if soft >= want {
        return true;
    }
    let nofile = format!("--nofile={}:{hard}", want.min(hard));
    let pid = format!("--pid={}", std::process::id());
    let _ = Command::new("prlimit").args([&pid, &nofile]).status();
    open_files_limit().is_some_and(|(soft, _)| soft >= want)
}

/// Set in the environment of a child copy of this test binary that serves HTTP.
const CHILD_SERVER: &str = "PALM_HTTP_TEST_CHILD_SERVER";

/// In a child copy of this binary (started by [`ChildServer`]): serves until stdin closes.
/// The hard open-files limit here (20,000) is too small for 10,000 connections with both ends
/// in one process and cannot be raised without privilege, so the server gets its own process.
#[test]
#[ignore = "run by ten_thousand_keep_alive_connections_are_all_served in a child process"]
fn child_server() {
    if std::env::var_os(CHILD_SERVER).is_none() {
        return;
    }
    // Opening 10,000 connections before the first request can take longer than the default
    // header deadline on a busy machine: that cut is slowloris protection, not under test here.
    let mut limits = Limits::default();
    limits.header_timeout = Duration::from_secs(300);
    limits.keep_alive_timeout = Duration::from_secs(300);
    let server = Server::start(limits, Order::AtOnce);
    let mut stdout = io::stdout().lock();
    writeln!(stdout, "listening on {}", server.running.addr).unwrap();
    stdout.flush().unwrap();
    drop(stdout);
    let _ = io::copy(&mut io::stdin().lock(), &mut io::sink());
}

/// A [`Server`] in a child process; it stops when its stdin closes (on drop).
struct ChildServer {
    child: std::process::Child,
    addr: String,
}

impl ChildServer {
    fn start() -> ChildServer {
        let exe = std::env::current_exe().expect("this test binary");
        let mut child = Command::new(exe)
            .args(["child_server", "--exact", "--ignored", "--nocapture"])
            .env(CHILD_SERVER, "1")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("a child server");
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = mpsc::channel();
        // Reads the address, then drains the child's test-harness output to its end.
        thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(addr) = line.strip_prefix("listening on ") {
                    let _ = tx.send(addr.to_string());
                }
            }
        });
        let addr = rx
            .recv_timeout(PATIENCE)
            .expect("the child server's address");
        ChildServer { child, addr }
    }

    fn connect(&self) -> TcpStream {
        connect(&self.addr)
    }
}

impl Drop for ChildServer {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.wait();
    }
}

#[test]
fn ten_thousand_keep_alive_connections_are_all_served() {
    const CONNECTIONS: usize = 10_000;
    let want = CONNECTIONS as u64 + 1_000;
    if !raise_open_files(want) {
        let now = open_files_limit();
        eprintln!("SKIPPED: cannot raise the open-files limit to {want} (now {now:?})");
        return;
    }
    let server = ChildServer::start();
    let mut clients: Vec<BufReader<TcpStream>> = Vec::with_capacity(CONNECTIONS);
    for _ in 0..CONNECTIONS {
        clients.push(BufReader::with_capacity(256, server.connect()));
    }
    for round in 0..2 {
        for (i, client) in clients.iter_mut().enumerate() {
            let request = get(&format!("/{round}/{i}"));
            client.get_mut().write_all(request.as_bytes()).unwrap();
        }
        for (i, client) in clients.iter_mut().enumerate() {
            let reply = reply(client);
            assert_eq!(reply.status, 200, "connection {i}, round {round}");
            assert_eq!(reply.text(), format!("GET /{round}/{i} 0"));
            assert!(!reply.closes());
        }
    }
}
