//! ZMTP commands (RFC 23/ZMTP and 37/ZMTP): READY, ERROR, PING, PONG, SUBSCRIBE and CANCEL.
//!
//! A command body is a one-byte name length, the name, then command data. Parsing borrows
//! nothing: every value is a zero-copy slice of the frame body. Names of READY properties are
//! compared case-insensitively on receive and spelled exactly as libzmq does on send.

use bytes::{BufMut, Bytes};

use super::frame::FrameHeader;
use super::{Error, SocketType};

/// The largest PING context a peer may send (RFC 37).
pub const MAX_PING_CONTEXT: usize = 16;

/// A command received from a peer.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Command {
    /// READY, ending the NULL handshake, with the peer's metadata.
    Ready(Metadata),
    /// ERROR: the peer refuses the handshake, with its reason.
    Error(Bytes),
    /// PING: a heartbeat; answer with PONG carrying the same context.
    Ping {
        /// How long the peer may stay silent before we give up on it, in tenths of a second.
        ttl: u16,
        /// Up to 16 opaque bytes to echo back.
        context: Bytes,
    },
    /// PONG: the answer to our PING.
    Pong(Bytes),
    /// SUBSCRIBE (ZMTP 3.1) with its topic prefix.
    Subscribe(Bytes),
    /// CANCEL (ZMTP 3.1) with its topic prefix.
    Cancel(Bytes),
    /// A command palm does not know; ignored after the handshake, as libzmq does.
    Unknown(Bytes),
}

/// The READY properties palm cares about.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Metadata {
    /// The `Socket-Type` property, verbatim.
    pub socket_type: Option<Bytes>,
    /// The `Identity` property; empty when absent.
    pub identity: Bytes,
}

impl Command {
    /// Parses a command frame body.
    pub fn decode(body: Bytes) -> Result<Command, Error> {
        let (name, data) = split_name(&body)?;
        let data = body.slice(data..);
        let command = match &body[name.clone()] {
            b"READY" => Command::Ready(Metadata::decode(&data)?),
            b"ERROR" => Command::Error(decode_error(&data)?),
            b"PING" => decode_ping(data)?,
            b"PONG" => Command::Pong(data),
            b"SUBSCRIBE" => Command::Subscribe(data),
            b"CANCEL" => Command::Cancel(data),
            _ => Command::Unknown(body.slice(name.clone())),
        };
        Ok(command)
    }
}

/// Splits a command body into the range of its name and the offset of its data.
fn split_name(body: &[u8]) -> Result<(std::ops::Range<usize>, usize), Error> {
    let &len = body
        .first()
        .ok_or(Error::MalformedCommand("empty command body"))?;
    let end = 1 + usize::from(len);
    if len == 0 || body.len() < end {
        return Err(Error::MalformedCommand("command name length out of bounds"));
    }
    Ok((1..end, end))
}

fn decode_error(data: &[u8]) -> Result<Bytes, Error> {
    let &len = data
        .first()
        .ok_or(Error::MalformedCommand("ERROR without a reason"))?;
    let reason = data
        .get(1..1 + usize::from(len))
        .ok_or(Error::MalformedCommand(
            "ERROR reason longer than its frame",
        ))?;
    Ok(Bytes::copy_from_slice(reason))
}

fn decode_ping(data: Bytes) -> Result<Command, Error> {
    let ttl: [u8; 2] = data
        .get(..2)
        .and_then(|b| b.try_into().ok())
        .ok_or(Error::MalformedCommand("PING shorter than its TTL"))?;
    if data.len() - 2 > MAX_PING_CONTEXT {
        return Err(Error::MalformedCommand("PING context longer than 16 bytes"));
    }
    Ok(Command::Ping {
        ttl: u16::from_be_bytes(ttl),
        context: data.slice(2..),
    })
}

impl Metadata {
    /// Parses READY properties: name length (1 byte), name, value length (4 bytes, big
    /// endian), value. Unknown properties are skipped; none may overrun the frame.
    pub fn decode(mut data: &[u8]) -> Result<Metadata, Error> {
        let mut meta = Metadata::default();
        while !data.is_empty() {
            let Property { name, value, rest } = split_property(data)?;
            if name.eq_ignore_ascii_case(b"Socket-Type") {
                meta.socket_type = Some(Bytes::copy_from_slice(value));
            } else if name.eq_ignore_ascii_case(b"Identity") {
                meta.identity = Bytes::copy_from_slice(value);
            }
            data = rest;
        }
        Ok(meta)
    }
}

/// One READY property and what follows it.
struct Property<'a> {
    name: &'a [u8],
    value: &'a [u8],
    rest: &'a [u8],
}

/// Splits one property off the front of `data`.
fn split_property(data: &[u8]) -> Result<Property<'_>, Error> {
    let bad = Error::MalformedCommand("READY property longer than its frame");
    let (&name_len, data) = data.split_first().ok_or(bad.clone())?;
    let name_len = usize::from(name_len);
    if name_len == 0 {
        return Err(Error::MalformedCommand("READY property with an empty name"));
    }
    let (name, data) = data.split_at_checked(name_len).ok_or(bad.clone())?;
    let (len, data) = data.split_at_checked(4).ok_or(bad.clone())?;
    let len = u32::from_be_bytes([len[0], len[1], len[2], len[3]]);
    let len = usize::try_from(len).map_err(|_| bad.clone())?;
    let (value, rest) = data.split_at_checked(len).ok_or(bad)?;
    Ok(Property { name, value, rest })
}

/// Writes a whole command frame (header and body) with `name` and `data` parts.
fn encode_command(name: &[u8], data: &[&[u8]], out: &mut impl BufMut) {
    let size = 1 + name.len() + data.iter().map(|d| d.len()).sum::<usize>();
    FrameHeader::command(size).encode(out);
    out.put_u8(name.len() as u8);
    out.put_slice(name);
    data.iter().for_each(|d| out.put_slice(d));
}

/// Writes a READY command announcing `socket_type` and, for the types that carry one, the
/// identity (libzmq sends it from REQ, DEALER and ROUTER, even when empty).
pub fn encode_ready(socket_type: SocketType, identity: &[u8], out: &mut impl BufMut) {
    let name = socket_type.name().as_bytes();
    let ident_len = (identity.len() as u32).to_be_bytes();
    let type_len = (name.len() as u32).to_be_bytes();
    let mut parts: [&[u8]; 8] = [b"\x0bSocket-Type", &type_len, name, &[], &[], &[], &[], &[]];
    if socket_type.sends_identity() {
        parts[3..6].copy_from_slice(&[b"\x08Identity", &ident_len, identity]);
    }
    encode_command(b"READY", &parts, out);
}

/// Writes an ERROR command with a reason (truncated to 255 bytes).
pub fn encode_error(reason: &str, out: &mut impl BufMut) {
    let reason = &reason.as_bytes()[..reason.len().min(255)];
    encode_command(b"ERROR", &[&[reason.len() as u8], reason], out);
}

/// Writes a PING with a TTL in tenths of a second and a context of at most 16 bytes.
pub fn encode_ping(ttl: u16, context: &[u8], out: &mut impl BufMut) {
    let context = &context[..context.len().min(MAX_PING_CONTEXT)];
    encode_command(b"PING", &[&ttl.to_be_bytes(), context], out);
}

/// Writes a PONG echoing a PING's context.
pub fn encode_pong(context: &[u8], out: &mut impl BufMut) {
    encode_command(b"PONG", &[context], out);
}

/// Writes a subscription change for `topic`: as a SUBSCRIBE/CANCEL command for a ZMTP 3.1
/// peer, or as the 3.0 one-frame message (`0x01`/`0x00` then the topic) for an older one.
pub fn encode_subscription(subscribe: bool, topic: &[u8], peer_minor: u8, out: &mut impl BufMut) {
    if peer_minor >= 1 {
        let name: &[u8] = if subscribe { b"SUBSCRIBE" } else { b"CANCEL" };
        encode_command(name, &[topic], out);
    } else {
        FrameHeader::data(topic.len() + 1, false).encode(out);
        out.put_u8(u8::from(subscribe));
        out.put_slice(topic);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// READY as the RFC lays it out: a command frame of 0x29 bytes, "READY", then
    /// Socket-Type = ROUTER and an empty Identity.
    const ROUTER_READY: &[u8] = b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\
        \x08Identity\x00\x00\x00\x00";

    fn body(frame: &[u8]) -> Bytes {
        let (h, n) = FrameHeader::decode(frame).unwrap();
        assert!(h.is_command());
        assert_eq!(h.size as usize, frame.len() - n);
        Bytes::copy_from_slice(&frame[n..])
    }

    #[test]
    fn encodes_the_rfc_ready_bytes() {
        let mut out = Vec::new();
        encode_ready(SocketType::Router, b"", &mut out);
        assert_eq!(out, ROUTER_READY);
    }

    #[test]
    fn decodes_ready_with_any_name_case() {
        let cmd = Command::decode(body(ROUTER_READY)).unwrap();
        let meta = Metadata {
            socket_type: Some(Bytes::from_static(b"ROUTER")),
            ..Default::default()
        };
        assert_eq!(cmd, Command::Ready(meta));
        let mut lower = ROUTER_READY.to_ascii_lowercase();
        lower[3..8].copy_from_slice(b"READY"); // command names stay case-sensitive
        let Command::Ready(meta) = Command::decode(body(&lower[..])).unwrap() else {
            panic!()
        };
        assert_eq!(meta.socket_type.as_deref(), Some(&b"router"[..]));
    }

    #[test]
    fn ready_without_identity_for_push() {
        let mut out = Vec::new();
        encode_ready(SocketType::Push, b"ignored", &mut out);
        let Command::Ready(meta) = Command::decode(body(&out)).unwrap() else {
            panic!()
        };
        assert_eq!(meta.socket_type.as_deref(), Some(&b"PUSH"[..]));
        assert!(meta.identity.is_empty());
    }

    #[test]
    fn every_truncated_ready_is_an_error() {
        let full = body(ROUTER_READY);
        for n in 0..full.len() {
            let cut = full.slice(..n);
            // Cutting exactly between properties leaves a valid, shorter READY.
            if n == 6 || n == 28 {
                assert!(Command::decode(cut).is_ok());
                continue;
            }
            assert!(Command::decode(cut).is_err(), "prefix {n}");
        }
    }

    #[test]
    fn property_claiming_two_gib_is_refused_without_allocating() {
        let mut out = b"\x05READY\x08Identity\x80\x00\x00\x00".to_vec();
        out.extend_from_slice(b"abc");
        assert!(matches!(
            Command::decode(out.into()),
            Err(Error::MalformedCommand(_))
        ));
    }

    #[test]
    fn ping_pong_error_subscribe_round_trip() {
        let mut out = Vec::new();
        encode_ping(20, b"ctx", &mut out);
        let ping = Command::Ping {
            ttl: 20,
            context: Bytes::from_static(b"ctx"),
        };
        assert_eq!(Command::decode(body(&out)).unwrap(), ping);
        out.clear();
        encode_pong(b"ctx", &mut out);
        assert_eq!(
            Command::decode(body(&out)).unwrap(),
            Command::Pong(Bytes::from_static(b"ctx"))
        );
        out.clear();
        encode_error("bad socket type", &mut out);
        let err = Command::Error(Bytes::from_static(b"bad socket type"));
        assert_eq!(Command::decode(body(&out)).unwrap(), err);
        out.clear();
        encode_subscription(false, b"topic", 1, &mut out);
        assert_eq!(
            Command::decode(body(&out)).unwrap(),
            Command::Cancel("topic".into())
        );
    }

    #[test]
    fn subscription_for_zmtp_3_0_is_a_message() {
        let mut out = Vec::new();
        encode_subscription(true, b"ab", 0, &mut out);
        assert_eq!(out, b"\x00\x03\x01ab");
    }

    #[test]
    fn malformed_commands_name_the_problem() {
        let cases: [&[u8]; 5] = [b"", b"\x00", b"\x09READY", b"\x04PING\x00", b"\x05ERROR"];
        for case in cases {
            let err = Command::decode(Bytes::copy_from_slice(case)).unwrap_err();
            assert!(matches!(err, Error::MalformedCommand(_)), "{case:?}");
        }
        let long_ctx = b"\x04PING\x00\x01aaaaaaaaaaaaaaaaa";
        assert!(Command::decode(Bytes::from_static(long_ctx)).is_err());
    }

    #[test]
    fn unknown_commands_are_values() {
        let cmd = Command::decode(Bytes::from_static(b"\x05HELLOworld")).unwrap();
        assert_eq!(cmd, Command::Unknown(Bytes::from_static(b"HELLO")));
    }
}
