//! Every prefix of arbitrary bytes as a ZMTP greeting; decoded greetings must round-trip.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    palm::zmtp::fuzzing::greeting(data);
});
