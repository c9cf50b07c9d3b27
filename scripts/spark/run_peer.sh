#!/usr/bin/env bash
# run_peer.sh — one side-by-side run: trustflow batch versus the Spark peer on the same input.
# Generates COUNT events as JSON lines (seeded, fixed "now") unless the file exists, runs
# scripts/spark/quality.py (local[2], --repeat N: one cold run, N-1 warm runs in the same JVM),
# runs `trustflow batch` on the same file, compares the outputs row by row (compare.py), and
# prints ONE JSON object: the Spark timings, trustflow's summary, the comparison and the ratios.
# Exit status: 1 if the outputs differ.
#
# Usage:  bash scripts/spark/run_peer.sh [COUNT] [extra trustflow batch flags, e.g. -w 2]
# Environment: TRUSTFLOW_BIN (default $TRUSTFLOW_CACHE/target/release/trustflow),
#   TRUSTFLOW_CACHE, WORK (scratch directory, default /tmp/trustflow-spark-peer),
#   NOW_MS (default 1767225600000), SEED (default 5), REPEAT (default 3),
#   FORMAT (trustflow output: parquet or delta, default parquet).
set -euo pipefail

COUNT="${1:-1000000}"
shift || true
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}"
BIN="${TRUSTFLOW_BIN:-$CACHE/target/release/trustflow}"
WORK="${WORK:-/tmp/trustflow-spark-peer}"
NOW_MS="${NOW_MS:-1767225600000}"
SEED="${SEED:-5}"
REPEAT="${REPEAT:-3}"
FORMAT="${FORMAT:-parquet}"

[[ -x "$BIN" ]] || { echo "run_peer.sh: no trustflow binary at $BIN (cargo build --release)" >&2; exit 2; }
PY="$(bash "$HERE/../sparkenv.sh" | tail -1)"
mkdir -p "$WORK"
IN="$WORK/in-$COUNT-$SEED-$NOW_MS.jsonl"
if [[ ! -s "$IN" ]]; then
  echo "run_peer.sh: generating $COUNT events into $IN" >&2
  "$BIN" generate --jsonl "$IN.tmp" --count "$COUNT" --now "$NOW_MS" --seed "$SEED" >&2
  mv "$IN.tmp" "$IN"
fi

echo "run_peer.sh: Spark local[2], $REPEAT run(s)" >&2
SPARK_JSON="$("$PY" "$HERE/quality.py" "$IN" "$WORK/spark-out" --now "$NOW_MS" --repeat "$REPEAT" \
  2>"$WORK/spark.log" | tail -1)"

echo "run_peer.sh: trustflow batch $*" >&2
rm -rf "$WORK/trustflow-out"
START=$(date +%s.%N)
"$BIN" batch --input "$IN" --output "$WORK/trustflow-out" --format "$FORMAT" --now "$NOW_MS" \
  --summary-json "$WORK/trustflow-summary.json" "$@" >"$WORK/trustflow.log" 2>&1
END=$(date +%s.%N)

set +e
CMP_JSON="$("$PY" "$HERE/compare.py" "$WORK/spark-out" "$WORK/trustflow-out" --actual-format "$FORMAT")"
CMP_RC=$?
set -e

"$PY" - "$SPARK_JSON" "$WORK/trustflow-summary.json" "$CMP_JSON" "$START" "$END" "$COUNT" <<'PY'
import json, sys
spark = json.loads(sys.argv[1])
tf = json.load(open(sys.argv[2]))
cmp = json.loads(sys.argv[3])
wall = float(sys.argv[5]) - float(sys.argv[4])
warm = [w["job_s"] for w in spark.get("warm", [])]
best_warm = min(warm) if warm else None
out = {
    "events": int(sys.argv[6]),
    "rows": spark["rows"],
    "spark": spark,
    "trustflow": {"wall_s": round(wall, 3), "total_s": round(tf["total"]["seconds"], 3),
                  "read_s": round(tf["read_phase"]["seconds"], 3),
                  "graph_s": round(tf["graph_phase"]["seconds"], 3),
                  "write_s": round(tf["write_phase"]["seconds"], 3), "workers": tf["workers"]},
    "ratio_cold": round(spark["cold_s"] / wall, 2),
    "ratio_warm": round(best_warm / wall, 2) if best_warm else None,
    "identical": cmp["missing"] == 0 and cmp["extra"] == 0 and not cmp["schema_differences"],
    "compare": cmp,
}
print(json.dumps(out))
PY
exit "$CMP_RC"
