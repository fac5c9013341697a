//! The HTTP layer's error type: what was wrong with a request, and which status answers it.
//!
//! Every variant is a peer-supplied problem. "Need more bytes" is never an error: decoders return
//! `Ok(None)` for it. A [`Connection`](super::Connection) answers an error with
//! [`Error::status`] and then closes.

use std::fmt;

/// A request the server refuses, with the status code that answers it.
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Error {
    /// The request line or a header field is not valid HTTP/1.1 syntax (400).
    MalformedHead,
    /// The request head is larger than [`Limits::max_head`](super::Limits::max_head) (431).
    HeadTooLarge,
    /// The request has more header fields than [`Limits::max_headers`](super::Limits) (431).
    TooManyHeaders,
    /// The request-target is longer than [`Limits::max_target`](super::Limits) (414).
    TargetTooLong,
    /// The request names an HTTP version other than 1.0 or 1.1 (505).
    UnsupportedVersion,
    /// An HTTP/1.1 request carries no Host header field (400).
    MissingHost,
    /// The request carries more than one Host header field (400).
    DuplicateHost,
    /// The Host value is not `host [":" port]` as RFC 3986 spells them (400).
    InvalidHost,
    /// A Content-Length value is not a plain decimal number (400).
    InvalidContentLength,
    /// Several Content-Length values disagree (400).
    ConflictingContentLength,
    /// Both Transfer-Encoding and Content-Length are present (400): a smuggling attempt.
    LengthWithTransferEncoding,
    /// Transfer-Encoding is empty, repeats `chunked`, or does not end with `chunked` (400).
    InvalidTransferEncoding,
    /// Transfer-Encoding names a coding other than `chunked` (501).
    UnsupportedTransferCoding,
    /// Expect names an expectation other than `100-continue` (417).
    UnsupportedExpectation,
    /// The body is larger than [`Limits::max_body`](super::Limits) (413).
    BodyTooLarge,
    /// A chunk-size line or the CRLF after chunk data is malformed (400).
    MalformedChunk,
    /// A chunk size does not fit in 64 bits (400).
    ChunkSizeOverflow,
    /// A chunk extension is longer than [`Limits::max_chunk_extension`](super::Limits) (400).
    ChunkExtensionTooLong,
    /// The trailer section is malformed (400).
    MalformedTrailer,
    /// The trailer section is larger or has more fields than the limits allow (431).
    TrailersTooLarge,
}

impl Error {
    /// The status code of the response that answers this error.
    pub fn status(self) -> u16 {
        match self {
            Error::HeadTooLarge | Error::TooManyHeaders | Error::TrailersTooLarge => 431,
            Error::TargetTooLong => 414,
            Error::UnsupportedVersion => 505,
            Error::UnsupportedTransferCoding => 501,
            Error::UnsupportedExpectation => 417,
            Error::BodyTooLarge => 413,
            _ => 400,
        }
    }

    /// A short lowercase description, the same text as `Display`.
    pub fn as_str(self) -> &'static str {
        match self {
            Error::MalformedHead => "malformed request head",
            Error::HeadTooLarge => "request head too large",
            Error::TooManyHeaders => "too many header fields",
            Error::TargetTooLong => "request-target too long",
            Error::UnsupportedVersion => "unsupported http version",
            Error::MissingHost => "missing host header field",
            Error::DuplicateHost => "more than one host header field",
            Error::InvalidHost => "invalid host header field value",
            Error::InvalidContentLength => "invalid content-length",
            Error::ConflictingContentLength => "conflicting content-length values",
            Error::LengthWithTransferEncoding => "both content-length and transfer-encoding",
            Error::InvalidTransferEncoding => "invalid transfer-encoding",
            Error::UnsupportedTransferCoding => "unsupported transfer coding",
            Error::UnsupportedExpectation => "unsupported expectation",
            Error::BodyTooLarge => "request body too large",
            Error::MalformedChunk => "malformed chunk",
            Error::ChunkSizeOverflow => "chunk size overflows",
            Error::ChunkExtensionTooLong => "chunk extension too long",
            Error::MalformedTrailer => "malformed trailer section",
            Error::TrailersTooLarge => "trailer section too large",
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::error::Error for Error {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses() {
        assert_eq!(Error::MalformedHead.status(), 400);
        assert_eq!(Error::HeadTooLarge.status(), 431);
        assert_eq!(Error::TooManyHeaders.status(), 431);
        assert_eq!(Error::TargetTooLong.status(), 414);
        assert_eq!(Error::UnsupportedVersion.status(), 505);
        assert_eq!(Error::UnsupportedTransferCoding.status(), 501);
        assert_eq!(Error::BodyTooLarge.status(), 413);
        assert_eq!(Error::LengthWithTransferEncoding.status(), 400);
        assert_eq!(Error::BodyTooLarge.to_string(), "request body too large");
    }
}
