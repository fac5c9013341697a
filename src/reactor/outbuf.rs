//! Output queued for one connection and written with vectored writes.
//!
//! Frame headers and small bodies are copied into one staging buffer, so a burst of small
//! messages leaves in a single `write`. Bodies of [`ZERO_COPY_MIN`] bytes or more are not
//! copied: they are queued as their own segment and go out in the same `writev` as the
//! headers around them.

use std::collections::VecDeque;
use std::io::{self, IoSlice, Write};

use bytes::{Buf, Bytes, BytesMut};

use crate::zmtp::{FrameHeader, Msg};

/// Bodies this large are written from the caller's buffer instead of being copied.
pub const ZERO_COPY_MIN: usize = 8 * 1024;

/// The most segments handed to one `writev`.
const MAX_IOVECS: usize = 64;

/// Bytes queued for one connection, in order: whole segments, then the staging buffer.
#[derive(Debug, Default)]
pub struct OutBuf {
    segments: VecDeque<Bytes>,
    staging: BytesMut,
    /// Bytes held in `segments`.
    segment_bytes: usize,
}

impl OutBuf {
    /// Bytes waiting to be written.
    pub fn len(&self) -> usize {
        self.segment_bytes + self.staging.len()
    }

    /// True when nothing waits to be written.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The staging buffer, for protocol code that appends bytes (greetings, commands).
    pub fn staging(&mut self) -> &mut BytesMut {
        &mut self.staging
    }

    /// Queues a message's frames: headers copied, large bodies referenced.
    pub fn push_msg(&mut self, msg: &Msg) {
        let frames = msg.frames();
        for (i, body) in frames.iter().enumerate() {
            FrameHeader::data(body.len(), i + 1 < frames.len()).encode(&mut self.staging);
            if body.len() < ZERO_COPY_MIN {
                self.staging.extend_from_slice(body);
            } else {
                self.push_segment(body.clone());
            }
        }
    }

    /// Queues a body as its own segment after everything staged so far.
    fn push_segment(&mut self, body: Bytes) {
        if !self.staging.is_empty() {
            let staged = self.staging.split().freeze();
            self.segment_bytes += staged.len();
            self.segments.push_back(staged);
        }
        self.segment_bytes += body.len();
        self.segments.push_back(body);
    }

    /// Writes as much as the writer takes. Returns the bytes written; stops early (without
    /// error) on `WouldBlock`.
    pub fn write_to(&mut self, w: &mut impl Write) -> io::Result<usize> {
        let mut written = 0;
        while !self.is_empty() {
            let result = if self.segments.is_empty() {
                w.write(&self.staging)
            } else {
                self.write_vectored(w)
            };
            match result {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => {
                    self.consume(n);
                    written += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
        Ok(written)
    }

    fn write_vectored(&self, w: &mut impl Write) -> io::Result<usize> {
        let mut iov = [IoSlice::new(&[]); MAX_IOVECS];
        let mut n = 0;
        for segment in self.segments.iter().take(MAX_IOVECS) {
            iov[n] = IoSlice::new(segment);
            n += 1;
        }
        if n < MAX_IOVECS && !self.staging.is_empty() {
            iov[n] = IoSlice::new(&self.staging);
            n += 1;
        }
        w.write_vectored(&iov[..n])
    }

    /// Drops `n` written bytes from the front.
    fn consume(&mut self, mut n: usize) {
        while n > 0 {
            let Some(front) = self.segments.front_mut() else {
                self.staging.advance(n);
                return;
            };
            let take = n.min(front.len());
            front.advance(take);
            self.segment_bytes -= take;
            n -= take;
            if front.is_empty() {
                self.segments.pop_front();
            }
        }
    }

    /// Drops everything queued.
    pub fn clear(&mut self) {
        self.segments.clear();
        self.staging.clear();
        self.segment_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A writer that takes at most `limit` bytes per call, then blocks after `calls` calls.
    struct Trickle {
        got: Vec<u8>,
        limit: usize,
        calls: usize,
    }

    impl Write for Trickle {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.calls == 0 {
                return Err(io::ErrorKind::WouldBlock.into());
            }
            self.calls -= 1;
            let n = buf.len().min(self.limit);
            self.got.extend_from_slice(&buf[..n]);
            Ok(n)
        }

        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn encoded(msgs: &[Msg]) -> Vec<u8> {
        let mut out = BytesMut::new();
        for msg in msgs {
            let frames = msg.frames();
            for (i, f) in frames.iter().enumerate() {
                FrameHeader::data(f.len(), i + 1 < frames.len()).encode(&mut out);
                out.extend_from_slice(f);
            }
        }
        out.to_vec()
    }

    #[test]
    fn small_and_large_frames_keep_their_order_across_partial_writes() {
        let big = Bytes::from(vec![9u8; ZERO_COPY_MIN * 3]);
        let msgs = [
            Msg::from(&b"a"[..]),
            [
                Bytes::from_static(b"hdr"),
                big.clone(),
                Bytes::from_static(b"t"),
            ]
            .into_iter()
            .collect(),
            Msg::from(big),
            Msg::from(&b"z"[..]),
        ];
        let mut out = OutBuf::default();
        msgs.iter().for_each(|m| out.push_msg(m));
        let want = encoded(&msgs);
        assert_eq!(out.len(), want.len());
        let mut w = Trickle {
            got: Vec::new(),
            limit: 1000,
            calls: 3,
        };
        let first = out.write_to(&mut w).unwrap();
        assert!(
            first > 1000 && first <= 3000,
            "three partial writes, then WouldBlock"
        );
        assert_eq!(out.len(), want.len() - first);
        w.calls = usize::MAX;
        out.write_to(&mut w).unwrap();
        assert_eq!(w.got, want);
        assert!(out.is_empty());
    }
}
