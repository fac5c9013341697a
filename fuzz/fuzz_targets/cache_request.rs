//! Arbitrary request sequences into a bounded cache's request handler; the bounds must hold.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    palm::palm::cache::fuzz_requests(data);
});
