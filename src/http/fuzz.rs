//! The body of the `http_request` fuzz target, kept in the library so `cargo test` builds and
//! runs it. Arbitrary bytes go through a [`Connection`] in arbitrary splits; every request is
//! answered (in reverse order when asked); time jumps to exercise the deadlines.

use super::{Connection, HttpDate, Limits, Response};
use std::time::{Duration, Instant, UNIX_EPOCH};

/// Feeds `data` to a connection and checks its invariants; panics only on a broken invariant.
///
/// The first byte chooses the split size (low 6 bits), reverse answers (bit 7) and a clock
/// jump after each split (bit 6).
pub fn fuzz_request(data: &[u8]) {
    let Some((&control, input)) = data.split_first() else {
        return;
    };
    let limits = small_limits();
    let date = HttpDate::new(UNIX_EPOCH);
    let mut now = Instant::now();
    let mut conn = Connection::new(limits.clone(), now);
    for chunk in input.chunks(usize::from(control % 64) + 1) {
        conn.feed(chunk, now);
        serve(&mut conn, now, &date, control & 0x80 != 0);
        if control & 0x40 != 0 {
            now += Duration::from_secs(4);
            conn.on_timeout(now);
            serve(&mut conn, now, &date, false);
        }
        assert!(conn.buffered() <= limits.max_head + 2 * limits.max_body as usize + 64);
    }
    conn.handle_eof(now);
    serve(&mut conn, now, &date, false);
    for _ in 0..8 {
        let Some(at) = conn.next_deadline() else {
            break;
        };
        conn.on_timeout(at);
        serve(&mut conn, at, &date, false);
    }
}

fn small_limits() -> Limits {
    Limits {
        max_head: 1024,
        max_headers: 8,
        max_target: 256,
        max_body: 2048,
        max_chunk_extension: 32,
        max_trailer_size: 128,
        max_trailers: 4,
        max_pipelined: 4,
        ..Limits::default()
    }
}

/// Answers every decodable request and writes all output.
fn serve(conn: &mut Connection, now: Instant, date: &HttpDate, reverse: bool) {
    loop {
        let mut requests = Vec::new();
        while let Some(request) = conn.poll_request(now) {
            assert!(request.body().len() as u64 <= conn.limits().max_body);
            requests.push(request);
        }
        assert!(conn.in_flight() <= conn.limits().max_pipelined + 1);
        if reverse {
            requests.reverse();
        }
        let answered = !requests.is_empty();
        for request in requests {
            let response = Response::new(200).body(request.body().clone());
            assert!(conn.respond(request.id(), response));
        }
        while conn.poll_output(now, date) {
            let pending = conn.pending_output();
            assert!(pending <= 8 * (conn.limits().max_body as usize + 512));
            conn.consumed(pending / 2 + 1, now);
        }
        if !answered {
            break;
        }
    }
}
