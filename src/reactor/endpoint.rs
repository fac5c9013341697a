//! `tcp://host:port` endpoints, as libzmq spells them.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

/// Resolves an endpoint for binding: `*` as host means every IPv4 interface, and `*` or `0` as
/// port asks the kernel for a free one.
pub fn resolve_bind(endpoint: &str) -> io::Result<SocketAddr> {
    let (host, port) = split(endpoint)?;
    let host = if host == "*" { "0.0.0.0" } else { host };
    resolve(host, port)
}

/// Resolves an endpoint for connecting.
// TODO: name lookups block the loop (std's resolver); fine at start-up, not for hot reconnects.
pub fn resolve_connect(endpoint: &str) -> io::Result<SocketAddr> {
    let (host, port) = split(endpoint)?;
    if host == "*" || port == "*" || port == "0" {
        return Err(invalid(endpoint, "needs a host and a port to connect to"));
    }
    resolve(host, port)
}

/// Formats an address back into endpoint form.
pub fn format(addr: SocketAddr) -> String {
    format!("tcp://{addr}")
}

fn split(endpoint: &str) -> io::Result<(&str, &str)> {
    let rest = endpoint
        .strip_prefix("tcp://")
        .ok_or_else(|| invalid(endpoint, "only tcp:// endpoints are supported"))?;
    let (host, port) = rest
        .rsplit_once(':')
        .ok_or_else(|| invalid(endpoint, "no port"))?;
    let host = host
        .strip_prefix('[')
        .and_then(|h| h.strip_suffix(']'))
        .unwrap_or(host);
    if host.is_empty() {
        return Err(invalid(endpoint, "no host"));
    }
    Ok((host, port))
}

fn resolve(host: &str, port: &str) -> io::Result<SocketAddr> {
    let port: u16 = match port {
        "*" => 0,
        p => p.parse().map_err(|_| invalid(port, "bad port"))?,
    };
    (host, port)
        .to_socket_addrs()?
        .next()
        .ok_or_else(|| invalid(host, "host did not resolve"))
}

fn invalid(what: &str, why: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidInput,
        format!("endpoint {what:?}: {why}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_libzmq_forms() {
        assert_eq!(
            resolve_bind("tcp://*:5555").unwrap(),
            "0.0.0.0:5555".parse().unwrap()
        );
        assert_eq!(resolve_bind("tcp://127.0.0.1:*").unwrap().port(), 0);
        let v6 = resolve_connect("tcp://[::1]:7").unwrap();
        assert_eq!(v6, "[::1]:7".parse().unwrap());
        assert_eq!(resolve_connect("tcp://localhost:9").unwrap().port(), 9);
    }

    #[test]
    fn rejects_what_it_cannot_use() {
        for bad in [
            "ipc:///tmp/x",
            "tcp://host",
            "tcp://:5",
            "tcp://1.2.3.4:x",
            "tcp://*:5",
        ] {
            assert!(resolve_connect(bad).is_err(), "{bad}");
        }
    }
}
