//! Arbitrary bytes, in arbitrary splits, through a sans-IO HTTP connection.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| palm::http::fuzz_request(data));
