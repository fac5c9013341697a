//! Helpers shared by the interop tests: libzmq peers, palm loops driven until a condition
//! holds, captured logs and the `palmcat` example binary.
//!
//! Each test binary uses a different subset, hence the `dead_code` allowance.
#![allow(dead_code)]

use std::path::PathBuf;
use std::process::Command;
use std::sync::{Mutex, Once, OnceLock};
use std::time::{Duration, Instant};

use palm::{Msg, Reactor, SocketId};

/// How long any one wait in a test may take before it fails; generous for a loaded machine.
pub const T: Duration = Duration::from_secs(10);

/// [`T`] as the `Option` palm's blocking calls take.
pub const TIMEOUT: Option<Duration> = Some(T);

/// A loop turn short enough to notice a finished peer thread promptly.
pub const TICK: Duration = Duration::from_millis(10);

/// libzmq's timeout (milliseconds) matching [`T`].
pub const ZMQ_TIMEOUT_MS: i32 = 10_000;

/// A libzmq socket of `kind` bound to an ephemeral port on 127.0.0.1, with its endpoint.
/// Receives and sends time out after [`T`] so that a failing test fails instead of hanging.
pub fn libzmq_bound(ctx: &zmq::Context, kind: zmq::SocketType) -> (zmq::Socket, String) {
    let socket = libzmq_socket(ctx, kind);
    socket.bind("tcp://127.0.0.1:*").expect("libzmq bind");
    let endpoint = socket
        .get_last_endpoint()
        .expect("last endpoint")
        .expect("utf-8 endpoint");
    (socket, endpoint)
}

/// A libzmq socket of `kind` (as [`libzmq_socket`] makes it) connected to `endpoint`.
pub fn libzmq_connected(ctx: &zmq::Context, kind: zmq::SocketType, endpoint: &str) -> zmq::Socket {
    let socket = libzmq_socket(ctx, kind);
    socket.connect(endpoint).expect("libzmq connect");
    socket
}

/// A libzmq socket of `kind` with [`T`] send and receive timeouts and no linger.
pub fn libzmq_socket(ctx: &zmq::Context, kind: zmq::SocketType) -> zmq::Socket {
    let socket = ctx.socket(kind).expect("libzmq socket");
    socket.set_rcvtimeo(ZMQ_TIMEOUT_MS).unwrap();
    socket.set_sndtimeo(ZMQ_TIMEOUT_MS).unwrap();
    socket.set_linger(0).unwrap();
    socket
}

/// A message's frames as owned byte vectors, for comparing.
pub fn frames(msg: &Msg) -> Vec<Vec<u8>> {
    msg.frames().iter().map(|f| f.to_vec()).collect()
}

/// Builds a message from frames.
pub fn msg_of(frames: &[Vec<u8>]) -> Msg {
    frames.iter().cloned().collect()
}

/// Turns `reactor` until `done` says so; panics after [`T`].
pub fn drive_until(reactor: &mut Reactor, what: &str, mut done: impl FnMut(&mut Reactor) -> bool) {
    let deadline = Instant::now() + T;
    while !done(reactor) {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        reactor.turn(Some(TICK)).expect("loop turn");
    }
}

/// Turns `reactor` until a peer thread finishes, then returns what it returned. Palm is
/// caller-driven: its output moves only while this thread turns the loop.
pub fn drive_while_running<R>(reactor: &mut Reactor, peer: std::thread::JoinHandle<R>) -> R {
    drive_until(reactor, "the peer thread", |_| peer.is_finished());
    peer.join().expect("peer thread panicked")
}

/// Turns `reactor` for `how_long`, whatever happens.
pub fn drive_for(reactor: &mut Reactor, how_long: Duration) {
    let end = Instant::now() + how_long;
    while let Some(left) = end.checked_duration_since(Instant::now()) {
        reactor.turn(Some(left.min(TICK))).expect("loop turn");
    }
}

/// How many of a socket's first `pipes` pipes have finished their handshake. A socket that
/// only connects owns pipes `0..n` for its `n` endpoints, in the order it connected.
pub fn handshakes_done(reactor: &Reactor, socket: SocketId, pipes: usize) -> usize {
    let Some(core) = reactor.core(socket) else {
        return 0;
    };
    (0..pipes)
        .filter(|&p| core.pipe(p).is_some_and(|pipe| pipe.peer().is_some()))
        .count()
}

/// Log records palm emitted in this test binary, as `LEVEL message` lines.
pub fn logged() -> Vec<String> {
    capture_logs();
    LOGS.lock().unwrap_or_else(|e| e.into_inner()).clone()
}

static LOGS: Mutex<Vec<String>> = Mutex::new(Vec::new());

struct Capture;

impl log::Log for Capture {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Warn
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            let line = format!("{} {}", record.level(), record.args());
            LOGS.lock().unwrap_or_else(|e| e.into_inner()).push(line);
        }
    }

    fn flush(&self) {}
}

/// Starts recording palm's warnings and errors (once per test binary).
pub fn capture_logs() {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        static CAPTURE: Capture = Capture;
        if log::set_logger(&CAPTURE).is_ok() {
            log::set_max_level(log::LevelFilter::Warn);
        }
    });
}

/// The `palmcat` example binary, built on first use with the same cargo, target directory
/// and profile as this test binary.
pub fn palmcat() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(build_palmcat).clone()
}

fn build_palmcat() -> PathBuf {
    // This test runs as <target>/<profile>/deps/<name>-<hash>.
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(|d| d.parent()).expect("profile dir");
    let target_dir = profile_dir.parent().expect("target dir");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args([
            "build",
            "--quiet",
            "--example",
            "palmcat",
            "--manifest-path",
        ])
        .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
        .env("CARGO_TARGET_DIR", target_dir);
    if profile_dir.file_name().is_some_and(|n| n == "release") {
        cargo.arg("--release");
    }
    let status = cargo.status().expect("run cargo build --example palmcat");
    assert!(status.success(), "cargo build --example palmcat failed");
    let path = profile_dir.join("examples").join("palmcat");
    assert!(path.exists(), "no palmcat at {}", path.display());
    path
}
