#!/usr/bin/env bash
# Builds libzmq's own perf tools (local_thr, remote_thr, local_lat, remote_lat) from the
# libzmq 4.3.4 source that the `zeromq-src` crate vendors, linked against the static libzmq
# that the `zmq-sys` dev-dependency compiles in a release build. Nothing is installed: the
# binaries land in "${CARGO_TARGET_DIR:-target}/libzmq-perf/".
#
# Needs: cargo, a C++ compiler (c++/g++), python3 (to read `cargo metadata`).
set -euo pipefail

cd "$(dirname "$0")/.."
target_dir=${CARGO_TARGET_DIR:-target}
out="$target_dir/libzmq-perf"
mkdir -p "$out"

# A release build of any example pulls in the dev-dependencies, so zmq-sys compiles an
# optimised libzmq.a.
cargo build --release --quiet --example local_thr

lib=$(ls -t "$target_dir"/release/build/zmq-sys-*/out/lib/libzmq.a 2>/dev/null | head -n 1 || true)
if [[ -z "$lib" ]]; then
    echo "build-libzmq-perf: no libzmq.a under $target_dir/release/build/zmq-sys-*/out" >&2
    exit 1
fi

# The vendored source: ask cargo where the zeromq-src package lives.
src_dir=$(cargo metadata --format-version 1 2>/dev/null | python3 -c '
import json, os, sys
for p in json.load(sys.stdin)["packages"]:
    if p["name"] == "zeromq-src":
        print(os.path.dirname(p["manifest_path"]))
        break
')
perf="$src_dir/vendor/perf"
if [[ ! -f "$perf/local_thr.cpp" ]]; then
    echo "build-libzmq-perf: libzmq's perf sources not found (looked in $perf)" >&2
    exit 1
fi

cxx=${CXX:-c++}
for tool in local_thr remote_thr local_lat remote_lat; do
    if [[ "$out/$tool" -nt "$perf/$tool.cpp" && "$out/$tool" -nt "$lib" ]]; then
        continue
    fi
    "$cxx" -O2 -I "$src_dir/vendor/include" -o "$out/$tool" "$perf/$tool.cpp" "$lib" \
        -lpthread
done
echo "libzmq perf tools in $out (libzmq.a: $lib)"
