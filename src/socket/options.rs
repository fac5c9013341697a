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
        }
    }
}
