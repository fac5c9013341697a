//! PalmMessage against pylm's own protobuf: every `tests/fixtures/palm_message/NAME.bin` was
//! written by pylm 0.14.4's Python `PalmMessage` (see `scripts/gen_palm_fixtures.py`), and
//! `NAME.txt` says what it holds. palm must decode each to those values and, for the canonical
//! ones (`roundtrip=exact`), encode the values to exactly the same bytes.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};

use bytes::{Bytes, BytesMut};
use palm::palm::message::PalmMessage;

struct Fixture {
    name: String,
    bytes: Bytes,
    expected: PalmMessage,
    exact: bool,
}

fn fixture_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/palm_message")
}

fn hex(text: &str) -> Vec<u8> {
    assert!(text.len().is_multiple_of(2), "odd hex length");
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&text[i..i + 2], 16).expect("hex payload"))
        .collect()
}

fn parse_description(text: &str) -> (PalmMessage, bool) {
    let values: HashMap<&str, &str> = text
        .lines()
        .filter(|line| !line.starts_with('#'))
        .map(|line| line.split_once('=').expect("key=value line"))
        .collect();
    let string = |key: &str| values[key].to_owned().into();
    let msg = PalmMessage {
        pipeline: string("pipeline"),
        client: string("client"),
        stage: values["stage"].parse().expect("decimal stage"),
        function: string("function"),
        cache: string("cache"),
        payload: hex(values["payload"]).into(),
    };
    let exact = match values["roundtrip"] {
        "exact" => true,
        "decode-only" => false,
        other => panic!("unknown roundtrip kind {other}"),
    };
    (msg, exact)
}

fn fixtures() -> Vec<Fixture> {
    let mut fixtures = Vec::new();
    for entry in fs::read_dir(fixture_dir()).expect("fixture directory") {
        let path = entry.expect("directory entry").path();
        if path.extension().is_none_or(|ext| ext != "bin") {
            continue;
        }
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        let text = fs::read_to_string(path.with_extension("txt")).expect("description");
        let (expected, exact) = parse_description(&text);
        let bytes = Bytes::from(fs::read(&path).expect("fixture bytes"));
        fixtures.push(Fixture {
            name,
            bytes,
            expected,
            exact,
        });
    }
    fixtures.sort_by(|a, b| a.name.cmp(&b.name));
    fixtures
}

#[test]
fn fixtures_are_present() {
    let fixtures = fixtures();
    assert!(fixtures.len() >= 20, "only {} fixtures", fixtures.len());
    assert!(fixtures.iter().any(|f| !f.exact));
}

#[test]
fn fixtures_decode_to_their_described_values() {
    for f in fixtures() {
        let decoded = PalmMessage::decode(f.bytes.clone());
        assert_eq!(decoded.as_ref(), Ok(&f.expected), "fixture {}", f.name);
    }
}

#[test]
fn canonical_fixtures_encode_byte_for_byte() {
    for f in fixtures().into_iter().filter(|f| f.exact) {
        assert_eq!(
            f.expected.encoded_len(),
            f.bytes.len(),
            "fixture {}",
            f.name
        );
        let mut buf = BytesMut::new();
        f.expected.encode(&mut buf);
        assert_eq!(buf.freeze(), f.bytes, "fixture {}", f.name);
    }
}

#[test]
fn decode_only_fixtures_reencode_canonically() {
    for f in fixtures().into_iter().filter(|f| !f.exact) {
        let canonical = f.expected.to_bytes();
        assert!(canonical.len() <= f.bytes.len(), "fixture {}", f.name);
        assert_ne!(
            canonical, f.bytes,
            "fixture {} is canonical: make it exact",
            f.name
        );
        assert_eq!(
            PalmMessage::decode(canonical).as_ref(),
            Ok(&f.expected),
            "{}",
            f.name
        );
    }
}
