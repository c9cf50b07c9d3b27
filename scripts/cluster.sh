#!/usr/bin/env bash
# cluster.sh — run trustflow as a local multi-process timely cluster: N processes of W worker
# threads each on 127.0.0.1, one hostfile, the same arguments for all. Partitions are spread
# over all N x W workers; worker 0 (in process 0) commits. Each process's stdout goes to
# <log dir>/process-<i>.out and its log (stderr) to process-<i>.log; process 0's stdout (the
# run's summary) is printed at the end.
#
# Usage:
#   scripts/cluster.sh [-n PROCESSES] [-w WORKERS] [--base-port PORT] [--logs DIR] -- TRUSTFLOW_ARGS...
#   e.g. scripts/cluster.sh -n 2 -w 2 -- run --brokers 127.0.0.1:9092 --topic financial-transactions \
#          --output trustflow-data --stop-at-end
#
# Ctrl-C (SIGINT/SIGTERM) is passed to every process, which then commit what they have read
# and stop; if any process fails, the others are stopped and the script exits non-zero.
# Environment: TRUSTFLOW_BIN (default: target/release/trustflow, built with cargo if missing;
#   CARGO_TARGET_DIR is honoured).
set -euo pipefail
cd "$(dirname "$0")/.."

PROCESSES=2
WORKERS=2
BASE_PORT=2101
LOGS=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) PROCESSES="$2"; shift 2 ;;
    -w) WORKERS="$2"; shift 2 ;;
    --base-port) BASE_PORT="$2"; shift 2 ;;
    --logs) LOGS="$2"; shift 2 ;;
    --) shift; break ;;
    -h|--help) sed -n "2,16p" "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "cluster.sh: unknown option $1 (trustflow's own arguments go after --)" >&2; exit 2 ;;
  esac
done
[[ $# -gt 0 ]] || { echo "cluster.sh: no trustflow arguments after --" >&2; exit 2; }
[[ "$PROCESSES" =~ ^[1-9][0-9]*$ && "$WORKERS" =~ ^[1-9][0-9]*$ ]] \
  || { echo "cluster.sh: -n and -w take positive integers" >&2; exit 2; }

TARGET="${CARGO_TARGET_DIR:-target}"
BIN="${TRUSTFLOW_BIN:-$TARGET/release/trustflow}"
if [[ ! -x "$BIN" ]]; then
  echo "cluster.sh: building $BIN" >&2
  cargo build --release --quiet
fi
LOGS="${LOGS:-$(mktemp -d -t trustflow-cluster.XXXXXX)}"
mkdir -p "$LOGS"
HOSTS="$LOGS/hosts"
: >"$HOSTS"
for ((i = 0; i < PROCESSES; i++)); do echo "127.0.0.1:$((BASE_PORT + i))" >>"$HOSTS"; done

PIDS=()
stop_all() { for pid in "${PIDS[@]}"; do kill -INT "$pid" 2>/dev/null || true; done; }
trap stop_all INT TERM
for ((i = 0; i < PROCESSES; i++)); do
  "$BIN" "$@" -w "$WORKERS" -n "$PROCESSES" -p "$i" --hostfile "$HOSTS" \
    >"$LOGS/process-$i.out" 2>"$LOGS/process-$i.log" &
  PIDS+=("$!")
done
echo "cluster.sh: $PROCESSES processes x $WORKERS workers (pids ${PIDS[*]}), logs in $LOGS" >&2

status=0
for ((i = 0; i < PROCESSES; i++)); do
  # `wait` returns early when a trapped signal arrives: wait again until the process is gone.
  while true; do
    set +e
    wait "${PIDS[$i]}"
    code=$?
    set -e
    kill -0 "${PIDS[$i]}" 2>/dev/null || break
  done
  if [[ $code -ne 0 ]]; then
    echo "cluster.sh: process $i exited with $code; its log:" >&2
    tail -n 20 "$LOGS/process-$i.log" >&2
    status=$code
    stop_all
  fi
done
# Process 0 hosts worker 0, which commits: its stdout is the run's summary.
cat "$LOGS/process-0.out"
exit "$status"
