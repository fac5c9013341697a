//! `tcp://host:port` endpoints, as libzmq spells them.

use std::io;
use std::net::{SocketAddr, ToSocketAddrs};

use mio::net::TcpListener;

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

/// Listens on `addr` with room for `backlog` connections that the kernel has accepted and the
/// loop has not (`listen(2)`; the kernel caps it at `net.core.somaxconn`). A burst of connects
/// larger than that within one loop turn has SYNs dropped, which clients retry only after a
/// second. With the `backlog` feature the listener is made by socket2 (address reuse and
/// close-on-exec as mio sets them); without it mio's fixed 128 applies and `backlog` is unused.
pub fn listen(addr: SocketAddr, backlog: u32) -> io::Result<TcpListener> {
    #[cfg(feature = "backlog")]
    {
        use socket2::{Domain, Protocol, Socket, Type};
        let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
        socket.set_reuse_address(true)?;
        socket.set_nonblocking(true)?;
        socket.bind(&addr.into())?;
        socket.listen(i32::try_from(backlog).unwrap_or(i32::MAX))?;
        Ok(TcpListener::from_std(socket.into()))
    }
    #[cfg(not(feature = "backlog"))]
    {
        let _ = backlog;
        TcpListener::bind(addr)
    }
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
