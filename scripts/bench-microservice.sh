#!/usr/bin/env bash
# The microservice under load (issue 5): `wrk -t1 -c64 --latency` GET /function through
#   1. palm's gateway with one palm worker,
#   2. palm's gateway with two palm workers,
#   3. pylm's own Python microservice (tests/pylm/microservice.py) with one pylm worker,
#   4. palm's bare HTTP server (examples/http_hello), for the gateway's overhead,
# alternating for ROUNDS rounds; prints medians of requests/s and p99 and the ratios.
# Target: palm >= 100x pylm's requests/s, p99 under 5 ms.
#
# Usage: scripts/bench-microservice.sh     (ROUNDS=3 DURATION=10s PYLM_DURATION=10s CONNS=64)
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
ROUNDS=${ROUNDS:-3}
DURATION=${DURATION:-10s}
PYLM_DURATION=${PYLM_DURATION:-10s}
CONNS=${CONNS:-64}
EX=$TARGET/release/examples

if ! command -v wrk >/dev/null; then
    apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
(cd "$ROOT" && cargo build -q --release --example microservice --example worker \
    --example http_hello --example client)
PYTHON=$("$ROOT/scripts/python-env.sh")
export PROTOCOL_BUFFERS_PYTHON_IMPLEMENTATION=python

pids=()
stop_all() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    pids=()
}
trap stop_all EXIT

wait_for() { # URL
    for _ in $(seq 1 100); do
        if "$EX/client" "$1" >/dev/null 2>&1; then return 0; fi
        sleep 0.1
    done
    echo "no answer from $1" >&2
    return 1
}

# One wrk run: prints "REQS P99_MS".
load() { # URL DURATION
    wrk -t1 -c"$CONNS" -d"$2" --latency "$1" | awk '
        /Requests\/sec/ { rps = $2 }
        /^ +99%/ { v = $2; if (v ~ /us$/) { sub(/us/, "", v); v /= 1000 }
                   else if (v ~ /ms$/) { sub(/ms/, "", v) }
                   else if (v ~ /s$/) { sub(/s/, "", v); v *= 1000 }; p99 = v }
        END { printf "%s %s\n", rps, p99 }'
}

palm_run() { # WORKERS
    "$EX/microservice" --http 127.0.0.1:18888 --worker-pull tcp://127.0.0.1:15557 \
        --worker-push tcp://127.0.0.1:15558 --db tcp://127.0.0.1:15559 >/dev/null 2>&1 &
    pids+=($!)
    for i in $(seq 1 "$1"); do
        "$EX/worker" "w$i" --db tcp://127.0.0.1:15559 >/dev/null 2>&1 &
        pids+=($!)
    done
    wait_for http://127.0.0.1:18888/function
    sleep 0.5
    load http://127.0.0.1:18888/function "$DURATION"
    stop_all
}

pylm_run() {
    "$PYTHON" "$ROOT/tests/pylm/microservice.py" 18889 tcp://127.0.0.1:15567 \
        tcp://127.0.0.1:15568 tcp://127.0.0.1:15569 >/dev/null 2>&1 &
    pids+=($!)
    "$PYTHON" "$ROOT/tests/pylm/worker.py" pw tcp://127.0.0.1:15569 >/dev/null 2>&1 &
    pids+=($!)
    wait_for http://127.0.0.1:18889/function
    load http://127.0.0.1:18889/function "$PYLM_DURATION"
    stop_all
}

hello_run() {
    "$EX/http_hello" --listen 127.0.0.1:18890 >/dev/null 2>&1 &
    pids+=($!)
    wait_for http://127.0.0.1:18890/function
    load http://127.0.0.1:18890/function "$DURATION"
    stop_all
}

declare -A results
for round in $(seq 1 "$ROUNDS"); do
    for kind in palm1 palm2 pylm hello; do
        case $kind in
            palm1) r=$(palm_run 1) ;;
            palm2) r=$(palm_run 2) ;;
            pylm) r=$(pylm_run) ;;
            hello) r=$(hello_run) ;;
        esac
        echo "round $round $kind: $r req/s p99 ms" >&2
        results[$kind]+="$r"$'\n'
    done
done

median() { sort -g | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
col() { printf '%s' "${results[$1]}" | awk -v c="$2" 'NF { print $c }' | median; }
echo
printf '%-22s %12s %10s\n' setup "req/s" "p99 ms"
for kind in palm1 palm2 pylm hello; do
    printf '%-22s %12s %10s\n' "$kind" "$(col $kind 1)" "$(col $kind 2)"
done
awk -v a="$(col palm1 1)" -v b="$(col palm2 1)" -v p="$(col pylm 1)" -v h="$(col hello 1)" \
    'BEGIN { printf "\npalm(1 worker)/pylm: %.0fx  palm(2 workers)/pylm: %.0fx  gateway/http_hello: %.2f\n", a/p, b/p, a/h }'
