#!/usr/bin/env bash
# The benchmarks (not tests): figures to quote, never assertions. Release build by
# default; PROFILE=dev for a quick look without a release build.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ "${PROFILE:-release}" = "release" ]; then
    cargo run --quiet --release --example bench_cycle
else
    cargo run --quiet --example bench_cycle
fi
