//! The PALM services: pylm's microservice built on palm's sockets and event loop.
//!
//! So far this holds the pieces that need no IO: [`message`], the `PalmMessage` codec every
//! part speaks, and [`cache`], the key-value store behind the cache service together with its
//! sans-IO request handler. The parts, routes, gateway and worker runtime come on top.

pub mod cache;
pub mod message;
