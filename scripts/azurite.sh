#!/usr/bin/env bash
# azurite.sh — run a throwaway Azurite (the Azure Storage emulator, blob service only) on
# 127.0.0.1 for tests and local development, with one container ready for trustflow.
#
# Azurite and @azure/storage-blob (used only to create the container) come from the npm
# registry via `npm install --prefix` and are cached under
# ${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/azurite/<version>, so only the first run
# downloads anything. Each `start` begins with an empty data folder.
#
# Usage:
#   scripts/azurite.sh start              start (idempotent), wait until it answers, create the container
#   scripts/azurite.sh stop               stop (idempotent)
#   scripts/azurite.sh status             exit 0 iff running and answering
#   scripts/azurite.sh env                print `export` lines for the emulator's well-known dev
#                                         account, e.g. `eval "$(scripts/azurite.sh env)"`
#   scripts/azurite.sh container NAME     create another container (if not exists)
#   scripts/azurite.sh fetch              only install/cache the npm packages
#
# The account is Azurite's public development account (devstoreaccount1 and its documented
# key, the same on every machine): it is no secret and `env` prints it on purpose.
# `env` sets what object_store (Rust, and the Python deltalake package) reads:
# AZURE_STORAGE_ACCOUNT_NAME, AZURE_STORAGE_ACCOUNT_KEY, AZURE_STORAGE_USE_EMULATOR=true and
# AZURITE_BLOB_STORAGE_URL (the emulator's address; object_store ignores
# AZURE_STORAGE_ENDPOINT in emulator mode and defaults to port 10000).
#
# Node.js 20 or later must be installed (Azurite 3.35 is the last release that runs on 20).
#
# Environment: AZURITE_VERSION (default 3.35.0), AZURITE_PORT (10000), AZURITE_CONTAINER
#   (trustflow), AZURITE_DATA_DIR (default: <cache>/azurite/run-<port>/data, wiped on every
#   start), AZURITE_START_TIMEOUT (seconds, 60), TRUSTFLOW_CACHE.
set -euo pipefail
# shellcheck source=scripts/service.sh
source "$(dirname "${BASH_SOURCE[0]}")/service.sh"

AZURITE_VERSION="${AZURITE_VERSION:-3.35.0}"
STORAGE_BLOB_VERSION="12.32.0"
PORT="${AZURITE_PORT:-10000}"
CONTAINER="${AZURITE_CONTAINER:-trustflow}"
CACHE="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/azurite"
PREFIX="$CACHE/$AZURITE_VERSION"
RUN_DIR="$CACHE/run-$PORT"
DATA_DIR="${AZURITE_DATA_DIR:-$RUN_DIR/data}"
PID_FILE="$RUN_DIR/azurite.pid"
LOG_FILE="$RUN_DIR/azurite.log"
START_TIMEOUT="${AZURITE_START_TIMEOUT:-60}"
URL="http://127.0.0.1:$PORT"
# Azurite's well-known development account (documented by Microsoft, identical everywhere).
ACCOUNT="devstoreaccount1"
ACCOUNT_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
PINS="azurite@$AZURITE_VERSION @azure/storage-blob@$STORAGE_BLOB_VERSION"

log() { echo "azurite.sh: $*" >&2; }

installed() { [[ -f "$PREFIX/.complete" && "$(cat "$PREFIX/.complete")" == "$PINS" ]]; }

# Install the pinned packages once (a stamp file marks a complete copy); concurrent callers
# wait for one installer.
fetch() {
  installed && return 0
  command -v node >/dev/null || { log "node not found (Node.js 20+ is needed)"; exit 1; }
  command -v npm >/dev/null || { log "npm not found"; exit 1; }
  mkdir -p "$CACHE"
  exec 9>"$CACHE/install.lock"
  flock 9
  installed && return 0
  log "installing $PINS from the npm registry into $PREFIX"
  local t0=$SECONDS
  rm -rf "$PREFIX.tmp" && mkdir -p "$PREFIX.tmp"
  # shellcheck disable=SC2086
  npm install --prefix "$PREFIX.tmp" --no-audit --no-fund --no-update-notifier --omit=dev \
    $PINS </dev/null >"$CACHE/npm.log" 2>&1 \
    || { log "npm install failed:"; tail -n 30 "$CACHE/npm.log" >&2; exit 1; }
  rm -rf "$PREFIX" && mv "$PREFIX.tmp" "$PREFIX" && echo "$PINS" >"$PREFIX/.complete"
  log "installed in $((SECONDS - t0))s"
}

# Our emulator is alive: the pid file names a live node process running Azurite's blob service.
pid_alive() {
  [[ -f "$PID_FILE" ]] && [[ "$(tr '\0' ' ' <"/proc/$(cat "$PID_FILE")/cmdline" 2>/dev/null)" == *"azurite"*"--blobPort $PORT "* ]]
}
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }
# Something on the port answers HTTP like Azurite's blob service (its `Server` header).
answers() {
  port_open && curl -s -m 5 -o /dev/null -D - "$URL/$ACCOUNT?comp=list" 2>/dev/null | grep -qi '^server: *azurite-blob'
}

log_tail() { log "last lines of $LOG_FILE:"; tail -n 30 "$LOG_FILE" >&2 || true; }

# Creates container $1 with the dev account's key (no error if it exists).
create_container() {
  fetch
  NODE_PATH="$PREFIX/node_modules" AZ_URL="$URL/$ACCOUNT" AZ_ACCOUNT="$ACCOUNT" AZ_KEY="$ACCOUNT_KEY" \
    node -e '
      const { BlobServiceClient, StorageSharedKeyCredential } = require("@azure/storage-blob");
      const credential = new StorageSharedKeyCredential(process.env.AZ_ACCOUNT, process.env.AZ_KEY);
      const service = new BlobServiceClient(process.env.AZ_URL, credential);
      service.getContainerClient(process.argv[1]).createIfNotExists()
        .then((r) => console.error(`container ${process.argv[1]}: ${r.succeeded ? "created" : "exists"}`))
        .catch((e) => { console.error(`cannot create container ${process.argv[1]}: ${e.message}`); process.exit(1); });
    ' "$1" 2>&1 | sed 's/^/azurite.sh: /' >&2
  return "${PIPESTATUS[0]}"
}

start() {
  if pid_alive && answers; then
    log "already running (pid $(cat "$PID_FILE")) on $URL"
    create_container "$CONTAINER"
    return 0
  fi
  fetch
  if pid_alive; then log "pid $(cat "$PID_FILE") alive but not answering; restarting"; stop; fi
  if port_open; then
    if answers; then
      log "an Azurite not started by this script already answers on $URL"
      create_container "$CONTAINER"
      return 0
    fi
    log "port $PORT is taken by something that is not Azurite"; exit 1
  fi
  mkdir -p "$RUN_DIR"
  rm -rf "$DATA_DIR" && mkdir -p "$DATA_DIR"
  local t0=$SECONDS
  # Flags after --blobPort keep "--blobPort $PORT " matchable in pid_alive. No telemetry: a
  # test emulator has no business calling home (and CI may have no route out).
  nohup node "$PREFIX/node_modules/azurite/dist/src/blob/main.js" \
    --blobHost 127.0.0.1 --blobPort "$PORT" --location "$DATA_DIR" \
    --skipApiVersionCheck --loose --disableTelemetry >"$LOG_FILE" 2>&1 </dev/null &
  local pid=$!
  echo "$pid" >"$PID_FILE"
  while ((SECONDS - t0 < START_TIMEOUT)); do
    # kill -0, not pid_alive: until nohup has exec'd node, the child's command line is ours.
    if ! kill -0 "$pid" 2>/dev/null; then log "Azurite exited during startup"; log_tail; exit 1; fi
    if answers; then
      create_container "$CONTAINER" || { log_tail; stop; exit 1; }
      log "started pid $(cat "$PID_FILE") on $URL in $((SECONDS - t0))s (log: $LOG_FILE)"
      return 0
    fi
    sleep 0.5
  done
  log "Azurite did not answer within ${START_TIMEOUT}s"
  log_tail
  stop
  exit 1
}

stop() { stop_service 40 0.25; }

env_lines() {
  printf 'export %s=%q\n' \
    AZURE_STORAGE_ACCOUNT_NAME "$ACCOUNT" \
    AZURE_STORAGE_ACCOUNT_KEY "$ACCOUNT_KEY" \
    AZURE_STORAGE_USE_EMULATOR true \
    AZURITE_BLOB_STORAGE_URL "$URL"
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) if pid_alive && answers; then log "running on $URL"; else log "not running"; exit 1; fi ;;
  env) env_lines ;;
  container)
    [[ $# -eq 2 ]] || { log "usage: $0 container NAME"; exit 2; }
    answers || { log "not running on $URL"; exit 1; }
    create_container "$2" ;;
  fetch) fetch; echo "$PREFIX" ;;
  *) log "usage: $0 start|stop|status|env|container NAME|fetch"; exit 2 ;;
esac
