//! The Rust worker runtime: what pylm's `Worker` does, on palm's loop.
//!
//! A [`Worker`] asks the master's cache (REQ to `db_address`) for `worker_push_address` and
//! `worker_pull_address`, pulls work from the first and pushes results to the second. Each
//! message names its function pylm's way: the word after the dot, or for a pipeline (a
//! function with spaces) the word at index `stage`. A function that fails, or is unknown,
//! answers `0`, as pylm does. Connections come back by themselves when the master restarts.

use std::collections::HashMap;
use std::io;
use std::time::Duration;

use bytes::Bytes;
use log::{error, info, warn};

use super::message::{PalmMessage, Uuid4Generator};
use crate::reactor::{Reactor, SocketId};
use crate::socket;
use crate::zmtp::{Msg, SocketType};

/// What a worker function returns.
pub type Outcome = Result<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A worker function: takes the payload, may use the cache, returns the new payload.
pub type Function = Box<dyn FnMut(&mut Context<'_>, Bytes) -> Outcome>;

/// How long a cache request may take before the REQ socket is rebuilt and it is retried.
const CACHE_TIMEOUT: Duration = Duration::from_secs(5);

/// A worker: named functions served for a master.
pub struct Worker {
    name: String,
    db_address: String,
    functions: HashMap<String, Function>,
}

impl std::fmt::Debug for Worker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&String> = self.functions.keys().collect();
        f.debug_struct("Worker")
            .field("name", &self.name)
            .field("functions", &names)
            .finish()
    }
}

/// What a running function can reach: the master's cache.
pub struct Context<'a> {
    reactor: &'a mut Reactor,
    db: &'a mut SocketId,
    db_address: &'a str,
    ids: &'a mut Uuid4Generator,
}

impl std::fmt::Debug for Context<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Context")
            .field("db_address", &self.db_address)
            .finish()
    }
}

impl Context<'_> {
    /// Reads a value from the master's cache (empty when absent).
    pub fn get(&mut self, key: &str) -> io::Result<Bytes> {
        self.request("_.get", Bytes::copy_from_slice(key.as_bytes()), "")
    }

    /// Stores a value; with no key the cache makes one up. Returns the key.
    pub fn set(&mut self, value: Bytes, key: Option<&str>) -> io::Result<String> {
        let reply = self.request("_.set", value, key.unwrap_or(""))?;
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }

    /// Deletes a value. Returns the key.
    pub fn delete(&mut self, key: &str) -> io::Result<String> {
        let reply = self.request("_.delete", Bytes::copy_from_slice(key.as_bytes()), "")?;
        Ok(String::from_utf8_lossy(&reply).into_owned())
    }

    /// One REQ/REP round trip; a lost reply rebuilds the socket and asks again (REQ cannot
    /// send twice without a reply).
    fn request(
        &mut self,
        function: &'static str,
        payload: Bytes,
        cache: &str,
    ) -> io::Result<Bytes> {
        let message = PalmMessage {
            pipeline: self.ids.next_string(),
            function: function.into(),
            cache: crate::palm::message::Utf8Bytes::copy_from_str(cache),
            payload,
            ..PalmMessage::default()
        };
        let request = Msg::from(message.to_bytes());
        loop {
            self.reactor
                .send_timeout(*self.db, request.clone(), Some(CACHE_TIMEOUT))
                .map_err(|e| to_io(e.error))?;
            match self.reactor.recv_timeout(*self.db, Some(CACHE_TIMEOUT)) {
                Ok(reply) => return Ok(reply.frames().last().cloned().unwrap_or_default()),
                Err(socket::Error::TimedOut) => {
                    warn!(
                        "no answer from the cache at {}; asking again",
                        self.db_address
                    );
                    self.reactor.close(*self.db)?;
                    *self.db = self.reactor.socket(SocketType::Req);
                    self.reactor.connect(*self.db, self.db_address)?;
                }
                Err(e) => return Err(to_io(e)),
            }
        }
    }
}

fn to_io(e: socket::Error) -> io::Error {
    io::Error::other(e)
}

impl Worker {
    /// A worker called `name` whose master's cache is at `db_address`.
    pub fn new(name: &str, db_address: &str) -> Worker {
        Worker {
            name: name.to_string(),
            db_address: db_address.to_string(),
            functions: HashMap::new(),
        }
    }

    /// Serves `f` under `name` (the method name a pylm client calls).
    pub fn function(
        mut self,
        name: &str,
        f: impl FnMut(&mut Context<'_>, Bytes) -> Outcome + 'static,
    ) -> Worker {
        self.functions.insert(name.to_string(), Box::new(f));
        self
    }

    /// Connects and serves messages for ever.
    pub fn run(self) -> io::Result<()> {
        self.run_for(usize::MAX)
    }

    /// Connects and serves `messages` messages, then returns.
    pub fn run_for(mut self, messages: usize) -> io::Result<()> {
        let mut reactor = Reactor::new()?;
        let mut db = reactor.socket(SocketType::Req);
        reactor.connect(db, &self.db_address)?;
        let mut ids = Uuid4Generator::new();
        let db_address = self.db_address.clone();
        let mut ctx = Context {
            reactor: &mut reactor,
            db: &mut db,
            db_address: &db_address,
            ids: &mut ids,
        };
        let push_address = address(&mut ctx, "worker_push_address")?;
        let pull_address = address(&mut ctx, "worker_pull_address")?;
        let pull = ctx.reactor.socket(SocketType::Pull);
        ctx.reactor.connect(pull, &push_address)?;
        let push = ctx.reactor.socket(SocketType::Push);
        ctx.reactor.connect(push, &pull_address)?;
        info!(
            "worker {} pulling from {push_address}, pushing to {pull_address}",
            self.name
        );
        for _ in 0..messages {
            let msg = ctx.reactor.recv_timeout(pull, None).map_err(to_io)?;
            let reply = self.serve(&mut ctx, msg);
            ctx.reactor
                .send_timeout(push, Msg::from(reply), None)
                .map_err(|e| to_io(e.error))?;
        }
        reactor.close(push)?;
        Ok(())
    }

    /// Runs the function a message names and returns the message to push back.
    fn serve(&mut self, ctx: &mut Context<'_>, msg: Msg) -> Bytes {
        let frame = msg.frames().last().cloned().unwrap_or_default();
        let mut message = match PalmMessage::decode(frame.clone()) {
            Ok(m) => m,
            Err(e) => {
                error!("worker {}: message could not be decoded: {e}", self.name);
                return frame;
            }
        };
        message.payload = self.call(ctx, &message);
        message.to_bytes()
    }

    fn call(&mut self, ctx: &mut Context<'_>, message: &PalmMessage) -> Bytes {
        let failed = Bytes::from_static(b"0");
        let Some(name) = instruction(message.function.as_str(), message.stage) else {
            error!(
                "worker {}: pipeline call not correct: {}",
                self.name,
                message.function.as_str()
            );
            return failed;
        };
        let Some(f) = self.functions.get_mut(name) else {
            error!("worker {}: function {name} was not found", self.name);
            return failed;
        };
        f(ctx, message.payload.clone()).unwrap_or_else(|e| {
            error!(
                "worker {}: user function {name} gave an error: {e}",
                self.name
            );
            failed
        })
    }
}

/// The method a message names, pylm's way: `function.split('.')[1]`, or for a pipeline
/// (spaces in `function`) `function.split()[stage].split('.')[1]`.
pub fn instruction(function: &str, stage: i64) -> Option<&str> {
    let step = if function.contains(' ') {
        function
            .split_whitespace()
            .nth(usize::try_from(stage).ok()?)?
    } else {
        function
    };
    step.split('.').nth(1)
}

/// Asks the cache for an address, waiting for the master as long as it takes.
fn address(ctx: &mut Context<'_>, key: &str) -> io::Result<String> {
    let value = ctx.get(key)?;
    let value = String::from_utf8(value.to_vec()).map_err(io::Error::other)?;
    if value.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!("the master has no {key}"),
        ));
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instruction_follows_pylm() {
        assert_eq!(instruction("_.function", 0), Some("function"));
        assert_eq!(instruction("server.foo", 7), Some("foo"));
        assert_eq!(instruction("a.one b.two c.three", 1), Some("two"));
        assert_eq!(instruction("a.one b.two", 2), None);
        assert_eq!(instruction("nodot", 0), None);
        assert_eq!(instruction("a.one b.two", -1), None);
    }
}
