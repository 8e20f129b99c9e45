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

# The pack's tests read it back with stock tools, as an auditor does: pdftotext
# (poppler-utils), headless Chromium, ssh-keygen/ssh-agent/ssh-add (openssh-client).
if ! need pdftotext || ! need chromium || ! need ssh-keygen || ! need ssh-agent || ! need ssh-add; then
    sudo=""
    if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends \
        poppler-utils chromium openssh-client fonts-dejavu-core >/dev/null
fi

# moto_server: the third-party AWS emulator the AWS client is also tested against.
# Pinned: the research (shared/research/aws.md) and the tests were done with 5.2.5.
if ! python3 -c 'import importlib.metadata as m, sys; sys.exit(m.version("moto") != "5.2.5")' 2>/dev/null \
    || ! command -v moto_server >/dev/null 2>&1; then
    python3 -m pip install --quiet --disable-pip-version-check "moto[server]==5.2.5"
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
