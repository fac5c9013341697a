//! A whole ZMTP session from its greeting, driven by arbitrary bytes and clock steps.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    palm::zmtp::fuzzing::session(data);
});
