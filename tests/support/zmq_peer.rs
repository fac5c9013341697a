//! Helpers for putting palm sockets against libzmq ones (the `zmq` crate).
//!
//! libzmq's blocking calls hold a thread while palm's loop only turns when palm is called, so
//! the libzmq side runs on its own thread and the palm side keeps turning its loop until that
//! thread is done.

#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use palm::{Msg, Reactor};

/// How long any one wait in these tests may take before it counts as a failure.
pub const T: Option<Duration> = Some(Duration::from_secs(10));

/// A message's frames as owned byte strings, for comparing.
pub fn frames(msg: &Msg) -> Vec<Vec<u8>> {
    msg.frames().iter().map(|f| f.to_vec()).collect()
}

/// A message from byte-string frames.
pub fn msg(frames: &[&[u8]]) -> Msg {
    frames.iter().map(|f| f.to_vec()).collect()
}

/// A libzmq socket of `kind` bound to a free loopback port, with the endpoint it got.
pub fn bound(ctx: &zmq::Context, kind: zmq::SocketType) -> (zmq::Socket, String) {
    let socket = ctx.socket(kind).expect("libzmq socket");
    socket.set_linger(0).expect("linger");
    socket.bind("tcp://127.0.0.1:*").expect("libzmq bind");
    let endpoint = socket
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    (socket, endpoint)
}

/// A libzmq socket of `kind` connected to `endpoint`.
pub fn connected(ctx: &zmq::Context, kind: zmq::SocketType, endpoint: &str) -> zmq::Socket {
    let socket = ctx.socket(kind).expect("libzmq socket");
    socket.set_linger(0).expect("linger");
    socket.set_rcvtimeo(10_000).expect("rcvtimeo");
    socket.connect(endpoint).expect("libzmq connect");
    socket
}

/// Turns palm's loop until the libzmq thread finishes, then returns what it returned.
pub fn turn_until_done<R>(reactor: &mut Reactor, thread: JoinHandle<R>) -> R {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !thread.is_finished() {
        assert!(Instant::now() < deadline, "the libzmq side did not finish");
        reactor.turn(Some(Duration::from_millis(5))).expect("turn");
    }
    thread.join().expect("libzmq thread panicked")
}

/// Turns palm's loop for a while (to let handshakes and subscriptions happen).
pub fn turn_for(reactor: &mut Reactor, time: Duration) {
    let end = Instant::now() + time;
    while Instant::now() < end {
        reactor.turn(Some(Duration::from_millis(5))).expect("turn");
    }
}

/// A flag shared with a libzmq thread that loops until told to stop.
#[derive(Clone, Default)]
pub struct Stop(Arc<AtomicBool>);

impl Stop {
    /// Asks the thread to stop.
    pub fn set(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// True once asked to stop.
    pub fn is_set(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A libzmq ROUTER (frontend) to DEALER (backend) queue device on its own thread, like
/// `zmq_proxy`, but stoppable.
pub struct Proxy {
    /// Where REQ clients connect.
    pub frontend: String,
    /// Where REP workers connect.
    pub backend: String,
    stop: Stop,
    thread: Option<JoinHandle<()>>,
}

impl Proxy {
    /// Binds both sides and starts forwarding.
    pub fn start(ctx: &zmq::Context) -> Proxy {
        let (front, frontend) = bound(ctx, zmq::ROUTER);
        let (back, backend) = bound(ctx, zmq::DEALER);
        let stop = Stop::default();
        let flag = stop.clone();
        let thread = std::thread::spawn(move || forward(&front, &back, &flag));
        Proxy {
            frontend,
            backend,
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.set();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

fn forward(front: &zmq::Socket, back: &zmq::Socket, stop: &Stop) {
    while !stop.is_set() {
        let mut items = [
            front.as_poll_item(zmq::POLLIN),
            back.as_poll_item(zmq::POLLIN),
        ];
        zmq::poll(&mut items, 20).expect("poll");
        let (from_front, from_back) = (items[0].is_readable(), items[1].is_readable());
        if from_front {
            let parts = front.recv_multipart(0).expect("frontend recv");
            back.send_multipart(parts, 0).expect("backend send");
        }
        if from_back {
            let parts = back.recv_multipart(0).expect("backend recv");
            front.send_multipart(parts, 0).expect("frontend send");
        }
    }
}
