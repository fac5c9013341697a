//! Read buffers that zero their spare room once, not on every read.
//!
//! Safe Rust reads only into initialized bytes, so a read buffer's spare room is zero-filled
//! before `read`. Bytes a read was offered but did not fill stay initialized; they are split
//! off after the data ([`keep_spare`]) and joined back before the next read
//! ([`reclaim_spare`]), which then zero-fills only what no earlier read was offered.

use bytes::BytesMut;

/// Joins the initialized bytes kept by [`keep_spare`] back onto `buf`, after its data: the
/// bytes from `buf.len()` (before the call) on are then scratch for the next read. A spare
/// part that no longer follows the data (the data was cleared or cut since) is dropped.
pub(crate) fn reclaim_spare(buf: &mut BytesMut, spare: &mut BytesMut) {
    let spare = std::mem::take(spare);
    let follows = buf.as_ptr().wrapping_add(buf.len()) == spare.as_ptr();
    if follows || buf.is_empty() {
        buf.unsplit(spare);
    }
}

/// Makes `buf[..end]` initialized, zero-filling only what is not already.
pub(crate) fn fill_to(buf: &mut BytesMut, end: usize) {
    if buf.len() < end {
        buf.resize(end, 0);
    }
}

/// After a read left data in `buf[..filled]`, splits the initialized rest off into `spare`.
pub(crate) fn keep_spare(buf: &mut BytesMut, spare: &mut BytesMut, filled: usize) {
    *spare = buf.split_off(filled);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spare_room_is_reused_without_copying() {
        let mut buf = BytesMut::with_capacity(64);
        let mut spare = BytesMut::new();
        fill_to(&mut buf, 64);
        buf[..5].copy_from_slice(b"hello");
        keep_spare(&mut buf, &mut spare, 5);
        assert_eq!((&buf[..], spare.len()), (&b"hello"[..], 59));
        let _ = buf.split_to(2); // a decoder takes a message off the front
        let at = buf.len();
        reclaim_spare(&mut buf, &mut spare);
        assert_eq!(buf.len(), at + 59);
        assert_eq!(&buf[..at], b"llo");
        assert!(spare.is_empty());
    }

    #[test]
    fn a_spare_part_cut_off_from_its_data_is_dropped() {
        let mut buf = BytesMut::with_capacity(64);
        let mut spare = BytesMut::new();
        fill_to(&mut buf, 64);
        buf[..5].copy_from_slice(b"hello");
        keep_spare(&mut buf, &mut spare, 5);
        buf.truncate(3);
        reclaim_spare(&mut buf, &mut spare);
        assert_eq!(&buf[..], b"hel");
    }
}
