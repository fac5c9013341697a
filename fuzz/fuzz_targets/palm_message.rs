//! PalmMessage decoding of arbitrary bytes; decoded messages must round-trip through the encoder.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    palm::palm::message::fuzz_decode(data);
});
