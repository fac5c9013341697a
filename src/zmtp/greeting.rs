//! The 64-byte ZMTP 3.x greeting (RFC 23/ZMTP, "Version negotiation").
//!
//! palm writes its greeting whole and at once, but reads the peer's incrementally: libzmq sends
//! ten bytes, waits for ours, then the rest, so a side that waited for 64 bytes before writing
//! would deadlock against it. [`Greeting::decode`] therefore rejects a bad peer as early as the
//! bytes allow and asks for more otherwise.

use super::Error;

/// The length of a ZMTP 3.x greeting.
pub const GREETING_LEN: usize = 64;

/// The length of the mechanism name field.
const MECHANISM_LEN: usize = 20;

/// The mechanism this build speaks.
pub const NULL_MECHANISM: Mechanism = Mechanism(*b"NULL\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0");

/// A security mechanism name as it stands in the greeting: ASCII, NUL-padded to 20 bytes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Mechanism(pub [u8; MECHANISM_LEN]);

impl std::fmt::Display for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let end = self.0.iter().position(|&b| b == 0).unwrap_or(MECHANISM_LEN);
        for &b in &self.0[..end] {
            let c = if b.is_ascii_graphic() {
                char::from(b)
            } else {
                '?'
            };
            write!(f, "{c}")?;
        }
        Ok(())
    }
}

impl std::fmt::Debug for Mechanism {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Mechanism({self})")
    }
}

/// A decoded greeting.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Greeting {
    /// Protocol major version; at least 3.
    pub major: u8,
    /// Protocol minor version.
    pub minor: u8,
    /// The security mechanism the peer will use.
    pub mechanism: Mechanism,
    /// The peer's as-server flag (libzmq always sends 0; palm ignores it).
    pub as_server: bool,
}

impl Greeting {
    /// palm's own greeting: ZMTP 3.1 with the NULL mechanism.
    pub const fn ours() -> Greeting {
        Greeting {
            major: 3,
            minor: 1,
            mechanism: NULL_MECHANISM,
            as_server: false,
        }
    }

    /// Encodes the greeting. Padding bytes 1–8 are zero.
    pub fn encode(&self) -> [u8; GREETING_LEN] {
        let mut out = [0u8; GREETING_LEN];
        out[0] = 0xff;
        out[9] = 0x7f;
        out[10] = self.major;
        out[11] = self.minor;
        out[12..32].copy_from_slice(&self.mechanism.0);
        out[32] = u8::from(self.as_server);
        out
    }

    /// Decodes a peer's greeting from the start of `buf`.
    ///
    /// Returns `Ok(None)` while more bytes are needed, and an error as soon as the bytes seen
    /// prove the peer speaks no ZMTP 3.x. Bytes 1–8 are never checked: libzmq stores the
    /// identity length there.
    pub fn decode(buf: &[u8]) -> Result<Option<Greeting>, Error> {
        if buf.first().is_some_and(|&b| b != 0xff) {
            return Err(Error::NotZmtp);
        }
        if buf.get(9).is_some_and(|&b| b & 1 == 0) {
            return Err(Error::NotZmtp);
        }
        if let Some(&major) = buf.get(10).filter(|&&major| major < 3) {
            return Err(Error::UnsupportedVersion { major });
        }
        let Some(buf) = buf.get(..GREETING_LEN) else {
            return Ok(None);
        };
        let mut mechanism = [0u8; MECHANISM_LEN];
        mechanism.copy_from_slice(&buf[12..32]);
        Ok(Some(Greeting {
            major: buf[10],
            minor: buf[11],
            mechanism: Mechanism(mechanism),
            as_server: buf[32] != 0,
        }))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What libzmq 4.3 sends for a socket with a 5-byte identity: length + 1 in the padding.
    fn libzmq_greeting() -> [u8; GREETING_LEN] {
        let mut g = Greeting::ours().encode();
        g[8] = 6;
        g
    }

    #[test]
    fn round_trip() {
        let ours = Greeting::ours();
        assert_eq!(Greeting::decode(&ours.encode()), Ok(Some(ours)));
    }

    #[test]
    fn every_prefix_needs_more_bytes() {
        let g = libzmq_greeting();
        for n in 0..GREETING_LEN {
            assert_eq!(Greeting::decode(&g[..n]), Ok(None), "prefix {n}");
        }
        assert_eq!(
            Greeting::decode(&g).map(|g| g.map(|g| g.minor)),
            Ok(Some(1))
        );
    }

    #[test]
    fn padding_is_not_validated() {
        let mut g = libzmq_greeting();
        g[1..9].copy_from_slice(&[0xab; 8]);
        assert!(matches!(Greeting::decode(&g), Ok(Some(_))));
    }

    #[test]
    fn rejects_early() {
        assert_eq!(Greeting::decode(b"G"), Err(Error::NotZmtp));
        assert_eq!(
            Greeting::decode(&[0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7e]),
            Err(Error::NotZmtp)
        );
        let mut g = libzmq_greeting();
        g[10] = 2;
        assert_eq!(
            Greeting::decode(&g[..11]),
            Err(Error::UnsupportedVersion { major: 2 })
        );
    }

    #[test]
    fn mechanism_displays_its_name() {
        assert_eq!(NULL_MECHANISM.to_string(), "NULL");
        let mut m = [0u8; 20];
        m[..5].copy_from_slice(b"CURVE");
        assert_eq!(Mechanism(m).to_string(), "CURVE");
    }
}
