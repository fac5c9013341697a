//! Socket options, named after libzmq's and with its defaults where it has one.

use std::time::Duration;

use bytes::Bytes;

use crate::zmtp::Heartbeat;

/// Options for one socket. Changes apply to connections made afterwards.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Options {
    /// Outgoing messages queued per peer before sends block (`ZMQ_SNDHWM`); 0 = no limit.
    pub sndhwm: usize,
    /// Incoming messages queued per peer before reading from it stops (`ZMQ_RCVHWM`); 0 = no
    /// limit.
    pub rcvhwm: usize,
    /// The identity announced in READY by REQ, DEALER and ROUTER (`ZMQ_ROUTING_ID`).
    pub identity: Bytes,
    /// How long closing waits for queued messages to be written (`ZMQ_LINGER`); `None`
    /// waits for ever.
    pub linger: Option<Duration>,
    /// First wait before reconnecting (`ZMQ_RECONNECT_IVL`); jitter is added.
    pub reconnect_ivl: Duration,
    /// The wait doubles after each failed attempt up to this (`ZMQ_RECONNECT_IVL_MAX`);
    /// `None` keeps it at `reconnect_ivl`.
    pub reconnect_ivl_max: Option<Duration>,
    /// How long a handshake may take (`ZMQ_HANDSHAKE_IVL`); `None` waits for ever.
    pub handshake_ivl: Option<Duration>,
    /// Heartbeats (`ZMQ_HEARTBEAT_IVL`, `_TIMEOUT`, `_TTL`).
    pub heartbeat: Heartbeat,
    /// The largest message accepted from a peer (`ZMQ_MAXMSGSIZE`, but counted over the whole
    /// message plus 32 bytes per frame); `None` for no limit.
    pub max_msg_size: Option<u64>,
    /// ROUTER: refuse a message for an unknown or vanished peer with
    /// [`Error::Unroutable`](super::Error::Unroutable), and one for a peer whose queue is full
    /// with [`Error::WouldBlock`](super::Error::WouldBlock), instead of dropping it
    /// (`ZMQ_ROUTER_MANDATORY`).
    pub router_mandatory: bool,
    /// ROUTER: a peer announcing an identity already in use takes it over and the older
    /// connection is closed; without it the newcomer is ignored (`ZMQ_ROUTER_HANDOVER`).
    pub router_handover: bool,
    /// REQ: a send while a reply is still awaited starts a new request instead of failing;
    /// the late reply to the old one is dropped (`ZMQ_REQ_RELAXED`).
    pub req_relaxed: bool,
    /// REQ: put a request id frame before the delimiter and accept only the reply carrying
    /// it back (`ZMQ_REQ_CORRELATE`); pair it with `req_relaxed`.
    pub req_correlate: bool,
    /// Connections the kernel may hold for a bound endpoint before the loop accepts them
    /// (`ZMQ_BACKLOG`, 100 as libzmq's). Takes effect with the `backlog` feature; without it
    /// every listener gets mio's 128.
    pub backlog: u32,
}

impl Default for Options {
    fn default() -> Options {
        Options {
            sndhwm: 1000,
            rcvhwm: 1000,
            identity: Bytes::new(),
            linger: Some(Duration::from_secs(30)),
            reconnect_ivl: Duration::from_millis(100),
            reconnect_ivl_max: None,
            handshake_ivl: Some(Duration::from_secs(30)),
            heartbeat: Heartbeat::default(),
            max_msg_size: Some(64 << 20),
            router_mandatory: false,
            router_handover: false,
            req_relaxed: false,
            req_correlate: false,
            backlog: 100,
        }
    }
}
