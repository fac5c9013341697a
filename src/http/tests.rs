//! Unit tests of the HTTP layer: decoding rules, framing, responses and the connection.

use super::*;
use bytes::{Bytes, BytesMut};
use std::time::{Duration, Instant, UNIX_EPOCH};

const GET: &[u8] = b"GET /function?x=1 HTTP/1.1\r\nHost: example\r\nX-Trace:  a b \r\n\r\n";
const POST: &[u8] = b"POST /f HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\nhello";
const CHUNKED: &[u8] = b"POST /f HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
    5;name=value;x\r\nhello\r\n7 ; e=\"q\"\r\n, world\r\n0\r\nX-Sum: 12\r\nX-B: 2\r\n\r\n";

fn decode(input: &[u8]) -> Result<Option<Request>, Error> {
    decode_with(input, Limits::default())
}

fn decode_with(input: &[u8], limits: Limits) -> Result<Option<Request>, Error> {
    let mut buf = BytesMut::from(input);
    Decoder::new(limits).decode(&mut buf)
}

fn error_of(input: &[u8]) -> Error {
    match decode(input) {
        Err(error) => error,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn request(input: &[u8]) -> Request {
    decode(input).unwrap().unwrap()
}

fn head_with(field: &str) -> Vec<u8> {
    format!("POST / HTTP/1.1\r\nHost: h\r\n{field}\r\n\r\n").into_bytes()
}

fn date() -> HttpDate {
    HttpDate::new(UNIX_EPOCH)
}

/// Feeds, answers every request with its path (reversed when asked), returns the output.
fn exchange(conn: &mut Connection, input: &[u8], now: Instant, reverse: bool) -> Vec<u8> {
    conn.feed(input, now);
    let mut output = Vec::new();
    loop {
        let mut requests = Vec::new();
        while let Some(request) = conn.poll_request(now) {
            requests.push(request);
        }
        if reverse {
            requests.reverse();
        }
        let any = !requests.is_empty();
        for request in requests {
            let body = Bytes::copy_from_slice(request.path().as_bytes());
            assert!(conn.respond(request.id(), Response::new(200).body(body)));
        }
        output.extend(drain(conn, now));
        if !any {
            return output;
        }
    }
}

fn drain(conn: &mut Connection, now: Instant) -> Vec<u8> {
    let mut output = Vec::new();
    while conn.poll_output(now, &date()) {
        output.extend(conn.output().flatten());
        conn.consumed(conn.pending_output(), now);
    }
    output
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn every_prefix_needs_more_bytes() {
    for valid in [GET, POST, CHUNKED] {
        for end in 0..valid.len() {
            assert!(
                decode(&valid[..end]).unwrap().is_none(),
                "{}",
                text(&valid[..end])
            );
        }
        assert!(decode(valid).unwrap().is_some());
    }
}

#[test]
fn byte_at_a_time_gives_the_same_request() {
    for valid in [GET, POST, CHUNKED] {
        let mut decoder = Decoder::new(Limits::default());
        let mut buf = BytesMut::new();
        let mut decoded = None;
        for &byte in valid {
            assert!(decoded.is_none());
            buf.extend_from_slice(&[byte]);
            decoded = decoder.decode(&mut buf).unwrap();
        }
        let decoded = decoded.unwrap();
        assert_eq!(decoded.body(), request(valid).body());
        assert!(buf.is_empty());
    }
}

#[test]
fn a_short_head_after_a_slowly_sent_long_one() {
    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(300));
    let mut decoder = Decoder::new(Limits::default());
    let mut buf = BytesMut::new();
    for piece in long.as_bytes().chunks(7) {
        buf.extend_from_slice(piece);
        if let Some(request) = decoder.decode(&mut buf).unwrap() {
            assert_eq!(request.path().len(), 301);
        }
    }
    buf.extend_from_slice(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(decoder.decode(&mut buf).unwrap().unwrap().path(), "/");
}

#[test]
fn request_accessors() {
    let request = request(GET);
    assert_eq!(request.method(), "GET");
    assert_eq!(request.target(), "/function?x=1");
    assert_eq!(request.path(), "/function");
    assert_eq!(request.query(), Some("x=1"));
    assert_eq!(request.version(), Version::Http11);
    assert_eq!(request.header("host"), Some(&b"example"[..]));
    assert_eq!(request.header("X-TRACE"), Some(&b"a b"[..]));
    assert_eq!(request.header("missing"), None);
    assert_eq!(request.headers().count(), 2);
    assert!(request.keep_alive());
    assert!(!request.expects_continue());
    assert_eq!(request.framing(), BodyFraming::Empty);
    assert!(request.body().is_empty());
    assert_eq!(&request.head_bytes()[..], GET);
}

#[test]
fn target_forms() {
    let absolute = request(b"GET http://h:8/a/b?c HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!((absolute.path(), absolute.query()), ("/a/b", Some("c")));
    let bare = request(b"GET http://h HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(bare.path(), "/");
    let star = request(b"OPTIONS * HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(star.path(), "*");
}

#[test]
fn leading_empty_lines_are_skipped() {
    let request = request(b"\r\n\r\nGET / HTTP/1.1\r\nHost: h\r\n\r\n");
    assert_eq!(request.method(), "GET");
    assert_eq!(request.header("host"), Some(&b"h"[..]));
}

#[test]
fn content_length_body() {
    let request = request(POST);
    assert_eq!(request.framing(), BodyFraming::Length(5));
    assert_eq!(&request.body()[..], b"hello");
}

#[test]
fn content_length_is_strict() {
    for bad in [
        "+5",
        "-5",
        "5, 6",
        "5,5",
        "5 6",
        "0x5",
        "",
        "5;",
        "99999999999999999999999",
    ] {
        let input = head_with(&format!("Content-Length: {bad}"));
        assert_eq!(error_of(&input), Error::InvalidContentLength, "{bad}");
    }
    let input = head_with("Content-Length:  7 ");
    assert!(
        decode(&input).unwrap().is_none(),
        "surrounding whitespace is not part of the value"
    );
}

#[test]
fn duplicate_content_length() {
    let differ = head_with("Content-Length: 5\r\nContent-Length: 6");
    assert_eq!(error_of(&differ), Error::ConflictingContentLength);
    let mut same = head_with("Content-Length: 2\r\ncontent-length: 2");
    same.extend_from_slice(b"ok");
    assert_eq!(&request(&same).body()[..], b"ok");
}

#[test]
fn smuggling_with_length_and_transfer_encoding() {
    let both = head_with("Content-Length: 3\r\nTransfer-Encoding: chunked");
    assert_eq!(error_of(&both), Error::LengthWithTransferEncoding);
    let reversed = head_with("Transfer-Encoding: chunked\r\nContent-Length: 3");
    assert_eq!(error_of(&reversed), Error::LengthWithTransferEncoding);
    assert_eq!(Error::LengthWithTransferEncoding.status(), 400);
}

#[test]
fn transfer_codings() {
    let cases = [
        ("Transfer-Encoding: gzip", Error::UnsupportedTransferCoding),
        (
            "Transfer-Encoding: gzip, chunked",
            Error::UnsupportedTransferCoding,
        ),
        (
            "Transfer-Encoding: chunked, gzip",
            Error::InvalidTransferEncoding,
        ),
        (
            "Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked",
            Error::InvalidTransferEncoding,
        ),
        ("Transfer-Encoding: ,", Error::InvalidTransferEncoding),
    ];
    for (field, error) in cases {
        assert_eq!(error_of(&head_with(field)), error, "{field}");
    }
    assert_eq!(Error::UnsupportedTransferCoding.status(), 501);
    let mut upper = head_with("Transfer-Encoding: CHUNKED");
    upper.extend_from_slice(b"0\r\n\r\n");
    assert_eq!(request(&upper).framing(), BodyFraming::Chunked);
}

#[test]
fn space_before_colon_is_refused() {
    assert_eq!(
        error_of(b"GET / HTTP/1.1\r\nHost : h\r\n\r\n"),
        Error::MalformedHead
    );
    assert_eq!(
        error_of(b"GET / HTTP/1.1\r\nHost: h\r\nContent-Length : 5\r\n\r\n"),
        Error::MalformedHead
    );
}

#[test]
fn binary_junk_is_refused_early() {
    let junk: Vec<u8> = (0..=255u8).rev().collect();
    assert_eq!(error_of(&junk), Error::MalformedHead);
    assert_eq!(
        error_of(b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03"),
        Error::MalformedHead
    );
    assert_eq!(error_of(b"GET /\x00 HTTP/1.1\r\n"), Error::MalformedHead);
}

#[test]
fn host_rules() {
    assert_eq!(error_of(b"GET / HTTP/1.1\r\n\r\n"), Error::MissingHost);
    assert_eq!(
        error_of(b"GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n"),
        Error::DuplicateHost
    );
    assert_eq!(
        request(b"GET / HTTP/1.0\r\n\r\n").version(),
        Version::Http10
    );
    for good in [
        "",
        "example.com",
        "example.com:8080",
        "example.com:",
        "127.0.0.1:1",
        "[::1]",
        "[::1]:80",
        "[v1.fe80::a+en1]",
        "a%2Fb",
        "x_y-z~!$&'()*+,;=",
    ] {
        let head = format!("GET / HTTP/1.1\r\nHost: {good}\r\n\r\n");
        assert_eq!(
            request(head.as_bytes()).version(),
            Version::Http11,
            "{good:?}"
        );
    }
    for bad in [
        "a b",
        "a/b",
        "a@b",
        "a:b",
        "a:80:80",
        "a%2",
        "a%zz",
        "[::1",
        "[]",
        "[::1]x",
        "[::1]:8a",
        "\"quoted\"",
    ] {
        let head = format!("GET / HTTP/1.1\r\nHost: {bad}\r\n\r\n");
        assert_eq!(error_of(head.as_bytes()), Error::InvalidHost, "{bad:?}");
    }
}

#[test]
fn versions() {
    assert_eq!(
        error_of(b"GET / HTTP/2.0\r\nHost: h\r\n\r\n"),
        Error::UnsupportedVersion
    );
    assert_eq!(
        error_of(b"GET / HTTP/1.2\r\nHost: h\r\n\r\n"),
        Error::UnsupportedVersion
    );
    assert_eq!(error_of(b"GET / HTTP/3\r\n"), Error::UnsupportedVersion);
    assert_eq!(
        error_of(b"GET / HTTP/1.x\r\nHost: h\r\n\r\n"),
        Error::MalformedHead
    );
    assert_eq!(
        error_of(b"GET / http/1.1\r\nHost: h\r\n\r\n"),
        Error::MalformedHead
    );
    assert_eq!(Error::UnsupportedVersion.status(), 505);
}

#[test]
fn head_limits() {
    let mut many = b"GET / HTTP/1.1\r\nHost: h\r\n".to_vec();
    for i in 0..100 {
        many.extend_from_slice(format!("X-{i}: v\r\n").as_bytes());
    }
    many.extend_from_slice(b"\r\n");
    assert_eq!(error_of(&many), Error::TooManyHeaders);

    let big = format!(
        "GET / HTTP/1.1\r\nHost: h\r\nX: {}\r\n\r\n",
        "v".repeat(70_000)
    );
    assert_eq!(error_of(big.as_bytes()), Error::HeadTooLarge);
    let unfinished = format!("GET / HTTP/1.1\r\nHost: h\r\nX: {}", "v".repeat(70_000));
    assert_eq!(error_of(unfinished.as_bytes()), Error::HeadTooLarge);

    let long = format!("GET /{} HTTP/1.1\r\nHost: h\r\n\r\n", "a".repeat(9000));
    assert_eq!(error_of(long.as_bytes()), Error::TargetTooLong);
    let endless = format!("GET /{}", "a".repeat(70_000));
    assert_eq!(error_of(endless.as_bytes()), Error::TargetTooLong);
    assert_eq!(
        (
            Error::TooManyHeaders.status(),
            Error::TargetTooLong.status()
        ),
        (431, 414)
    );
}

#[test]
fn limits_are_configurable() {
    let limits = Limits {
        max_headers: 1,
        max_target: 4,
        ..Limits::default()
    };
    let two = b"GET / HTTP/1.1\r\nHost: h\r\nX: y\r\n\r\n";
    assert_eq!(
        decode_with(two, limits.clone()).unwrap_err(),
        Error::TooManyHeaders
    );
    let long = b"GET /abcd HTTP/1.1\r\nHost: h\r\n\r\n";
    assert_eq!(decode_with(long, limits).unwrap_err(), Error::TargetTooLong);
}

#[test]
fn body_limit_from_content_length() {
    let input = head_with("Content-Length: 16777217");
    assert_eq!(error_of(&input), Error::BodyTooLarge);
    assert_eq!(Error::BodyTooLarge.status(), 413);
}

#[test]
fn chunked_with_extensions_and_trailers() {
    let request = request(CHUNKED);
    assert_eq!(request.framing(), BodyFraming::Chunked);
    assert_eq!(&request.body()[..], b"hello, world");
    assert_eq!(request.trailer("x-sum"), Some(&b"12"[..]));
    assert_eq!(request.trailers().count(), 2);
    assert_eq!(request.header("x-sum"), None);
}

fn chunked(body: &str) -> Vec<u8> {
    let mut input = head_with("Transfer-Encoding: chunked");
    input.extend_from_slice(body.as_bytes());
    input
}

#[test]
fn chunk_errors() {
    let cases = [
        ("fffffffffffffffff\r\n", Error::ChunkSizeOverflow),
        ("1000001\r\n", Error::BodyTooLarge),
        ("ffffffff;x\r\nabc", Error::BodyTooLarge),
        ("g\r\n", Error::MalformedChunk),
        ("\r\n", Error::MalformedChunk),
        ("5\nhello\r\n0\r\n\r\n", Error::MalformedChunk),
        ("5\r\nhelloX\r\n", Error::MalformedChunk),
        ("5\r\nhello\n0\r\n\r\n", Error::MalformedChunk),
        ("5 x\r\n", Error::MalformedChunk),
        ("5;a\x01\r\n", Error::MalformedChunk),
        ("0\r\nbad trailer\r\n\r\n", Error::MalformedTrailer),
        ("0\r\nX: a\n\r\n", Error::MalformedTrailer),
    ];
    for (body, error) in cases {
        assert_eq!(error_of(&chunked(body)), error, "{body:?}");
    }
    let long = format!("5;{}\r\n", "e".repeat(1025));
    assert_eq!(error_of(&chunked(&long)), Error::ChunkExtensionTooLong);
    let trailer = format!("0\r\nX: {}\r\n\r\n", "t".repeat(9000));
    assert_eq!(error_of(&chunked(&trailer)), Error::TrailersTooLarge);
    let unfinished = format!("0\r\nX: {}", "t".repeat(9000));
    assert_eq!(error_of(&chunked(&unfinished)), Error::TrailersTooLarge);
    let many: String = (0..40).map(|i| format!("T{i}: v\r\n")).collect();
    assert_eq!(
        error_of(&chunked(&format!("0\r\n{many}\r\n"))),
        Error::TrailersTooLarge
    );
}

#[test]
fn chunked_leading_zeros_and_uppercase_hex() {
    let request = request(&chunked("000A\r\n0123456789\r\n0000\r\n\r\n"));
    assert_eq!(&request.body()[..], b"0123456789");
}

#[test]
fn chunk_encoder_round_trip() {
    let body: Vec<u8> = (0..5000u32).map(|i| (i % 251) as u8).collect();
    let mut input = BytesMut::from(&head_with("Transfer-Encoding: chunked")[..]);
    for piece in body.chunks(777) {
        encode_chunk(piece, &mut input);
    }
    encode_chunk(b"", &mut input);
    input.extend_from_slice(LAST_CHUNK);
    let request = request(&input);
    assert_eq!(&request.body()[..], &body[..]);
    let mut header = BytesMut::new();
    encode_chunk_header(0x1a2b, &mut header);
    assert_eq!(&header[..], b"1a2b\r\n");
}

#[test]
fn requests_follow_each_other_in_one_buffer() {
    let mut buf = BytesMut::new();
    for input in [GET, POST, CHUNKED, GET] {
        buf.extend_from_slice(input);
    }
    let mut decoder = Decoder::new(Limits::default());
    let bodies: Vec<Bytes> = std::iter::from_fn(|| decoder.decode(&mut buf).unwrap())
        .map(Request::into_body)
        .collect();
    assert_eq!(bodies, [&b""[..], b"hello", b"hello, world", b""]);
    assert!(buf.is_empty());
}

#[test]
fn keep_alive_rules() {
    assert!(request(b"GET / HTTP/1.1\r\nHost: h\r\n\r\n").keep_alive());
    assert!(!request(b"GET / HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n").keep_alive());
    assert!(!request(b"GET / HTTP/1.0\r\n\r\n").keep_alive());
    assert!(request(b"GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n").keep_alive());
    let chunked_10 = b"POST / HTTP/1.0\r\nConnection: keep-alive\r\n\
        Transfer-Encoding: chunked\r\n\r\n1\r\na\r\n0\r\n\r\n";
    let request = request(chunked_10);
    assert!(!request.keep_alive());
    assert_eq!(&request.body()[..], b"a");
}

#[test]
fn expectations() {
    let expect = b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-Continue\r\nContent-Length: 0\r\n\r\n";
    assert!(request(expect).expects_continue());
    assert_eq!(
        error_of(&head_with("Expect: teapot")),
        Error::UnsupportedExpectation
    );
    let old = b"GET / HTTP/1.0\r\nExpect: 100-continue\r\n\r\n";
    assert!(!request(old).expects_continue());
}

#[test]
fn response_encoding_round_trip() {
    let response = Response::new(201)
        .content_type("application/json")
        .header("X-Id", "7")
        .header("Content-Length", "99")
        .header("Bad\r\nName", "v")
        .header("X-Split", "a\r\nInjected: 1")
        .body(Bytes::from_static(b"{\"a\":1}"));
    let mut head = BytesMut::new();
    response.encode_head(HeadEncoding::default(), &date(), &mut head);
    let mut fields = [httparse::EMPTY_HEADER; 16];
    let mut parsed = httparse::Response::new(&mut fields);
    let len = match parsed.parse(&head).unwrap() {
        httparse::Status::Complete(len) => len,
        httparse::Status::Partial => panic!("partial head"),
    };
    assert_eq!(len, head.len());
    assert_eq!((parsed.code, parsed.reason), (Some(201), Some("Created")));
    let names: Vec<&str> = parsed.headers.iter().map(|h| h.name).collect();
    assert_eq!(names, ["Date", "Content-Length", "Content-Type", "X-Id"]);
    assert_eq!(parsed.headers[0].value, b"Thu, 01 Jan 1970 00:00:00 GMT");
    assert_eq!(parsed.headers[1].value, b"7");
}

#[test]
fn response_statuses() {
    assert_eq!(Response::new(42).status(), 500);
    assert_eq!(Response::new(100).status(), 500);
    assert_eq!(reason(431), "Request Header Fields Too Large");
    assert_eq!(reason(799), "");
    let mut head = BytesMut::new();
    Response::new(204).encode_head(HeadEncoding::default(), &date(), &mut head);
    assert!(!text(&head).contains("Content-Length"));
    let closing = Response::new(200).header("connection", "close");
    assert!(closing.closes());
    head.clear();
    let encoding = HeadEncoding {
        close: false,
        keep_alive_header: true,
    };
    Response::new(799).encode_head(encoding, &date(), &mut head);
    assert!(text(&head).starts_with("HTTP/1.1 799 \r\n"));
    assert!(text(&head).ends_with("Content-Length: 0\r\nConnection: keep-alive\r\n\r\n"));
}

#[test]
fn connection_serves_keep_alive_requests() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    for _ in 0..3 {
        let output = text(&exchange(&mut conn, GET, now, false));
        assert!(output.starts_with("HTTP/1.1 200 OK\r\nDate: "), "{output}");
        assert!(
            output.ends_with("Content-Length: 9\r\n\r\n/function"),
            "{output}"
        );
        assert!(!conn.is_closed() && conn.wants_read() && !conn.wants_write());
    }
}

#[test]
fn connection_read_from_and_eof() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let mut input = GET;
    let n = conn
        .read_from(now, |buf| std::io::Read::read(&mut input, buf))
        .unwrap();
    assert_eq!((n, conn.buffered()), (GET.len(), GET.len()));
    let request = conn.poll_request(now).unwrap();
    assert_eq!(conn.read_from(now, |_| Ok(0)).unwrap(), 0);
    assert!(!conn.is_closed(), "the request in flight is still answered");
    conn.respond(request.id(), Response::new(200));
    let output = text(&drain(&mut conn, now));
    assert!(output.contains("Connection: close\r\n"), "{output}");
    assert!(conn.is_closed());
    let blocked = conn.read_from(now, |_| Err(std::io::ErrorKind::WouldBlock.into()));
    assert!(blocked.is_err());
}

#[test]
fn reading_again_after_a_small_request_does_not_grow_the_buffer() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let mut offered = Vec::new();
    let mut input = GET;
    conn.read_from(now, |buf| {
        offered.push(buf.len());
        std::io::Read::read(&mut input, buf)
    })
    .unwrap();
    // The reactor reads until `WouldBlock`: that read gets the room left, not a bigger buffer.
    let blocked = conn.read_from(now, |buf| {
        offered.push(buf.len());
        Err(std::io::ErrorKind::WouldBlock.into())
    });
    assert!(blocked.is_err());
    let chunk = Limits::default().read_chunk;
    assert_eq!(offered, [chunk, chunk - GET.len()]);
    assert_eq!(conn.buffered(), GET.len());
    assert!(conn.poll_request(now).is_some());
}

#[test]
fn pipelined_hundred_answered_in_order_when_responded_in_reverse() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let mut input = Vec::new();
    for i in 0..100 {
        input.extend_from_slice(format!("GET /{i} HTTP/1.1\r\nHost: h\r\n\r\n").as_bytes());
    }
    let output = text(&exchange(&mut conn, &input, now, true));
    let bodies: Vec<&str> = output
        .split("\r\n\r\n")
        .skip(1)
        .map(|s| s.split("HTTP").next().unwrap())
        .collect();
    let expected: Vec<String> = (0..100).map(|i| format!("/{i}")).collect();
    assert_eq!(bodies, expected);
    assert_eq!(conn.in_flight(), 0);
}

#[test]
fn pipelining_is_bounded() {
    let now = Instant::now();
    let limits = Limits {
        max_pipelined: 2,
        ..Limits::default()
    };
    let mut conn = Connection::new(limits, now);
    conn.feed(&[GET, GET, GET].concat(), now);
    let first = conn.poll_request(now).unwrap();
    let second = conn.poll_request(now).unwrap();
    assert!(conn.poll_request(now).is_none());
    assert!(!conn.wants_read());
    assert!(conn.respond(second.id(), Response::new(200)));
    assert!(!conn.wants_write(), "the second answer waits for the first");
    assert!(!conn.poll_output(now, &date()));
    assert!(conn.respond(first.id(), Response::new(200)));
    assert!(
        !conn.respond(first.id(), Response::new(200)),
        "answered once"
    );
    assert!(!conn.respond(RequestId(99), Response::new(200)));
    assert!(conn.wants_write());
    drain(&mut conn, now);
    assert!(conn.wants_read());
    assert!(conn.poll_request(now).is_some());
}

#[test]
fn errors_are_answered_then_closed() {
    let now = Instant::now();
    let cases: [(&[u8], &str); 6] = [
        (b"GET / HTTP/1.1\r\nHost : h\r\n\r\n", "400 Bad Request"),
        (b"\x00\x01\x02binary", "400 Bad Request"),
        (
            b"GET / HTTP/2.0\r\nHost: h\r\n\r\n",
            "505 HTTP Version Not Supported",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: br\r\n\r\n",
            "501 Not Implemented",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 99999999999\r\n\r\n",
            "413 Content Too",
        ),
        (
            b"POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\n\
            Transfer-Encoding: chunked\r\n\r\n",
            "400",
        ),
    ];
    for (input, status) in cases {
        let mut conn = Connection::new(Limits::default(), now);
        let output = text(&exchange(&mut conn, input, now, false));
        assert!(
            output.starts_with(&format!("HTTP/1.1 {status}")),
            "{output}"
        );
        assert!(output.contains("Connection: close\r\n"), "{output}");
        assert!(conn.is_closed());
    }
}

#[test]
fn error_waits_for_earlier_responses() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    conn.feed(&[GET, b"junk junk junk\r\n\r\n"].concat(), now);
    let first = conn.poll_request(now).unwrap();
    assert!(conn.poll_request(now).is_none());
    assert!(!conn.poll_output(now, &date()));
    conn.respond(first.id(), Response::new(200).body("first"));
    let output = text(&drain(&mut conn, now));
    assert!(output.starts_with("HTTP/1.1 200 OK"));
    assert!(output.contains("firstHTTP/1.1 400 Bad Request"), "{output}");
    assert!(conn.is_closed());
}

#[test]
fn connection_close_and_http10() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let close = b"GET /a HTTP/1.1\r\nHost: h\r\nConnection: close\r\n\r\n";
    let output = text(&exchange(
        &mut conn,
        &[&close[..], GET].concat(),
        now,
        false,
    ));
    assert_eq!(
        output.matches("HTTP/1.1").count(),
        1,
        "nothing is read after close"
    );
    assert!(output.contains("Connection: close"));
    assert!(conn.is_closed());

    let mut conn = Connection::new(Limits::default(), now);
    let output = text(&exchange(&mut conn, b"GET / HTTP/1.0\r\n\r\n", now, false));
    assert!(output.contains("Connection: close") && conn.is_closed());

    let mut conn = Connection::new(Limits::default(), now);
    let keep = b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n";
    let output = text(&exchange(&mut conn, keep, now, false));
    assert!(output.contains("Connection: keep-alive") && !conn.is_closed());

    let mut conn = Connection::new(Limits::default(), now);
    let chunked = b"POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n";
    let output = text(&exchange(&mut conn, chunked, now, false));
    assert!(output.contains("Connection: close") && conn.is_closed());
}

#[test]
fn head_requests_get_no_body() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let output = text(&exchange(
        &mut conn,
        b"HEAD /abc HTTP/1.1\r\nHost: h\r\n\r\n",
        now,
        false,
    ));
    assert!(output.ends_with("Content-Length: 4\r\n\r\n"), "{output}");
}

const EXPECT: &[u8] =
    b"POST /up HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n";

#[test]
fn continue_before_the_body() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    assert!(exchange(&mut conn, EXPECT, now, false).starts_with(CONTINUE));
    assert_eq!(drain(&mut conn, now), b"", "100 is sent once");
    let output = text(&exchange(&mut conn, b"hello", now, false));
    assert!(
        output.starts_with("HTTP/1.1 200 OK") && output.ends_with("/up"),
        "{output}"
    );
}

#[test]
fn continue_never_ahead_of_an_earlier_response() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    conn.feed(&[GET, EXPECT].concat(), now);
    let first = conn.poll_request(now).unwrap();
    assert!(conn.poll_request(now).is_none());
    assert!(!conn.wants_write());
    assert!(!conn.poll_output(now, &date()));
    conn.respond(first.id(), Response::new(200).body("one"));
    let output = drain(&mut conn, now);
    assert!(
        output.ends_with(&[b"one", CONTINUE].concat()),
        "{}",
        text(&output)
    );
}

#[test]
fn no_continue_when_body_is_refused_or_already_sent() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    let huge =
        b"POST / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 999999999\r\n\r\n";
    let output = text(&exchange(&mut conn, huge, now, false));
    assert!(output.starts_with("HTTP/1.1 413"), "{output}");
    assert!(conn.is_closed());

    let mut conn = Connection::new(Limits::default(), now);
    let output = exchange(&mut conn, &[EXPECT, b"he"].concat(), now, false);
    assert_eq!(output, b"");
    let output = exchange(&mut conn, b"llo", now, false);
    assert!(output.starts_with(b"HTTP/1.1 200"));
}

#[test]
fn slowloris_is_cut_at_the_header_deadline() {
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    let deadline = start + Duration::from_secs(10);
    assert_eq!(conn.next_deadline(), Some(deadline));
    for (i, &byte) in GET[..20].iter().enumerate() {
        conn.feed(&[byte], start + Duration::from_millis(400 * i as u64));
        assert!(conn.poll_request(start).is_none());
    }
    assert_eq!(
        conn.next_deadline(),
        Some(deadline),
        "trickling does not extend it"
    );
    assert_eq!(conn.on_timeout(deadline - Duration::from_millis(1)), None);
    assert_eq!(conn.on_timeout(deadline), Some(Expired::Header));
    let output = text(&drain(&mut conn, deadline));
    assert!(
        output.starts_with("HTTP/1.1 408 Request Timeout"),
        "{output}"
    );
    assert!(conn.is_closed());
}

#[test]
fn silent_connection_is_closed_without_a_response() {
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    assert_eq!(
        conn.on_timeout(start + Duration::from_secs(10)),
        Some(Expired::Header)
    );
    assert!(conn.is_closed() && !conn.wants_write());
}

#[test]
fn idle_keep_alive_and_buffer_linger() {
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    exchange(&mut conn, GET, start, false);
    assert_eq!(
        conn.next_deadline(),
        Some(start + Duration::from_secs(1)),
        "linger first"
    );
    assert_eq!(conn.on_timeout(start + Duration::from_secs(1)), None);
    assert!(!conn.is_closed());
    assert_eq!(conn.next_deadline(), Some(start + Duration::from_secs(60)));
    let later = start + Duration::from_secs(30);
    assert!(exchange(&mut conn, GET, later, false).starts_with(b"HTTP/1.1 200"));
    let idle_end = later + Duration::from_secs(60);
    assert_eq!(conn.on_timeout(idle_end - Duration::from_secs(1)), None);
    assert_eq!(conn.on_timeout(idle_end), Some(Expired::Idle));
    assert!(conn.is_closed());
}

#[test]
fn body_deadline_restarts_on_progress() {
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    conn.feed(&POST[..POST.len() - 3], start);
    assert!(conn.poll_request(start).is_none());
    let progress = start + Duration::from_secs(20);
    conn.feed(b"l", progress);
    assert!(conn.poll_request(progress).is_none());
    assert_eq!(
        conn.next_deadline(),
        Some(progress + Duration::from_secs(30))
    );
    assert_eq!(
        conn.on_timeout(progress + Duration::from_secs(30)),
        Some(Expired::Body)
    );
    assert!(text(&drain(&mut conn, progress)).starts_with("HTTP/1.1 408"));
    assert!(conn.is_closed());
}

#[test]
fn write_deadline_closes() {
    let start = Instant::now();
    let mut conn = Connection::new(Limits::default(), start);
    conn.feed(GET, start);
    let request = conn.poll_request(start).unwrap();
    conn.respond(request.id(), Response::new(200).body("x"));
    assert!(conn.poll_output(start, &date()));
    conn.consumed(3, start + Duration::from_secs(5));
    let deadline = start + Duration::from_secs(35);
    assert_eq!(conn.next_deadline(), Some(deadline));
    assert_eq!(conn.on_timeout(deadline), Some(Expired::Write));
    assert!(conn.is_closed());
}

#[test]
fn partial_writes_resume_in_the_middle() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    conn.feed(&[GET, GET].concat(), now);
    while let Some(request) = conn.poll_request(now) {
        conn.respond(
            request.id(),
            Response::new(200).body(Bytes::from_static(b"body")),
        );
    }
    assert!(conn.poll_output(now, &date()));
    let all: Vec<u8> = conn.output().flatten().copied().collect();
    let mut written = Vec::new();
    while conn.pending_output() > 0 {
        let mut iov = [std::io::IoSlice::new(&[]); 3];
        let n = conn.io_slices(&mut iov);
        let first = iov[..n].iter().flat_map(|s| s.iter()).take(7).copied();
        let chunk: Vec<u8> = first.collect();
        written.extend_from_slice(&chunk);
        conn.consumed(chunk.len(), now);
    }
    assert_eq!(written, all);
    assert_eq!(text(&written).matches("body").count(), 2);
}

#[test]
fn shutdown_finishes_in_flight_then_closes() {
    let now = Instant::now();
    let mut idle = Connection::new(Limits::default(), now);
    exchange(&mut idle, GET, now, false);
    idle.shutdown(now);
    assert!(idle.is_closed());

    let mut busy = Connection::new(Limits::default(), now);
    busy.feed(&[GET, &GET[..10]].concat(), now);
    let request = busy.poll_request(now).unwrap();
    busy.shutdown(now);
    assert!(!busy.is_closed() && !busy.wants_read());
    assert!(busy.poll_request(now).is_none());
    busy.respond(request.id(), Response::new(200));
    let output = text(&drain(&mut busy, now));
    assert!(output.contains("Connection: close"), "{output}");
    assert!(busy.is_closed());
}

#[test]
fn handler_close_drops_later_requests() {
    let now = Instant::now();
    let mut conn = Connection::new(Limits::default(), now);
    conn.feed(&[GET, GET].concat(), now);
    let first = conn.poll_request(now).unwrap();
    let second = conn.poll_request(now).unwrap();
    conn.respond(first.id(), Response::new(503).close());
    let output = text(&drain(&mut conn, now));
    assert!(output.starts_with("HTTP/1.1 503") && output.contains("Connection: close"));
    assert!(conn.is_closed());
    assert!(!conn.respond(second.id(), Response::new(200)));
}

#[test]
fn fuzz_entry_point_survives_samples() {
    let samples: [&[u8]; 6] = [
        b"",
        b"\x03GET / HTTP/1.1\r\nHost: h\r\n\r\n\
            POST / HTTP/1.1\r\nHost: h\r\nContent-Length: 3\r\n\r\nabc",
        b"\xc1POST / HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n\
            3;x\r\nabc\r\n0\r\nT: 1\r\n\r\n",
        b"\x40GET / HTTP/1.1\r\nHost: h\r\nExpect: 100-continue\r\nContent-Length: 4\r\n\r\n",
        b"\xffPOST / HTTP/1.1\r\nHost: h\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nxGET",
        b"\x00\x00\xff\xfe\r\n\r\n\r\n",
    ];
    for sample in samples {
        fuzz_request(sample);
    }
    for corpus in std::fs::read_dir("fuzz/corpus/http_request")
        .into_iter()
        .flatten()
        .flatten()
    {
        fuzz_request(&std::fs::read(corpus.path()).unwrap());
    }
}

#[test]
fn mutated_requests_never_panic() {
    let seeds = [GET, POST, CHUNKED, EXPECT];
    let mut state = 0x2545_f491_4f6c_dd1d_u64;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..3000 {
        let seed = seeds[round % seeds.len()];
        let mut input = vec![next() as u8];
        input.extend_from_slice(seed);
        input.extend_from_slice(seeds[(round / 4) % seeds.len()]);
        for _ in 0..(next() % 6) {
            let at = (next() as usize) % input.len();
            match next() % 3 {
                0 => input[at] = next() as u8,
                1 => drop(input.remove(at)),
                _ => input.insert(at, b"\r\n:;0 "[(next() % 6) as usize]),
            }
        }
        fuzz_request(&input);
    }
}
