#!/usr/bin/env python3
"""compare.py - compare the Pathway peer's output with trustflow's (or Spark's), as multisets of rows.

Usage:
  PY=$(bash scripts/pyenv.sh pathway | tail -1)
  "$PY" scripts/pathway/compare.py PATHWAY_OUT EXPECTED_PATH [--expected-format auto|delta|parquet]
        [--examples N]

  PATHWAY_OUT     the directory scripts/pathway/quality.py wrote (part-0.jsonl: Pathway's update
                  stream; it is consolidated first: the sum of `diff` per distinct row)
  EXPECTED_PATH   19-column quality output: `trustflow batch` (a Delta table or Parquet files),
                  scripts/spark/quality.py or scripts/spark/reference.py (Parquet). Other columns
                  (trustflow's fraud, governance and lineage columns) are not read.

Compares the columns the peer computes, QUALITY_SEMANTICS.md names: the input record
(transactionId, userId, amount, currency, timestamp, metadata) and avg_transaction_amount,
consistency_check, uniqueness. Decimals exactly (amount at scale 2, the peer's integer cents
turned into the same decimal; the average as decimal text at scale 6 on both sides), maps as their sorted
(key, value) entries, nulls as nulls. Prints ONE JSON object and exits 1 on any difference:

  expected, actual        row counts (actual after consolidation)
  missing, extra          rows in expected not in actual, and the reverse (with multiplicity)
  negative_rows           consolidated rows with a net negative count (a retraction never inserted)
  per_column_mismatches   differing rows paired on the input record and occurrence index, then
                          per column: how many pairs differ
  unpaired_expected/actual differing rows whose input record has no partner on the other side
  examples                the first few differing pairs ({column: [expected, actual]})
  updates                 lines in the peer's update stream (inserts + retractions)
"""
import argparse
import collections
import json
import os
import sys
from decimal import Decimal

import pyarrow.dataset as ds

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "spark"))
from columns import OUTPUT_COLUMNS  # noqa: E402

KEY = OUTPUT_COLUMNS[:6]  # the input record
COMPUTED = ["avg_transaction_amount", "consistency_check", "uniqueness"]
COLUMNS = KEY + COMPUTED
assert all(c in OUTPUT_COLUMNS for c in COLUMNS)


def map_text(entries):
    """A map (iterable of (key, value)) as the JSON text of its sorted entries; None for null."""
    if entries is None:
        return None
    return json.dumps(sorted(entries, key=lambda kv: (kv[0], kv[1] is not None, kv[1] or "")),
                      ensure_ascii=False)


def scaled(value, scale):
    """An integer in units of 10^-scale as decimal text at that scale ("12.30")."""
    return None if value is None else str(Decimal(value).scaleb(-scale))


def metadata_text(value):
    """The peer's metadata (the JSON value as read) the way Spark reads it into map<string,string>:
    not an object -> null, a non-string value -> its JSON text."""
    if not isinstance(value, dict):
        return None
    return map_text((k, v if v is None or isinstance(v, str) else json.dumps(v, separators=(",", ":")))
                    for k, v in value.items())


def read_expected(path, fmt):
    if fmt == "auto":
        fmt = "delta" if os.path.isdir(os.path.join(path, "_delta_log")) else "parquet"
    if fmt == "delta":
        from deltalake import DeltaTable

        # On the calling thread (apache/arrow#34314, see scripts/read_delta.py).
        table = DeltaTable(path).to_pyarrow_dataset().to_table(columns=COLUMNS, use_threads=False)
    else:
        table = ds.dataset(path, format="parquet").to_table(columns=COLUMNS)
    counts = collections.Counter()
    cols = [table.column(c).to_pylist() for c in COLUMNS]
    for row in zip(*cols):
        tx, user, amount, cur, ts, meta, avg, cons, uniq = row
        counts[(tx, user, None if amount is None else str(amount), cur, ts,
                map_text(meta), None if avg is None else str(avg), cons, uniq)] += 1
    return counts, fmt


def read_pathway(out_dir):
    counts, updates = collections.Counter(), 0
    with open(os.path.join(out_dir, "part-0.jsonl"), encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            updates += 1
            counts[(o["transactionId"], o["userId"], scaled(o["amount_cents"], 2), o["currency"],
                    o["timestamp"], metadata_text(o["metadata"]), o["avg_transaction_amount"],
                    o["consistency_check"], o["uniqueness"])] += o["diff"]
    return counts, updates


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("pathway_out")
    ap.add_argument("expected_path")
    ap.add_argument("--expected-format", choices=["auto", "delta", "parquet"], default="auto")
    ap.add_argument("--examples", type=int, default=5)
    args = ap.parse_args()

    expected, fmt = read_expected(args.expected_path, args.expected_format)
    actual, updates = read_pathway(args.pathway_out)
    negative = sum(-n for n in actual.values() if n < 0)
    actual = collections.Counter({r: n for r, n in actual.items() if n > 0})

    missing = expected - actual
    extra = actual - expected
    by_key = collections.defaultdict(lambda: ([], []))
    for side, rows in ((0, missing), (1, extra)):
        for r, n in rows.items():
            by_key[r[:len(KEY)]][side].extend([r] * n)
    per_col, examples = collections.Counter(), []
    unpaired_e = unpaired_a = 0
    for key in sorted(by_key, key=repr):
        es, as_ = (sorted(x, key=repr) for x in by_key[key])
        for er, ar in zip(es, as_):
            differs = {c: [x, y] for c, x, y in zip(COLUMNS, er, ar) if x != y}
            per_col.update(differs.keys())
            if len(examples) < args.examples:
                examples.append({"key": dict(zip(KEY, key)), "differs": differs})
        unpaired_e += max(0, len(es) - len(as_))
        unpaired_a += max(0, len(as_) - len(es))
        for side, rows in (("only_expected", es[len(as_):]), ("only_actual", as_[len(es):])):
            for r in rows:
                if len(examples) < args.examples:
                    examples.append({side: dict(zip(COLUMNS, r))})

    out = {
        "expected": sum(expected.values()),
        "actual": sum(actual.values()),
        "missing": sum(missing.values()),
        "extra": sum(extra.values()),
        "negative_rows": negative,
        "columns": COLUMNS,
        "per_column_mismatches": dict(per_col.most_common()),
        "unpaired_expected": unpaired_e,
        "unpaired_actual": unpaired_a,
        "examples": examples,
        "updates": updates,
        "expected_format": fmt,
    }
    print(json.dumps(out, ensure_ascii=False))
    sys.exit(1 if out["missing"] or out["extra"] or negative else 0)


if __name__ == "__main__":
    main()
