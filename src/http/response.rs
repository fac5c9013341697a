//! Responses: what a handler builds, and how its head is encoded (RFC 9112 §4, §6.2).
//!
//! The head is written into a caller's `BytesMut`; the body stays a separate `Bytes` so the
//! reactor can write both with one vectored write and no copy.

use super::date::HttpDate;
use super::error::Error;
use bytes::{BufMut, Bytes, BytesMut};

/// The interim response sent before reading a body the client is waiting to send.
pub const CONTINUE: &[u8] = b"HTTP/1.1 100 Continue\r\n\r\n";

/// A final response to one request.
///
/// Content-Length, Date and Connection are written by palm; a handler sets the rest.
#[derive(Clone, Debug)]
pub struct Response {
    status: u16,
    content_type: Option<Bytes>,
    // TODO: a small inline array, so a response with a few extra fields does not allocate.
    headers: Vec<(Bytes, Bytes)>,
    body: Bytes,
    close: bool,
}

impl Response {
    /// A response with `status` (200-999; anything else becomes 500) and an empty body.
    pub fn new(status: u16) -> Self {
        let status = if (200..=999).contains(&status) {
            status
        } else {
            500
        };
        Response {
            status,
            content_type: None,
            headers: Vec::new(),
            body: Bytes::new(),
            close: false,
        }
    }

    /// The response that answers a rejected request: its status, a short text body, close.
    pub fn error(error: Error) -> Self {
        Response::new(error.status())
            .content_type(Bytes::from_static(b"text/plain"))
            .body(Bytes::from_static(error.as_str().as_bytes()))
            .close()
    }

    /// Sets the body; `Content-Length` follows from it.
    pub fn body(mut self, body: impl Into<Bytes>) -> Self {
        self.body = body.into();
        self
    }

    /// Sets `Content-Type` (no allocation for a `&'static` value).
    pub fn content_type(mut self, value: impl Into<Bytes>) -> Self {
        let value = value.into();
        if valid_value(&value) {
            self.content_type = Some(value);
        }
        self
    }

    /// Adds a header field. Fields that palm writes itself (Content-Length, Transfer-Encoding,
    /// Date, Connection) and names or values that are not valid are ignored, except that
    /// `Connection: close` asks for [`close`](Self::close). The first added field allocates.
    pub fn header(mut self, name: impl Into<Bytes>, value: impl Into<Bytes>) -> Self {
        let (name, value) = (name.into(), value.into());
        if name.eq_ignore_ascii_case(b"connection") {
            self.close |= value.eq_ignore_ascii_case(b"close");
        } else if !reserved(&name) && valid_name(&name) && valid_value(&value) {
            self.headers.push((name, value));
        } else {
            log::debug!("http: dropping response header field");
        }
        self
    }

    /// Closes the connection after this response.
    pub fn close(mut self) -> Self {
        self.close = true;
        self
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The body.
    pub fn body_bytes(&self) -> &Bytes {
        &self.body
    }

    /// Whether the connection closes after this response.
    pub fn closes(&self) -> bool {
        self.close
    }

    /// Whether this status carries no content and no Content-Length (RFC 9110 §8.6).
    fn bodiless(&self) -> bool {
        self.status == 204 || self.status == 304
    }

    /// The body to send for a request (nothing for HEAD, 204 and 304), moved out.
    pub(crate) fn into_body_to_send(self, head_request: bool) -> Option<Bytes> {
        let send = !head_request && !self.bodiless() && !self.body.is_empty();
        send.then_some(self.body)
    }

    /// Writes the status line and header section into `dst`.
    pub fn encode_head(&self, encoding: HeadEncoding, date: &HttpDate, dst: &mut BytesMut) {
        dst.reserve(128);
        dst.put_slice(b"HTTP/1.1 ");
        put_decimal(dst, u64::from(self.status));
        dst.put_u8(b' ');
        dst.put_slice(reason(self.status).as_bytes());
        dst.put_slice(b"\r\nDate: ");
        dst.put_slice(date.as_bytes());
        if !self.bodiless() {
            dst.put_slice(b"\r\nContent-Length: ");
            put_decimal(dst, self.body.len() as u64);
        }
        if let Some(value) = &self.content_type {
            put_field(dst, b"Content-Type", value);
        }
        for (name, value) in &self.headers {
            put_field(dst, name, value);
        }
        if encoding.close || self.close {
            dst.put_slice(b"\r\nConnection: close");
        } else if encoding.keep_alive_header {
            dst.put_slice(b"\r\nConnection: keep-alive");
        }
        dst.put_slice(b"\r\n\r\n");
    }
}

// TODO: streamed (chunked) response bodies through Connection; today a handler answers with
// a whole body, and only the chunk encoder helpers exist for a later streaming API.
/// Per-request choices for encoding a response head.
#[derive(Clone, Copy, Debug, Default)]
pub struct HeadEncoding {
    /// Write `Connection: close`.
    pub close: bool,
    /// Write `Connection: keep-alive` (an HTTP/1.0 client that asked for it).
    pub keep_alive_header: bool,
}

fn put_field(dst: &mut BytesMut, name: &[u8], value: &[u8]) {
    dst.put_slice(b"\r\n");
    dst.put_slice(name);
    dst.put_slice(b": ");
    dst.put_slice(value);
}

/// Writes `value` in decimal without going through `fmt`.
pub(crate) fn put_decimal(dst: &mut BytesMut, value: u64) {
    let mut digits = [0u8; 20];
    let mut at = digits.len();
    let mut rest = value;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b'0' + (rest % 10) as u8;
        }
        rest /= 10;
        if rest == 0 || at == 0 {
            break;
        }
    }
    dst.put_slice(digits.get(at..).unwrap_or_default());
}

fn reserved(name: &[u8]) -> bool {
    [&b"content-length"[..], b"transfer-encoding", b"date"]
        .iter()
        .any(|reserved| name.eq_ignore_ascii_case(reserved))
}

/// `token` (RFC 9110 §5.6.2).
fn valid_name(name: &[u8]) -> bool {
    let tchar = |b: &u8| b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(b);
    !name.is_empty() && name.iter().all(tchar)
}

/// Visible characters, SP, HTAB and obs-text; no CR, LF or NUL (no response splitting).
fn valid_value(value: &[u8]) -> bool {
    value
        .iter()
        .all(|&b| b == b'\t' || (b' '..=b'~').contains(&b) || b >= 0x80)
}

/// The reason phrase of a status code (RFC 9110 §15), empty when palm does not know one.
pub fn reason(status: u16) -> &'static str {
    match status {
        100 => "Continue",
        101 => "Switching Protocols",
        200 => "OK",
        201 => "Created",
        202 => "Accepted",
        203 => "Non-Authoritative Information",
        204 => "No Content",
        206 => "Partial Content",
        301 => "Moved Permanently",
        302 => "Found",
        303 => "See Other",
        304 => "Not Modified",
        307 => "Temporary Redirect",
        308 => "Permanent Redirect",
        _ => client_error_reason(status),
    }
}

fn client_error_reason(status: u16) -> &'static str {
    match status {
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        406 => "Not Acceptable",
        408 => "Request Timeout",
        409 => "Conflict",
        410 => "Gone",
        411 => "Length Required",
        412 => "Precondition Failed",
        413 => "Content Too Large",
        414 => "URI Too Long",
        415 => "Unsupported Media Type",
        416 => "Range Not Satisfiable",
        417 => "Expectation Failed",
        421 => "Misdirected Request",
        422 => "Unprocessable Content",
        426 => "Upgrade Required",
        429 => "Too Many Requests",
        431 => "Request Header Fields Too Large",
        _ => server_error_reason(status),
    }
}

fn server_error_reason(status: u16) -> &'static str {
    match status {
        500 => "Internal Server Error",
        501 => "Not Implemented",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        505 => "HTTP Version Not Supported",
        _ => "",
    }
}
