//! First contact with libzmq: palm PUSH/PULL against the `zmq` crate, both directions.

use std::time::Duration;

use palm::{Socket, SocketType};

const T: Option<Duration> = Some(Duration::from_secs(10));

#[test]
fn palm_push_binds_libzmq_pull_connects() {
    let mut push = Socket::new(SocketType::Push).unwrap();
    let ep = push.bind("tcp://127.0.0.1:0").unwrap();
    let ctx = zmq::Context::new();
    let pull = ctx.socket(zmq::PULL).unwrap();
    pull.connect(&ep).unwrap();
    for i in 0..100u32 {
        push.send_timeout(i.to_string(), T).unwrap();
    }
    push.flush();
    let t = std::thread::spawn(move || {
        (0..100)
            .map(|_| pull.recv_bytes(0).unwrap())
            .collect::<Vec<_>>()
    });
    // Keep the loop turning until the peer has everything.
    while !t.is_finished() {
        let _ = push.recv_timeout(Some(Duration::from_millis(10)));
    }
    let got = t.join().unwrap();
    assert_eq!(got.len(), 100);
    assert_eq!(got[99], b"99");
}

#[test]
fn libzmq_push_binds_palm_pull_connects() {
    let ctx = zmq::Context::new();
    let push = ctx.socket(zmq::PUSH).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.get_last_endpoint().unwrap().unwrap();
    let mut pull = Socket::new(SocketType::Pull).unwrap();
    pull.connect(&ep).unwrap();
    // libzmq's PUSH blocks until a peer is up, and palm's loop runs on this thread.
    let sender = std::thread::spawn(move || push.send_multipart([&b"a"[..], b"", b"c"], 0));
    let msg = pull.recv_timeout(T).unwrap();
    sender.join().unwrap().unwrap();
    let frames: Vec<&[u8]> = msg.frames().iter().map(|f| &f[..]).collect();
    assert_eq!(frames, [&b"a"[..], b"", b"c"]);
}
