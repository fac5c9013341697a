//! The `backlog` feature: a listener holds as many not-yet-accepted connections as
//! `Limits::backlog` / `Options::backlog` say, not mio's fixed 128.
//!
//! The loop is not turned while the clients connect, so every connection waits in the
//! kernel's accept queue; with a backlog of 128 the 130th SYN would be dropped and its
//! connect would time out. Run by `.ci/run` with `--features backlog`.
#![cfg(feature = "backlog")]

use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use palm::SocketType;
use palm::http::Limits;
use palm::reactor::Reactor;

const CLIENTS: usize = 600;

/// Connects `CLIENTS` times to `addr`; each connect must finish well before a SYN retry.
fn connect_all(addr: &str) -> Vec<TcpStream> {
    let addr: SocketAddr = addr.parse().unwrap();
    (0..CLIENTS)
        .map(|i| {
            TcpStream::connect_timeout(&addr, Duration::from_millis(500))
                .unwrap_or_else(|e| panic!("connect {i} of {CLIENTS}: {e}"))
        })
        .collect()
}

#[test]
fn http_listener_queues_a_burst_larger_than_128() {
    let mut reactor = Reactor::new().unwrap();
    let mut limits = Limits::default();
    limits.backlog = 1000;
    let (server, addr) = reactor.http_bind("127.0.0.1:0", limits).unwrap();
    let clients = connect_all(&addr);
    let deadline = Instant::now() + Duration::from_secs(10);
    while reactor.http_connections(server) < CLIENTS && Instant::now() < deadline {
        reactor.turn(Some(Duration::from_millis(10))).unwrap();
    }
    assert_eq!(reactor.http_connections(server), CLIENTS);
    drop(clients);
}

#[test]
fn zmtp_listener_queues_a_burst_larger_than_128() {
    let mut reactor = Reactor::new().unwrap();
    let pull = reactor.socket(SocketType::Pull);
    reactor.options_mut(pull).backlog = 1000;
    let endpoint = reactor.bind(pull, "tcp://127.0.0.1:0").unwrap();
    let clients = connect_all(endpoint.strip_prefix("tcp://").unwrap());
    assert_eq!(clients.len(), CLIENTS);
}
