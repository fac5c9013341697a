//! ZMTP frame headers (RFC 23/ZMTP, "Framing").
//!
//! A frame is a flags byte, a size (one byte, or eight big-endian bytes when the LONG flag is
//! set), then the body. This module decodes and encodes headers only; the session decides what a
//! frame means and hands bodies on without copying them.

use bytes::BufMut;

/// More frames of the same message follow.
pub const MORE: u8 = 0x01;
/// The size is eight bytes long.
pub const LONG: u8 = 0x02;
/// The frame is a command, not message data.
pub const COMMAND: u8 = 0x04;

/// The longest header: flags plus an eight-byte size.
pub const MAX_HEADER_LEN: usize = 9;

/// A decoded frame header.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// The flags byte as received, less the LONG bit (an encoding detail); reserved bits are
    /// kept but carry no meaning.
    pub flags: u8,
    /// The body size claimed by the peer. Nothing is allocated from it up front.
    pub size: u64,
}

impl FrameHeader {
    /// A data frame header; `more` sets the MORE flag.
    pub fn data(size: usize, more: bool) -> FrameHeader {
        FrameHeader {
            flags: if more { MORE } else { 0 },
            size: size as u64,
        }
    }

    /// A command frame header.
    pub fn command(size: usize) -> FrameHeader {
        FrameHeader {
            flags: COMMAND,
            size: size as u64,
        }
    }

    /// True when more frames of the same message follow.
    pub fn more(&self) -> bool {
        self.flags & MORE != 0
    }

    /// True for a command frame.
    pub fn is_command(&self) -> bool {
        self.flags & COMMAND != 0
    }

    /// Decodes a header from the start of `buf`: the header and its length, or `None` while
    /// more bytes are needed. Any size is accepted here; limits belong to the caller. A long
    /// size is accepted for a small body, as libzmq does.
    pub fn decode(buf: &[u8]) -> Option<(FrameHeader, usize)> {
        let &flags = buf.first()?;
        if flags & LONG == 0 {
            let &size = buf.get(1)?;
            return Some((
                FrameHeader {
                    flags,
                    size: u64::from(size),
                },
                2,
            ));
        }
        let size: [u8; 8] = buf.get(1..MAX_HEADER_LEN)?.try_into().ok()?;
        let flags = flags & !LONG;
        Some((
            FrameHeader {
                flags,
                size: u64::from_be_bytes(size),
            },
            MAX_HEADER_LEN,
        ))
    }

    /// The encoded length: 2 for bodies up to 255 bytes, else 9.
    pub fn encoded_len(&self) -> usize {
        if self.size <= 255 { 2 } else { MAX_HEADER_LEN }
    }

    /// Encodes the header, choosing the short form whenever the size fits. Reserved flag bits
    /// and any LONG bit in `flags` are recomputed, never copied.
    pub fn encode(&self, out: &mut impl BufMut) {
        let flags = self.flags & (MORE | COMMAND);
        match u8::try_from(self.size) {
            Ok(size) => {
                out.put_u8(flags);
                out.put_u8(size);
            }
            Err(_) => {
                out.put_u8(flags | LONG);
                out.put_u64(self.size);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(h: FrameHeader) -> Vec<u8> {
        let mut out = Vec::new();
        h.encode(&mut out);
        out
    }

    #[test]
    fn short_and_long_round_trip() {
        for (size, len) in [
            (0usize, 2),
            (1, 2),
            (255, 2),
            (256, 9),
            (65_536, 9),
            (1 << 33, 9),
        ] {
            let h = FrameHeader::data(size, true);
            let bytes = encoded(h);
            assert_eq!(bytes.len(), len);
            assert_eq!(h.encoded_len(), len);
            assert_eq!(FrameHeader::decode(&bytes), Some((h, len)));
            for n in 0..len {
                assert_eq!(
                    FrameHeader::decode(&bytes[..n]),
                    None,
                    "prefix {n} of {size}"
                );
            }
        }
    }

    #[test]
    fn long_size_for_small_body_is_accepted() {
        let bytes = [LONG, 0, 0, 0, 0, 0, 0, 0, 3];
        assert_eq!(
            FrameHeader::decode(&bytes),
            Some((FrameHeader { flags: 0, size: 3 }, 9))
        );
    }

    #[test]
    fn reserved_bits_tolerated_on_receive_and_cleared_on_send() {
        let (h, _) = FrameHeader::decode(&[0xf1, 4]).unwrap();
        assert!(h.more() && !h.is_command());
        assert_eq!(encoded(h), [MORE, 4]);
    }

    #[test]
    fn command_header() {
        let h = FrameHeader::command(300);
        assert!(h.is_command() && !h.more());
        assert_eq!(encoded(h)[0], COMMAND | LONG);
    }
}
