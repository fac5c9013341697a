#!/usr/bin/env bash
# Runs the README's main command (the microservice with a worker, default addresses) and
# checks that the seed's request answers `acknowledged`. Used by .ci/run, where the debug
# build `cargo test` made is reused (PROFILE=release for the README's exact build).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${PROFILE:-debug}
flag=$([ "$profile" = release ] && echo --release || true)
cargo build $flag --example microservice --example client
target/$profile/examples/microservice --with-worker worker1 >/tmp/palm-smoke.log 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true' EXIT
for _ in $(seq 1 50); do
    body=$(target/$profile/examples/client http://127.0.0.1:8888/function 2>/dev/null || true)
    if [ "$body" = "acknowledged" ]; then
        echo "smoke: GET /function -> $body"
        exit 0
    fi
    sleep 0.2
done
echo "smoke: no 'acknowledged' from the microservice; its log:" >&2
cat /tmp/palm-smoke.log >&2
exit 1
