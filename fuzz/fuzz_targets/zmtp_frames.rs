//! Arbitrary traffic, in arbitrary splits, into a ZMTP session past its handshake.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    palm::zmtp::fuzzing::frames(data);
});
