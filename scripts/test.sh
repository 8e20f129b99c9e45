#!/usr/bin/env bash
# The whole test suite, on a fresh machine: installs what the tests need, then runs
# the format check, clippy and every test. Exits non-zero on any failure.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null 2>&1; }

if ! need cargo; then
    echo "test.sh: cargo is required (install Rust with rustup)" >&2
    exit 2
fi
# rustfmt and clippy ship with rustup's default profile; add them if this toolchain lacks them.
if ! cargo fmt --version >/dev/null 2>&1 || ! cargo clippy --version >/dev/null 2>&1; then
    rustup component add rustfmt clippy
fi

cargo fmt --check
cargo clippy --all-targets --locked -- -D warnings

# Doc tests first (nextest does not run them), then every unit and integration test,
# one process per test. Without nextest, cargo test runs the same tests.
cargo test --doc --locked
if cargo nextest --version >/dev/null 2>&1; then
    cargo nextest run --locked --no-fail-fast
else
    cargo test --locked --no-fail-fast
fi
