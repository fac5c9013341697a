//! `dealer_router_thr [message-size] [message-count] [rounds]`: DEALER → ROUTER throughput,
//! palm against libzmq (the `zmq` crate, a dev-dependency) in one run, alternating, each
//! pair a sender thread and a receiver thread over 127.0.0.1; prints the medians and the
//! ratio. Bench-only: palm itself never links libzmq.

use std::thread;
use std::time::Instant;

use bytes::Bytes;
use palm::{Msg, Options, Socket, SocketType};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let size = args.first().copied().unwrap_or(8);
    let count = args.get(1).copied().unwrap_or(1_000_000);
    let rounds = args.get(2).copied().unwrap_or(5);
    let (mut palm, mut zmq) = (Vec::new(), Vec::new());
    for round in 1..=rounds {
        palm.push(palm_pair(size, count));
        zmq.push(libzmq_pair(size, count));
        println!(
            "round {round}: palm {:.0} libzmq {:.0} msg/s",
            palm[round - 1],
            zmq[round - 1]
        );
    }
    let (p, z) = (median(&mut palm), median(&mut zmq));
    println!(
        "DEALER->ROUTER {size} B: palm {p:.0} msg/s, libzmq {z:.0} msg/s, ratio {:.2}",
        p / z
    );
}

fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// Messages per second from the first message received to the last.
fn palm_pair(size: usize, count: usize) -> f64 {
    let mut router = Socket::new(SocketType::Router).expect("router");
    let endpoint = router.bind("tcp://127.0.0.1:0").expect("bind");
    let sender = thread::spawn(move || {
        let mut options = Options::default();
        options.linger = None;
        let mut dealer = Socket::with_options(SocketType::Dealer, options).expect("dealer");
        dealer.connect(&endpoint).expect("connect");
        let body = Bytes::from(vec![0u8; size]);
        for _ in 0..count {
            if let Err(e) = dealer.enqueue(Msg::single(body.clone())) {
                dealer.send_timeout(e.msg, None).expect("send");
            }
        }
    });
    let first = router.recv_timeout(None).expect("recv");
    assert_eq!(first.len(), 2, "routing id and body");
    let start = Instant::now();
    for _ in 1..count {
        router.recv_timeout(None).expect("recv");
    }
    let rate = (count - 1) as f64 / start.elapsed().as_secs_f64();
    sender.join().expect("sender");
    rate
}

fn libzmq_pair(size: usize, count: usize) -> f64 {
    let ctx = zmq::Context::new();
    let router = ctx.socket(zmq::ROUTER).expect("router");
    router.bind("tcp://127.0.0.1:*").expect("bind");
    let endpoint = router
        .get_last_endpoint()
        .expect("endpoint")
        .expect("utf-8");
    let sender_ctx = ctx.clone();
    let sender = thread::spawn(move || {
        let dealer = sender_ctx.socket(zmq::DEALER).expect("dealer");
        dealer.connect(&endpoint).expect("connect");
        let body = vec![0u8; size];
        for _ in 0..count {
            dealer.send(&body[..], 0).expect("send");
        }
    });
    let mut msg = zmq::Message::new();
    let recv_one = |msg: &mut zmq::Message| {
        router.recv(msg, 0).expect("recv id");
        router.recv(msg, 0).expect("recv body");
    };
    recv_one(&mut msg);
    let start = Instant::now();
    for _ in 1..count {
        recv_one(&mut msg);
    }
    let rate = (count - 1) as f64 / start.elapsed().as_secs_f64();
    sender.join().expect("sender");
    rate
}
