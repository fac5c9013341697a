#!/usr/bin/env bash
# Fuzz smoke for CI: builds every cargo-fuzz target and runs each for FUZZ_SECONDS (default
# 20) against a scratch copy of its committed corpus, so runs never add files to git. Any
# crash, panic, timeout or OOM fails the script; one summary line per target either way.
#
# cargo-fuzz needs nightly flags; on the stable toolchain RUSTC_BOOTSTRAP=1 unlocks them.
# Targets build without a sanitizer by default (palm has no `unsafe`; overflow checks and
# debug assertions stay on); FUZZ_SANITIZER=address restores cargo-fuzz's default.
set -euo pipefail
cd "$(dirname "$0")/.."

seconds=${FUZZ_SECONDS:-20}
sanitizer=${FUZZ_SANITIZER:-none}
targets=(zmtp_greeting zmtp_frames zmtp_session http_request palm_message cache_request)
export RUSTC_BOOTSTRAP=1 CARGO_CACHE_RUSTC_INFO=0
start=$SECONDS

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "== installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
echo "== $(cargo fuzz --version)"

echo "== building ${#targets[@]} fuzz targets (sanitizer: $sanitizer)"
cargo fuzz build --sanitizer "$sanitizer"

# Scratch corpora live under fuzz/work/ (gitignored); each run starts from the committed seeds.
work=fuzz/work
failed=()
for target in "${targets[@]}"; do
    corpus="$work/$target"
    log="$work/$target.log"
    rm -rf "$corpus"
    mkdir -p "$corpus" "fuzz/artifacts/$target"
    cp fuzz/corpus/"$target"/* "$corpus"/
    status=ok
    cargo fuzz run --sanitizer "$sanitizer" "$target" "$corpus" -- \
        -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
        >"$log" 2>&1 || status=FAILED
    runs=$(grep -a -o 'stat::number_of_executed_units: [0-9]*' "$log" | grep -o '[0-9]*$' ||
        true)
    cov=$(grep -a -o 'cov: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
    rate=$(grep -a -o 'exec/s: [0-9]*' "$log" | tail -n 1 | grep -o '[0-9]*$' || true)
    printf '%-14s %-6s runs: %-9s cov: %-5s exec/s: %s\n' \
        "$target" "$status" "${runs:-?}" "${cov:-?}" "${rate:-?}"
    if [ "$status" != ok ]; then
        failed+=("$target")
        grep -a -E "panicked|ERROR|SUMMARY|Test unit written|^Base64" "$log" | head -n 20 || true
        echo "   full log: $log"
    fi
done

echo "== fuzz smoke took $((SECONDS - start)) s"
if [ ${#failed[@]} -gt 0 ]; then
    echo "fuzz smoke FAILED: ${failed[*]} (crashing inputs under fuzz/artifacts/)"
    exit 1
fi
