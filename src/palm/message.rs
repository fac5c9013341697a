//! `PalmMessage`, the one message type of pylm's wire protocol, encoded and decoded by hand.
//!
//! pylm defines it in protobuf 3 (`messages.proto`): `pipeline` string = 1, `client` string = 2,
//! `stage` int64 = 3, `function` string = 4, `cache` string = 5, `payload` bytes = 6. This
//! module is a sans-IO codec for exactly that message: [`PalmMessage::decode`] takes a frame
//! body and slices the fields out of it without copying, [`PalmMessage::encode`] writes into a
//! buffer the caller owns and produces the same bytes as Python protobuf's
//! `SerializeToString()` (fields in number order, proto3 defaults omitted). What a message
//! means — routing by `client`, cache verbs in `function` — is left to the services.
//!
//! Decoding follows protobuf's rules as pylm's Python protobuf applies them: fields in any
//! order, a repeated field keeps its last value, unknown fields (and known field numbers with an
//! unexpected wire type) are skipped by wire type. It is stricter in three places, each an
//! error: string fields must be valid UTF-8 (Python rejects them too), a varint whose value does
//! not fit in 64 bits is rejected (Python silently drops the high bits), and the deprecated
//! group wire types 3 and 4 are rejected (Python skips well-formed groups).

use std::fmt;

use bytes::{BufMut, Bytes, BytesMut};

/// Field numbers of PalmMessage.
const PIPELINE: u64 = 1;
const CLIENT: u64 = 2;
const STAGE: u64 = 3;
const FUNCTION: u64 = 4;
const CACHE: u64 = 5;
const PAYLOAD: u64 = 6;

const WIRE_VARINT: u8 = 0;
const WIRE_FIXED64: u8 = 1;
const WIRE_LEN: u8 = 2;
const WIRE_GROUP_START: u8 = 3;
const WIRE_GROUP_END: u8 = 4;
const WIRE_FIXED32: u8 = 5;

/// The longest varint: ten bytes carry 64 bits.
const MAX_VARINT_LEN: usize = 10;

/// Bytes that are valid UTF-8: the type of PalmMessage's string fields.
///
/// It wraps [`Bytes`], so a field decoded from a frame shares the frame's memory. Every
/// constructor checks (or is given) valid UTF-8, so the encoder never emits a string field
/// that Python protobuf would refuse to parse.
#[derive(Clone, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Utf8Bytes(Bytes);

impl Utf8Bytes {
    /// The empty string.
    pub const fn new() -> Utf8Bytes {
        Utf8Bytes(Bytes::new())
    }

    /// Wraps a static string without copying it.
    pub const fn from_static(s: &'static str) -> Utf8Bytes {
        Utf8Bytes(Bytes::from_static(s.as_bytes()))
    }

    /// Checks that `bytes` are UTF-8 and wraps them without copying.
    pub fn from_utf8(bytes: Bytes) -> Result<Utf8Bytes, std::str::Utf8Error> {
        std::str::from_utf8(&bytes)?;
        Ok(Utf8Bytes(bytes))
    }

    /// Copies `s` into a new buffer.
    pub fn copy_from_str(s: &str) -> Utf8Bytes {
        Utf8Bytes(Bytes::copy_from_slice(s.as_bytes()))
    }

    /// The string. It re-checks the UTF-8 (linear in the length) rather than use `unsafe`; the
    /// check cannot fail, and an empty string would be returned if it ever did.
    pub fn as_str(&self) -> &str {
        std::str::from_utf8(&self.0).unwrap_or_default()
    }

    /// The UTF-8 bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The underlying buffer.
    pub fn into_bytes(self) -> Bytes {
        self.0
    }

    /// Length in bytes.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// True for the empty string (proto3's default, which is never encoded).
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Utf8Bytes {
    fn from(s: String) -> Utf8Bytes {
        Utf8Bytes(Bytes::from(s))
    }
}

impl From<&'static str> for Utf8Bytes {
    fn from(s: &'static str) -> Utf8Bytes {
        Utf8Bytes::from_static(s)
    }
}

impl From<Utf8Bytes> for Bytes {
    fn from(s: Utf8Bytes) -> Bytes {
        s.0
    }
}

impl PartialEq<str> for Utf8Bytes {
    fn eq(&self, other: &str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl PartialEq<&str> for Utf8Bytes {
    fn eq(&self, other: &&str) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl fmt::Display for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl fmt::Debug for Utf8Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Debug::fmt(self.as_str(), f)
    }
}

/// pylm's message: who asked (`client`), what to run (`function`), where in a pipeline it is
/// (`stage`), and the data (`payload`).
///
/// `Debug` prints the payload's length only, so that a message can be logged without its data.
///
/// ```
/// use bytes::{Bytes, BytesMut};
/// use palm::palm::message::PalmMessage;
///
/// let msg = PalmMessage {
///     function: "_.function".into(),
///     payload: Bytes::from_static(b"hello"),
///     ..PalmMessage::default()
/// };
/// let mut buf = BytesMut::new();
/// msg.encode(&mut buf);
/// assert_eq!(buf.len(), msg.encoded_len());
/// assert_eq!(PalmMessage::decode(buf.freeze()), Ok(msg));
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct PalmMessage {
    /// Field 1: the id of the job or pipeline run this message belongs to.
    pub pipeline: Utf8Bytes,
    /// Field 2: the id of the party waiting for the reply (HTTP request, pylm client).
    pub client: Utf8Bytes,
    /// Field 3: the step of a multi-function pipeline (an index into `function`'s words).
    pub stage: i64,
    /// Field 4: `server.function`, or several of them separated by spaces for a pipeline.
    pub function: Utf8Bytes,
    /// Field 5: a cache key (the key to set, for the cache service's `set`).
    pub cache: Utf8Bytes,
    /// Field 6: the data.
    pub payload: Bytes,
}

impl fmt::Debug for PalmMessage {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PalmMessage")
            .field("pipeline", &self.pipeline)
            .field("client", &self.client)
            .field("stage", &self.stage)
            .field("function", &self.function)
            .field("cache", &self.cache)
            .field("payload_len", &self.payload.len())
            .finish()
    }
}

/// Why a buffer is not a valid PalmMessage. Offsets count bytes from the start of the buffer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ends inside the varint or fixed-size value that starts at `offset`.
    Truncated {
        /// Where the cut value starts.
        offset: usize,
    },
    /// The varint at `offset` is longer than ten bytes or its value does not fit in 64 bits.
    VarintOverflow {
        /// Where the varint starts.
        offset: usize,
    },
    /// The length-delimited field whose length varint is at `offset` claims more bytes than
    /// remain in the input.
    LengthOutOfBounds {
        /// Where the length varint starts.
        offset: usize,
        /// The claimed length.
        length: u64,
    },
    /// The tag at `offset` names field number 0, which protobuf forbids.
    FieldNumberZero {
        /// Where the tag starts.
        offset: usize,
    },
    /// The tag at `offset` uses a deprecated group wire type (3 or 4), which palm does not skip.
    Group {
        /// Where the tag starts.
        offset: usize,
    },
    /// The tag at `offset` uses wire type 6 or 7, which do not exist.
    InvalidWireType {
        /// Where the tag starts.
        offset: usize,
        /// The wire type found.
        wire_type: u8,
    },
    /// The string field whose value starts at `offset` is not valid UTF-8.
    InvalidUtf8 {
        /// The field's name.
        field: &'static str,
        /// Where the value starts.
        offset: usize,
    },
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            DecodeError::Truncated { offset } => {
                write!(f, "input ends inside the value at offset {offset}")
            }
            DecodeError::VarintOverflow { offset } => {
                write!(f, "varint at offset {offset} overflows 64 bits")
            }
            DecodeError::LengthOutOfBounds { offset, length } => write!(
                f,
                "length {length} at offset {offset} runs past the end of the input"
            ),
            DecodeError::FieldNumberZero { offset } => {
                write!(f, "tag at offset {offset} has field number 0")
            }
            DecodeError::Group { offset } => {
                write!(
                    f,
                    "tag at offset {offset} starts or ends a group, which is unsupported"
                )
            }
            DecodeError::InvalidWireType { offset, wire_type } => {
                write!(
                    f,
                    "tag at offset {offset} has invalid wire type {wire_type}"
                )
            }
            DecodeError::InvalidUtf8 { field, offset } => {
                write!(
                    f,
                    "string field {field} at offset {offset} is not valid utf-8"
                )
            }
        }
    }
}

impl std::error::Error for DecodeError {}

impl PalmMessage {
    /// Decodes a whole buffer (a frame body). String and bytes fields are slices of `buf`: no
    /// copy, no allocation. Claimed lengths are checked against the input before use.
    pub fn decode(buf: Bytes) -> Result<PalmMessage, DecodeError> {
        let mut msg = PalmMessage::default();
        let mut reader = Reader { buf: &buf, pos: 0 };
        while !reader.at_end() {
            let tag_offset = reader.pos;
            let (field, wire_type) = reader.tag()?;
            match (field, wire_type) {
                (PIPELINE, WIRE_LEN) => msg.pipeline = reader.string("pipeline")?,
                (CLIENT, WIRE_LEN) => msg.client = reader.string("client")?,
                (STAGE, WIRE_VARINT) => msg.stage = reader.varint()? as i64,
                (FUNCTION, WIRE_LEN) => msg.function = reader.string("function")?,
                (CACHE, WIRE_LEN) => msg.cache = reader.string("cache")?,
                (PAYLOAD, WIRE_LEN) => msg.payload = reader.bytes()?,
                _ => reader.skip(wire_type, tag_offset)?,
            }
        }
        Ok(msg)
    }

    /// The exact number of bytes [`encode`](PalmMessage::encode) writes.
    pub fn encoded_len(&self) -> usize {
        let strings = [&self.pipeline, &self.client, &self.function, &self.cache];
        let strings: usize = strings.iter().map(|s| len_field_len(s.len())).sum();
        let stage = if self.stage == 0 {
            0
        } else {
            1 + varint_len(self.stage as u64)
        };
        strings + stage + len_field_len(self.payload.len())
    }

    /// Appends the encoding to `buf`, reserving [`encoded_len`](PalmMessage::encoded_len) bytes
    /// once. Fields go in field-number order and empty or zero fields are left out, as
    /// protobuf does, so the bytes match Python's `SerializeToString()`.
    pub fn encode(&self, buf: &mut BytesMut) {
        buf.reserve(self.encoded_len());
        put_len_field(buf, PIPELINE, self.pipeline.as_bytes());
        put_len_field(buf, CLIENT, self.client.as_bytes());
        if self.stage != 0 {
            put_varint(buf, STAGE << 3 | u64::from(WIRE_VARINT));
            // Negative numbers take ten bytes: int64 is sign-extended to 64 bits, not zigzagged.
            put_varint(buf, self.stage as u64);
        }
        put_len_field(buf, FUNCTION, self.function.as_bytes());
        put_len_field(buf, CACHE, self.cache.as_bytes());
        put_len_field(buf, PAYLOAD, &self.payload);
    }

    /// Encodes into a new buffer of exactly the right size.
    pub fn to_bytes(&self) -> Bytes {
        let mut buf = BytesMut::with_capacity(self.encoded_len());
        self.encode(&mut buf);
        buf.freeze()
    }
}

/// A position in the input; every read is bounds-checked and says where it failed.
struct Reader<'a> {
    buf: &'a Bytes,
    pos: usize,
}

impl Reader<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.buf.len()
    }

    fn remaining(&self) -> usize {
        self.buf.len().saturating_sub(self.pos)
    }

    /// Reads a tag: (field number, wire type). Tags wider than 32 bits are accepted, as Python
    /// protobuf accepts them; such fields are unknown and skipped.
    fn tag(&mut self) -> Result<(u64, u8), DecodeError> {
        let offset = self.pos;
        let tag = self.varint()?;
        let field = tag >> 3;
        if field == 0 {
            return Err(DecodeError::FieldNumberZero { offset });
        }
        Ok((field, (tag & 7) as u8))
    }

    /// Reads a varint of at most ten bytes whose value fits in 64 bits.
    fn varint(&mut self) -> Result<u64, DecodeError> {
        let offset = self.pos;
        let mut value: u64 = 0;
        for i in 0..MAX_VARINT_LEN {
            let index = offset
                .checked_add(i)
                .ok_or(DecodeError::Truncated { offset })?;
            let &byte = self
                .buf
                .get(index)
                .ok_or(DecodeError::Truncated { offset })?;
            // The tenth byte holds bit 63 only.
            if i == MAX_VARINT_LEN - 1 && byte > 1 {
                return Err(DecodeError::VarintOverflow { offset });
            }
            value |= u64::from(byte & 0x7f) << (7 * i);
            if byte & 0x80 == 0 {
                self.pos = index + 1;
                return Ok(value);
            }
        }
        Err(DecodeError::VarintOverflow { offset })
    }

    /// Reads a length varint and returns the range of the value that follows, checked against
    /// the input; nothing is allocated from the claimed length.
    fn len_delimited(&mut self) -> Result<std::ops::Range<usize>, DecodeError> {
        let offset = self.pos;
        let length = self.varint()?;
        let out_of_bounds = DecodeError::LengthOutOfBounds { offset, length };
        let len = usize::try_from(length).map_err(|_| out_of_bounds)?;
        if len > self.remaining() {
            return Err(out_of_bounds);
        }
        let start = self.pos;
        self.pos = start + len;
        Ok(start..self.pos)
    }

    /// Reads a length-delimited value as a slice of the input.
    fn bytes(&mut self) -> Result<Bytes, DecodeError> {
        let range = self.len_delimited()?;
        Ok(self.buf.slice(range))
    }

    /// Reads a length-delimited value that must be UTF-8, for the string field `field`.
    fn string(&mut self, field: &'static str) -> Result<Utf8Bytes, DecodeError> {
        let range = self.len_delimited()?;
        let offset = range.start;
        Utf8Bytes::from_utf8(self.buf.slice(range))
            .map_err(|_| DecodeError::InvalidUtf8 { field, offset })
    }

    /// Advances past `n` bytes of a fixed-size value.
    fn fixed(&mut self, n: usize) -> Result<(), DecodeError> {
        if n > self.remaining() {
            return Err(DecodeError::Truncated { offset: self.pos });
        }
        self.pos += n;
        Ok(())
    }

    /// Skips the value of an unknown field (or of a known one with an unexpected wire type).
    fn skip(&mut self, wire_type: u8, tag_offset: usize) -> Result<(), DecodeError> {
        match wire_type {
            WIRE_VARINT => self.varint().map(drop),
            WIRE_FIXED64 => self.fixed(8),
            WIRE_LEN => self.len_delimited().map(drop),
            WIRE_FIXED32 => self.fixed(4),
            WIRE_GROUP_START | WIRE_GROUP_END => Err(DecodeError::Group { offset: tag_offset }),
            _ => Err(DecodeError::InvalidWireType {
                offset: tag_offset,
                wire_type,
            }),
        }
    }
}

/// Bytes taken by a varint holding `value`.
fn varint_len(value: u64) -> usize {
    let bits = 64 - (value | 1).leading_zeros() as usize;
    bits.div_ceil(7)
}

/// Bytes taken by a length-delimited field with a one-byte tag; 0 when the value is empty
/// (proto3 leaves it out).
fn len_field_len(len: usize) -> usize {
    if len == 0 {
        0
    } else {
        1 + varint_len(len as u64) + len
    }
}

fn put_varint(buf: &mut BytesMut, mut value: u64) {
    while value >= 0x80 {
        buf.put_u8((value as u8 & 0x7f) | 0x80);
        value >>= 7;
    }
    buf.put_u8(value as u8);
}

fn put_len_field(buf: &mut BytesMut, field: u64, value: &[u8]) {
    if value.is_empty() {
        return;
    }
    put_varint(buf, field << 3 | u64::from(WIRE_LEN));
    put_varint(buf, value.len() as u64);
    buf.put_slice(value);
}

/// Generates uuid4 strings (`xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx`, lowercase hex), the ids
/// pylm puts in `pipeline`, `client` and `cache` and hands out as cache keys.
///
/// The 122 random bits come from SplitMix64, seeded once from std's per-process random hash
/// keys, the clock, the process id, a counter and an address. It is **not** cryptographic:
/// the ids are predictable to whoever sees a few of them and must not be used as secrets or
/// capabilities. They only need to be unique, and they collide about as rarely as random
/// 122-bit values, unless two generators get the same 64-bit seed.
#[derive(Clone, Debug)]
pub struct Uuid4Generator {
    state: u64,
}

impl Uuid4Generator {
    /// A generator seeded from the process's entropy (see the type's docs).
    pub fn new() -> Uuid4Generator {
        Uuid4Generator::from_seed(entropy_seed())
    }

    /// A generator with a fixed seed, for tests and reproducible runs.
    pub fn from_seed(seed: u64) -> Uuid4Generator {
        Uuid4Generator { state: seed }
    }

    /// The next id as 36 ASCII bytes, to be written into a buffer without allocating.
    pub fn next_ascii(&mut self) -> [u8; 36] {
        let mut raw = [0u8; 16];
        raw[..8].copy_from_slice(&self.next_u64().to_le_bytes());
        raw[8..].copy_from_slice(&self.next_u64().to_le_bytes());
        raw[6] = (raw[6] & 0x0f) | 0x40; // version 4
        raw[8] = (raw[8] & 0x3f) | 0x80; // variant 10 (RFC 4122)
        format_uuid(&raw)
    }

    /// The next id as a string in a new buffer.
    pub fn next_string(&mut self) -> Utf8Bytes {
        let ascii = self.next_ascii();
        // Hex digits and hyphens are ASCII, so this conversion cannot fail.
        Utf8Bytes::from_utf8(Bytes::copy_from_slice(&ascii)).unwrap_or_default()
    }

    /// SplitMix64 (Steele, Lea and Flood, 2014).
    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

impl Default for Uuid4Generator {
    fn default() -> Uuid4Generator {
        Uuid4Generator::new()
    }
}

/// Mixes what a process can learn without a dependency: std's `RandomState` keys (random per
/// process), the time, the pid, a per-process counter and the address of a local.
fn entropy_seed() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    use std::sync::atomic::{AtomicU64, Ordering};
    static COUNTER: AtomicU64 = AtomicU64::new(0);
    let mut hasher = std::collections::hash_map::RandomState::new().build_hasher();
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH);
    hasher.write_u128(now.map(|d| d.as_nanos()).unwrap_or_default());
    hasher.write_u32(std::process::id());
    hasher.write_u64(COUNTER.fetch_add(1, Ordering::Relaxed));
    let local = 0u8;
    hasher.write_usize(std::ptr::addr_of!(local) as usize);
    hasher.finish()
}

/// Formats 16 bytes as 8-4-4-4-12 lowercase hex.
fn format_uuid(raw: &[u8; 16]) -> [u8; 36] {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let mut out = [b'-'; 36];
    let mut pos = 0;
    for (i, byte) in raw.iter().enumerate() {
        if matches!(i, 4 | 6 | 8 | 10) {
            pos += 1; // keep the hyphen
        }
        out[pos] = HEX[usize::from(byte >> 4)];
        out[pos + 1] = HEX[usize::from(byte & 0x0f)];
        pos += 2;
    }
    out
}

/// Fuzzing entry point: decodes arbitrary bytes and, when they decode, checks that encoding
/// gives a buffer that decodes to the same message and re-encodes to the same bytes.
#[doc(hidden)]
pub fn fuzz_decode(data: &[u8]) {
    let Ok(msg) = PalmMessage::decode(Bytes::copy_from_slice(data)) else {
        return;
    };
    let encoded = msg.to_bytes();
    assert_eq!(encoded.len(), msg.encoded_len());
    let again = PalmMessage::decode(encoded.clone());
    assert_eq!(again.as_ref(), Ok(&msg));
    if let Ok(again) = again {
        assert_eq!(again.to_bytes(), encoded);
    }
    // A canonical encoding is never longer than what it was decoded from.
    assert!(encoded.len() <= data.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full() -> PalmMessage {
        PalmMessage {
            pipeline: "pipe".into(),
            client: "client-1".into(),
            stage: 3,
            function: "_.function".into(),
            cache: "key".into(),
            payload: Bytes::from_static(b"\x00\x01payload\xff"),
        }
    }

    fn round_trip(msg: &PalmMessage) -> Bytes {
        let bytes = msg.to_bytes();
        assert_eq!(bytes.len(), msg.encoded_len());
        assert_eq!(PalmMessage::decode(bytes.clone()).as_ref(), Ok(msg));
        bytes
    }

    #[test]
    fn empty_message_encodes_to_nothing() {
        assert!(round_trip(&PalmMessage::default()).is_empty());
    }

    #[test]
    fn full_message_round_trips_in_field_order() {
        let bytes = round_trip(&full());
        let expected: &[u8] = b"\x0a\x04pipe\x12\x08client-1\x18\x03\x22\x0a_.function\
            \x2a\x03key\x32\x0a\x00\x01payload\xff";
        assert_eq!(&bytes[..], expected);
    }

    #[test]
    fn negative_stage_takes_ten_bytes() {
        let msg = PalmMessage {
            stage: -1,
            ..PalmMessage::default()
        };
        let bytes = round_trip(&msg);
        assert_eq!(&bytes[..], b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
        let min = PalmMessage {
            stage: i64::MIN,
            ..PalmMessage::default()
        };
        assert_eq!(round_trip(&min).len(), 11);
    }

    #[test]
    fn stage_extremes_and_boundaries_round_trip() {
        for stage in [
            1,
            127,
            128,
            16_383,
            16_384,
            1 << 40,
            i64::MAX,
            -2,
            i64::MIN + 1,
        ] {
            round_trip(&PalmMessage {
                stage,
                ..PalmMessage::default()
            });
        }
    }

    #[test]
    fn long_fields_use_multi_byte_lengths() {
        let payload = Bytes::from(vec![7u8; 100_000]);
        let msg = PalmMessage { payload, ..full() };
        round_trip(&msg);
    }

    #[test]
    fn decoded_fields_share_the_input_buffer() {
        let bytes = full().to_bytes();
        let msg = PalmMessage::decode(bytes.clone()).unwrap();
        let range = bytes.as_ptr_range();
        assert!(range.contains(&msg.payload.as_ptr()));
        assert!(range.contains(&msg.function.as_bytes().as_ptr()));
    }

    /// The messages made of the first 0..=6 fields of `msg`, in field order.
    fn field_prefixes(msg: &PalmMessage) -> Vec<PalmMessage> {
        let mut prefixes = vec![PalmMessage::default()];
        let mut m = PalmMessage {
            pipeline: msg.pipeline.clone(),
            ..PalmMessage::default()
        };
        prefixes.push(m.clone());
        m.client = msg.client.clone();
        prefixes.push(m.clone());
        m.stage = msg.stage;
        prefixes.push(m.clone());
        m.function = msg.function.clone();
        prefixes.push(m.clone());
        m.cache = msg.cache.clone();
        prefixes.push(m.clone());
        m.payload = msg.payload.clone();
        prefixes.push(m);
        prefixes
    }

    #[test]
    fn every_truncation_inside_a_field_is_an_error() {
        for msg in [
            full(),
            PalmMessage {
                stage: -5,
                ..full()
            },
        ] {
            let bytes = msg.to_bytes();
            let boundaries = field_prefixes(&msg);
            for len in 0..=bytes.len() {
                let decoded = PalmMessage::decode(bytes.slice(..len));
                match boundaries.iter().find(|m| m.encoded_len() == len) {
                    Some(prefix) => assert_eq!(decoded.as_ref(), Ok(prefix), "prefix {len}"),
                    None => assert!(decoded.is_err(), "prefix of {len} bytes decoded"),
                }
            }
        }
    }

    #[test]
    fn truncation_errors_name_the_offset() {
        let err = PalmMessage::decode(Bytes::from_static(b"\x0a\x05ab")).unwrap_err();
        assert_eq!(
            err,
            DecodeError::LengthOutOfBounds {
                offset: 1,
                length: 5
            }
        );
        let err = PalmMessage::decode(Bytes::from_static(b"\x0a\x01a\x18\x80")).unwrap_err();
        assert_eq!(err, DecodeError::Truncated { offset: 4 });
        let err = PalmMessage::decode(Bytes::from_static(b"\x09\x00\x00")).unwrap_err();
        assert_eq!(err, DecodeError::Truncated { offset: 1 });
    }

    #[test]
    fn fields_in_any_order() {
        let bytes = Bytes::from_static(b"\x32\x01p\x18\x07\x0a\x01a");
        let msg = PalmMessage::decode(bytes).unwrap();
        assert_eq!(msg.payload, &b"p"[..]);
        assert_eq!(msg.stage, 7);
        assert_eq!(msg.pipeline, "a");
    }

    #[test]
    fn repeated_fields_last_wins() {
        let bytes = Bytes::from_static(b"\x22\x03a.b\x18\x01\x22\x05_.get\x18\x02\x32\x00");
        let msg = PalmMessage::decode(bytes).unwrap();
        assert_eq!(msg.function, "_.get");
        assert_eq!(msg.stage, 2);
        assert!(msg.payload.is_empty());
    }

    #[test]
    fn unknown_fields_are_skipped_by_wire_type() {
        // field 7 varint, field 8 fixed64, field 9 len, field 10 fixed32, field 100 len
        let bytes = Bytes::from_static(
            b"\x38\x96\x01\x41\x01\x02\x03\x04\x05\x06\x07\x08\x4a\x02zz\
              \x55\x01\x02\x03\x04\xa2\x06\x01q\x22\x01f",
        );
        let msg = PalmMessage::decode(bytes).unwrap();
        assert_eq!(
            msg,
            PalmMessage {
                function: "f".into(),
                ..PalmMessage::default()
            }
        );
    }

    #[test]
    fn known_field_with_other_wire_type_is_skipped() {
        // stage as a len field, pipeline as a varint: Python protobuf treats both as unknown.
        let bytes = Bytes::from_static(b"\x1a\x01x\x08\x05\x18\x02");
        let msg = PalmMessage::decode(bytes).unwrap();
        assert_eq!(
            msg,
            PalmMessage {
                stage: 2,
                ..PalmMessage::default()
            }
        );
    }

    #[test]
    fn overlong_varints_are_rejected() {
        let eleven = Bytes::from_static(b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
        let err = PalmMessage::decode(eleven).unwrap_err();
        assert_eq!(err, DecodeError::VarintOverflow { offset: 1 });
        let too_big = Bytes::from_static(b"\x18\xff\xff\xff\xff\xff\xff\xff\xff\xff\x02");
        let err = PalmMessage::decode(too_big).unwrap_err();
        assert_eq!(err, DecodeError::VarintOverflow { offset: 1 });
        let huge_len = Bytes::from_static(b"\x32\xff\xff\xff\xff\xff\xff\xff\xff\xff\x01");
        assert!(matches!(
            PalmMessage::decode(huge_len),
            Err(DecodeError::LengthOutOfBounds { offset: 1, .. })
        ));
    }

    #[test]
    fn non_canonical_varints_are_accepted() {
        let bytes = Bytes::from_static(b"\x18\x81\x80\x80\x00");
        assert_eq!(PalmMessage::decode(bytes).unwrap().stage, 1);
    }

    #[test]
    fn bad_tags_are_rejected() {
        let cases: [(&'static [u8], DecodeError); 5] = [
            (b"\x00\x01", DecodeError::FieldNumberZero { offset: 0 }),
            (b"\x0a\x00\x0b\x0c", DecodeError::Group { offset: 2 }),
            (b"\x0c", DecodeError::Group { offset: 0 }),
            (
                b"\x0e",
                DecodeError::InvalidWireType {
                    offset: 0,
                    wire_type: 6,
                },
            ),
            (
                b"\x0f",
                DecodeError::InvalidWireType {
                    offset: 0,
                    wire_type: 7,
                },
            ),
        ];
        for (input, expected) in cases {
            assert_eq!(
                PalmMessage::decode(Bytes::from_static(input)),
                Err(expected)
            );
        }
    }

    #[test]
    fn invalid_utf8_is_rejected_in_strings_only() {
        let err = PalmMessage::decode(Bytes::from_static(b"\x18\x01\x12\x01\xff")).unwrap_err();
        assert_eq!(
            err,
            DecodeError::InvalidUtf8 {
                field: "client",
                offset: 4
            }
        );
        assert_eq!(
            err.to_string(),
            "string field client at offset 4 is not valid utf-8"
        );
        let msg = PalmMessage::decode(Bytes::from_static(b"\x32\x01\xff")).unwrap();
        assert_eq!(msg.payload, &b"\xff"[..]);
    }

    #[test]
    fn unicode_strings_round_trip() {
        let msg = PalmMessage {
            pipeline: Utf8Bytes::copy_from_str("ñandú 🦀"),
            function: "_.función".into(),
            ..PalmMessage::default()
        };
        round_trip(&msg);
    }

    #[test]
    fn debug_leaves_the_payload_out() {
        let text = format!("{:?}", full());
        assert!(text.contains("payload_len: 10"));
        assert!(!text.contains("payload\\"));
    }

    #[test]
    fn varint_len_matches_encoding() {
        for value in [
            0,
            1,
            127,
            128,
            300,
            u64::from(u32::MAX),
            1 << 56,
            1 << 63,
            u64::MAX,
        ] {
            let mut buf = BytesMut::new();
            put_varint(&mut buf, value);
            assert_eq!(buf.len(), varint_len(value), "value {value}");
            let buf = buf.freeze();
            let mut reader = Reader { buf: &buf, pos: 0 };
            assert_eq!(reader.varint(), Ok(value));
        }
    }

    fn assert_uuid4(id: &str) {
        assert_eq!(id.len(), 36, "{id}");
        for (i, c) in id.chars().enumerate() {
            if matches!(i, 8 | 13 | 18 | 23) {
                assert_eq!(c, '-', "{id}");
            } else {
                assert!(c.is_ascii_digit() || ('a'..='f').contains(&c), "{id}");
            }
        }
        assert_eq!(&id[14..15], "4", "version nibble of {id}");
        assert!(
            matches!(&id[19..20], "8" | "9" | "a" | "b"),
            "variant bits of {id}"
        );
    }

    #[test]
    fn uuid4_format() {
        let mut ids = Uuid4Generator::new();
        for _ in 0..1000 {
            assert_uuid4(ids.next_string().as_str());
        }
        let mut fixed = Uuid4Generator::from_seed(0);
        let first = fixed.next_string();
        assert_uuid4(first.as_str());
        assert_eq!(Uuid4Generator::from_seed(0).next_string(), first);
    }

    #[test]
    fn uuid4_ids_are_unique() {
        let mut seen = std::collections::HashSet::new();
        let mut a = Uuid4Generator::new();
        let mut b = Uuid4Generator::new();
        for _ in 0..10_000 {
            assert!(seen.insert(a.next_ascii()));
            assert!(seen.insert(b.next_ascii()));
        }
    }

    #[test]
    fn over_long_tags_are_read_by_number() {
        // Pure-Python protobuf matches tags by their bytes and would skip this as unknown.
        let msg = PalmMessage::decode(Bytes::from_static(b"\x98\x00\x05")).unwrap();
        assert_eq!(msg.stage, 5);
    }

    #[test]
    fn fuzz_corpus_passes() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/fuzz/corpus/palm_message");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).unwrap() {
            fuzz_decode(&std::fs::read(entry.unwrap().path()).unwrap());
            seen += 1;
        }
        assert!(seen > 10);
    }

    #[test]
    fn fuzz_entry_point_accepts_anything() {
        let inputs: [&[u8]; 6] = [
            b"",
            b"\x0a\x01a\x0a\x01b",
            b"\x38\x00\x22\x02_.",
            b"\x18\x80\x80\x80\x80\x80\x80\x80\x80\x80\x01",
            b"\xff\xff",
            b"\x32\x05abc",
        ];
        for input in inputs {
            fuzz_decode(input);
        }
        fuzz_decode(&full().to_bytes());
    }
}
