//! palm: a PALM master/microservice on one mio event loop.
//!
//! palm speaks ZeroMQ's wire protocol (ZMTP 3.1) itself on raw TCP, serves HTTP/1.1 on the same
//! loop, and wires both into pylm's microservice model: an HTTP gateway in front, PUSH/PULL to
//! worker processes behind, and a key-value cache the workers reach over ZeroMQ.
//!
//! The crate is layered; lower layers know nothing of higher ones:
//!
//! - [`zmtp`], [`http`] and [`palm::message`]: sans-IO wire codecs.
//! - [`socket`]: ZeroMQ socket semantics (which peer gets the next message, envelopes, HWM).
//! - [`reactor`]: the only code that touches mio: connections, listeners, timers.
//! - [`palm`]: the services built on top: gateway, worker services, cache, workers.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod http;
pub mod palm;
pub mod reactor;
mod readbuf;
pub mod socket;
pub mod zmtp;

pub use reactor::{
    Handle, Handler, HttpRequestId, HttpServerId, PeerEvent, Reactor, Socket, SocketId, TimerId,
};
pub use socket::{Options, SendError};
pub use zmtp::{Msg, SocketType};
