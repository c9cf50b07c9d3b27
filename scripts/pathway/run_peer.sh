#!/usr/bin/env bash
# run_peer.sh — one side-by-side run: trustflow batch versus the Pathway peer on the same input.
# Generates COUNT events as JSON lines (seeded, fixed "now") unless the file exists, runs
# scripts/pathway/quality.py once per MODE:FRAME pair in PEERS, runs `trustflow batch` once per
# worker count in WORKERS on the same file, compares every Pathway output with the last
# trustflow output row by row on the columns the peer computes (scripts/pathway/compare.py),
# and prints ONE JSON object: each run's wall and CPU time, the comparisons and the ratios
# (Pathway / trustflow: wall, engine-only wall, CPU). The runs are sequential: the Pathway runs,
# then the trustflow runs; each logs the load average (uptime) before it starts to stderr and
# into its JSON.
# Exit status: 1 if an output differs.
#
# Usage:  bash scripts/pathway/run_peer.sh [COUNT] [extra trustflow batch flags]
# Environment: TRUSTFLOW_BIN (default $TRUSTFLOW_CACHE/target/release/trustflow),
#   TRUSTFLOW_CACHE, WORK (scratch directory, default /tmp/trustflow-pathway-peer),
#   NOW_MS (default 1767225600000), SEED (default 5), PEERS (MODE:FRAME pairs, mode static or
#   streaming, frame pointers, chain or reduce; default "static:pointers static:reduce
#   streaming:pointers"), BATCH_ROWS (streaming commit size, default 100000), THREADS (Pathway
#   workers, default 2), WORKERS (trustflow -w values, default "2"), KEEP (1: keep the outputs;
#   default: outputs deleted at the end, the input stays).
set -euo pipefail

COUNT="${1:-1000000}"
shift || true
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}"
BIN="${TRUSTFLOW_BIN:-$CACHE/target/release/trustflow}"
WORK="${WORK:-/tmp/trustflow-pathway-peer}"
NOW_MS="${NOW_MS:-1767225600000}"
SEED="${SEED:-5}"
PEERS="${PEERS:-static:pointers static:reduce streaming:pointers}"
BATCH_ROWS="${BATCH_ROWS:-100000}"
THREADS="${THREADS:-2}"
WORKERS="${WORKERS:-2}"

[[ -x "$BIN" ]] || { echo "run_peer.sh: no trustflow binary at $BIN (cargo build --release)" >&2; exit 2; }
PY="$(bash "$HERE/../pyenv.sh" pathway | tail -1)"
mkdir -p "$WORK"
IN="$WORK/in-$COUNT-$SEED-$NOW_MS.jsonl"
if [[ ! -s "$IN" ]]; then
  echo "run_peer.sh: generating $COUNT events into $IN" >&2
  "$BIN" generate --jsonl "$IN.tmp" --count "$COUNT" --now "$NOW_MS" --seed "$SEED" >&2
  mv "$IN.tmp" "$IN"
fi

now() { date +%s.%N; }
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"

load() { uptime | sed 's/.*load average: //'; }

for peer in $PEERS; do
  mode="${peer%%:*}" frame="${peer##*:}"
  l="$(load)"
  echo "run_peer.sh: Pathway $mode, $frame frame, $THREADS threads (load $l)" >&2
  out="$WORK/pathway-$mode-$frame"
  rm -rf "$out"
  start=$(now)
  /usr/bin/time -f '%U %S' -o "$out.cpu" "$PY" "$HERE/quality.py" "$IN" "$out" --now "$NOW_MS" \
    --mode "$mode" --frame "$frame" --batch-rows "$BATCH_ROWS" --threads "$THREADS" \
    2>"$out.log" | tail -1 >"$out.json"
  end=$(now)
  "$PY" - "$out.json" "$start" "$end" "$l" "$out.cpu" >>"$RESULTS" <<'PY'
import json, sys
r = json.load(open(sys.argv[1]))
cpu = sum(map(float, open(sys.argv[5]).read().split()[-2:]))
print(json.dumps({"pathway": {**r, "wall_s": round(float(sys.argv[3]) - float(sys.argv[2]), 3),
                              "cpu_s": round(cpu, 2), "load_before": sys.argv[4]}}))
PY
done

for w in $WORKERS; do
  l="$(load)"
  echo "run_peer.sh: trustflow batch -w $w $* (load $l)" >&2
  rm -rf "$WORK/trustflow-out" "$WORK/trustflow-out.rejects.jsonl"
  start=$(now)
  /usr/bin/time -f '%U %S' -o "$WORK/trustflow-w$w.cpu" "$BIN" batch --input "$IN" \
    --output "$WORK/trustflow-out" --format parquet --now "$NOW_MS" \
    --summary-json "$WORK/trustflow-summary.json" -w "$w" "$@" >"$WORK/trustflow-w$w.log" 2>&1
  end=$(now)
  "$PY" - "$WORK/trustflow-summary.json" "$start" "$end" "$l" "$WORK/trustflow-w$w.cpu" >>"$RESULTS" <<'PY'
import json, sys
tf = json.load(open(sys.argv[1]))
cpu = sum(map(float, open(sys.argv[5]).read().split()[-2:]))
print(json.dumps({"trustflow": {
    "wall_s": round(float(sys.argv[3]) - float(sys.argv[2]), 3), "cpu_s": round(cpu, 2),
    "total_s": round(tf["total"]["seconds"], 3), "read_s": round(tf["read_phase"]["seconds"], 3),
    "graph_s": round(tf["graph_phase"]["seconds"], 3),
    "write_s": round(tf["write_phase"]["seconds"], 3), "workers": tf["workers"],
    "load_before": sys.argv[4]}}))
PY
done

RC=0
for peer in $PEERS; do
  mode="${peer%%:*}" frame="${peer##*:}"
  echo "run_peer.sh: comparing Pathway $mode/$frame with trustflow batch -w ${WORKERS##* }" >&2
  set +e
  "$PY" "$HERE/compare.py" "$WORK/pathway-$mode-$frame" "$WORK/trustflow-out" \
    >"$WORK/compare-$mode-$frame.json"
  rc=$?
  set -e
  [[ $rc == 0 ]] || RC=1
  "$PY" - "$mode:$frame" "$WORK/compare-$mode-$frame.json" >>"$RESULTS" <<'PY'
import json, sys
print(json.dumps({"compare": {"peer": sys.argv[1], **json.load(open(sys.argv[2]))}}))
PY
done

"$PY" - "$RESULTS" "$COUNT" <<'PY'
import json, sys
pathway, trustflow, compare = [], [], {}
for line in open(sys.argv[1]):
    r = json.loads(line)
    if "pathway" in r:
        pathway.append(r["pathway"])
    elif "trustflow" in r:
        trustflow.append(r["trustflow"])
    else:
        c = r["compare"]
        c.pop("columns", None)
        compare[c.pop("peer")] = c
for p in pathway:
    c = compare[f"{p['mode']}:{p['frame']}"]
    p["identical"] = c["missing"] == 0 and c["extra"] == 0 and c["negative_rows"] == 0
out = {
    "events": int(sys.argv[2]),
    "rows": next(iter(compare.values()))["expected"] if compare else None,
    "pathway": pathway,
    "trustflow": trustflow,
    # How many times longer Pathway took than trustflow batch, wall clock, per pair; and the same
    # with Pathway's engine time only (pw.run: without `import pathway` and the graph build).
    "ratios": {f"{p['mode']}:{p['frame']}/w{t['workers']}": round(p["wall_s"] / t["wall_s"], 2)
               for p in pathway for t in trustflow},
    "ratios_engine": {f"{p['mode']}:{p['frame']}/w{t['workers']}": round(p["run_s"] / t["wall_s"], 2)
                      for p in pathway for t in trustflow},
    # CPU seconds (user + sys, all threads) instead of wall: less sensitive to a shared machine.
    "ratios_cpu": {f"{p['mode']}:{p['frame']}/w{t['workers']}": round(p["cpu_s"] / t["cpu_s"], 2)
                   for p in pathway for t in trustflow},
    "identical": all(p["identical"] for p in pathway),
    "compare": compare,
}
print(json.dumps(out))
PY
if [[ "${KEEP:-0}" != 1 ]]; then
  rm -rf "$WORK"/pathway-*/ "$WORK/trustflow-out" "$WORK/trustflow-out.rejects.jsonl"
fi
exit "$RC"
