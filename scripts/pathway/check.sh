#!/usr/bin/env bash
# check.sh — the Pathway peer against the text of the rules, on small inputs, every mode and frame.
# Runs scripts/spark/reference.py (QUALITY_SEMANTICS.md in plain Python, exact decimals) on each
# input, then scripts/pathway/quality.py in static and streaming mode (streaming in commits of
# BATCH_ROWS rows, so later commits update earlier rows' frames) with each frame
# (pointers, chain, reduce), and compares every output with the reference (compare.py).
# Inputs: scripts/spark/worked_cases.jsonl (65 rows: rounding, null amounts, ties broken by
# transactionId and by metadata, UTF-8 order, null userIds and transactionIds, amounts beyond
# 64-bit sums) and, if TRUSTFLOW_BIN is set, COUNT generated events (default 20000).
# Prints one line per run and exits 1 if any output differs.
#
# Usage:  bash scripts/pathway/check.sh
# Environment: TRUSTFLOW_BIN, COUNT, BATCH_ROWS (default 7), WORK (default: a temporary directory,
#   deleted at the end), TRUSTFLOW_CACHE.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
PY="$(bash "$HERE/../pyenv.sh" pathway | tail -1)"
NOW_MS=1767225600000
BATCH_ROWS="${BATCH_ROWS:-7}"
if [[ -n "${WORK:-}" ]]; then
  mkdir -p "$WORK"
else
  WORK="$(mktemp -d)"
  trap 'rm -rf "$WORK"' EXIT
fi

INPUTS=("$HERE/../spark/worked_cases.jsonl")
if [[ -n "${TRUSTFLOW_BIN:-}" ]]; then
  "$TRUSTFLOW_BIN" generate --jsonl "$WORK/generated.jsonl" --count "${COUNT:-20000}" \
    --now "$NOW_MS" --seed 5 >/dev/null 2>&1
  INPUTS+=("$WORK/generated.jsonl")
fi

RC=0
for in in "${INPUTS[@]}"; do
  name="$(basename "$in" .jsonl)"
  "$PY" "$HERE/../spark/reference.py" "$in" "$WORK/ref-$name" --now "$NOW_MS" >/dev/null
  for mode in static streaming; do
    # Streaming commits of BATCH_ROWS rows on the small file, 1000 on the generated one.
    rows="$BATCH_ROWS"
    [[ "$name" == generated ]] && rows=1000
    for frame in pointers chain reduce; do
      out="$WORK/pw-$name-$mode-$frame"
      "$PY" "$HERE/quality.py" "$in" "$out" --mode "$mode" --frame "$frame" --batch-rows "$rows" \
        2>"$out.log" >/dev/null
      set +e
      "$PY" "$HERE/compare.py" "$out" "$WORK/ref-$name" >"$out.cmp.json"
      rc=$?
      set -e
      summary="$("$PY" - "$out.cmp.json" <<'PY'
import json, sys
c = json.load(open(sys.argv[1]))
print(f"rows {c['expected']}, updates {c['updates']}, missing {c['missing']}, extra {c['extra']}, "
      f"negative {c['negative_rows']}, mismatches {c['per_column_mismatches']}")
PY
)"
      if [[ $rc == 0 ]]; then
        echo "ok    $name $mode $frame: $summary"
      else
        echo "FAIL  $name $mode $frame: $summary"
        cut -c1-2000 "$out.cmp.json"
        RC=1
      fi
    done
  done
done
exit "$RC"
