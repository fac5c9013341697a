#!/usr/bin/env bash
# Compares palm's HTTP server (examples/http_hello.rs) with hyper 1.x on a current-thread tokio
# runtime (benches/hyper_hello, bench-only, never a palm dependency), both answering
# `METHOD TARGET LEN`:
#   1. throughput and tail latency: `wrk -t1 -c64 --latency`, the two servers alternately for
#      ROUNDS rounds; medians of requests/s and p99, and palm's ratios to hyper;
#   2. memory: peak RSS (VmHWM) of each server holding HOLD keep-alive connections, opened by
#      examples/http_conns.rs with one request each.
# Targets (issue 4): palm >= 1.0x hyper's requests/s with a lower p99; palm's RSS <= 0.5x.
#
# Usage: scripts/bench-http.sh          (ROUNDS=5 DURATION=10s CONNS=64 HOLD=10000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ROUNDS=${ROUNDS:-5}
DURATION=${DURATION:-10s}
CONNS=${CONNS:-64}
HOLD=${HOLD:-10000}
PALM_ADDR=127.0.0.1:${PALM_PORT:-18080}
HYPER_ADDR=127.0.0.1:${HYPER_PORT:-18081}

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
if [ "$(ulimit -n)" -lt $((HOLD + 100)) ]; then
    ulimit -n "$(ulimit -Hn)"
fi

echo "building (release)..." >&2
(cd "$ROOT" && cargo build -q --release --example http_hello --example http_conns)
(cd "$ROOT/benches/hyper_hello" && CARGO_TARGET_DIR="$TARGET/hyper_hello" cargo build -q --release)
PALM_BIN=$TARGET/release/examples/http_hello
CONNS_BIN=$TARGET/release/examples/http_conns
HYPER_BIN=$TARGET/hyper_hello/release/hyper_hello

WORK=$(mktemp -d)
SERVER_PID=
cleanup() {
    if [ -n "$SERVER_PID" ]; then kill "$SERVER_PID" 2>/dev/null || true; fi
    rm -rf "$WORK"
}
trap cleanup EXIT

# start NAME BIN ADDR: runs a server in the background, waits for its listening line.
start() {
    "$2" --listen "$3" >"$WORK/$1.out" 2>&1 &
    SERVER_PID=$!
    for _ in $(seq 100); do
        grep -q listening "$WORK/$1.out" 2>/dev/null && return 0
        sleep 0.1
    done
    echo "$1 did not start:" >&2
    cat "$WORK/$1.out" >&2
    exit 1
}

stop() {
    kill "$SERVER_PID" 2>/dev/null || true
    wait "$SERVER_PID" 2>/dev/null || true
    SERVER_PID=
}

# to_us VALUE: wrk's latency (e.g. 812.00us, 1.52ms, 1.01s) in microseconds.
to_us() {
    awk -v v="$1" 'BEGIN {
        n = v + 0
        if (v ~ /us$/) print n; else if (v ~ /ms$/) print n * 1000;
        else if (v ~ /s$/) print n * 1000000; else print n
    }'
}

median() {
    sort -g | awk '{ a[NR] = $1 }
        END { print (NR % 2) ? a[(NR + 1) / 2] : (a[NR / 2] + a[NR / 2 + 1]) / 2 }'
}

# bench NAME BIN ADDR ROUND: one wrk run; appends req/s and p99 (us) to $WORK/NAME.{rps,p99}.
bench() {
    start "$1" "$2" "$3"
    wrk -t1 -c"$CONNS" -d1s "http://$3/warm" >/dev/null # warm up
    wrk -t1 -c"$CONNS" -d"$DURATION" --latency "http://$3/hello?x=1" >"$WORK/$1.$4.wrk"
    stop
    local rps p99 errors
    rps=$(awk '/^Requests\/sec:/ { print $2 }' "$WORK/$1.$4.wrk")
    p99=$(to_us "$(awk '$1 == "99%" { print $2 }' "$WORK/$1.$4.wrk")")
    errors=$(grep -E "Non-2xx|Socket errors" "$WORK/$1.$4.wrk" || true)
    echo "$rps" >>"$WORK/$1.rps"
    echo "$p99" >>"$WORK/$1.p99"
    printf '  round %s %-6s %10.0f req/s  p99 %8.0f us %s\n' "$4" "$1" "$rps" "$p99" "$errors"
}

# peak NAME BIN ADDR: VmHWM (KiB) of a server after HOLD keep-alive connections.
peak() {
    start "$1" "$2" "$3"
    "$CONNS_BIN" "$3" "$HOLD" --hold 2 >&2
    local hwm
    hwm=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SERVER_PID/status")
    stop
    echo "$hwm"
}

echo "wrk -t1 -c$CONNS -d$DURATION --latency, $ROUNDS rounds, palm and hyper alternately"
for round in $(seq "$ROUNDS"); do
    bench palm "$PALM_BIN" "$PALM_ADDR" "$round"
    bench hyper "$HYPER_BIN" "$HYPER_ADDR" "$round"
done
palm_rps=$(median <"$WORK/palm.rps")
hyper_rps=$(median <"$WORK/hyper.rps")
palm_p99=$(median <"$WORK/palm.p99")
hyper_p99=$(median <"$WORK/hyper.p99")

echo "peak RSS holding $HOLD keep-alive connections (one request each)"
palm_hwm=$(peak palm "$PALM_BIN" "$PALM_ADDR")
hyper_hwm=$(peak hyper "$HYPER_BIN" "$HYPER_ADDR")

awk -v pr="$palm_rps" -v hr="$hyper_rps" -v pp="$palm_p99" -v hp="$hyper_p99" \
    -v pm="$palm_hwm" -v hm="$hyper_hwm" -v n="$HOLD" 'BEGIN {
    printf "median req/s: palm %.0f, hyper %.0f, ratio %.2fx (target >= 1.0)\n", pr, hr, pr / hr
    printf "median p99:   palm %.0f us, hyper %.0f us, ratio %.2fx (target < 1.0)\n",
        pp, hp, pp / hp
    printf "peak RSS, %d connections: palm %.1f MiB, hyper %.1f MiB, ratio %.2fx",
        n, pm / 1024, hm / 1024, pm / hm
    print " (target <= 0.5)"
}'
