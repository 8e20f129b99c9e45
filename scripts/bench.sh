#!/usr/bin/env bash
# The benchmarks (not tests): figures to quote, never assertions. Release build by
# default; PROFILE=dev for a quick look without a release build.
#   scripts/bench.sh          the full JML cycle for 100 subjects on the sandbox
#   scripts/bench.sh pack     render and sign the pack of a 1,000-subject record
#   scripts/bench.sh collect  collect on a 10,000-person studio: the first collect, then
#                             a week of daily ones; segment sizes, ledger per person-quarter
#   scripts/bench.sh scale    reconcile and attest against a studio sandbox of PEOPLE
#                             (default 100000) employees whose System Log holds
#                             LOG_EVENTS (default 1000000) events: wall time and peak
#                             memory of each command (the sandbox runs apart)
set -euo pipefail
cd "$(dirname "$0")/.."
example=bench_cycle
if [ "${1:-}" = "pack" ]; then example=bench_pack; fi
if [ "${1:-}" = "collect" ]; then example=bench_collect; fi
if [ "${1:-}" = "scale" ]; then
    # The sandbox runs as its own process so the tool's peak memory is its own.
    cargo build --quiet --release
    bin=target/release/jmlproof
    dir=$(mktemp -d)
    trap 'kill "$sandbox" 2>/dev/null || true; rm -rf "$dir"' EXIT
    start=$(date +%s.%N)
    "$bin" sandbox --seed-data studio --people "${PEOPLE:-100000}" --log-events "${LOG_EVENTS:-1000000}" \
        --write-config "$dir/jmlproof.toml" >"$dir/sandbox.json" &
    sandbox=$!
    while [ ! -s "$dir/jmlproof.toml" ]; do sleep 0.5; done
    echo "sandbox with ${PEOPLE:-100000} people and ${LOG_EVENTS:-1000000} System Log events ready in $(awk "BEGIN{print $(date +%s.%N) - $start}") s"
    export AWS_SHARED_CREDENTIALS_FILE="$dir/.jmlproof-sandbox/aws_credentials"
    # The attest period is the System Log's 90 days: every leaver it can still show.
    for cmd in "reconcile" "attest --since $(date -u -d '-90 days' +%F) --until $(date -u +%F)"; do
        # shellcheck disable=SC2086
        /usr/bin/time -f "$cmd: %e s wall, %M KB peak resident" \
            "$bin" $cmd --config "$dir/jmlproof.toml" --out "$dir/evidence" --unsigned --quiet >/dev/null 2>"$dir/time.txt" || true
        tail -1 "$dir/time.txt"
    done
    exit 0
fi
if [ "${PROFILE:-release}" = "release" ]; then
    cargo run --quiet --release --example "$example"
else
    cargo run --quiet --example "$example"
fi
