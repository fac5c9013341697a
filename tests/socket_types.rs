//! DEALER, ROUTER, REQ, REP, PUB and SUB against libzmq (the `zmq` crate), palm on each side,
//! binding and connecting.
//!
//! libzmq's non-blocking calls are used from the test thread where they cannot block (sends
//! on connecting or routing sockets, receives with `DONTWAIT` while palm's loop turns);
//! libzmq's blocking REQ/REP sides run on threads of their own.

#[path = "support/zmq_peer.rs"]
mod zmq_peer;

use std::time::{Duration, Instant};

use palm::socket::Error;
use palm::{Msg, Options, Reactor, SocketId, SocketType};
use zmq_peer::{Proxy, T, bound, connected, frames, msg, turn_for, turn_until_done};

/// Receives on a libzmq socket while palm's loop keeps turning.
fn zrecv(reactor: &mut Reactor, socket: &zmq::Socket) -> Vec<Vec<u8>> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match socket.recv_multipart(zmq::DONTWAIT) {
            Ok(parts) => return parts,
            Err(zmq::Error::EAGAIN) => {}
            Err(e) => panic!("libzmq recv: {e}"),
        }
        assert!(
            Instant::now() < deadline,
            "nothing arrived at the libzmq socket"
        );
        reactor.turn(Some(Duration::from_millis(1))).unwrap();
    }
}

/// True when nothing arrives at a libzmq socket for `time` while palm's loop turns.
fn zsilent(reactor: &mut Reactor, socket: &zmq::Socket, time: Duration) -> bool {
    let end = Instant::now() + time;
    while Instant::now() < end {
        if socket.recv_multipart(zmq::DONTWAIT).is_ok() {
            return false;
        }
        reactor.turn(Some(Duration::from_millis(2))).unwrap();
    }
    true
}

fn zsend(socket: &zmq::Socket, parts: &[&[u8]]) {
    socket.send_multipart(parts, 0).expect("libzmq send");
}

fn palm_socket(
    reactor: &mut Reactor,
    kind: SocketType,
    tweak: impl FnOnce(&mut Options),
) -> SocketId {
    let mut options = Options::default();
    tweak(&mut options);
    reactor.socket_with(kind, options)
}

/// Binds a palm socket to a free loopback port; returns the endpoint it got.
fn bind_loopback(reactor: &mut Reactor, socket: SocketId) -> String {
    reactor.bind(socket, "tcp://127.0.0.1:0").unwrap()
}

/// A fresh loop with a palm socket of `kind` (set up by `tweak`) bound to a free loopback
/// port, and the endpoint it got.
fn palm_bound(kind: SocketType, tweak: impl FnOnce(&mut Options)) -> (Reactor, SocketId, String) {
    let mut r = Reactor::new().unwrap();
    let socket = palm_socket(&mut r, kind, tweak);
    let ep = bind_loopback(&mut r, socket);
    (r, socket, ep)
}

/// A fresh loop with a palm socket of `kind` (set up by `tweak`) connected to `ep`.
fn palm_connected(
    kind: SocketType,
    ep: &str,
    tweak: impl FnOnce(&mut Options),
) -> (Reactor, SocketId) {
    let mut r = Reactor::new().unwrap();
    let socket = palm_socket(&mut r, kind, tweak);
    r.connect(socket, ep).unwrap();
    (r, socket)
}

fn recv(reactor: &mut Reactor, socket: SocketId) -> Vec<Vec<u8>> {
    frames(&reactor.recv_timeout(socket, T).expect("palm recv"))
}

fn auto_id_number(id: &[u8]) -> u32 {
    assert_eq!(
        (id.len(), id.first()),
        (5, Some(&0)),
        "auto id shape: {id:?}"
    );
    u32::from_be_bytes([id[1], id[2], id[3], id[4]])
}

// DEALER and ROUTER

#[test]
fn palm_router_binds_and_gives_libzmq_dealers_auto_ids() {
    let ctx = zmq::Context::new();
    let (mut r, router, ep) = palm_bound(SocketType::Router, |_| {});
    let dealers = [
        connected(&ctx, zmq::DEALER, &ep),
        connected(&ctx, zmq::DEALER, &ep),
    ];
    let mut ids = Vec::new();
    for (i, dealer) in dealers.iter().enumerate() {
        zsend(dealer, &[format!("hello {i}").as_bytes()]);
        let got = recv(&mut r, router);
        assert_eq!(got[1], format!("hello {i}").as_bytes());
        ids.push(got[0].clone());
    }
    let (a, b) = (auto_id_number(&ids[0]), auto_id_number(&ids[1]));
    // The two handshakes race, so either dealer may have the lower id.
    let consecutive = b.wrapping_sub(a) == 1 || a.wrapping_sub(b) == 1;
    assert!(consecutive, "consecutive auto ids, got {a} and {b}");
    for (id, dealer) in ids.iter().zip(&dealers) {
        r.send(router, msg(&[id, b"world"])).unwrap();
        assert_eq!(zrecv(&mut r, dealer), [b"world"]);
    }
}

#[test]
fn palm_router_honours_identities_and_refuses_unroutable_when_mandatory() {
    let ctx = zmq::Context::new();
    let (mut r, router, ep) = palm_bound(SocketType::Router, |o| o.router_mandatory = true);
    let dealer = dealer_with_identity(&ctx, &ep, b"alice");
    zsend(&dealer, &[b"ping", b"two frames"]);
    assert_eq!(
        recv(&mut r, router),
        [&b"alice"[..], b"ping", b"two frames"]
    );
    let refused = r.send(router, msg(&[b"bob", b"x"])).unwrap_err();
    assert_eq!(refused.error, Error::Unroutable);
    assert_eq!(frames(&refused.msg), [&b"bob"[..], b"x"]);
    r.send(router, msg(&[b"alice", b"pong"])).unwrap();
    assert_eq!(zrecv(&mut r, &dealer), [b"pong"]);
}

#[test]
fn palm_router_silently_drops_unroutable_by_default() {
    let ctx = zmq::Context::new();
    let (mut r, router, ep) = palm_bound(SocketType::Router, |_| {});
    let dealer = connected(&ctx, zmq::DEALER, &ep);
    zsend(&dealer, &[b"hi"]);
    let id = recv(&mut r, router).remove(0);
    assert_eq!(r.send(router, msg(&[b"nobody", b"x"])), Ok(()));
    r.send(router, msg(&[&id, b"y"])).unwrap();
    assert_eq!(zrecv(&mut r, &dealer), [b"y"]);
}

/// A libzmq DEALER with `identity` that does not reconnect once palm closes it.
fn dealer_with_identity(ctx: &zmq::Context, ep: &str, identity: &[u8]) -> zmq::Socket {
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_identity(identity).unwrap();
    dealer.set_reconnect_ivl(-1).unwrap();
    dealer.connect(ep).unwrap();
    dealer
}

/// A palm ROUTER (set up by `tweak`) that has heard "one" from a libzmq DEALER named "same",
/// and a second DEALER of that name that has sent "two": the loop, the router and both dealers.
fn router_with_two_dealers_named_same(
    tweak: impl FnOnce(&mut Options),
) -> (Reactor, SocketId, [zmq::Socket; 2]) {
    let ctx = zmq::Context::new();
    let (mut r, router, ep) = palm_bound(SocketType::Router, tweak);
    let first = dealer_with_identity(&ctx, &ep, b"same");
    zsend(&first, &[b"one"]);
    assert_eq!(recv(&mut r, router), [&b"same"[..], b"one"]);
    let second = dealer_with_identity(&ctx, &ep, b"same");
    zsend(&second, &[b"two"]);
    (r, router, [first, second])
}

#[test]
fn palm_router_ignores_a_duplicate_identity() {
    let (mut r, router, [first, second]) = router_with_two_dealers_named_same(|_| {});
    turn_for(&mut r, Duration::from_millis(300));
    assert_eq!(r.recv(router).unwrap_err(), Error::WouldBlock);
    r.send(router, msg(&[b"same", b"to the first"])).unwrap();
    assert_eq!(zrecv(&mut r, &first), [b"to the first"]);
    assert!(zsilent(&mut r, &second, Duration::from_millis(200)));
    // As in libzmq, the newcomer stays connected, unheard and unroutable.
    assert_eq!(r.core(router).unwrap().pipe_count(), 2);
}

#[test]
fn palm_router_hands_an_identity_over_when_asked() {
    let (mut r, router, [first, second]) =
        router_with_two_dealers_named_same(|o| o.router_handover = true);
    assert_eq!(recv(&mut r, router), [&b"same"[..], b"two"]);
    r.send(router, msg(&[b"same", b"to the second"])).unwrap();
    assert_eq!(zrecv(&mut r, &second), [b"to the second"]);
    assert!(zsilent(&mut r, &first, Duration::from_millis(200)));
    // The older connection was closed (and, told not to, the libzmq dealer stays away).
    assert_eq!(r.core(router).unwrap().pipe_count(), 1);
}

#[test]
fn libzmq_router_binds_and_routes_to_palm_dealers() {
    let ctx = zmq::Context::new();
    let (router, ep) = bound(&ctx, zmq::ROUTER);
    let mut r = Reactor::new().unwrap();
    let named = palm_socket(&mut r, SocketType::Dealer, |o| o.identity = "palm-d".into());
    let anonymous = r.socket(SocketType::Dealer);
    for dealer in [named, anonymous] {
        r.connect(dealer, &ep).unwrap();
        r.send(dealer, msg(&[b"hi"])).unwrap();
    }
    let mut ids = Vec::new();
    for _ in 0..2 {
        let got = zrecv(&mut r, &router);
        assert_eq!(got[1], b"hi");
        ids.push(got[0].clone());
    }
    assert!(ids.contains(&b"palm-d".to_vec()), "{ids:?}");
    let auto = ids
        .iter()
        .find(|id| id[..] != b"palm-d"[..])
        .unwrap()
        .clone();
    auto_id_number(&auto);
    zsend(&router, &[b"palm-d", b"for named"]);
    zsend(&router, &[&auto, b"for anonymous"]);
    assert_eq!(recv(&mut r, named), [b"for named"]);
    assert_eq!(recv(&mut r, anonymous), [b"for anonymous"]);
}

#[test]
fn palm_router_connects_to_a_libzmq_dealer_and_routes_after_the_handshake() {
    let ctx = zmq::Context::new();
    let dealer = ctx.socket(zmq::DEALER).unwrap();
    dealer.set_linger(0).unwrap();
    dealer.set_identity(b"worker").unwrap();
    dealer.bind("tcp://127.0.0.1:*").unwrap();
    let ep = dealer.get_last_endpoint().unwrap().unwrap();
    let (mut r, router) = palm_connected(SocketType::Router, &ep, |o| o.router_mandatory = true);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        match r.send(router, msg(&[b"worker", b"job"])) {
            Ok(()) => break,
            Err(e) => assert_eq!(e.error, Error::Unroutable),
        }
        assert!(Instant::now() < deadline, "peer never became routable");
        r.turn(Some(Duration::from_millis(2))).unwrap();
    }
    assert_eq!(zrecv(&mut r, &dealer), [b"job"]);
    zsend(&dealer, &[b"done"]);
    assert_eq!(recv(&mut r, router), [&b"worker"[..], b"done"]);
}

#[test]
fn palm_dealer_binds_and_a_libzmq_router_connects() {
    let ctx = zmq::Context::new();
    let (mut r, dealer, ep) = palm_bound(SocketType::Dealer, |_| {});
    let router = connected(&ctx, zmq::ROUTER, &ep);
    // A binding DEALER has no peer until the handshake: the send waits for it.
    r.send_timeout(dealer, msg(&[b"x"]), T).unwrap();
    let got = zrecv(&mut r, &router);
    assert_eq!(got[1], b"x");
    auto_id_number(&got[0]);
    zsend(&router, &[&got[0], b"y"]);
    assert_eq!(recv(&mut r, dealer), [b"y"]);
}

// REQ and REP

#[test]
fn palm_req_through_a_libzmq_broker_to_palm_rep() {
    let ctx = zmq::Context::new();
    let proxy = Proxy::start(&ctx);
    let mut r = Reactor::new().unwrap();
    let req = r.socket(SocketType::Req);
    let rep = r.socket(SocketType::Rep);
    r.connect(req, &proxy.frontend).unwrap();
    r.connect(rep, &proxy.backend).unwrap();
    for i in 0..50 {
        let question = format!("q{i}");
        r.send(req, msg(&[question.as_bytes(), b"second frame"]))
            .unwrap();
        let out_of_turn = r.send(req, msg(&[b"again"])).unwrap_err();
        assert_eq!(out_of_turn.error, Error::OutOfTurn);
        assert_eq!(recv(&mut r, rep), [question.as_bytes(), b"second frame"]);
        assert_eq!(r.recv(rep).unwrap_err(), Error::OutOfTurn);
        r.send(rep, msg(&[format!("r{i}").as_bytes()])).unwrap();
        assert_eq!(recv(&mut r, req), [format!("r{i}").into_bytes()]);
    }
    assert_eq!(r.recv(req).unwrap_err(), Error::OutOfTurn);
}

#[test]
fn libzmq_req_through_a_palm_broker_to_libzmq_rep() {
    const N: usize = 200;
    let ctx = zmq::Context::new();
    let (mut r, front, front_ep) = palm_bound(SocketType::Router, |_| {});
    let back = r.socket(SocketType::Dealer);
    let back_ep = bind_loopback(&mut r, back);
    let client = connected(&ctx, zmq::REQ, &front_ep);
    let worker = connected(&ctx, zmq::REP, &back_ep);
    let worker = std::thread::spawn(move || {
        for _ in 0..N {
            let mut parts = worker.recv_multipart(0).expect("rep recv");
            parts.insert(0, b"echo".to_vec());
            worker.send_multipart(parts, 0).expect("rep send");
        }
    });
    let client = std::thread::spawn(move || {
        for i in 0..N {
            let body = format!("request {i}");
            client.send(body.as_bytes(), 0).expect("req send");
            let reply = client.recv_multipart(0).expect("req recv");
            assert_eq!(reply, [b"echo".to_vec(), body.into_bytes()]);
        }
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while !client.is_finished() {
        assert!(Instant::now() < deadline, "broker test timed out");
        r.turn(Some(Duration::from_millis(2))).unwrap();
        while let Ok(request) = r.recv(front) {
            r.send_timeout(back, request, T).unwrap();
        }
        while let Ok(reply) = r.recv(back) {
            r.send(front, reply).unwrap();
        }
    }
    client.join().unwrap();
    turn_until_done(&mut r, worker);
}

#[test]
fn palm_req_correlate_takes_only_the_reply_to_its_last_request() {
    let ctx = zmq::Context::new();
    let (rep, ep) = bound(&ctx, zmq::REP);
    let (mut r, req) = palm_connected(SocketType::Req, &ep, |o| {
        o.req_relaxed = true;
        o.req_correlate = true;
    });
    // Two requests back to back on the one peer: only the id tells the replies apart.
    r.send(req, msg(&[b"q1"])).unwrap();
    r.send(req, msg(&[b"q2"])).unwrap();
    let echo = std::thread::spawn(move || {
        for _ in 0..2 {
            let question = rep.recv_bytes(0).expect("rep recv");
            rep.send([&b"re "[..], &question].concat(), 0)
                .expect("rep send");
        }
    });
    assert_eq!(recv(&mut r, req), [b"re q2"]);
    turn_until_done(&mut r, echo);
    assert_eq!(r.recv(req).unwrap_err(), Error::OutOfTurn);
}

#[test]
fn libzmq_req_correlate_through_palm_rep() {
    let ctx = zmq::Context::new();
    let (mut r, rep, ep) = palm_bound(SocketType::Rep, |_| {});
    let req = connected(&ctx, zmq::REQ, &ep);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.send("q1", 0).unwrap();
    req.send("q2", 0).unwrap();
    let client = std::thread::spawn(move || req.recv_bytes(0).expect("req recv"));
    for _ in 0..2 {
        let question = recv(&mut r, rep).remove(0);
        r.send(rep, Msg::from([&b"re "[..], &question].concat()))
            .unwrap();
    }
    assert_eq!(turn_until_done(&mut r, client), b"re q2");
}

// PUB and SUB

/// Publishes a probe until `receive` sees it, turning the loop `r` in both: subscriptions
/// travel asynchronously.
fn until_subscribed(
    r: &mut Reactor,
    mut publish: impl FnMut(&mut Reactor),
    mut receive: impl FnMut(&mut Reactor) -> bool,
) {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        publish(r);
        let end = Instant::now() + Duration::from_millis(20);
        while Instant::now() < end {
            if receive(r) {
                return;
            }
        }
        assert!(
            Instant::now() < deadline,
            "the subscription never took effect"
        );
    }
}

/// Publishes `probe` on a libzmq PUB until the palm SUB `sub` receives it.
fn until_palm_sub_hears(r: &mut Reactor, sub: SocketId, publisher: &zmq::Socket, probe: &[&[u8]]) {
    until_subscribed(
        r,
        |_| zsend(publisher, probe),
        |r| r.recv_timeout(sub, Some(Duration::from_millis(1))).is_ok(),
    );
}

fn zrecv_topic(r: &mut Reactor, sub: &zmq::Socket, skip: &[u8]) -> Vec<u8> {
    loop {
        let got = zrecv(r, sub).remove(0);
        if got != skip {
            return got;
        }
    }
}

#[test]
fn palm_pub_filters_by_prefix_for_a_libzmq_sub() {
    let ctx = zmq::Context::new();
    let (mut r, publisher, ep) = palm_bound(SocketType::Pub, |_| {});
    let sub = connected(&ctx, zmq::SUB, &ep);
    sub.set_subscribe(b"ab").unwrap();
    sub.set_subscribe(b"x").unwrap();
    until_subscribed(
        &mut r,
        |r| r.send(publisher, msg(&[b"ab-probe"])).unwrap(),
        |r| {
            r.turn(Some(Duration::from_millis(1))).unwrap();
            sub.recv_bytes(zmq::DONTWAIT).is_ok()
        },
    );
    // Both subscriptions are in once one is: they went out together on one connection.
    for topic in [&b"a1"[..], b"ab1", b"x", b"y", b"abc", b"ab-end"] {
        r.send(publisher, msg(&[topic, b"body"])).unwrap();
    }
    let got: Vec<Vec<u8>> = (0..4)
        .map(|_| zrecv_topic(&mut r, &sub, b"ab-probe"))
        .collect();
    assert_eq!(got, [&b"ab1"[..], b"x", b"abc", b"ab-end"]);
    sub.set_unsubscribe(b"x").unwrap();
    turn_for(&mut r, Duration::from_millis(200));
    for topic in [&b"x-after"[..], b"ab-last"] {
        r.send(publisher, msg(&[topic])).unwrap();
    }
    assert_eq!(zrecv_topic(&mut r, &sub, b"ab-probe"), b"ab-last");
}

#[test]
fn libzmq_pub_filters_by_prefix_for_a_palm_sub() {
    let ctx = zmq::Context::new();
    let (publisher, ep) = bound(&ctx, zmq::PUB);
    let (mut r, sub) = palm_connected(SocketType::Sub, &ep, |_| {});
    r.subscribe(sub, b"ab").unwrap();
    until_palm_sub_hears(&mut r, sub, &publisher, &[b"ab-probe"]);
    for topic in [&b"zz"[..], b"ab1", b"a", b"ab-end"] {
        zsend(&publisher, &[topic, b"body"]);
    }
    let mut got = Vec::new();
    while got.last().is_none_or(|t| t != b"ab-end") {
        let topic = recv(&mut r, sub).remove(0);
        if topic != b"ab-probe" {
            got.push(topic);
        }
    }
    assert_eq!(got, [&b"ab1"[..], b"ab-end"]);
}

#[test]
fn palm_sub_resubscribes_when_the_libzmq_publisher_restarts() {
    let ctx = zmq::Context::new();
    let (publisher, ep) = bound(&ctx, zmq::PUB);
    let (mut r, sub) = palm_connected(SocketType::Sub, &ep, |_| {});
    r.subscribe(sub, b"t").unwrap();
    until_palm_sub_hears(&mut r, sub, &publisher, &[b"t", b"probe"]);
    drop(publisher);
    turn_for(&mut r, Duration::from_millis(200));
    let restarted = rebind(&ctx, zmq::PUB, &ep);
    until_palm_sub_hears(&mut r, sub, &restarted, &[b"t", b"probe"]);
}

/// Retries `bind` until the endpoint `ep`, just released, can be bound again.
fn until_rebound<R, E: std::fmt::Display>(ep: &str, mut bind: impl FnMut() -> Result<R, E>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while let Err(e) = bind() {
        assert!(Instant::now() < deadline, "cannot rebind {ep}: {e}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Binds a new libzmq socket to an endpoint just released.
fn rebind(ctx: &zmq::Context, kind: zmq::SocketType, ep: &str) -> zmq::Socket {
    let socket = ctx.socket(kind).unwrap();
    socket.set_linger(0).unwrap();
    until_rebound(ep, || socket.bind(ep));
    socket
}

#[test]
fn libzmq_sub_resubscribes_when_the_palm_publisher_restarts() {
    let ctx = zmq::Context::new();
    let (mut r, publisher, ep) = palm_bound(SocketType::Pub, |_| {});
    let sub = connected(&ctx, zmq::SUB, &ep);
    sub.set_subscribe(b"t").unwrap();
    let heard = |r: &mut Reactor, publisher: SocketId| {
        until_subscribed(
            r,
            |r| {
                let _ = r.send(publisher, msg(&[b"t", b"probe"]));
                let _ = r.send(publisher, msg(&[b"other"]));
            },
            |r| {
                r.turn(Some(Duration::from_millis(1))).unwrap();
                match sub.recv_multipart(zmq::DONTWAIT) {
                    Ok(parts) => {
                        assert_eq!(parts[0], b"t");
                        true
                    }
                    Err(_) => false,
                }
            },
        );
    };
    heard(&mut r, publisher);
    r.options_mut(publisher).linger = Some(Duration::ZERO);
    r.close(publisher).unwrap();
    let restarted = r.socket(SocketType::Pub);
    until_rebound(&ep, || r.bind(restarted, &ep));
    heard(&mut r, restarted);
}

// Soak: 100,000 request/reply round trips each way.

const SOAK: usize = 100_000;

fn numbered(i: usize) -> Msg {
    Msg::from((i as u64).to_be_bytes().to_vec())
}

#[test]
fn soak_palm_req_with_libzmq_rep() {
    let ctx = zmq::Context::new();
    let (rep, ep) = bound(&ctx, zmq::REP);
    let echo = std::thread::spawn(move || {
        for _ in 0..SOAK {
            let request = rep.recv_bytes(0).expect("rep recv");
            rep.send(request, 0).expect("rep send");
        }
    });
    let (mut r, req) = palm_connected(SocketType::Req, &ep, |_| {});
    for i in 0..SOAK {
        r.send(req, numbered(i)).unwrap();
        let reply = r.recv_timeout(req, T).expect("reply");
        assert_eq!(frames(&reply), frames(&numbered(i)), "round trip {i}");
    }
    echo.join().unwrap();
}

#[test]
fn soak_libzmq_req_with_palm_rep() {
    let ctx = zmq::Context::new();
    let (mut r, rep, ep) = palm_bound(SocketType::Rep, |_| {});
    let req = connected(&ctx, zmq::REQ, &ep);
    let client = std::thread::spawn(move || {
        for i in 0..SOAK {
            let body = (i as u64).to_be_bytes();
            req.send(&body[..], 0).expect("req send");
            assert_eq!(req.recv_bytes(0).expect("req recv"), body, "round trip {i}");
        }
    });
    for _ in 0..SOAK {
        let request = r.recv_timeout(rep, T).expect("request");
        r.send(rep, request).unwrap();
    }
    turn_until_done(&mut r, client);
}
