#!/bin/sh
# Runs every fuzz target for SECONDS (default 600) in turn, each input at most 64 KiB, a
# 10 s timeout per input and a 2 GiB memory limit, and prints the end of each run (its
# final statistics, or the crash, timeout or out-of-memory it found, whose input lands in
# fuzz/artifacts/TARGET/). Needs `cargo install cargo-fuzz` and nightly.
#
#   fuzz/run-all.sh          # 10 minutes per target
#   fuzz/run-all.sh 60       # a minute per target
set -eu
seconds=${1:-600}
cd "$(dirname "$0")/.."
for target in procfile env_file manifest env_roundtrip audit_file drain_url image_inputs deployment_files http_response control_request flags; do
    echo "== $target: ${seconds}s" >&2
    cargo +nightly fuzz run "$target" -- \
        -max_total_time="$seconds" -max_len=65536 -timeout=10 -rss_limit_mb=2048 \
        -print_final_stats=1 2>&1 | tail -n 25
done
