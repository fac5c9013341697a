//! A program's one socket, with a loop of its own.

use std::io;
use std::time::Duration;

use super::{Reactor, SocketId};
use crate::socket::{self, Options, SendError};
use crate::zmtp::{Msg, SocketType};

/// A ZeroMQ socket with its own [`Reactor`], for programs that need just one, used like
/// libzmq's blocking API. Dropping it closes it, lingering as its options say.
///
/// ```
/// use palm::{Socket, SocketType};
///
/// let mut pull = Socket::new(SocketType::Pull)?;
/// let endpoint = pull.bind("tcp://127.0.0.1:0")?;
/// let mut push = Socket::new(SocketType::Push)?;
/// push.connect(&endpoint)?;
/// push.send("hello")?;
/// // Each socket's loop turns only in its own calls: closing lingers until "hello" is out.
/// let closer = std::thread::spawn(move || drop(push));
/// let msg = pull.recv_timeout(None)?;
/// closer.join().unwrap();
/// assert_eq!(&msg.frames()[0][..], b"hello");
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug)]
pub struct Socket {
    reactor: Reactor,
    id: SocketId,
}

impl Socket {
    /// A socket of `kind` with default options.
    pub fn new(kind: SocketType) -> io::Result<Socket> {
        Socket::with_options(kind, Options::default())
    }

    /// A socket of `kind` with `options`.
    pub fn with_options(kind: SocketType, options: Options) -> io::Result<Socket> {
        let mut reactor = Reactor::new()?;
        let id = reactor.socket_with(kind, options);
        Ok(Socket { reactor, id })
    }

    /// The options, for changing; changes apply to connections made afterwards.
    pub fn options_mut(&mut self) -> &mut Options {
        self.reactor.options_mut(self.id)
    }

    /// Binds to an endpoint and returns the one actually bound (with the real port).
    pub fn bind(&mut self, endpoint: &str) -> io::Result<String> {
        self.reactor.bind(self.id, endpoint)
    }

    /// Connects to an endpoint, reconnecting whenever the connection is lost.
    pub fn connect(&mut self, endpoint: &str) -> io::Result<()> {
        self.reactor.connect(self.id, endpoint)
    }

    /// Stops listening on an endpoint.
    pub fn unbind(&mut self, endpoint: &str) -> io::Result<()> {
        self.reactor.unbind(self.id, endpoint)
    }

    /// Drops a connection made by [`Socket::connect`].
    pub fn disconnect(&mut self, endpoint: &str) -> io::Result<()> {
        self.reactor.disconnect(self.id, endpoint)
    }

    /// Sends without waiting, writing at once when the peer can take it; hands the message
    /// back with [`socket::Error::WouldBlock`] when no peer has room.
    pub fn send(&mut self, msg: impl Into<Msg>) -> Result<(), SendError> {
        self.reactor.send(self.id, msg.into())
    }

    /// Queues without writing; the next call that turns the loop (or a full batch) writes.
    pub fn enqueue(&mut self, msg: impl Into<Msg>) -> Result<(), SendError> {
        self.reactor.enqueue(self.id, msg.into())
    }

    /// Sends, waiting up to `timeout` (`None`: for ever) for a peer with room.
    pub fn send_timeout(
        &mut self,
        msg: impl Into<Msg>,
        timeout: Option<Duration>,
    ) -> Result<(), SendError> {
        self.reactor.send_timeout(self.id, msg.into(), timeout)
    }

    /// Receives without waiting.
    pub fn recv(&mut self) -> Result<Msg, socket::Error> {
        self.reactor.recv(self.id)
    }

    /// Receives, waiting up to `timeout` (`None`: for ever).
    pub fn recv_timeout(&mut self, timeout: Option<Duration>) -> Result<Msg, socket::Error> {
        self.reactor.recv_timeout(self.id, timeout)
    }

    /// Receives into `out` without waiting, replacing what it held (libzmq's `zmq_msg_recv`
    /// with `ZMQ_DONTWAIT`); a receive loop that reuses one message moves less.
    pub fn recv_into(&mut self, out: &mut Msg) -> Result<(), socket::Error> {
        self.reactor.recv_into(self.id, out)
    }

    /// Receives into `out`, waiting up to `timeout` (`None`: for ever).
    pub fn recv_timeout_into(
        &mut self,
        out: &mut Msg,
        timeout: Option<Duration>,
    ) -> Result<(), socket::Error> {
        self.reactor.recv_timeout_into(self.id, out, timeout)
    }

    /// Subscribes a SUB socket to messages starting with `topic` (empty: every message).
    pub fn subscribe(&mut self, topic: &[u8]) -> Result<(), socket::Error> {
        self.reactor.subscribe(self.id, topic)
    }

    /// Cancels one earlier [`Socket::subscribe`] to `topic`.
    pub fn unsubscribe(&mut self, topic: &[u8]) -> Result<(), socket::Error> {
        self.reactor.unsubscribe(self.id, topic)
    }

    /// Writes everything queued as far as the peers take it.
    pub fn flush(&mut self) {
        self.reactor.flush();
    }

    /// The loop underneath, for turning it by hand or adding sockets to it.
    pub fn reactor(&mut self) -> &mut Reactor {
        &mut self.reactor
    }

    /// This socket's id in its reactor.
    pub fn id(&self) -> SocketId {
        self.id
    }
}

impl Drop for Socket {
    fn drop(&mut self) {
        let _ = self.reactor.close(self.id);
    }
}
