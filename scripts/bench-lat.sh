#!/usr/bin/env bash
# Latency (issue 3): palm's local_lat/remote_lat (REP/REQ) against libzmq's own pair and a
# bare TCP ping-pong of the same size (TCP_NODELAY, no framing), alternating for ROUNDS
# rounds, for each size in SIZES; prints median one-way latencies and palm's ratios.
# Targets: palm <= 0.7x libzmq and <= 1.15x bare TCP.
#
# Usage: scripts/bench-lat.sh        (ROUNDS=5 SIZES="64 1024" TRIPS=20000)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ROUNDS=${ROUNDS:-5}
SIZES=${SIZES:-64 1024}
TRIPS=${TRIPS:-20000}
EX=$TARGET/release/examples
ZMQ=$TARGET/libzmq-perf

(cd "$ROOT" && cargo build -q --release --example local_lat --example remote_lat \
    --example bare_tcp_lat)
[ -x "$ZMQ/remote_lat" ] || "$ROOT/scripts/build-libzmq-perf.sh" >/dev/null

port=17000
run() { # KIND SIZE -> one-way latency in us
    port=$((port + 1))
    case $1 in
        palm) "$EX/local_lat" "tcp://127.0.0.1:$port" "$2" "$TRIPS" & server=$!
              sleep 0.2
              out=$("$EX/remote_lat" "tcp://127.0.0.1:$port" "$2" "$TRIPS") ;;
        libzmq) "$ZMQ/local_lat" "tcp://127.0.0.1:$port" "$2" "$TRIPS" & server=$!
                sleep 0.2
                out=$("$ZMQ/remote_lat" "tcp://127.0.0.1:$port" "$2" "$TRIPS") ;;
        bare) "$EX/bare_tcp_lat" local "127.0.0.1:$port" "$2" "$TRIPS" & server=$!
              sleep 0.2
              out=$("$EX/bare_tcp_lat" remote "127.0.0.1:$port" "$2" "$TRIPS") ;;
    esac
    wait "$server" 2>/dev/null || true
    echo "$out" | awk '/average latency/ { print $3 }'
}

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for size in $SIZES; do
    declare -A lat=()
    for round in $(seq 1 "$ROUNDS"); do
        for kind in palm libzmq bare; do
            v=$(run "$kind" "$size")
            echo "size $size round $round $kind: $v us" >&2
            lat[$kind]+="$v"$'\n'
        done
    done
    p=$(printf '%s' "${lat[palm]}" | median)
    z=$(printf '%s' "${lat[libzmq]}" | median)
    b=$(printf '%s' "${lat[bare]}" | median)
    awk -v s="$size" -v p="$p" -v z="$z" -v b="$b" 'BEGIN {
        printf "%5d B: palm %.2f us, libzmq %.2f us, bare TCP %.2f us; palm/libzmq %.2f, palm/bare %.2f\n",
            s, p, z, b, p / z, p / b }'
    unset lat
done
