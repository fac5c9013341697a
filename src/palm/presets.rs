//! Ready-made servers: pylm's microservice seed and its `Master`.

use std::io;
use std::time::Duration;

use super::server::{Part, Server};

/// Addresses and limits of a [`microservice`]; the defaults are the pylm seed's.
#[derive(Clone, Debug)]
pub struct MicroserviceConfig {
    /// The name pylm clients ask the cache for.
    pub name: String,
    /// Where HTTP is served (`host:port`).
    pub http: String,
    /// Where workers push their results (the server's PULL binds here).
    pub worker_pull: String,
    /// Where workers pull their work from (the server's PUSH binds here).
    pub worker_push: String,
    /// The cache service (REP).
    pub db: String,
    /// How long a request waits for a worker before a 504.
    pub timeout: Duration,
}

impl Default for MicroserviceConfig {
    fn default() -> MicroserviceConfig {
        MicroserviceConfig {
            name: "server".to_string(),
            http: "127.0.0.1:8888".to_string(),
            worker_pull: "tcp://127.0.0.1:5557".to_string(),
            worker_push: "tcp://127.0.0.1:5558".to_string(),
            db: "tcp://127.0.0.1:5559".to_string(),
            timeout: Duration::from_secs(30),
        }
    }
}

/// pylm's microservice: HTTP gateway → worker push; worker pull → gateway; the cache preset
/// with `name`, `db_address`, `worker_pull_address` and `worker_push_address`. Bound
/// addresses (with real ports) are in [`Server::address`].
pub fn microservice(config: &MicroserviceConfig) -> io::Result<Server> {
    let mut server = Server::new(&config.name)?;
    server
        .register_inbound(Part::worker_pull("WorkerPull", &config.worker_pull).route("HttpGateway"))
        .register_outbound(Part::worker_push("WorkerPush", &config.worker_push))
        .register_bypass(
            Part::http_gateway("HttpGateway", &config.http)
                .route("WorkerPush")
                .timeout(config.timeout),
        )
        .register_bypass(Part::cache("Cache", &config.db));
    server.start()?;
    preset_addresses(&mut server, &["WorkerPull", "WorkerPush", "Cache"]);
    Ok(server)
}

/// Addresses of a [`master`]; the defaults are pylm's parallel example's.
#[derive(Clone, Debug)]
pub struct MasterConfig {
    /// The name pylm clients check.
    pub name: String,
    /// Where clients push their messages (PULL binds).
    pub pull: String,
    /// Where results are published by client id (PUB binds).
    pub publish: String,
    /// Where workers push their results.
    pub worker_pull: String,
    /// Where workers pull their work from.
    pub worker_push: String,
    /// The cache service.
    pub db: String,
}

impl Default for MasterConfig {
    fn default() -> MasterConfig {
        MasterConfig {
            name: "server".to_string(),
            pull: "tcp://127.0.0.1:5555".to_string(),
            publish: "tcp://127.0.0.1:5556".to_string(),
            worker_pull: "tcp://127.0.0.1:5557".to_string(),
            worker_push: "tcp://127.0.0.1:5558".to_string(),
            db: "tcp://127.0.0.1:5559".to_string(),
        }
    }
}

/// pylm's `Master`: client pull → worker push; worker pull → publish `[client, message]`;
/// the cache preset also with `pull_address` and `pub_address`, so pylm's `Client` works.
pub fn master(config: &MasterConfig) -> io::Result<Server> {
    let mut server = Server::new(&config.name)?;
    server
        .register_inbound(Part::pull("Pull", &config.pull).route("WorkerPush"))
        .register_outbound(Part::worker_push("WorkerPush", &config.worker_push))
        .register_inbound(Part::worker_pull("WorkerPull", &config.worker_pull).route("Publisher"))
        .register_outbound(Part::publish("Publisher", &config.publish))
        .register_bypass(Part::cache("Cache", &config.db));
    server.start()?;
    preset_addresses(
        &mut server,
        &["Pull", "Publisher", "WorkerPull", "WorkerPush", "Cache"],
    );
    Ok(server)
}

/// Presets the cache with the addresses parts really bound, under pylm's key names.
fn preset_addresses(server: &mut Server, parts: &[&str]) {
    for &part in parts {
        let key = match part {
            "Pull" => "pull_address",
            "Publisher" => "pub_address",
            "WorkerPull" => "worker_pull_address",
            "WorkerPush" => "worker_push_address",
            "Cache" => "db_address",
            _ => continue,
        };
        if let Some(address) = server.address(part).map(connectable) {
            server.preset_cache(key, &address);
        }
    }
}

/// An address peers can connect to: a wildcard bind is reached on loopback.
fn connectable(bound: &str) -> String {
    bound.replace("0.0.0.0", "127.0.0.1")
}
