//! The chunked transfer coding (RFC 9112 §7.1): an in-place decoder and encoder helpers.
//!
//! The decoder removes the framing inside the read buffer: chunk data is moved down over the
//! chunk-size lines already read, so the decoded body ends up contiguous at the front of the
//! buffer and is handed on with `split_to().freeze()`, without a second buffer.
//! Chunk-size lines must end in CRLF; bare LF or CR is refused there, since framing is where
//! lenient parsing lets requests be smuggled.

use super::Limits;
use super::error::Error;
use bytes::{BufMut, Bytes, BytesMut};

/// At most this many hex digits (leading zeros included) in a chunk size.
const MAX_SIZE_DIGITS: u32 = 32;
/// Hard upper bound on [`Limits::max_trailers`]: the size of the on-stack field array.
pub const MAX_TRAILERS_CAP: usize = 64;

/// Ends a chunk's data: write it after each chunk's data.
pub const CHUNK_END: &[u8] = b"\r\n";
/// The last chunk with an empty trailer section: ends a chunked body.
pub const LAST_CHUNK: &[u8] = b"0\r\n\r\n";

/// Writes the chunk-size line for a chunk of `len` bytes (`len` must not be 0: that is
/// [`LAST_CHUNK`]); the caller then writes the data and [`CHUNK_END`].
pub fn encode_chunk_header(len: usize, dst: &mut BytesMut) {
    let mut digits = [0u8; 16];
    let mut at = digits.len();
    let mut rest = len;
    loop {
        at -= 1;
        if let Some(d) = digits.get_mut(at) {
            *d = b"0123456789abcdef".get(rest % 16).copied().unwrap_or(b'0');
        }
        rest /= 16;
        if rest == 0 || at == 0 {
            break;
        }
    }
    dst.put_slice(digits.get(at..).unwrap_or_default());
    dst.put_slice(b"\r\n");
}

/// Writes one whole chunk (size line, copy of `data`, CRLF); nothing for empty data.
pub fn encode_chunk(data: &[u8], dst: &mut BytesMut) {
    if data.is_empty() {
        return;
    }
    encode_chunk_header(data.len(), dst);
    dst.put_slice(data);
    dst.put_slice(CHUNK_END);
}

/// What the decoder expects next.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Expect {
    /// Hex digits of chunk-size.
    Size,
    /// Whitespace before a `;` chunk extension.
    ExtensionSpace,
    /// Chunk extension bytes up to CR.
    Extension,
    /// The LF ending the chunk-size line.
    SizeLf,
    /// Chunk data.
    Data,
    /// The CR after chunk data.
    DataCr,
    /// The LF after chunk data.
    DataLf,
    /// The trailer section, up to and including its empty line.
    Trailers,
}

/// Decodes a chunked body at the front of a buffer, in place.
#[derive(Clone, Debug)]
pub(crate) struct ChunkedDecoder {
    expect: Expect,
    /// Decoded body bytes at the front of the buffer.
    decoded: usize,
    /// Next undecoded byte in the buffer.
    pos: usize,
    /// The chunk size being read, then the data left in this chunk.
    size: u64,
    digits: u32,
    extension: usize,
    /// Body bytes announced so far, checked against the limit.
    total: u64,
}

/// A decoded chunked body and its raw trailer section (empty when there is none).
pub(crate) struct Decoded {
    pub(crate) body: Bytes,
    pub(crate) trailers: Bytes,
}

impl ChunkedDecoder {
    /// A decoder at the start of a chunked body.
    pub(crate) fn new() -> Self {
        ChunkedDecoder {
            expect: Expect::Size,
            decoded: 0,
            pos: 0,
            size: 0,
            digits: 0,
            extension: 0,
            total: 0,
        }
    }

    /// Decodes what `buf` holds; `Ok(None)` means more bytes are needed. On success the
    /// whole encoded body has been split off the front of `buf`.
    pub(crate) fn decode(
        &mut self,
        buf: &mut BytesMut,
        limits: &Limits,
    ) -> Result<Option<Decoded>, Error> {
        loop {
            match self.expect {
                Expect::Data => {
                    if !self.copy_data(buf) {
                        break;
                    }
                }
                Expect::Trailers => match self.trailer_end(buf, limits)? {
                    Some(end) => return Ok(Some(self.finish(buf, end))),
                    None => break,
                },
                _ => {
                    let Some(&byte) = buf.get(self.pos) else {
                        break;
                    };
                    self.pos += 1;
                    self.step(byte, limits)?;
                }
            }
        }
        self.compact(buf);
        Ok(None)
    }

    /// Whether no body bytes have been seen yet.
    pub(crate) fn at_start(&self) -> bool {
        self.pos == 0 && self.expect == Expect::Size
    }

    fn step(&mut self, byte: u8, limits: &Limits) -> Result<(), Error> {
        self.expect = match (self.expect, byte) {
            (Expect::Size, _) if byte.is_ascii_hexdigit() => self.size_digit(byte)?,
            (Expect::Size, _) if self.digits == 0 => return Err(Error::MalformedChunk),
            (Expect::Size, _) => self.size_end(byte, limits)?,
            (Expect::ExtensionSpace, b' ' | b'\t') => self.extension_byte(limits)?,
            (Expect::ExtensionSpace, b';') => Expect::Extension,
            (Expect::ExtensionSpace | Expect::Extension, b'\r') => Expect::SizeLf,
            (Expect::Extension, b'\t' | b' '..=b'~' | 0x80..=0xff) => {
                self.extension_byte(limits)?
            }
            (Expect::SizeLf, b'\n') if self.size == 0 => Expect::Trailers,
            (Expect::SizeLf, b'\n') => Expect::Data,
            (Expect::DataCr, b'\r') => Expect::DataLf,
            (Expect::DataLf, b'\n') => self.next_chunk(),
            _ => return Err(Error::MalformedChunk),
        };
        Ok(())
    }

    fn size_digit(&mut self, byte: u8) -> Result<Expect, Error> {
        let value = u64::from(char::from(byte).to_digit(16).unwrap_or(0));
        self.digits += 1;
        if self.digits > MAX_SIZE_DIGITS {
            return Err(Error::MalformedChunk);
        }
        let size = self.size.checked_mul(16).and_then(|s| s.checked_add(value));
        self.size = size.ok_or(Error::ChunkSizeOverflow)?;
        Ok(Expect::Size)
    }

    /// The first byte after the hex digits: the size is known, so check it against the limit.
    fn size_end(&mut self, byte: u8, limits: &Limits) -> Result<Expect, Error> {
        let total = self
            .total
            .checked_add(self.size)
            .ok_or(Error::BodyTooLarge)?;
        if total > limits.max_body {
            return Err(Error::BodyTooLarge);
        }
        self.total = total;
        match byte {
            b'\r' => Ok(Expect::SizeLf),
            b';' => Ok(Expect::Extension),
            b' ' | b'\t' => self.extension_byte(limits).map(|_| Expect::ExtensionSpace),
            _ => Err(Error::MalformedChunk),
        }
    }

    fn extension_byte(&mut self, limits: &Limits) -> Result<Expect, Error> {
        self.extension += 1;
        if self.extension > limits.max_chunk_extension {
            return Err(Error::ChunkExtensionTooLong);
        }
        Ok(self.expect)
    }

    fn next_chunk(&mut self) -> Expect {
        self.size = 0;
        self.digits = 0;
        self.extension = 0;
        Expect::Size
    }

    /// Moves available chunk data down to the decoded prefix; true when the chunk is done.
    fn copy_data(&mut self, buf: &mut BytesMut) -> bool {
        let available = buf.len().saturating_sub(self.pos);
        let take = usize::try_from(self.size)
            .unwrap_or(usize::MAX)
            .min(available);
        if self.pos != self.decoded {
            buf.copy_within(self.pos..self.pos + take, self.decoded);
        }
        self.decoded += take;
        self.pos += take;
        self.size -= take as u64;
        if self.size == 0 {
            self.expect = Expect::DataCr;
        }
        self.size == 0
    }

    /// Offset just past the trailer section, once it is all in `buf`.
    fn trailer_end(&self, buf: &[u8], limits: &Limits) -> Result<Option<usize>, Error> {
        let rest = buf.get(self.pos..).unwrap_or_default();
        if rest.starts_with(b"\r\n") {
            return Ok(Some(self.pos + 2));
        }
        if bare_lf(rest) {
            return Err(Error::MalformedTrailer);
        }
        let Some(at) = rest.windows(4).position(|w| w == b"\r\n\r\n") else {
            if rest.len() > limits.max_trailer_size {
                return Err(Error::TrailersTooLarge);
            }
            return Ok(None);
        };
        let section = rest.get(..at + 4).unwrap_or_default();
        if section.len() > limits.max_trailer_size {
            return Err(Error::TrailersTooLarge);
        }
        check_trailers(section, limits)?;
        Ok(Some(self.pos + section.len()))
    }

    /// Splits the body (and trailer section, moved next to it) off the front of `buf`.
    fn finish(&mut self, buf: &mut BytesMut, end: usize) -> Decoded {
        let trailers = end.saturating_sub(self.pos);
        if self.pos != self.decoded {
            buf.copy_within(self.pos..end, self.decoded);
        }
        let mut all = buf.split_to(end);
        all.truncate(self.decoded + trailers);
        let all = all.freeze();
        let body = all.slice(..self.decoded);
        let trailers = all.slice(self.decoded..);
        *self = ChunkedDecoder::new();
        Decoded { body, trailers }
    }

    /// Drops the framing already read, keeping decoded data and the unread tail.
    fn compact(&mut self, buf: &mut BytesMut) {
        if self.pos == self.decoded {
            return;
        }
        let tail = buf.len().saturating_sub(self.pos);
        buf.copy_within(self.pos.., self.decoded);
        buf.truncate(self.decoded + tail);
        self.pos = self.decoded;
    }
}

/// Whether a line ends in LF without CR (a line end the trailer section does not accept).
fn bare_lf(bytes: &[u8]) -> bool {
    bytes.starts_with(b"\n")
        || bytes
            .windows(2)
            .any(|w| matches!(w, [b, b'\n'] if *b != b'\r'))
}

/// Validates a complete trailer section (fields then the empty line).
fn check_trailers(section: &[u8], limits: &Limits) -> Result<(), Error> {
    let mut fields = [httparse::EMPTY_HEADER; MAX_TRAILERS_CAP];
    let count = limits.max_trailers.min(MAX_TRAILERS_CAP);
    let fields = fields.get_mut(..count).unwrap_or_default();
    match httparse::parse_headers(section, fields) {
        Ok(httparse::Status::Complete((len, _))) if len == section.len() => Ok(()),
        Err(httparse::Error::TooManyHeaders) => Err(Error::TrailersTooLarge),
        _ => Err(Error::MalformedTrailer),
    }
}
