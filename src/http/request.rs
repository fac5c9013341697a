//! A decoded request: the frozen head bytes, positions into them, and the decoded body.
//!
//! Nothing here is copied out of the read buffer: the head and the body are `Bytes` split off
//! it, and the method, target and header fields are read from the head on demand.

use bytes::Bytes;
use std::fmt;

/// The HTTP version of a request; palm answers 1.0 and 1.1 only.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    /// `HTTP/1.0`.
    Http10,
    /// `HTTP/1.1`.
    Http11,
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Version::Http10 => "HTTP/1.0",
            Version::Http11 => "HTTP/1.1",
        })
    }
}

/// The sequence number of a request on its connection: the key for
/// [`Connection::respond`](super::Connection::respond).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// How the length of a request body is determined (RFC 9112 §6.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BodyFraming {
    /// Neither Content-Length nor Transfer-Encoding: no body.
    Empty,
    /// `Content-Length: n`.
    Length(u64),
    /// `Transfer-Encoding: chunked`.
    Chunked,
}

/// A byte range inside the head.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) start: usize,
    pub(crate) end: usize,
}

impl Span {
    fn of(self, bytes: &[u8]) -> &[u8] {
        bytes.get(self.start..self.end).unwrap_or_default()
    }
}

/// A complete request: head and decoded body.
#[derive(Clone, Debug)]
pub struct Request {
    pub(crate) id: RequestId,
    pub(crate) head: Bytes,
    pub(crate) method: Span,
    pub(crate) target: Span,
    pub(crate) fields: Span,
    pub(crate) version: Version,
    pub(crate) framing: BodyFraming,
    pub(crate) keep_alive: bool,
    pub(crate) expects_continue: bool,
    pub(crate) body: Bytes,
    pub(crate) trailers: Bytes,
}

impl Request {
    /// This request's sequence number on its connection.
    pub fn id(&self) -> RequestId {
        self.id
    }

    /// The method, e.g. `GET`.
    pub fn method(&self) -> &str {
        as_str(self.method.of(&self.head))
    }

    /// The request-target as sent, e.g. `/function?x=1`.
    pub fn target(&self) -> &str {
        as_str(self.target.of(&self.head))
    }

    /// The path of the target without the query; for absolute-form targets, the path after
    /// the authority (`/` when empty). `*` and authority-form targets are returned whole.
    pub fn path(&self) -> &str {
        let target = self.target();
        let without_query = target.split_once('?').map_or(target, |(path, _)| path);
        match without_query.split_once("://") {
            Some((_, rest)) if !target.starts_with('/') => {
                rest.find('/').and_then(|at| rest.get(at..)).unwrap_or("/")
            }
            _ => without_query,
        }
    }

    /// The query of the target (after `?`), if any.
    pub fn query(&self) -> Option<&str> {
        self.target().split_once('?').map(|(_, query)| query)
    }

    /// The HTTP version of the request line.
    pub fn version(&self) -> Version {
        self.version
    }

    /// The value of the first header field named `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        find(self.headers(), name)
    }

    /// All header fields in order, as (name, value) with surrounding whitespace removed.
    pub fn headers(&self) -> Fields<'_> {
        Fields {
            rest: self.fields.of(&self.head),
        }
    }

    /// Whether the connection may stay open after this request's response (RFC 9112 §9.3).
    pub fn keep_alive(&self) -> bool {
        self.keep_alive
    }

    /// Whether the client sent `Expect: 100-continue` (HTTP/1.1 only).
    pub fn expects_continue(&self) -> bool {
        self.expects_continue
    }

    /// How the body was framed on the wire.
    pub fn framing(&self) -> BodyFraming {
        self.framing
    }

    /// The decoded body (chunked framing removed).
    pub fn body(&self) -> &Bytes {
        &self.body
    }

    /// Takes the decoded body, dropping the head.
    pub fn into_body(self) -> Bytes {
        self.body
    }

    /// The value of the first trailer field named `name` of a chunked body.
    pub fn trailer(&self, name: &str) -> Option<&[u8]> {
        find(self.trailers(), name)
    }

    /// All trailer fields of a chunked body, in order.
    pub fn trailers(&self) -> Fields<'_> {
        Fields {
            rest: &self.trailers,
        }
    }

    /// The raw request head, request line through the empty line.
    pub fn head_bytes(&self) -> &Bytes {
        &self.head
    }
}

fn as_str(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).unwrap_or_default()
}

fn find<'a>(mut fields: Fields<'a>, name: &str) -> Option<&'a [u8]> {
    fields
        .find(|(n, _)| n.eq_ignore_ascii_case(name.as_bytes()))
        .map(|(_, value)| value)
}

/// An iterator over header or trailer fields already validated by the decoder.
#[derive(Clone, Debug)]
pub struct Fields<'a> {
    rest: &'a [u8],
}

impl<'a> Iterator for Fields<'a> {
    type Item = (&'a [u8], &'a [u8]);

    fn next(&mut self) -> Option<Self::Item> {
        loop {
            let end = self.rest.iter().position(|&b| b == b'\n')?;
            let line = self.rest.get(..end)?;
            self.rest = self.rest.get(end + 1..)?;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.is_empty() {
                self.rest = &[];
                return None;
            }
            if let Some(colon) = line.iter().position(|&b| b == b':') {
                let (name, value) = line.split_at(colon);
                return Some((name, trim(value.get(1..).unwrap_or_default())));
            }
        }
    }
}

/// Strips optional whitespace (SP, HTAB) from both ends.
pub(crate) fn trim(mut value: &[u8]) -> &[u8] {
    while let [b' ' | b'\t', rest @ ..] = value {
        value = rest;
    }
    while let [rest @ .., b' ' | b'\t'] = value {
        value = rest;
    }
    value
}
