//! The PALM services: pylm's microservice built on palm's sockets and event loop.
//!
//! - [`message`]: the `PalmMessage` codec every part speaks (sans-IO).
//! - [`cache`]: the key-value store behind the cache service and its request handler.
//! - [`gateway`]: the HTTP gateway's bookkeeping (sans-IO).
//! - [`server`]: parts and routes on one reactor; [`presets`]: the seed microservice and
//!   pylm's `Master`.
//! - [`worker`]: the Rust worker runtime.

pub mod cache;
pub mod gateway;
pub mod message;
pub mod presets;
pub mod server;
pub mod worker;

pub use presets::{MasterConfig, MicroserviceConfig, master, microservice};
pub use server::{Part, Server};
pub use worker::{Context, Worker};
