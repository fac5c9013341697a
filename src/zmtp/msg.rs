//! Multipart messages: an ordered list of [`Bytes`] frames.
//!
//! Most ZeroMQ messages have one to three frames (a body; a delimiter and a body; a routing id,
//! a delimiter and a body), so [`Msg`] keeps up to three frames inline and only spills to the
//! heap beyond that. Cloning a frame never copies its bytes.

use bytes::Bytes;

/// How many frames a message holds before it spills to the heap.
const INLINE: usize = 3;

/// A multipart message: one or more frames, sent and received whole.
#[derive(Clone, Default)]
pub struct Msg {
    repr: Repr,
}

#[derive(Clone)]
enum Repr {
    Inline { frames: [Bytes; INLINE], len: u8 },
    Heap(Vec<Bytes>),
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Inline {
            frames: Default::default(),
            len: 0,
        }
    }
}

impl Msg {
    /// An empty message with no frames.
    pub const fn new() -> Msg {
        Msg {
            repr: Repr::Inline {
                frames: [Bytes::new(), Bytes::new(), Bytes::new()],
                len: 0,
            },
        }
    }

    /// A message of one frame.
    pub fn single(frame: Bytes) -> Msg {
        Msg {
            repr: Repr::Inline {
                frames: [frame, Bytes::new(), Bytes::new()],
                len: 1,
            },
        }
    }

    /// The number of frames.
    pub fn len(&self) -> usize {
        self.frames().len()
    }

    /// True when the message has no frames.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The frames in order.
    pub fn frames(&self) -> &[Bytes] {
        match &self.repr {
            Repr::Inline { frames, len } => &frames[..usize::from(*len)],
            Repr::Heap(frames) => frames,
        }
    }

    /// The frame at `index`, if there is one.
    pub fn get(&self, index: usize) -> Option<&Bytes> {
        self.frames().get(index)
    }

    /// The total number of body bytes over all frames.
    pub fn size(&self) -> usize {
        self.frames().iter().map(Bytes::len).sum()
    }

    /// Appends a frame.
    pub fn push(&mut self, frame: impl Into<Bytes>) {
        let frame = frame.into();
        match &mut self.repr {
            Repr::Inline { frames, len } if usize::from(*len) < INLINE => {
                frames[usize::from(*len)] = frame;
                *len += 1;
            }
            Repr::Inline { frames, .. } => {
                let mut heap = Vec::with_capacity(INLINE * 2);
                heap.extend(frames.iter_mut().map(std::mem::take));
                heap.push(frame);
                self.repr = Repr::Heap(heap);
            }
            Repr::Heap(frames) => frames.push(frame),
        }
    }

    /// Puts a frame before the first one (a routing id, say).
    pub fn push_front(&mut self, frame: impl Into<Bytes>) {
        self.push(frame);
        match &mut self.repr {
            Repr::Inline { frames, len } => frames[..usize::from(*len)].rotate_right(1),
            Repr::Heap(frames) => frames.rotate_right(1),
        }
    }

    /// Removes and returns the first frame.
    pub fn pop_front(&mut self) -> Option<Bytes> {
        match &mut self.repr {
            Repr::Inline { len: 0, .. } => None,
            Repr::Inline { frames, len } => {
                let first = std::mem::take(&mut frames[0]);
                frames[..usize::from(*len)].rotate_left(1);
                *len -= 1;
                Some(first)
            }
            Repr::Heap(frames) if frames.is_empty() => None,
            Repr::Heap(frames) => Some(frames.remove(0)),
        }
    }

    /// Removes every frame, keeping any heap storage for reuse.
    pub fn clear(&mut self) {
        match &mut self.repr {
            Repr::Inline { frames, len } => {
                frames.iter_mut().for_each(|f| *f = Bytes::new());
                *len = 0;
            }
            Repr::Heap(frames) => frames.clear(),
        }
    }
}

/// Messages are equal when their frames are, however they are stored.
impl PartialEq for Msg {
    fn eq(&self, other: &Msg) -> bool {
        self.frames() == other.frames()
    }
}

impl Eq for Msg {}

impl From<Bytes> for Msg {
    fn from(frame: Bytes) -> Msg {
        Msg::single(frame)
    }
}

impl From<&'static [u8]> for Msg {
    fn from(frame: &'static [u8]) -> Msg {
        Msg::from(Bytes::from_static(frame))
    }
}

impl From<&'static str> for Msg {
    fn from(frame: &'static str) -> Msg {
        Msg::from(Bytes::from_static(frame.as_bytes()))
    }
}

impl From<String> for Msg {
    fn from(frame: String) -> Msg {
        Msg::from(Bytes::from(frame))
    }
}

impl From<Vec<u8>> for Msg {
    fn from(frame: Vec<u8>) -> Msg {
        Msg::from(Bytes::from(frame))
    }
}

impl<F: Into<Bytes>> FromIterator<F> for Msg {
    fn from_iter<I: IntoIterator<Item = F>>(iter: I) -> Msg {
        let mut msg = Msg::new();
        iter.into_iter().for_each(|frame| msg.push(frame));
        msg
    }
}

impl std::fmt::Debug for Msg {
    /// Shows frame sizes only: payloads never reach logs.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let sizes = self.frames().iter().map(Bytes::len);
        f.debug_struct("Msg")
            .field("frame_sizes", &sizes.collect::<Vec<_>>())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(msg: &Msg) -> Vec<&[u8]> {
        msg.frames().iter().map(|f| &f[..]).collect()
    }

    #[test]
    fn push_spills_past_three_frames_in_order() {
        let mut msg: Msg = [&b"a"[..], b"b", b"c"].into_iter().collect();
        assert_eq!(frames(&msg), [b"a", b"b", b"c"]);
        msg.push(&b"d"[..]);
        assert_eq!(frames(&msg), [b"a", b"b", b"c", b"d"]);
        assert_eq!(msg.size(), 4);
    }

    #[test]
    fn push_front_and_pop_front_inline_and_heap() {
        for n in 0..6 {
            let mut msg: Msg = (0..n).map(|i| vec![i as u8]).collect();
            msg.push_front(&b"id"[..]);
            assert_eq!(msg.len(), n + 1);
            assert_eq!(msg.pop_front().as_deref(), Some(&b"id"[..]));
            let rest: Vec<u8> = msg.frames().iter().map(|f| f[0]).collect();
            assert_eq!(rest, (0..n).map(|i| i as u8).collect::<Vec<_>>());
        }
        assert_eq!(Msg::new().pop_front(), None);
    }

    #[test]
    fn equality_ignores_storage() {
        let mut spilled: Msg = [&b"a"[..], b"b", b"c", b"d"].into_iter().collect();
        spilled.pop_front();
        spilled.pop_front();
        let inline: Msg = [&b"c"[..], b"d"].into_iter().collect();
        assert_eq!(spilled, inline);
        assert_ne!(inline, Msg::from(&b"c"[..]));
    }

    #[test]
    fn debug_shows_sizes_not_payloads() {
        let msg = Msg::from(&b"secret"[..]);
        assert_eq!(format!("{msg:?}"), "Msg { frame_sizes: [6] }");
    }
}
