#!/usr/bin/env bash
# test.sh — README command two: every check CI runs, on a fresh machine or a warm one.
#
# Installs what the tests need (Kafka jars from Maven Central, Azurite from the npm registry, a
# Python venv with deltalake and pyarrow: all cached under ~/.cache/trustflow), starts a
# single-node Kafka broker and Azurite (the Azure Blob emulator) on 127.0.0.1, runs cargo fmt
# --check, clippy, and the whole test suite in release mode, and stops both again.
#
# Usage: scripts/test.sh [extra cargo test args]
# Environment: CARGO_TARGET_DIR (default ~/.cache/trustflow/target, outside the clone so that
#   repeated runs reuse the build), KAFKA_PORT (9092), AZURITE_PORT (10000), TRUSTFLOW_CACHE.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
step() { printf '\n== %s (%s)\n' "$*" "$(date +%T)"; }

# Cargo's fingerprints of this package are relative to the clone and go by file times, so a
# clone at another path with older files would reuse the other clone's build, whose
# env!("CARGO_MANIFEST_DIR") points at the other path: rebuild the crate when the clone changed.
CLONE_STAMP="$CARGO_TARGET_DIR/.trustflow-clone"
if [[ "$(cat "$CLONE_STAMP" 2>/dev/null)" != "$PWD" ]]; then
  mkdir -p "$CARGO_TARGET_DIR"
  touch src/lib.rs src/main.rs
  printf '%s\n' "$PWD" >"$CLONE_STAMP"
fi

step "toolchain"
cargo --version
rustc --version

step "cargo fmt --check"
cargo fmt --check

step "python venv (deltalake, pyarrow)"
bash scripts/pyenv.sh >/dev/null

step "python venv of the Presidio peer (presidio-analyzer, spaCy)"
bash scripts/pyenv.sh presidio >/dev/null

step "kafka"
trap 'bash scripts/kafka.sh stop || true; bash scripts/azurite.sh stop || true' EXIT
bash scripts/kafka.sh start
TRUSTFLOW_TEST_BROKERS="$(bash scripts/kafka.sh bootstrap)"
export TRUSTFLOW_TEST_BROKERS

step "azurite (Azure Blob emulator)"
bash scripts/azurite.sh start
# The emulator's public dev account (AZURE_STORAGE_*) and address (AZURITE_BLOB_STORAGE_URL).
eval "$(bash scripts/azurite.sh env)"
export TRUSTFLOW_TEST_AZURITE="$AZURITE_BLOB_STORAGE_URL"

step "cargo clippy --all-targets -- -D warnings (release profile, shares the test build)"
cargo clippy --release --all-targets -- -D warnings

step "cargo test --release"
cargo test --release "$@"
