//! Request head decoding (RFC 9112 §2-3, §6): `httparse` for the syntax, the framing rules here.
//!
//! [`decode_head`] looks at the unparsed front of the read buffer and answers "need more
//! bytes", a [`Head`] (positions plus what the header fields mean for framing and
//! connection reuse), or an [`Error`]. It keeps no reference to the bytes.

use super::Limits;
use super::error::Error;
use super::request::{BodyFraming, Span, Version};
use std::mem::MaybeUninit;

/// Hard upper bound on [`Limits::max_headers`]: the size of the on-stack field array.
pub const MAX_HEADERS_CAP: usize = 256;

/// A parsed request head: positions into the bytes it was parsed from.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Head {
    /// Length of the head, including leading empty lines and the final empty line.
    pub(crate) len: usize,
    pub(crate) method: Span,
    pub(crate) target: Span,
    pub(crate) fields: Span,
    pub(crate) version: Version,
    pub(crate) meaning: Meaning,
}

/// Where to resume looking for the end of a head, so a slow sender costs linear work.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct HeadScan {
    /// Offset from which to look for the empty line again.
    from: usize,
    /// Buffer length at which to run the parser again even without an empty line.
    parse_at: usize,
}

/// Decodes the head at the front of `buf`, or says `Ok(None)` when more bytes are needed.
pub(crate) fn decode_head(
    buf: &[u8],
    limits: &Limits,
    scan: &mut HeadScan,
) -> Result<Option<Head>, Error> {
    let end = find_empty_line(buf, scan.from);
    if end.is_none() {
        scan.from = buf.len().saturating_sub(2);
        if buf.len() >= limits.max_head {
            check_target(buf, limits)?;
            return Err(Error::HeadTooLarge);
        }
        if buf.len() < scan.parse_at {
            return Ok(None);
        }
        scan.parse_at = buf.len().saturating_mul(2);
    }
    let head = parse(buf, limits)?;
    if head.is_none() {
        check_target(buf, limits)?;
        if let Some(end) = end {
            scan.from = end.saturating_sub(1);
        }
    }
    Ok(head)
}

/// Offset just past the first empty line (`\n\n` or `\n\r\n`) at or after `from`.
fn find_empty_line(buf: &[u8], from: usize) -> Option<usize> {
    let rest = buf.get(from..)?;
    let newlines = rest.iter().enumerate().filter(|&(_, &b)| b == b'\n');
    newlines.map(|(i, _)| i).find_map(|i| {
        let after = rest.get(i + 1..)?;
        if after.starts_with(b"\n") {
            Some(from + i + 2)
        } else if after.starts_with(b"\r\n") {
            Some(from + i + 3)
        } else {
            None
        }
    })
}

fn parse(buf: &[u8], limits: &Limits) -> Result<Option<Head>, Error> {
    let mut slots = [const { MaybeUninit::<httparse::Header<'_>>::uninit() }; MAX_HEADERS_CAP];
    let count = limits.max_headers.min(MAX_HEADERS_CAP);
    let slots = slots.get_mut(..count).unwrap_or_default();
    let mut req = httparse::Request::new(&mut []);
    let len = match req.parse_with_uninit_headers(buf, slots) {
        Ok(httparse::Status::Complete(len)) => len,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(httparse::Error::TooManyHeaders) => return Err(Error::TooManyHeaders),
        Err(httparse::Error::Version) => return Err(version_error(buf)),
        Err(_) => return Err(Error::MalformedHead),
    };
    let head = positions(buf, &req, len, limits)?;
    let meaning = interpret(head.version, req.headers, limits)?;
    Ok(Some(Head { meaning, ..head }))
}

/// A head with its positions checked against the limits, before the fields are interpreted.
fn positions(
    buf: &[u8],
    req: &httparse::Request<'_, '_>,
    len: usize,
    limits: &Limits,
) -> Result<Head, Error> {
    let method = span(buf, req.method.unwrap_or_default().as_bytes());
    let target = span(buf, req.path.unwrap_or_default().as_bytes());
    if target.end - target.start > limits.max_target {
        return Err(Error::TargetTooLong);
    }
    if len > limits.max_head {
        return Err(Error::HeadTooLarge);
    }
    let version = if req.version == Some(0) {
        Version::Http10
    } else {
        Version::Http11
    };
    let fields = Span {
        start: line_end(buf, target.end),
        end: len,
    };
    let meaning = Meaning {
        framing: BodyFraming::Empty,
        keep_alive: false,
        expects_continue: false,
    };
    Ok(Head {
        len,
        method,
        target,
        fields,
        version,
        meaning,
    })
}

/// The position of `part` (a subslice of `buf`) inside `buf`.
fn span(buf: &[u8], part: &[u8]) -> Span {
    let start = (part.as_ptr() as usize).saturating_sub(buf.as_ptr() as usize);
    Span {
        start,
        end: start + part.len(),
    }
}

/// Offset just past the `\n` ending the line that contains `at`.
fn line_end(buf: &[u8], at: usize) -> usize {
    let rest = buf.get(at..).unwrap_or_default();
    rest.iter()
        .position(|&b| b == b'\n')
        .map_or(buf.len(), |i| at + i + 1)
}

/// The request line, without leading empty lines, possibly incomplete.
fn request_line(buf: &[u8]) -> &[u8] {
    let start = buf
        .iter()
        .position(|&b| b != b'\r' && b != b'\n')
        .unwrap_or(buf.len());
    let line = buf.get(start..).unwrap_or_default();
    let end = line.iter().position(|&b| b == b'\n').unwrap_or(line.len());
    let line = line.get(..end).unwrap_or_default();
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// 414 when the (possibly incomplete) request-target is already over the limit.
fn check_target(buf: &[u8], limits: &Limits) -> Result<(), Error> {
    let mut parts = request_line(buf).split(|&b| b == b' ');
    let target = parts.nth(1).unwrap_or_default();
    if target.len() > limits.max_target {
        return Err(Error::TargetTooLong);
    }
    Ok(())
}

/// `HTTP/<digits>[.<digits>]` is a version palm does not speak (505); anything else is 400.
fn version_error(buf: &[u8]) -> Error {
    let version = request_line(buf)
        .split(|&b| b == b' ')
        .nth(2)
        .unwrap_or_default();
    let Some(number) = version.strip_prefix(b"HTTP/") else {
        return Error::MalformedHead;
    };
    let mut parts = number.splitn(2, |&b| b == b'.');
    let major = parts.next().unwrap_or_default();
    let minor = parts.next().unwrap_or(b"0");
    let digits = |part: &[u8]| part.iter().all(u8::is_ascii_digit);
    if !major.is_empty() && digits(major) && digits(minor) {
        Error::UnsupportedVersion
    } else {
        Error::MalformedHead
    }
}

/// What the header fields say about framing and connection reuse.
#[derive(Debug, Default)]
struct Fields {
    content_length: Option<u64>,
    transfer_encoding: bool,
    chunked: bool,
    unknown_coding: bool,
    hosts: usize,
    close: bool,
    keep_alive: bool,
    expect_continue: bool,
}

/// What a head means for the body and the connection.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Meaning {
    pub(crate) framing: BodyFraming,
    pub(crate) keep_alive: bool,
    pub(crate) expects_continue: bool,
}

/// Applies the header fields' rules (RFC 9112 §3.2, §6, §9.3).
fn interpret(
    version: Version,
    headers: &[httparse::Header<'_>],
    limits: &Limits,
) -> Result<Meaning, Error> {
    let mut fields = Fields::default();
    for header in headers {
        fields.add(version, header.name.as_bytes(), header.value)?;
    }
    if version == Version::Http11 && fields.hosts == 0 {
        return Err(Error::MissingHost);
    }
    if fields.hosts > 1 {
        return Err(Error::DuplicateHost);
    }
    let framing = fields.framing(limits)?;
    let keep_alive = match version {
        Version::Http11 => !fields.close,
        Version::Http10 => fields.keep_alive && !fields.close && !fields.transfer_encoding,
    };
    Ok(Meaning {
        framing,
        keep_alive,
        expects_continue: fields.expect_continue,
    })
}

impl Fields {
    fn add(&mut self, version: Version, name: &[u8], value: &[u8]) -> Result<(), Error> {
        if name.eq_ignore_ascii_case(b"content-length") {
            self.add_content_length(value)
        } else if name.eq_ignore_ascii_case(b"transfer-encoding") {
            self.add_transfer_coding(value)
        } else if name.eq_ignore_ascii_case(b"host") {
            self.hosts += 1;
            check_host(value)
        } else if name.eq_ignore_ascii_case(b"connection") {
            self.add_connection(value);
            Ok(())
        } else if name.eq_ignore_ascii_case(b"expect") && version == Version::Http11 {
            self.add_expect(value)
        } else {
            Ok(())
        }
    }

    fn add_content_length(&mut self, value: &[u8]) -> Result<(), Error> {
        let length = parse_content_length(value)?;
        match self.content_length {
            Some(previous) if previous != length => Err(Error::ConflictingContentLength),
            _ => {
                self.content_length = Some(length);
                Ok(())
            }
        }
    }

    fn add_transfer_coding(&mut self, value: &[u8]) -> Result<(), Error> {
        self.transfer_encoding = true;
        for coding in list(value) {
            if self.chunked {
                return Err(Error::InvalidTransferEncoding);
            }
            if coding.eq_ignore_ascii_case(b"chunked") {
                self.chunked = true;
            } else {
                self.unknown_coding = true;
            }
        }
        Ok(())
    }

    fn add_connection(&mut self, value: &[u8]) {
        for option in list(value) {
            self.close |= option.eq_ignore_ascii_case(b"close");
            self.keep_alive |= option.eq_ignore_ascii_case(b"keep-alive");
        }
    }

    fn add_expect(&mut self, value: &[u8]) -> Result<(), Error> {
        if !value.eq_ignore_ascii_case(b"100-continue") {
            return Err(Error::UnsupportedExpectation);
        }
        self.expect_continue = true;
        Ok(())
    }

    /// Transfer-Encoding beats Content-Length, and having both is refused (RFC 9112 §6.3).
    fn framing(&self, limits: &Limits) -> Result<BodyFraming, Error> {
        if self.transfer_encoding {
            if self.content_length.is_some() {
                return Err(Error::LengthWithTransferEncoding);
            }
            if self.unknown_coding {
                return Err(Error::UnsupportedTransferCoding);
            }
            if !self.chunked {
                return Err(Error::InvalidTransferEncoding);
            }
            return Ok(BodyFraming::Chunked);
        }
        match self.content_length {
            Some(length) if length > limits.max_body => Err(Error::BodyTooLarge),
            Some(0) | None => Ok(BodyFraming::Empty),
            Some(length) => Ok(BodyFraming::Length(length)),
        }
    }
}

/// The non-empty elements of a comma-separated list, whitespace trimmed.
fn list(value: &[u8]) -> impl Iterator<Item = &[u8]> {
    value
        .split(|&b| b == b',')
        .map(super::request::trim)
        .filter(|item| !item.is_empty())
}

/// Checks a Host value against RFC 3986's `host [":" port]` (RFC 9112 §3.2 answers any other
/// with 400). An empty value is valid: it is what a client sends for a target without an
/// authority. IP literals are checked for their character set only.
fn check_host(value: &[u8]) -> Result<(), Error> {
    let (host, port) = match value.strip_prefix(b"[") {
        Some(literal) => {
            let end = literal
                .iter()
                .position(|&b| b == b']')
                .ok_or(Error::InvalidHost)?;
            let (inside, rest) = (&literal[..end], &literal[end + 1..]);
            if inside.is_empty() || !inside.iter().all(|&b| is_ip_literal_byte(b)) {
                return Err(Error::InvalidHost);
            }
            (&[][..], rest)
        }
        None => {
            let end = value.iter().position(|&b| b == b':').unwrap_or(value.len());
            (&value[..end], &value[end..])
        }
    };
    let port_ok = match port.split_first() {
        None => true,
        Some((b':', digits)) => digits.iter().all(u8::is_ascii_digit),
        Some(_) => false,
    };
    if port_ok && is_reg_name(host) {
        Ok(())
    } else {
        Err(Error::InvalidHost)
    }
}

/// RFC 3986 `reg-name` (which also covers `IPv4address`): unreserved, sub-delims and
/// `%` followed by two hex digits.
fn is_reg_name(host: &[u8]) -> bool {
    let mut i = 0;
    while let Some(&b) = host.get(i) {
        if b == b'%' {
            match host.get(i + 1..i + 3) {
                Some(hex) if hex.iter().all(u8::is_ascii_hexdigit) => i += 3,
                _ => return false,
            }
        } else if is_unreserved(b) || is_sub_delim(b) {
            i += 1;
        } else {
            return false;
        }
    }
    true
}

/// What may stand between the brackets of an `IP-literal` (IPv6 or IPvFuture).
fn is_ip_literal_byte(b: u8) -> bool {
    is_unreserved(b) || is_sub_delim(b) || b == b':'
}

fn is_unreserved(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~')
}

fn is_sub_delim(b: u8) -> bool {
    matches!(
        b,
        b'!' | b'$' | b'&' | b'\'' | b'(' | b')' | b'*' | b'+' | b',' | b';' | b'='
    )
}

/// `Content-Length = 1*DIGIT`, checked for overflow. No sign, no spaces, no lists.
pub(crate) fn parse_content_length(value: &[u8]) -> Result<u64, Error> {
    if value.is_empty() {
        return Err(Error::InvalidContentLength);
    }
    value.iter().try_fold(0u64, |length, &b| {
        let digit = match b {
            b'0'..=b'9' => u64::from(b - b'0'),
            _ => return Err(Error::InvalidContentLength),
        };
        length
            .checked_mul(10)
            .and_then(|l| l.checked_add(digit))
            .ok_or(Error::InvalidContentLength)
    })
}
