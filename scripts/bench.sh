#!/usr/bin/env bash
# The benchmarks (not tests): figures to quote, never assertions. Release build by
# default; PROFILE=dev for a quick look without a release build.
#   scripts/bench.sh          the full JML cycle for 100 subjects on the sandbox
#   scripts/bench.sh pack     render and sign the pack of a 1,000-subject record
set -euo pipefail
cd "$(dirname "$0")/.."
example=bench_cycle
if [ "${1:-}" = "pack" ]; then example=bench_pack; fi
if [ "${PROFILE:-release}" = "release" ]; then
    cargo run --quiet --release --example "$example"
else
    cargo run --quiet --example "$example"
fi
