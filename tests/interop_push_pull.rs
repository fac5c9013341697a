//! palm PUSH/PULL against a real libzmq (4.3.4, through the `zmq` crate) and through the
//! `palmcat` example: both directions, both roles, frame sizes around every header boundary,
//! round robin, a restarting peer, heartbeats each way and a refused socket type.
//!
//! Palm is caller-driven, so in every test the palm socket lives on the test's thread and is
//! driven (`recv_timeout`, `turn`) while libzmq's blocking calls run on a thread of their own.

mod support;

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::{Duration, Instant};

use palm::zmtp::Heartbeat;
use palm::{Options, Socket, SocketType};
use support::{
    T, TIMEOUT, drive_for, drive_until, drive_while_running, frames, handshakes_done, libzmq_bound,
    libzmq_connected, libzmq_socket, logged, msg_of, palmcat,
};

type Message = Vec<Vec<u8>>;

/// A palm socket of `kind` bound to a free loopback port, with the endpoint it got.
fn palm_bound(kind: SocketType) -> (Socket, String) {
    let mut socket = Socket::new(kind).unwrap();
    let ep = socket.bind("tcp://127.0.0.1:0").unwrap();
    (socket, ep)
}

/// A palm socket of `kind` connected to `ep`.
fn palm_connected(kind: SocketType, ep: &str) -> Socket {
    let mut socket = Socket::new(kind).unwrap();
    socket.connect(ep).unwrap();
    socket
}

/// An endpoint on a loopback port that was free a moment ago and that nothing listens on.
fn free_endpoint() -> String {
    let port = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    format!("tcp://127.0.0.1:{port}")
}

/// Bytes that differ from frame to frame and position to position.
fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31) ^ seed)
        .collect()
}

/// Single frames on both sides of every header boundary (0, 1, the last short size, the
/// first long one, 64 KiB, 8 MiB) and multipart messages with empty frames, one of them
/// past the three frames a `Msg` keeps inline.
fn payloads() -> Vec<Message> {
    let sizes = [0, 1, 255, 256, 65_536, 8 << 20];
    let mut all: Vec<Message> = sizes
        .iter()
        .enumerate()
        .map(|(i, &n)| vec![pattern(n, i as u8)])
        .collect();
    all.push(vec![vec![], b"middle".to_vec(), vec![]]);
    all.push(vec![vec![], vec![]]);
    all.push(vec![
        b"a".to_vec(),
        vec![],
        pattern(300, 7),
        vec![],
        pattern(70_000, 9),
    ]);
    all
}

fn sizes(msg: &Message) -> Vec<usize> {
    msg.iter().map(Vec::len).collect()
}

/// Compares messages without printing megabytes on a mismatch.
fn assert_same(got: &[Message], want: &[Message]) {
    assert_eq!(got.len(), want.len(), "message count");
    for (i, (g, w)) in got.iter().zip(want).enumerate() {
        assert!(
            g == w,
            "message {i} differs: got frame sizes {:?}, want {:?}",
            sizes(g),
            sizes(w)
        );
    }
}

/// Sends every payload from a palm PUSH and checks a libzmq PULL gets them intact.
fn palm_to_libzmq(push: &mut Socket, pull: zmq::Socket) {
    let want = payloads();
    let n = want.len();
    let receiver = thread::spawn(move || {
        (0..n)
            .map(|_| pull.recv_multipart(0).expect("libzmq receive"))
            .collect::<Vec<_>>()
    });
    for msg in &want {
        push.send_timeout(msg_of(msg), TIMEOUT).expect("palm send");
    }
    let got = drive_while_running(push.reactor(), receiver);
    assert_same(&got, &want);
}

/// Sends every payload from a libzmq PUSH and checks a palm PULL gets them intact.
fn libzmq_to_palm(push: zmq::Socket, pull: &mut Socket) {
    let want = payloads();
    let to_send = want.clone();
    // libzmq's send blocks until its peer is up; palm's loop runs on this thread.
    let sender = thread::spawn(move || {
        for msg in &to_send {
            push.send_multipart(msg, 0).expect("libzmq send");
        }
        push
    });
    let got: Vec<Message> = (0..want.len())
        .map(|_| frames(&pull.recv_timeout(TIMEOUT).expect("palm receive")))
        .collect();
    let push = sender.join().expect("sender thread");
    assert_same(&got, &want);
    drop(push);
}

#[test]
fn palm_push_binds_libzmq_pull_connects() {
    let (mut push, ep) = palm_bound(SocketType::Push);
    let ctx = zmq::Context::new();
    let pull = libzmq_connected(&ctx, zmq::PULL, &ep);
    palm_to_libzmq(&mut push, pull);
}

#[test]
fn palm_push_connects_libzmq_pull_binds() {
    let ctx = zmq::Context::new();
    let (pull, ep) = libzmq_bound(&ctx, zmq::PULL);
    let mut push = palm_connected(SocketType::Push, &ep);
    palm_to_libzmq(&mut push, pull);
}

#[test]
fn libzmq_push_connects_palm_pull_binds() {
    let (mut pull, ep) = palm_bound(SocketType::Pull);
    let ctx = zmq::Context::new();
    let push = libzmq_connected(&ctx, zmq::PUSH, &ep);
    libzmq_to_palm(push, &mut pull);
}

#[test]
fn libzmq_push_binds_palm_pull_connects() {
    let ctx = zmq::Context::new();
    let (push, ep) = libzmq_bound(&ctx, zmq::PUSH);
    let mut pull = palm_connected(SocketType::Pull, &ep);
    libzmq_to_palm(push, &mut pull);
}

#[test]
fn palm_push_round_robins_over_three_libzmq_pulls() {
    let ctx = zmq::Context::new();
    let peers: Vec<(zmq::Socket, String)> = (0..3).map(|_| libzmq_bound(&ctx, zmq::PULL)).collect();
    let mut push = Socket::new(SocketType::Push).unwrap();
    for (_, ep) in &peers {
        push.connect(ep).unwrap();
    }
    let id = push.id();
    drive_until(push.reactor(), "three handshakes", |r| {
        handshakes_done(r, id, 3) == 3
    });
    for i in 0..300u32 {
        push.send_timeout(i.to_string(), TIMEOUT).unwrap();
    }
    // Each peer must get exactly 100: a peer that got more leaves another short, and that
    // one's receive times out.
    let receivers: Vec<_> = peers
        .into_iter()
        .map(|(pull, _)| {
            thread::spawn(move || {
                let one = |_| String::from_utf8(pull.recv_bytes(0).expect("100 each")).unwrap();
                (0..100).map(one).collect::<Vec<String>>()
            })
        })
        .collect();
    drive_until(push.reactor(), "three peers", |_| {
        receivers.iter().all(|t| t.is_finished())
    });
    let mut residues = Vec::new();
    let mut all = Vec::new();
    for receiver in receivers {
        let got: Vec<u32> = receiver
            .join()
            .unwrap()
            .iter()
            .map(|s| s.parse().unwrap())
            .collect();
        // Round robin: a peer sees every third message, in order.
        let residue = got[0] % 3;
        assert!(
            got.iter().all(|i| i % 3 == residue),
            "not round robin: {got:?}"
        );
        assert!(got.windows(2).all(|w| w[0] < w[1]), "out of order: {got:?}");
        residues.push(residue);
        all.extend(got);
    }
    residues.sort();
    assert_eq!(residues, [0, 1, 2]);
    all.sort();
    assert_eq!(all, (0..300).collect::<Vec<u32>>());
}

#[test]
fn delivery_resumes_after_the_libzmq_peer_restarts() {
    let ctx = zmq::Context::new();
    let (pull, ep) = libzmq_bound(&ctx, zmq::PULL);
    let mut push = palm_connected(SocketType::Push, &ep);
    let id = push.id();
    drive_until(push.reactor(), "the handshake", |r| {
        handshakes_done(r, id, 1) == 1
    });
    let receive = |pull: zmq::Socket, range: std::ops::Range<u32>| {
        thread::spawn(move || {
            let got: Vec<String> = range
                .map(|_| String::from_utf8(pull.recv_bytes(0).expect("receive")).unwrap())
                .collect();
            (pull, got)
        })
    };
    let first = receive(pull, 0..100);
    for i in 0..100u32 {
        push.send_timeout(i.to_string(), TIMEOUT).unwrap();
    }
    let (pull, got) = drive_while_running(push.reactor(), first);
    assert_eq!(got.last().map(String::as_str), Some("99"));

    // The peer goes away. Once palm has noticed, nothing it sends can vanish into the dead
    // connection's kernel buffers, so the count below is exact.
    drop(pull);
    drive_until(push.reactor(), "palm to notice the peer left", |r| {
        handshakes_done(r, id, 1) == 0
    });
    for i in 100..150u32 {
        push.send_timeout(i.to_string(), TIMEOUT).unwrap();
    }
    // Back on the same port: palm reconnects and delivers what it queued meanwhile.
    let pull = libzmq_socket(&ctx, zmq::PULL);
    pull.bind(&ep).expect("rebind the same port");
    let second = receive(pull, 100..200);
    for i in 150..200u32 {
        push.send_timeout(i.to_string(), TIMEOUT).unwrap();
    }
    let (_pull, got) = drive_while_running(push.reactor(), second);
    let want: Vec<String> = (100..200u32).map(|i| i.to_string()).collect();
    assert_eq!(got, want);
}

/// Reads a monitor socket's pending events without waiting.
fn monitor_events(monitor: &zmq::Socket) -> Vec<zmq::SocketEvent> {
    let mut events = Vec::new();
    while let Ok(parts) = monitor.recv_multipart(zmq::DONTWAIT) {
        let id = u16::from_ne_bytes([parts[0][0], parts[0][1]]);
        events.push(zmq::SocketEvent::from_raw(id));
    }
    events
}

#[test]
fn libzmq_heartbeats_are_answered_across_an_idle_spell() {
    let ctx = zmq::Context::new();
    let pull = libzmq_socket(&ctx, zmq::PULL);
    // libzmq pings every 100 ms and drops the connection after 300 ms without traffic: palm
    // sends nothing of its own while idle, so only its PONGs keep the connection up.
    pull.set_heartbeat_ivl(100).unwrap();
    pull.set_heartbeat_timeout(300).unwrap();
    pull.monitor("inproc://heartbeat-monitor", zmq::SocketEvent::ALL as i32)
        .unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.connect("inproc://heartbeat-monitor").unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.get_last_endpoint().unwrap().unwrap();

    let mut push = palm_connected(SocketType::Push, &ep);
    let receiver = thread::spawn(move || {
        let first = pull.recv_bytes(0).expect("first message");
        let second = pull.recv_bytes(0).expect("message after the idle spell");
        (first, second)
    });
    push.send_timeout("before", TIMEOUT).unwrap();
    // Idle, but turning the loop: that is when palm answers PINGs.
    drive_for(push.reactor(), Duration::from_secs(2));
    push.send_timeout("after", TIMEOUT).unwrap();
    let (first, second) = drive_while_running(push.reactor(), receiver);
    assert_eq!((&first[..], &second[..]), (&b"before"[..], &b"after"[..]));

    let events = monitor_events(&monitor);
    let count = |e| events.iter().filter(|&&x| x == e).count();
    assert_eq!(count(zmq::SocketEvent::ACCEPTED), 1, "events: {events:?}");
    assert_eq!(
        count(zmq::SocketEvent::DISCONNECTED),
        0,
        "events: {events:?}"
    );
}

/// ZMTP 3.1 greeting for the NULL mechanism, as a client.
fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xff;
    g[9] = 0x7f;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// A READY command announcing `socket_type`.
fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// Plays a peer of `socket_type` by hand up to READY; returns palm's READY body.
fn raw_handshake(stream: &mut TcpStream, socket_type: &str) -> Vec<u8> {
    stream.set_read_timeout(Some(T)).unwrap();
    stream.write_all(&greeting()).unwrap();
    stream.write_all(&ready(socket_type)).unwrap();
    let mut theirs = [0u8; 64];
    stream.read_exact(&mut theirs).expect("palm's greeting");
    assert_eq!((theirs[0], theirs[9] & 1, theirs[10]), (0xff, 1, 3));
    let mut header = [0u8; 2];
    stream.read_exact(&mut header).expect("palm's READY header");
    assert_eq!(header[0], 0x04, "a short command frame");
    let mut body = vec![0u8; usize::from(header[1])];
    stream.read_exact(&mut body).expect("palm's READY");
    body
}

#[test]
fn palm_heartbeat_drops_a_silent_peer_and_reconnects() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    let peer = thread::spawn(move || {
        let (mut first, _) = listener.accept().unwrap();
        let ready = raw_handshake(&mut first, "PULL");
        assert!(ready.windows(4).any(|w| w == b"PUSH"), "READY names PUSH");
        // Silent from here on: no PONG, nothing. Palm must give up on us.
        let mut after = Vec::new();
        first
            .read_to_end(&mut after)
            .expect("palm closes the silent connection within 10 s");
        // And come back.
        let (mut second, _) = listener.accept().unwrap();
        raw_handshake(&mut second, "PULL");
        after
    });
    let mut options = Options::default();
    options.heartbeat = Heartbeat {
        interval: Some(Duration::from_millis(100)),
        timeout: Some(Duration::from_millis(300)),
        ttl: None,
    };
    let mut push = Socket::with_options(SocketType::Push, options).unwrap();
    push.connect(&ep).unwrap();
    let after = drive_while_running(push.reactor(), peer);
    assert!(
        after.windows(5).any(|w| w == b"\x04PING"),
        "palm pinged before giving up: {after:?}"
    );
}

#[test]
fn wrong_socket_type_is_refused_and_the_socket_still_serves() {
    support::capture_logs();
    let (mut push, ep) = palm_bound(SocketType::Push);
    let addr = ep.trim_start_matches("tcp://").to_string();

    // A peer that announces PUSH: palm refuses it and logs why.
    let raw = thread::spawn(move || {
        let mut stream = TcpStream::connect(addr).unwrap();
        raw_handshake(&mut stream, "PUSH");
        let mut rest = Vec::new();
        stream
            .read_to_end(&mut rest)
            .expect("palm closes the connection");
        rest
    });
    let rest = drive_while_running(push.reactor(), raw);
    let refused = |l: &String| l.starts_with("WARN") && l.contains("PUSH may not connect to PUSH");
    assert!(logged().iter().any(refused), "logged: {:?}", logged());
    // Anything palm said before closing is an ERROR command.
    assert!(
        rest.is_empty() || rest[2..].starts_with(b"\x05ERROR"),
        "{rest:?}"
    );

    // A libzmq PUSH: whichever side reads the other's READY first refuses. libzmq reads
    // ours together with our greeting and closes without a word (its monitor reports only a
    // disconnect, never a finished handshake); palm logs a refusal when libzmq's READY
    // arrives first.
    let ctx = zmq::Context::new();
    let wrong = libzmq_socket(&ctx, zmq::PUSH);
    wrong
        .monitor("inproc://wrong-type-monitor", zmq::SocketEvent::ALL as i32)
        .unwrap();
    let monitor = ctx.socket(zmq::PAIR).unwrap();
    monitor.connect("inproc://wrong-type-monitor").unwrap();
    let refusals_before = logged().iter().filter(|l| refused(l)).count();
    wrong.connect(&ep).unwrap();
    let mut events = Vec::new();
    drive_until(push.reactor(), "a refused handshake", |_| {
        events.extend(monitor_events(&monitor));
        let failed = events.iter().any(|e| {
            matches!(
                e,
                zmq::SocketEvent::DISCONNECTED
                    | zmq::SocketEvent::HANDSHAKE_FAILED_PROTOCOL
                    | zmq::SocketEvent::HANDSHAKE_FAILED_NO_DETAIL
            )
        });
        failed || logged().iter().filter(|l| refused(l)).count() > refusals_before
    });

    // The socket still serves a peer of the right type, and only that one.
    let right = libzmq_connected(&ctx, zmq::PULL, &ep);
    let receiver = thread::spawn(move || {
        let got: Vec<_> = (0..10)
            .map(|_| right.recv_bytes(0).expect("receive"))
            .collect();
        (right, got)
    });
    for i in 0..10u8 {
        push.send_timeout(vec![i], TIMEOUT).unwrap();
    }
    // `_right` stays open until the pipes are counted.
    let (_right, got) = drive_while_running(push.reactor(), receiver);
    assert_eq!(got, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
    let id = push.id();
    let pipes = push.reactor().core(id).unwrap().pipe_count();
    assert_eq!(pipes, 1, "refused peers never get a pipe");
    events.extend(monitor_events(&monitor));
    assert!(
        !events.contains(&zmq::SocketEvent::HANDSHAKE_SUCCEEDED),
        "libzmq's events: {events:?}"
    );
    drop(wrong);
}

/// Waits for a child process with a deadline, killing it when it runs over.
fn wait_for(child: &mut Child) -> std::process::ExitStatus {
    let deadline = Instant::now() + T;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("palmcat did not exit within {T:?}");
        }
        thread::sleep(Duration::from_millis(10));
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Starts palmcat with `args`, its stdin a pipe and its stdout `stdout`.
fn start_palmcat(args: &[&str], stdout: Stdio) -> Child {
    Command::new(palmcat())
        .args(args)
        .stdin(Stdio::piped())
        .stdout(stdout)
        .spawn()
        .unwrap()
}

#[test]
fn palmcat_pull_prints_what_libzmq_pushes() {
    let mut cat = Command::new(palmcat())
        .args([
            "pull",
            "--bind",
            "tcp://127.0.0.1:0",
            "--count",
            "3",
            "--hex",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stderr = BufReader::new(cat.stderr.take().unwrap());
    let mut line = String::new();
    stderr.read_line(&mut line).unwrap();
    let ep = line
        .trim()
        .strip_prefix("palmcat: bound to ")
        .unwrap_or_else(|| panic!("unexpected first line: {line:?}"))
        .to_string();

    let ctx = zmq::Context::new();
    let push = libzmq_connected(&ctx, zmq::PUSH, &ep);
    let binary: Vec<u8> = (0..=255).collect();
    let messages: [Message; 3] = [
        vec![b"hello".to_vec()],
        vec![vec![], b"a|b\n".to_vec(), vec![]],
        vec![binary.clone()],
    ];
    for msg in &messages {
        push.send_multipart(msg, 0).unwrap();
    }
    assert!(wait_for(&mut cat).success());
    let mut out = String::new();
    cat.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let want: Vec<String> = messages
        .iter()
        .map(|m| m.iter().map(|f| hex(f)).collect::<Vec<_>>().join("|"))
        .collect();
    assert_eq!(out.lines().collect::<Vec<_>>(), want);
}

#[test]
fn palmcat_push_sends_stdin_to_libzmq() {
    let ctx = zmq::Context::new();
    let (pull, ep) = libzmq_bound(&ctx, zmq::PULL);
    let mut cat = start_palmcat(&["push", "--connect", &ep], Stdio::inherit());
    let mut stdin = cat.stdin.take().unwrap();
    stdin.write_all(b"hello\na||b\n\n").unwrap();
    drop(stdin);
    let got: Vec<Message> = (0..3).map(|_| pull.recv_multipart(0).unwrap()).collect();
    assert_eq!(
        got,
        [
            vec![b"hello".to_vec()],
            vec![b"a".to_vec(), vec![], b"b".to_vec()],
            vec![vec![]],
        ]
    );
    assert!(
        wait_for(&mut cat).success(),
        "palmcat exits once stdin is sent"
    );
}

#[test]
fn palmcat_push_keeps_a_line_until_the_peer_comes_up() {
    // Find a free port, then leave it closed until palmcat has read all its input.
    let ep = free_endpoint();
    let mut cat = start_palmcat(&["push", "--connect", &ep], Stdio::inherit());
    cat.stdin.take().unwrap().write_all(b"early\n").unwrap();
    thread::sleep(Duration::from_millis(300));
    assert!(
        cat.try_wait().unwrap().is_none(),
        "palmcat waits for a peer"
    );
    let ctx = zmq::Context::new();
    let pull = libzmq_socket(&ctx, zmq::PULL);
    pull.bind(&ep).unwrap();
    assert_eq!(pull.recv_bytes(0).unwrap(), b"early");
    assert!(wait_for(&mut cat).success());
}

/// Runs palmcat with `args`, feeding it `input`; returns its stdout once it exits.
fn palmcat_with(args: &[&str], input: &[u8]) -> String {
    let mut cat = start_palmcat(args, Stdio::piped());
    cat.stdin.take().unwrap().write_all(input).unwrap();
    let status = wait_for(&mut cat);
    assert!(status.success(), "palmcat {args:?}: {status}");
    let mut out = String::new();
    cat.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    out
}

#[test]
fn palmcat_req_prints_the_replies_of_a_libzmq_rep() {
    let ctx = zmq::Context::new();
    let (rep, ep) = libzmq_bound(&ctx, zmq::REP);
    let echo = thread::spawn(move || {
        for _ in 0..2 {
            let request = rep.recv_multipart(0).expect("request");
            let mut reply = vec![b"re:".to_vec()];
            reply.extend(request);
            rep.send_multipart(reply, 0).expect("reply");
        }
    });
    let out = palmcat_with(&["req", "--connect", &ep], b"q1\nq2|x\n");
    echo.join().unwrap();
    assert_eq!(out, "re:|q1\nre:|q2|x\n");
}

#[test]
fn palmcat_dealer_announces_its_identity_to_a_libzmq_router() {
    let ctx = zmq::Context::new();
    let (router, ep) = libzmq_bound(&ctx, zmq::ROUTER);
    let answer = thread::spawn(move || {
        let got = router.recv_multipart(0).expect("a message from the dealer");
        router
            .send_multipart([got[0].clone(), b"world".to_vec()], 0)
            .expect("reply");
        got
    });
    let args = [
        "dealer",
        "--connect",
        &ep,
        "--identity",
        "cat",
        "--count",
        "1",
    ];
    let out = palmcat_with(&args, b"hello\n");
    let got = answer.join().unwrap();
    assert_eq!(got, [b"cat".to_vec(), b"hello".to_vec()]);
    assert_eq!(out, "world\n");
}

/// libzmq's close lingers (up to `ZMQ_LINGER`) for messages queued on a connecting
/// endpoint whose peer is not up yet; palm's close returns at once and drops them, because
/// `SocketCore::has_queued_output` counts only pipes that have a connection. palmcat and
/// remote_thr work around it by waiting on the connecting pipes themselves.
#[test]
fn close_lingers_for_a_message_queued_before_the_peer_is_up() {
    let ep = free_endpoint();
    let connect_to = ep.clone();
    let sender = thread::spawn(move || {
        let mut push = palm_connected(SocketType::Push, &connect_to);
        push.send("early").unwrap();
        let start = Instant::now();
        drop(push); // lingers up to 30 s by default
        start.elapsed()
    });
    thread::sleep(Duration::from_millis(300));
    let mut pull = Socket::new(SocketType::Pull).unwrap();
    pull.bind(&ep).unwrap();
    let got = pull.recv_timeout(TIMEOUT);
    let lingered = sender.join().unwrap();
    assert!(
        got.is_ok(),
        "message lost; close returned after {lingered:?} without waiting for the peer"
    );
}

/// A message handed in through `Handle::send` that no peer can take yet (a bound PUSH with
/// no peer) is dropped by the loop (`Reactor::drain_inbox` logs it at debug) although
/// `Handle::send` returned `Ok`. libzmq's send would wait for a peer instead.
#[test]
fn handle_send_keeps_a_message_until_a_peer_is_up() {
    let (mut push, ep) = palm_bound(SocketType::Push);
    let (handle, id) = (push.reactor().handle(), push.id());
    let from_thread = thread::spawn(move || handle.send(id, "via handle".into()).is_ok());
    assert!(from_thread.join().unwrap(), "the inbox took the message");
    drive_for(push.reactor(), Duration::from_millis(100));
    let ctx = zmq::Context::new();
    let pull = libzmq_connected(&ctx, zmq::PULL, &ep);
    pull.set_rcvtimeo(5_000).unwrap();
    let receiver = thread::spawn(move || pull.recv_bytes(0).ok());
    let got = drive_while_running(push.reactor(), receiver);
    assert_eq!(got.as_deref(), Some(&b"via handle"[..]));
}
