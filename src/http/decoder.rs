//! A stream of requests out of one read buffer: head, then body by its framing, then the next.
//!
//! [`Decoder`] knows nothing of responses, keep-alive or time; [`Connection`](super::Connection)
//! drives it. It splits each request off the buffer as frozen `Bytes` (zero copy).

use super::Limits;
use super::chunked::ChunkedDecoder;
use super::error::Error;
use super::head::{Head, HeadScan, decode_head};
use super::request::{BodyFraming, Request, RequestId};
use bytes::{Bytes, BytesMut};

/// Where the decoder is in the request stream (RFC 9112 §6).
#[derive(Debug)]
enum Reading {
    /// Waiting for (the rest of) a request head.
    Head(HeadScan),
    /// Head decoded; reading `remaining` bytes of a Content-Length body.
    Length(Request, usize),
    /// Head decoded; reading a chunked body.
    Chunked(Request, ChunkedDecoder),
}

/// Decodes successive requests from a buffer the caller fills.
///
/// The request whose body is being read is kept inline (no allocation per request).
#[derive(Debug)]
pub struct Decoder {
    limits: Limits,
    reading: Reading,
}

impl Decoder {
    /// A decoder expecting a request head.
    pub fn new(limits: Limits) -> Self {
        Decoder {
            limits,
            reading: Reading::Head(HeadScan::default()),
        }
    }

    /// The limits this decoder enforces.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// Decodes the next complete request at the front of `buf`, splitting its bytes off.
    ///
    /// `Ok(None)` means more bytes are needed; after an error the stream cannot be resynced.
    /// The returned request has id 0; [`Connection`](super::Connection) numbers them.
    pub fn decode(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, Error> {
        if let Reading::Head(scan) = &mut self.reading {
            let Some(head) = decode_head(buf, &self.limits, scan)? else {
                return Ok(None);
            };
            *scan = HeadScan::default();
            let request = request(head, buf.split_to(head.len).freeze());
            self.reading = match request.framing {
                BodyFraming::Empty => return Ok(Some(request)),
                BodyFraming::Length(n) => {
                    let n = usize::try_from(n).map_err(|_| Error::BodyTooLarge)?;
                    Reading::Length(request, n)
                }
                BodyFraming::Chunked => Reading::Chunked(request, ChunkedDecoder::new()),
            };
        }
        self.decode_body(buf)
    }

    // TODO: offer large bodies to the handler in pieces instead of buffering them whole;
    // today a connection may buffer up to Limits::max_body, which bounds but does not
    // minimise memory for big uploads.
    fn decode_body(&mut self, buf: &mut BytesMut) -> Result<Option<Request>, Error> {
        let (body, trailers) = match &mut self.reading {
            Reading::Head(_) => return Ok(None),
            Reading::Length(_, n) if buf.len() < *n => return Ok(None),
            Reading::Length(_, n) => (buf.split_to(*n).freeze(), Bytes::new()),
            Reading::Chunked(_, chunked) => match chunked.decode(buf, &self.limits)? {
                Some(decoded) => (decoded.body, decoded.trailers),
                None => return Ok(None),
            },
        };
        let reading = std::mem::replace(&mut self.reading, Reading::Head(HeadScan::default()));
        let (Reading::Length(mut request, _) | Reading::Chunked(mut request, _)) = reading else {
            return Ok(None);
        };
        request.body = body;
        request.trailers = trailers;
        Ok(Some(request))
    }

    /// Whether a head has been decoded and its body is being read.
    pub fn in_body(&self) -> bool {
        !matches!(self.reading, Reading::Head(_))
    }

    /// The head whose body is being read, if any.
    pub fn pending_head(&self) -> Option<&Request> {
        match &self.reading {
            Reading::Head(_) => None,
            Reading::Length(request, _) | Reading::Chunked(request, _) => Some(request),
        }
    }

    /// Whether a body is being read and none of it has arrived yet.
    pub fn body_not_started(&self, buf: &[u8]) -> bool {
        match &self.reading {
            Reading::Head(_) => false,
            Reading::Length(..) => buf.is_empty(),
            Reading::Chunked(_, chunked) => chunked.at_start() && buf.is_empty(),
        }
    }

    /// Forgets any partly decoded request and expects a head again.
    pub fn reset(&mut self) {
        self.reading = Reading::Head(HeadScan::default());
    }
}

fn request(head: Head, bytes: Bytes) -> Request {
    Request {
        id: RequestId(0),
        head: bytes,
        method: head.method,
        target: head.target,
        fields: head.fields,
        version: head.version,
        framing: head.meaning.framing,
        keep_alive: head.meaning.keep_alive,
        expects_continue: head.meaning.expects_continue,
        body: Bytes::new(),
        trailers: Bytes::new(),
    }
}
