//! Socket semantics driven directly: pipes, handshakes and messages, no sockets.

use bytes::Bytes;

use super::*;

fn core(kind: SocketType) -> SocketCore {
    SocketCore::new(kind, Options::default())
}

fn core_with(kind: SocketType, tweak: impl FnOnce(&mut Options)) -> SocketCore {
    let mut options = Options::default();
    tweak(&mut options);
    SocketCore::new(kind, options)
}

fn peer_info(kind: SocketType, identity: &'static [u8]) -> PeerInfo {
    PeerInfo {
        socket_type: kind,
        identity: Bytes::from_static(identity),
        minor: 1,
    }
}

/// An accepted connection that finished its handshake, as the reactor makes it.
fn accept(core: &mut SocketCore, kind: SocketType, identity: &'static [u8]) -> PipeId {
    let id = core.add_pipe(false);
    core.link(id, 100 + id);
    core.attach(id, peer_info(kind, identity));
    id
}

fn msg(frames: &[&'static [u8]]) -> Msg {
    frames.iter().map(|f| Bytes::from_static(f)).collect()
}

fn frames(msg: &Msg) -> Vec<&[u8]> {
    msg.frames().iter().map(|f| &f[..]).collect()
}

fn drain(core: &mut SocketCore, id: PipeId) -> Vec<Msg> {
    std::iter::from_fn(|| core.pop_outbound(id)).collect()
}

fn controls(core: &mut SocketCore, id: PipeId) -> Vec<Control> {
    std::iter::from_fn(|| core.pop_control(id)).collect()
}

fn sub(topic: &'static [u8]) -> Control {
    Control::Subscribe(Bytes::from_static(topic))
}

fn cancel(topic: &'static [u8]) -> Control {
    Control::Cancel(Bytes::from_static(topic))
}

// DEALER

#[test]
fn dealer_round_robins_out_and_fair_queues_in() {
    let mut dealer = core(SocketType::Dealer);
    let a = accept(&mut dealer, SocketType::Router, b"");
    let b = accept(&mut dealer, SocketType::Router, b"");
    for body in [&b"1"[..], b"2", b"3", b"4"] {
        dealer.send(msg(&[body])).unwrap();
    }
    assert_eq!(drain(&mut dealer, a), [msg(&[b"1"]), msg(&[b"3"])]);
    assert_eq!(drain(&mut dealer, b), [msg(&[b"2"]), msg(&[b"4"])]);
    for body in [&b"a1"[..], b"a2"] {
        dealer.on_message(a, msg(&[body]));
    }
    dealer.on_message(b, msg(&[b"b1"]));
    let got: Vec<Msg> = std::iter::from_fn(|| dealer.recv().ok()).collect();
    assert_eq!(got, [msg(&[b"a1"]), msg(&[b"b1"]), msg(&[b"a2"])]);
}

#[test]
fn dealer_skips_full_peers_and_blocks_when_all_are() {
    let mut dealer = core_with(SocketType::Dealer, |o| o.sndhwm = 1);
    let a = accept(&mut dealer, SocketType::Router, b"");
    let b = accept(&mut dealer, SocketType::Router, b"");
    dealer.send(msg(&[b"1"])).unwrap();
    dealer.send(msg(&[b"2"])).unwrap();
    assert!(!dealer.writable());
    let refused = dealer.send(msg(&[b"3"])).unwrap_err();
    assert_eq!(
        (refused.error, refused.msg),
        (Error::WouldBlock, msg(&[b"3"]))
    );
    assert_eq!(drain(&mut dealer, b), [msg(&[b"2"])]);
    dealer.send(msg(&[b"3"])).unwrap();
    assert_eq!(drain(&mut dealer, a), [msg(&[b"1"])]);
    assert_eq!(drain(&mut dealer, b), [msg(&[b"3"])]);
}

// ROUTER

#[test]
fn router_prefixes_routing_id_and_routes_by_first_frame() {
    let mut router = core(SocketType::Router);
    let a = accept(&mut router, SocketType::Dealer, b"alice");
    let b = accept(&mut router, SocketType::Dealer, b"bob");
    router.on_message(b, msg(&[b"hi"]));
    assert_eq!(frames(&router.recv().unwrap()), [&b"bob"[..], b"hi"]);
    router.send(msg(&[b"alice", b"", b"x"])).unwrap();
    assert_eq!(drain(&mut router, a), [msg(&[b"", b"x"])]);
    assert!(drain(&mut router, b).is_empty());
}

#[test]
fn router_auto_ids_are_zero_then_a_big_endian_counter() {
    let mut router = core(SocketType::Router);
    let a = accept(&mut router, SocketType::Dealer, b"");
    let b = accept(&mut router, SocketType::Req, b"");
    let (ida, idb) = (router.routing_id(a).unwrap(), router.routing_id(b).unwrap());
    assert_eq!((ida.len(), ida[0], idb.len(), idb[0]), (5, 0, 5, 0));
    let n = |id: &Bytes| u32::from_be_bytes([id[1], id[2], id[3], id[4]]);
    assert_eq!(n(idb), n(ida).wrapping_add(1));
}

#[test]
fn router_auto_ids_start_at_random() {
    let starts: Vec<Bytes> = (0..4)
        .map(|_| {
            let mut router = core(SocketType::Router);
            let id = accept(&mut router, SocketType::Dealer, b"");
            router.routing_id(id).unwrap().clone()
        })
        .collect();
    assert!(starts.windows(2).any(|w| w[0] != w[1]), "{starts:?}");
}

#[test]
fn router_drops_unroutable_unless_mandatory() {
    let mut router = core(SocketType::Router);
    accept(&mut router, SocketType::Dealer, b"a");
    assert_eq!(router.send(msg(&[b"nobody", b"x"])), Ok(()));
    let mut strict = core_with(SocketType::Router, |o| o.router_mandatory = true);
    accept(&mut strict, SocketType::Dealer, b"a");
    let refused = strict.send(msg(&[b"nobody", b"x"])).unwrap_err();
    assert_eq!(refused.error, Error::Unroutable);
    assert_eq!(refused.msg, msg(&[b"nobody", b"x"]));
}

#[test]
fn router_full_peer_drops_or_would_block_when_mandatory() {
    let mut router = core_with(SocketType::Router, |o| o.sndhwm = 1);
    let a = accept(&mut router, SocketType::Dealer, b"a");
    router.send(msg(&[b"a", b"1"])).unwrap();
    assert_eq!(router.send(msg(&[b"a", b"2"])), Ok(()));
    assert!(router.writable());
    assert_eq!(drain(&mut router, a), [msg(&[b"1"])]);
    let mut strict = core_with(SocketType::Router, |o| {
        o.sndhwm = 1;
        o.router_mandatory = true;
    });
    accept(&mut strict, SocketType::Dealer, b"a");
    strict.send(msg(&[b"a", b"1"])).unwrap();
    assert!(!strict.writable());
    let refused = strict.send(msg(&[b"a", b"2"])).unwrap_err();
    assert_eq!(refused.error, Error::WouldBlock);
}

#[test]
fn router_drops_a_routing_id_without_body_even_when_mandatory() {
    let mut router = core_with(SocketType::Router, |o| o.router_mandatory = true);
    let a = accept(&mut router, SocketType::Dealer, b"a");
    assert_eq!(router.send(msg(&[b"a"])), Ok(()));
    assert_eq!(router.send(msg(&[b"zz"])), Ok(()));
    assert!(drain(&mut router, a).is_empty());
}

#[test]
fn router_peer_is_routable_only_after_handshake_and_until_disconnect() {
    let mut router = core_with(SocketType::Router, |o| o.router_mandatory = true);
    let pipe = router.add_pipe(true);
    router.link(pipe, 7);
    let early = router.send(msg(&[b"srv", b"x"])).unwrap_err();
    assert_eq!(early.error, Error::Unroutable);
    router.attach(pipe, peer_info(SocketType::Router, b"srv"));
    router.send(msg(&[b"srv", b"x"])).unwrap();
    router.detach(pipe);
    let late = router.send(msg(&[b"srv", b"y"])).unwrap_err();
    assert_eq!(late.error, Error::Unroutable);
}

#[test]
fn router_ignores_a_duplicate_identity() {
    let mut router = core_with(SocketType::Router, |o| o.router_mandatory = true);
    let first = accept(&mut router, SocketType::Dealer, b"same");
    let second = accept(&mut router, SocketType::Dealer, b"same");
    router.send(msg(&[b"same", b"x"])).unwrap();
    assert_eq!(drain(&mut router, first).len(), 1);
    assert!(drain(&mut router, second).is_empty());
    router.on_message(second, msg(&[b"ignored"]));
    assert_eq!(router.recv(), Err(Error::WouldBlock));
    assert_eq!(router.take_evicted(), None);
    // Once the first goes, the identity is free for the next newcomer.
    router.detach(first);
    let third = accept(&mut router, SocketType::Dealer, b"same");
    router.send(msg(&[b"same", b"y"])).unwrap();
    assert_eq!(drain(&mut router, third).len(), 1);
}

#[test]
fn router_handover_moves_the_identity_and_evicts_the_old_connection() {
    let mut router = core_with(SocketType::Router, |o| o.router_handover = true);
    let old = accept(&mut router, SocketType::Dealer, b"same");
    router.on_message(old, msg(&[b"before"]));
    let new = accept(&mut router, SocketType::Dealer, b"same");
    assert_eq!(router.take_evicted(), Some(100 + old));
    assert_eq!(router.take_evicted(), None);
    router.send(msg(&[b"same", b"x"])).unwrap();
    assert_eq!(drain(&mut router, new).len(), 1);
    assert!(drain(&mut router, old).is_empty());
    // What the old peer sent before is still delivered, under a temporary auto id.
    router.detach(old);
    let got = router.recv().unwrap();
    assert_eq!((got.frames()[0].len(), got.frames()[0][0]), (5, 0));
    assert_eq!(&got.frames()[1][..], b"before");
    assert_eq!(router.pipe_count(), 1);
}

// REQ

#[test]
fn req_sends_a_delimiter_and_strictly_alternates() {
    let mut req = core(SocketType::Req);
    let rep = accept(&mut req, SocketType::Rep, b"");
    assert_eq!(req.recv(), Err(Error::OutOfTurn));
    req.send(msg(&[b"q1"])).unwrap();
    assert!(!req.writable());
    assert_eq!(req.send(msg(&[b"q2"])).unwrap_err().error, Error::OutOfTurn);
    assert_eq!(drain(&mut req, rep), [msg(&[b"", b"q1"])]);
    assert_eq!(req.recv(), Err(Error::WouldBlock));
    req.on_message(rep, msg(&[b"", b"r1"]));
    assert!(req.readable());
    assert_eq!(req.recv().unwrap(), msg(&[b"r1"]));
    assert_eq!(req.recv(), Err(Error::OutOfTurn));
    req.send(msg(&[b"q2"])).unwrap();
}

#[test]
fn req_takes_the_reply_only_from_the_peer_it_asked() {
    let mut req = core(SocketType::Req);
    let a = accept(&mut req, SocketType::Rep, b"");
    let b = accept(&mut req, SocketType::Rep, b"");
    req.send(msg(&[b"q"])).unwrap();
    assert_eq!(drain(&mut req, a).len(), 1);
    req.on_message(b, msg(&[b"", b"stray"]));
    req.on_message(a, msg(&[b"no delimiter"]));
    req.on_message(a, msg(&[b""]));
    assert!(!req.readable());
    req.on_message(a, msg(&[b"", b"r", b"2"]));
    assert_eq!(req.recv().unwrap(), msg(&[b"r", b"2"]));
    // The next request goes round-robin to the other peer.
    req.send(msg(&[b"q"])).unwrap();
    assert_eq!(drain(&mut req, b).len(), 1);
}

#[test]
fn req_ignores_unsolicited_messages() {
    let mut req = core(SocketType::Req);
    let a = accept(&mut req, SocketType::Rep, b"");
    req.on_message(a, msg(&[b"", b"unasked"]));
    req.send(msg(&[b"q"])).unwrap();
    assert_eq!(req.recv(), Err(Error::WouldBlock));
}

#[test]
fn req_relaxed_starts_over_and_drops_the_old_reply() {
    let mut req = core_with(SocketType::Req, |o| o.req_relaxed = true);
    let a = accept(&mut req, SocketType::Rep, b"");
    let b = accept(&mut req, SocketType::Rep, b"");
    req.send(msg(&[b"q1"])).unwrap();
    req.send(msg(&[b"q2"])).unwrap();
    assert_eq!(drain(&mut req, b), [msg(&[b"", b"q2"])]);
    req.on_message(a, msg(&[b"", b"late"]));
    req.on_message(b, msg(&[b"", b"r2"]));
    assert_eq!(req.recv().unwrap(), msg(&[b"r2"]));
}

#[test]
fn req_correlate_sends_an_id_and_matches_it() {
    let mut req = core_with(SocketType::Req, |o| {
        o.req_relaxed = true;
        o.req_correlate = true;
    });
    let a = accept(&mut req, SocketType::Rep, b"");
    req.send(msg(&[b"q1"])).unwrap();
    req.send(msg(&[b"q2"])).unwrap();
    let sent = drain(&mut req, a);
    let (id1, id2) = (sent[0].frames()[0].clone(), sent[1].frames()[0].clone());
    assert_eq!((id1.len(), &sent[1].frames()[1][..]), (4, &b""[..]));
    let n = |f: &Bytes| u32::from_ne_bytes([f[0], f[1], f[2], f[3]]);
    assert_eq!(n(&id2), n(&id1).wrapping_add(1));
    let reply = |id: &Bytes, body: &'static [u8]| -> Msg {
        [id.clone(), Bytes::new(), Bytes::from_static(body)]
            .into_iter()
            .collect()
    };
    req.on_message(a, reply(&id1, b"old"));
    assert!(!req.readable());
    req.on_message(a, reply(&id2, b"new"));
    assert_eq!(req.recv().unwrap(), msg(&[b"new"]));
}

// REP

#[test]
fn rep_strips_the_envelope_and_restores_it_on_the_reply() {
    let mut rep = core(SocketType::Rep);
    let a = accept(&mut rep, SocketType::Dealer, b"");
    let b = accept(&mut rep, SocketType::Req, b"");
    rep.on_message(a, msg(&[b"hop2", b"hop1", b"", b"body", b"more"]));
    rep.on_message(b, msg(&[b"", b"q"]));
    // Compared by frames: `Msg`'s derived equality tells a spilled message from an inline one.
    assert_eq!(frames(&rep.recv().unwrap()), [&b"body"[..], b"more"]);
    assert_eq!(rep.recv(), Err(Error::OutOfTurn));
    assert!(rep.writable());
    rep.send(msg(&[b"reply"])).unwrap();
    assert_eq!(
        drain(&mut rep, a),
        [msg(&[b"hop2", b"hop1", b"", b"reply"])]
    );
    assert_eq!(rep.recv().unwrap(), msg(&[b"q"]));
    rep.send(msg(&[b"r"])).unwrap();
    assert_eq!(drain(&mut rep, b), [msg(&[b"", b"r"])]);
}

#[test]
fn rep_refuses_a_reply_out_of_turn_and_drops_malformed_requests() {
    let mut rep = core(SocketType::Rep);
    let a = accept(&mut rep, SocketType::Req, b"");
    assert!(!rep.writable());
    assert_eq!(rep.send(msg(&[b"r"])).unwrap_err().error, Error::OutOfTurn);
    rep.on_message(a, msg(&[b"no delimiter"]));
    rep.on_message(a, msg(&[b"id", b""]));
    assert!(!rep.readable());
    assert_eq!(rep.recv(), Err(Error::WouldBlock));
}

#[test]
fn rep_drops_the_reply_when_its_peer_is_gone() {
    let mut rep = core(SocketType::Rep);
    let a = accept(&mut rep, SocketType::Req, b"");
    rep.on_message(a, msg(&[b"", b"q"]));
    rep.detach(a);
    assert_eq!(rep.recv().unwrap(), msg(&[b"q"]));
    assert_eq!(rep.pipe_count(), 0);
    assert_eq!(rep.send(msg(&[b"r"])), Ok(()));
    assert!(!rep.has_dirty());
    assert_eq!(rep.recv(), Err(Error::WouldBlock));
}

// PUB

#[test]
fn pub_sends_by_prefix_to_each_subscriber() {
    let mut publisher = core(SocketType::Pub);
    let a = accept(&mut publisher, SocketType::Sub, b"");
    let b = accept(&mut publisher, SocketType::Sub, b"");
    let c = accept(&mut publisher, SocketType::Sub, b"");
    publisher.on_subscription(a, Bytes::from_static(b"wea"), true);
    publisher.on_subscription(b, Bytes::from_static(b""), true);
    for topic in [&b"weather"[..], b"news"] {
        publisher.send(msg(&[topic, b"body"])).unwrap();
    }
    assert_eq!(drain(&mut publisher, a), [msg(&[b"weather", b"body"])]);
    assert_eq!(drain(&mut publisher, b).len(), 2);
    assert!(drain(&mut publisher, c).is_empty());
}

#[test]
fn pub_keeps_a_set_of_prefixes_per_peer() {
    let mut publisher = core(SocketType::Pub);
    let a = accept(&mut publisher, SocketType::Sub, b"");
    publisher.on_subscription(a, Bytes::from_static(b"t"), true);
    publisher.on_subscription(a, Bytes::from_static(b"t"), true);
    publisher.on_subscription(a, Bytes::from_static(b"t"), false);
    publisher.send(msg(&[b"topic"])).unwrap();
    assert!(drain(&mut publisher, a).is_empty());
}

#[test]
fn pub_takes_zmtp_3_0_subscription_messages() {
    let mut publisher = core(SocketType::Pub);
    let a = accept(&mut publisher, SocketType::Sub, b"");
    assert!(publisher.on_message(a, msg(&[b"\x01ab"])));
    assert!(publisher.on_message(a, msg(&[b"\x01cd"])));
    assert!(publisher.on_message(a, msg(&[b"\x00ab"])));
    assert!(publisher.on_message(a, msg(&[b"junk"])));
    assert_eq!(publisher.pipe(a).unwrap().subscriptions(), [&b"cd"[..]]);
    assert_eq!(publisher.recv(), Err(Error::NotSupported));
}

#[test]
fn pub_drops_for_a_full_subscriber_and_never_blocks() {
    let mut publisher = core_with(SocketType::Pub, |o| o.sndhwm = 2);
    let slow = accept(&mut publisher, SocketType::Sub, b"");
    let fast = accept(&mut publisher, SocketType::Sub, b"");
    for pipe in [slow, fast] {
        publisher.on_subscription(pipe, Bytes::new(), true);
    }
    for i in 0..5u8 {
        publisher.send(Msg::from(vec![i])).unwrap();
        assert_eq!(drain(&mut publisher, fast).len(), 1);
    }
    assert!(publisher.writable());
    assert_eq!(drain(&mut publisher, slow).len(), 2);
}

#[test]
fn pub_forgets_a_peers_subscriptions_with_its_connection() {
    let mut publisher = core(SocketType::Pub);
    let pipe = publisher.add_pipe(true);
    publisher.attach(pipe, peer_info(SocketType::Sub, b""));
    publisher.on_subscription(pipe, Bytes::new(), true);
    publisher.detach(pipe);
    publisher.attach(pipe, peer_info(SocketType::Sub, b""));
    publisher.send(msg(&[b"x"])).unwrap();
    assert!(drain(&mut publisher, pipe).is_empty());
}

// SUB

#[test]
fn sub_replays_subscriptions_on_every_connection() {
    let mut subscriber = core(SocketType::Sub);
    let pipe = subscriber.add_pipe(true);
    subscriber.subscribe(Bytes::from_static(b"a")).unwrap();
    subscriber.subscribe(Bytes::from_static(b"b")).unwrap();
    assert!(
        controls(&mut subscriber, pipe).is_empty(),
        "not before the handshake"
    );
    subscriber.attach(pipe, peer_info(SocketType::Pub, b""));
    assert!(subscriber.has_dirty());
    assert_eq!(controls(&mut subscriber, pipe), [sub(b"a"), sub(b"b")]);
    subscriber.subscribe(Bytes::from_static(b"c")).unwrap();
    assert_eq!(controls(&mut subscriber, pipe), [sub(b"c")]);
    subscriber.detach(pipe);
    subscriber.unsubscribe(Bytes::from_static(b"a")).unwrap();
    subscriber.attach(pipe, peer_info(SocketType::Pub, b""));
    assert_eq!(controls(&mut subscriber, pipe), [sub(b"b"), sub(b"c")]);
}

#[test]
fn sub_counts_subscriptions_and_tells_peers_on_changes_only() {
    let mut subscriber = core(SocketType::Sub);
    let a = accept(&mut subscriber, SocketType::Pub, b"");
    let t = || Bytes::from_static(b"t");
    subscriber.subscribe(t()).unwrap();
    subscriber.subscribe(t()).unwrap();
    subscriber.unsubscribe(t()).unwrap();
    assert_eq!(controls(&mut subscriber, a), [sub(b"t")]);
    subscriber.unsubscribe(t()).unwrap();
    subscriber.unsubscribe(t()).unwrap();
    subscriber
        .unsubscribe(Bytes::from_static(b"never"))
        .unwrap();
    assert_eq!(controls(&mut subscriber, a), [cancel(b"t")]);
}

#[test]
fn sub_filters_what_arrives() {
    let mut subscriber = core(SocketType::Sub);
    let a = accept(&mut subscriber, SocketType::Pub, b"");
    subscriber.subscribe(Bytes::from_static(b"we")).unwrap();
    subscriber.on_message(a, msg(&[b"news", b"x"]));
    subscriber.on_message(a, msg(&[b"weather", b"y"]));
    assert_eq!(subscriber.recv().unwrap(), msg(&[b"weather", b"y"]));
    assert_eq!(subscriber.recv(), Err(Error::WouldBlock));
    assert_eq!(
        subscriber.send(msg(&[b"x"])).unwrap_err().error,
        Error::NotSupported
    );
    assert!(!subscriber.writable());
}

#[test]
fn subscribe_is_for_sub_only() {
    let mut push = core(SocketType::Push);
    assert_eq!(push.subscribe(Bytes::new()), Err(Error::NotSupported));
}

// Pipes

#[test]
fn a_transient_pipe_delivers_its_input_after_disconnecting() {
    let mut pull = core(SocketType::Pull);
    let a = accept(&mut pull, SocketType::Push, b"");
    pull.on_message(a, msg(&[b"1"]));
    pull.on_message(a, msg(&[b"2"]));
    pull.detach(a);
    assert_eq!(pull.pipe_count(), 1);
    assert_eq!(pull.recv().unwrap(), msg(&[b"1"]));
    assert_eq!(pull.recv().unwrap(), msg(&[b"2"]));
    assert_eq!(pull.pipe_count(), 0);
}

#[test]
fn a_gone_pipe_takes_no_output() {
    let mut dealer = core(SocketType::Dealer);
    let a = accept(&mut dealer, SocketType::Dealer, b"");
    dealer.on_message(a, msg(&[b"in"]));
    dealer.detach(a);
    assert_eq!(
        dealer.send(msg(&[b"x"])).unwrap_err().error,
        Error::WouldBlock
    );
}

#[test]
fn input_stops_at_the_high_water_mark() {
    let mut pull = core_with(SocketType::Pull, |o| o.rcvhwm = 2);
    let a = accept(&mut pull, SocketType::Push, b"");
    assert!(pull.on_message(a, msg(&[b"1"])));
    assert!(!pull.on_message(a, msg(&[b"2"])));
    assert!(!pull.can_resume(a));
    pull.recv().unwrap();
    assert!(pull.can_resume(a));
}

#[test]
fn recv_into_replaces_the_message_and_leaves_it_alone_when_none_waits() {
    let mut router = core(SocketType::Router);
    let id = accept(&mut router, SocketType::Dealer, b"A");
    let mut out = msg(&[b"old", b"frames", b"here", b"and more"]);
    assert_eq!(router.recv_into(&mut out), Err(Error::WouldBlock));
    assert_eq!(frames(&out), [&b"old"[..], b"frames", b"here", b"and more"]);
    assert!(router.on_message(id, msg(&[b"hi"])));
    assert_eq!(router.recv_into(&mut out), Ok(()));
    assert_eq!(frames(&out), [&b"A"[..], b"hi"]);
}
