#!/usr/bin/env bash
# Throughput of palm's local_thr/remote_thr against libzmq's own pair and against a bare TCP
# stream of the same payload bytes (examples/bare_tcp_thr.rs), for 8 B, 64 B and 64 KiB
# messages over 127.0.0.1.
#
# The three are run alternately (palm, libzmq, bare, palm, ...) for $ROUNDS rounds, so that
# the noise of a shared machine falls on all of them alike; the medians and the ratios
# palm/libzmq and palm/bare are printed at the end. Each cross pair (palm local_thr with
# libzmq's remote_thr, and the reverse) runs once per size as a compatibility check.
#
# Usage: scripts/bench-thr.sh            (ROUNDS=5 by default)
#        ROUNDS=3 SIZES="8 64" scripts/bench-thr.sh
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
rounds=${ROUNDS:-5}
sizes=${SIZES:-"8 64 65536"}
port=${BASE_PORT:-27100}

# Message counts chosen so that one run takes about 1–3 s here.
count_for() {
    case $1 in
        8) echo 3000000 ;;
        64) echo 2000000 ;;
        65536) echo 20000 ;;
        *) echo 100000 ;;
    esac
}

cargo build --release --quiet --example local_thr --example remote_thr --example bare_tcp_thr
bash scripts/build-libzmq-perf.sh >/dev/null

palm="$target_dir/release/examples"
zmq="$target_dir/libzmq-perf"

# run_pair LOCAL REMOTE SIZE COUNT: prints the receiver's messages per second.
run_pair() {
    local local_cmd=$1 remote_cmd=$2 size=$3 count=$4 out
    port=$((port + 1))
    local ep="tcp://127.0.0.1:$port"
    out=$(mktemp)
    # shellcheck disable=SC2086 # the commands carry their own arguments
    timeout 120 $local_cmd "$ep" "$size" "$count" >"$out" &
    local receiver=$!
    sleep 0.2
    # shellcheck disable=SC2086
    if ! timeout 120 $remote_cmd "$ep" "$size" "$count"; then
        echo "bench-thr: sender failed: $remote_cmd $ep $size $count" >&2
    fi
    if ! wait "$receiver"; then
        echo "bench-thr: receiver failed: $local_cmd $ep $size $count" >&2
        cat "$out" >&2
        rm -f "$out"
        echo 0
        return
    fi
    sed -n 's/^mean throughput: \([0-9]*\) \[msg\/s\]$/\1/p' "$out"
    rm -f "$out"
}

median() {
    tr ' ' '\n' | grep -v '^$' | sort -n | awk '{ v[NR] = $1 } END {
        if (NR == 0) { print 0 } else if (NR % 2) { print v[(NR + 1) / 2] }
        else { print int((v[NR / 2] + v[NR / 2 + 1]) / 2) } }'
}

ratio() {
    awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
}

declare -A results
for size in $sizes; do
    count=$(count_for "$size")
    echo "== $size B x $count messages, $rounds alternating rounds"
    for round in $(seq "$rounds"); do
        p=$(run_pair "$palm/local_thr" "$palm/remote_thr" "$size" "$count")
        z=$(run_pair "$zmq/local_thr" "$zmq/remote_thr" "$size" "$count")
        b=$(run_pair "$palm/bare_tcp_thr local" "$palm/bare_tcp_thr remote" "$size" "$count")
        printf '  round %d: palm %10s  libzmq %10s  bare %10s  msg/s\n' "$round" "$p" "$z" "$b"
        results[$size,palm]+="$p "
        results[$size,libzmq]+="$z "
        results[$size,bare]+="$b "
    done
    x=$(run_pair "$palm/local_thr" "$zmq/remote_thr" "$size" "$count")
    y=$(run_pair "$zmq/local_thr" "$palm/remote_thr" "$size" "$count")
    printf '  cross: palm local + libzmq remote %s msg/s; libzmq local + palm remote %s msg/s\n' \
        "$x" "$y"
done

echo
echo "medians (msg/s) and ratios"
printf '%8s %12s %12s %12s %12s %12s %14s\n' size palm libzmq bare palm/libzmq palm/bare \
    libzmq/bare
for size in $sizes; do
    p=$(echo "${results[$size,palm]}" | median)
    z=$(echo "${results[$size,libzmq]}" | median)
    b=$(echo "${results[$size,bare]}" | median)
    printf '%8s %12s %12s %12s %12s %12s %14s\n' "$size" "$p" "$z" "$b" "$(ratio "$p" "$z")" \
        "$(ratio "$p" "$b")" "$(ratio "$z" "$b")"
done
