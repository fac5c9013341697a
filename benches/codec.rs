//! ZMTP codec throughput, without IO: frame headers, a session decoding a buffer of many
//! messages, and the output queue gathering messages for `writev`.
//!
//! Every benchmark reports messages (or headers) per second; the input sizes are in the names.
//! Run with `cargo bench --bench codec`.

use std::hint::black_box;
use std::io;
use std::time::Instant;

use bytes::{Bytes, BytesMut};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use palm::Msg;
use palm::SocketType;
use palm::reactor::OutBuf;
use palm::zmtp::{Event, FrameHeader, Greeting, Session, SessionConfig, encode_ready};

/// Messages per decoded buffer or output batch.
const BATCH: usize = 1000;

/// Message sizes measured: tiny, small, and a large body written without copying.
const SIZES: [usize; 3] = [8, 64, 64 * 1024];

fn frame_headers(c: &mut Criterion) {
    let mut group = c.benchmark_group("frame_header");
    // A mix of short and long headers, with and without MORE.
    let headers: Vec<FrameHeader> = (0..BATCH)
        .map(|i| FrameHeader::data([8, 64, 255, 256, 65_536][i % 5], i % 3 == 0))
        .collect();
    let mut encoded = BytesMut::new();
    headers.iter().for_each(|h| h.encode(&mut encoded));
    group.throughput(Throughput::Elements(BATCH as u64));
    group.bench_function("encode", |b| {
        let mut out = BytesMut::with_capacity(encoded.len());
        b.iter(|| {
            out.clear();
            for h in &headers {
                black_box(h).encode(&mut out);
            }
            black_box(out.len())
        })
    });
    group.bench_function("decode", |b| {
        b.iter(|| {
            let mut buf = black_box(&encoded[..]);
            let mut total = 0u64;
            while let Some((header, len)) = FrameHeader::decode(buf) {
                total += header.size;
                buf = &buf[len..];
            }
            black_box(total)
        })
    });
    group.finish();
}

/// `BATCH` single-frame messages of `size` bytes as they arrive on the wire.
fn wire_messages(size: usize) -> Bytes {
    let body = vec![0x5au8; size];
    let mut out = OutBuf::default();
    let msg = Msg::from(body);
    let mut wire = Vec::new();
    for _ in 0..BATCH {
        out.push_msg(&msg);
        out.write_to(&mut wire).expect("writing to a Vec");
    }
    Bytes::from(wire)
}

/// A PULL session past its handshake with a PUSH peer.
fn ready_session() -> Session {
    let now = Instant::now();
    let mut config = SessionConfig::new(SocketType::Pull);
    config.max_msg_size = None;
    let mut session = Session::new(config, now);
    let mut out = BytesMut::new();
    session.start(&mut out);
    let mut input = BytesMut::from(&Greeting::ours().encode()[..]);
    encode_ready(SocketType::Push, b"", &mut input);
    match session.decode(&mut input, now, &mut out) {
        Ok(Some(Event::Ready(_))) => session,
        other => panic!("handshake failed: {other:?}"),
    }
}

fn session_decode(c: &mut Criterion) {
    let mut group = c.benchmark_group("session_decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let wire = wire_messages(size);
        let mut session = ready_session();
        let now = Instant::now();
        let mut out = BytesMut::new();
        group.bench_function(format!("{size}B"), |b| {
            b.iter_batched_ref(
                || BytesMut::from(&wire[..]),
                |input| {
                    let mut n = 0;
                    while let Ok(Some(event)) = session.decode(input, now, &mut out) {
                        n += usize::from(matches!(event, Event::Message(_)));
                    }
                    assert_eq!(n, BATCH);
                },
                BatchSize::LargeInput,
            )
        });
    }
    group.finish();
}

fn outbuf_push(c: &mut Criterion) {
    let mut group = c.benchmark_group("outbuf_push_msg");
    group.throughput(Throughput::Elements(BATCH as u64));
    for size in SIZES {
        let msg = Msg::from(vec![0x5au8; size]);
        let mut out = OutBuf::default();
        group.bench_function(format!("{size}B"), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    out.push_msg(black_box(&msg));
                }
                let len = out.len();
                out.clear();
                black_box(len)
            })
        });
        // The same, written out through `writev` to a sink: the cost of consuming segments.
        group.bench_function(format!("{size}B+write"), |b| {
            b.iter(|| {
                for _ in 0..BATCH {
                    out.push_msg(black_box(&msg));
                }
                out.write_to(&mut io::sink()).expect("sink takes all")
            })
        });
    }
    group.finish();
}

criterion_group!(benches, frame_headers, session_decode, outbuf_push);
criterion_main!(benches);
