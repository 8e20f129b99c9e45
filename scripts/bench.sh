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
#   scripts/bench.sh all      every one of the above, then one table of the figures
set -euo pipefail
cd "$(dirname "$0")/.."

example() {
    if [ "${PROFILE:-release}" = "release" ]; then
        cargo run --quiet --release --example "$1"
    else
        cargo run --quiet --example "$1"
    fi
}

scale() {
    # The sandbox runs as its own process so the tool's peak memory is its own.
    cargo build --quiet --release
    local bin=target/release/jmlproof dir start sandbox
    dir=$(mktemp -d)
    start=$(date +%s.%N)
    "$bin" sandbox --seed-data studio --people "${PEOPLE:-100000}" --log-events "${LOG_EVENTS:-1000000}" \
        --write-config "$dir/jmlproof.toml" >"$dir/sandbox.json" &
    sandbox=$!
    # shellcheck disable=SC2064
    trap "kill $sandbox 2>/dev/null || true; rm -rf '$dir'" EXIT
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
}

# Prints the value after `label` in a file of benchmark output (the rest of the line).
after() { grep -m1 "$2" "$1" | sed "s/.*$2//" || true; }

all() {
    local out
    out=$(mktemp -d)
    echo "== JML cycle"; example bench_cycle | tee "$out/cycle"
    echo "== pack"; example bench_pack | tee "$out/pack"
    echo "== collect"; example bench_collect | tee "$out/collect"
    echo "== scale"; scale | tee "$out/scale"
    echo
    echo "| benchmark | figures |"
    echo "|---|---|"
    echo "| JML cycle, 100 subjects | wall $(after "$out/cycle" 'wall time *'); API calls $(after "$out/cycle" 'API calls *'); p95 revoke window $(after "$out/cycle" 'p95 revoke window width *') |"
    echo "| pack of 1,000 subjects (render, hash, sign, write) | $(after "$out/pack" 'whole pack (render all, hash, sign, write atomically): ') |"
    echo "| collect, 10,000 people | $(after "$out/collect" 'daily collect: '); $(after "$out/collect" 'ledger per person-quarter at this rate: ') |"
    echo "| reconcile, ${PEOPLE:-100000} users in three systems | $(after "$out/scale" 'reconcile: ') |"
    echo "| attest over ${LOG_EVENTS:-1000000} System Log events, 90 days | $(grep -m1 '^attest' "$out/scale" | sed 's/^attest[^:]*: //') |"
    rm -rf "$out"
}

case "${1:-}" in
    "") example bench_cycle ;;
    pack) example bench_pack ;;
    collect) example bench_collect ;;
    scale) scale ;;
    all) all ;;
    *) echo "scripts/bench.sh: unknown benchmark ${1} (expected: pack, collect, scale, all)" >&2; exit 2 ;;
esac
