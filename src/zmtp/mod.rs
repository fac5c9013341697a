//! The ZeroMQ Message Transport Protocol, ZMTP 3.1, without IO.
//!
//! This layer turns bytes into greetings, commands and messages and back; it never touches a
//! socket or reads a clock. A connection's whole protocol life (greeting, NULL handshake,
//! traffic, heartbeats) is the [`Session`] state machine: the caller feeds it the bytes it read
//! and the current time, and it yields [`Event`]s and appends what must be sent to a buffer the
//! caller owns. Which peer a message goes to is left to [`crate::socket`]; sockets and timers to
//! [`crate::reactor`].
//!
//! Only the NULL mechanism is spoken.

mod command;
mod frame;
#[doc(hidden)]
pub mod fuzzing;
mod greeting;
mod msg;
mod session;

pub use command::{
    Command, MAX_PING_CONTEXT, Metadata, encode_error, encode_ping, encode_pong, encode_ready,
    encode_subscription,
};
pub use frame::{COMMAND, FrameHeader, LONG, MAX_HEADER_LEN, MORE};
pub use greeting::{GREETING_LEN, Greeting, Mechanism, NULL_MECHANISM};
pub use msg::Msg;
pub use session::{Event, Heartbeat, PeerInfo, Session, SessionConfig, State};

use bytes::Bytes;

/// The ZeroMQ socket types and their READY `Socket-Type` names.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SocketType {
    /// Exclusive pair.
    Pair,
    /// Publisher.
    Pub,
    /// Subscriber.
    Sub,
    /// Requester.
    Req,
    /// Replier.
    Rep,
    /// Asynchronous requester/replier.
    Dealer,
    /// Routes by peer identity.
    Router,
    /// Fair-queued receiver of a pipeline.
    Pull,
    /// Round-robin sender of a pipeline.
    Push,
}

impl SocketType {
    /// Every socket type, for tables and tests.
    pub const ALL: [SocketType; 9] = [
        SocketType::Pair,
        SocketType::Pub,
        SocketType::Sub,
        SocketType::Req,
        SocketType::Rep,
        SocketType::Dealer,
        SocketType::Router,
        SocketType::Pull,
        SocketType::Push,
    ];

    /// The name as sent in READY, spelled exactly as libzmq compares it.
    pub fn name(self) -> &'static str {
        match self {
            SocketType::Pair => "PAIR",
            SocketType::Pub => "PUB",
            SocketType::Sub => "SUB",
            SocketType::Req => "REQ",
            SocketType::Rep => "REP",
            SocketType::Dealer => "DEALER",
            SocketType::Router => "ROUTER",
            SocketType::Pull => "PULL",
            SocketType::Push => "PUSH",
        }
    }

    /// Looks up a `Socket-Type` value, ignoring ASCII case.
    pub fn from_name(name: &[u8]) -> Option<SocketType> {
        Self::ALL
            .into_iter()
            .find(|t| t.name().as_bytes().eq_ignore_ascii_case(name))
    }

    /// True when the ZMTP rules allow a `self` socket to talk to a `peer` socket.
    pub fn compatible(self, peer: SocketType) -> bool {
        use SocketType::*;
        matches!(
            (self, peer),
            (Req, Rep | Router)
                | (Rep, Req | Dealer)
                | (Dealer, Rep | Dealer | Router)
                | (Router, Req | Dealer | Router)
                | (Pub, Sub)
                | (Sub, Pub)
                | (Push, Pull)
                | (Pull, Push)
                | (Pair, Pair)
        )
    }

    /// True for the types that announce an `Identity` in READY (REQ, DEALER, ROUTER).
    pub fn sends_identity(self) -> bool {
        matches!(
            self,
            SocketType::Req | SocketType::Dealer | SocketType::Router
        )
    }
}

impl std::fmt::Display for SocketType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

impl std::str::FromStr for SocketType {
    type Err = Error;

    fn from_str(s: &str) -> Result<SocketType, Error> {
        SocketType::from_name(s.as_bytes()).ok_or(Error::UnknownSocketType(Bytes::new()))
    }
}

/// Why a ZMTP connection failed. Every variant closes that one connection.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    /// The peer's first bytes are not a ZMTP 3.x greeting signature.
    NotZmtp,
    /// The peer speaks a ZMTP major version before 3.
    UnsupportedVersion {
        /// The peer's major version.
        major: u8,
    },
    /// The peer asked for a security mechanism other than NULL.
    UnsupportedMechanism(Mechanism),
    /// A command frame broke the command grammar.
    MalformedCommand(&'static str),
    /// The handshake expected READY (or ERROR) and got something else.
    UnexpectedCommand,
    /// A data frame arrived before the handshake finished.
    DataBeforeReady,
    /// READY carried no `Socket-Type`, or one palm does not know.
    UnknownSocketType(Bytes),
    /// The peer's socket type may not talk to ours.
    IncompatibleSocketType {
        /// Our socket type.
        ours: SocketType,
        /// The peer's socket type.
        peer: SocketType,
    },
    /// The peer refused the handshake with an ERROR command.
    PeerError(Bytes),
    /// A message grew past the maximum message size.
    MessageTooLarge {
        /// The configured limit in bytes.
        limit: u64,
    },
    /// A command frame was longer than any valid command.
    CommandTooLarge {
        /// The claimed size.
        size: u64,
    },
    /// The handshake did not finish in time.
    HandshakeTimeout,
    /// The peer sent nothing within the heartbeat timeout or its PING's TTL.
    HeartbeatTimeout,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Error::NotZmtp => f.write_str("peer did not send a zmtp 3.x greeting"),
            Error::UnsupportedVersion { major } => {
                write!(
                    f,
                    "peer speaks zmtp major version {major}, 3 or later needed"
                )
            }
            Error::UnsupportedMechanism(m) => write!(f, "unsupported security mechanism {m:?}"),
            Error::MalformedCommand(what) => write!(f, "malformed command: {what}"),
            Error::UnexpectedCommand => f.write_str("expected READY or ERROR during handshake"),
            Error::DataBeforeReady => f.write_str("data frame before the handshake finished"),
            Error::UnknownSocketType(name) => {
                write!(f, "unknown socket type {:?}", String::from_utf8_lossy(name))
            }
            Error::IncompatibleSocketType { ours, peer } => {
                write!(f, "socket type {peer} may not connect to {ours}")
            }
            Error::PeerError(reason) => {
                write!(
                    f,
                    "peer refused the handshake: {:?}",
                    String::from_utf8_lossy(reason)
                )
            }
            Error::MessageTooLarge { limit } => {
                write!(f, "message larger than the {limit}-byte limit")
            }
            Error::CommandTooLarge { size } => write!(f, "command frame of {size} bytes"),
            Error::HandshakeTimeout => f.write_str("handshake timed out"),
            Error::HeartbeatTimeout => f.write_str("peer silent past the heartbeat timeout"),
        }
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_pairs_are_symmetric() {
        for a in SocketType::ALL {
            for b in SocketType::ALL {
                assert_eq!(a.compatible(b), b.compatible(a), "{a} {b}");
            }
        }
        assert!(SocketType::Push.compatible(SocketType::Pull));
        assert!(!SocketType::Push.compatible(SocketType::Push));
        assert!(!SocketType::Req.compatible(SocketType::Dealer));
    }

    #[test]
    fn names_parse_case_insensitively() {
        for t in SocketType::ALL {
            assert_eq!(
                SocketType::from_name(t.name().to_lowercase().as_bytes()),
                Some(t)
            );
        }
        assert_eq!(SocketType::from_name(b"XPUB"), None);
    }
}
