#!/usr/bin/env python3
"""compare.py - compare Spark's quality output with trustflow's, as multisets of rows.

Usage:
  PY=$(bash scripts/sparkenv.sh | tail -1)
  "$PY" scripts/spark/compare.py EXPECTED_DIR ACTUAL_PATH [--actual-format auto|delta|parquet]
        [--examples N]

  EXPECTED_DIR  Parquet written by scripts/spark/quality.py (a directory or one file)
  ACTUAL_PATH   trustflow's output: a Delta table (read with `deltalake`; a changelog with
                `_change_type` is consolidated: inserts minus deletes) or Parquet files.
                auto (default): delta if ACTUAL_PATH/_delta_log exists, else parquet.

Compares the 19 output columns of QUALITY_SEMANTICS.md: decimals exactly (as decimal text at
the expected column's scale), maps as their sorted (key, value) entries, doubles exactly,
nulls as nulls. Prints ONE JSON object and exits 1 on any difference (0 when equal):

  expected, actual        row counts (actual after consolidation)
  missing, extra          rows in expected not in actual, and the reverse (with multiplicity)
  schema_differences      columns absent, or of another Arrow type than Spark's
  extra_columns           actual's columns beyond the 19 (trustflow's fraud verdict, governance
                          and lineage columns): listed, not compared, not a difference
  per_column_mismatches   the differing rows paired on the input columns (transactionId,
                          userId, amount, currency, timestamp, metadata) + occurrence index
                          (rows equal on all 19 columns are taken out first, the rest of each
                          key sorted and zipped), then per column: how many pairs differ
  unpaired_expected/actual differing rows whose input key has no partner on the other side
  examples                the first few differing pairs ({column: [expected, actual]}) and
                          unpaired rows
  changelog               (Delta changelog only) inserts, deletes, rows with a net negative count
"""
import argparse
import collections
import json
import os
import sys

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as ds

from columns import OUTPUT_COLUMNS as COLUMNS  # noqa: E402
KEY = COLUMNS[:6]  # the input record: pairs an expected row with an actual one
CHANGE_TYPE, EPOCH = "_change_type", "_epoch"
NULL = "\x00<null>"  # canonical text of a null (cannot come from the data in practice)
COUNT = "__count"


def read_parquet(path):
    return ds.dataset(path, format="parquet").to_table()


def read_actual(path, fmt):
    if fmt == "auto":
        fmt = "delta" if os.path.isdir(os.path.join(path, "_delta_log")) else "parquet"
    if fmt == "delta":
        from deltalake import DeltaTable  # only needed for Delta input

        # On the calling thread: the dataset scanner's threads can abort the interpreter at
        # exit (apache/arrow#34314), see scripts/read_delta.py.
        return DeltaTable(path).to_pyarrow_dataset().to_table(use_threads=False), "delta"
    if os.path.isdir(os.path.join(path, "_delta_log")):
        print("compare.py: warning: reading a Delta table's directory as plain Parquet "
              "(removed files included); use --actual-format delta", file=sys.stderr)
    return read_parquet(path), "parquet"


def map_text(entries):
    """A map (list of (key, value)) as the JSON text of its sorted entries."""
    if entries is None:
        return NULL
    return json.dumps(sorted(entries, key=lambda kv: (kv[0], kv[1] is not None, kv[1] or "")),
                      ensure_ascii=False)


def canonical(table, want_types, schema_diffs, side):
    """The 19 columns as non-null strings (exact text forms), plus _change_type if present."""
    cols = {}
    for name in COLUMNS:
        if name not in table.column_names:
            schema_diffs.append(f"{side}: column {name} missing")
            cols[name] = pa.array([NULL] * table.num_rows, pa.string())
            continue
        col = table.column(name)
        want = want_types.get(name)
        if want is not None and col.type != want:
            schema_diffs.append(f"{side}: {name} is {col.type}, Spark wrote {want}")
            if pa.types.is_decimal(want) and (pa.types.is_decimal(col.type) or pa.types.is_integer(col.type)):
                try:  # compare the values at Spark's scale when that is lossless
                    col = pc.cast(col, want, safe=True)
                except pa.ArrowInvalid:
                    pass
        if pa.types.is_map(col.type):
            cols[name] = pa.array([map_text(v) for v in col.to_pylist()], pa.string())
        else:
            cols[name] = pc.fill_null(pc.cast(col, pa.string()), NULL)
    if CHANGE_TYPE in table.column_names:
        cols[CHANGE_TYPE] = pc.fill_null(pc.cast(table.column(CHANGE_TYPE), pa.string()), NULL)
    return pa.table(cols)


def counted(table):
    """Distinct rows of the 19 columns with their multiplicity (inserts - deletes for a changelog)."""
    if CHANGE_TYPE in table.column_names:
        g = table.group_by(COLUMNS + [CHANGE_TYPE]).aggregate([([], "count_all")])
        sign = pc.if_else(pc.equal(g.column(CHANGE_TYPE), "delete"), -1, 1)
        g = pa.table({**{c: g.column(c) for c in COLUMNS},
                      COUNT: pc.multiply(g.column("count_all"), sign)})
        g = g.group_by(COLUMNS).aggregate([(COUNT, "sum")])
        return pa.table({**{c: g.column(c) for c in COLUMNS}, COUNT: g.column(COUNT + "_sum")})
    g = table.group_by(COLUMNS).aggregate([([], "count_all")])
    return pa.table({**{c: g.column(c) for c in COLUMNS}, COUNT: g.column("count_all")})


def shown(v):
    """A canonical text back into a JSON value for the report."""
    if v == NULL:
        return None
    return v


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("expected_dir")
    ap.add_argument("actual_path")
    ap.add_argument("--actual-format", choices=["auto", "delta", "parquet"], default="auto")
    ap.add_argument("--examples", type=int, default=5, help="how many differing rows to show")
    args = ap.parse_args()

    expected = read_parquet(args.expected_dir)
    actual, fmt = read_actual(args.actual_path, args.actual_format)
    want_types = {f.name: f.type for f in expected.schema}
    schema_diffs = []
    for name in COLUMNS:
        if name not in want_types:
            schema_diffs.append(f"expected: column {name} missing")
    # Columns beyond the reference's 19 (trustflow's fraud verdict, governance and lineage
    # columns) are listed but not compared: the reference framework has no such columns.
    extra_cols = [c for c in actual.column_names if c not in COLUMNS + [CHANGE_TYPE, EPOCH]]

    e = counted(canonical(expected, {}, [], "expected"))
    a = counted(canonical(actual, want_types, schema_diffs, "actual"))

    out = {"expected": int(pc.sum(e.column(COUNT)).as_py() or 0)}
    changelog = None
    if CHANGE_TYPE in actual.column_names:
        ct = collections.Counter(actual.column(CHANGE_TYPE).to_pylist())
        neg = pc.less(a.column(COUNT), 0)
        changelog = {"inserts": ct.get("insert", 0), "deletes": ct.get("delete", 0),
                     "negative_rows": int(pc.sum(pc.if_else(neg, pc.negate(a.column(COUNT)), 0)).as_py() or 0)}
        a = a.filter(pc.greater(a.column(COUNT), 0))
    out["actual"] = int(pc.sum(a.column(COUNT)).as_py() or 0)

    # Full outer join on all 19 canonical columns (no nulls left, so every key can match).
    j = e.rename_columns(COLUMNS + ["e"]).join(
        a.rename_columns(COLUMNS + ["a"]), keys=COLUMNS, join_type="full outer")
    diff = pc.subtract(pc.fill_null(j.column("e"), 0), pc.fill_null(j.column("a"), 0))
    j = j.append_column("d", diff).filter(pc.not_equal(diff, 0))
    missing_rows, extra_rows = [], []
    for row in j.to_pylist():
        bucket = missing_rows if row["d"] > 0 else extra_rows
        bucket.extend([tuple(row[c] for c in COLUMNS)] * abs(row["d"]))
    out["missing"], out["extra"] = len(missing_rows), len(extra_rows)

    # Pair differing rows by input key and occurrence index, then count per-column differences.
    by_key = collections.defaultdict(lambda: ([], []))
    for r in missing_rows:
        by_key[r[:len(KEY)]][0].append(r)
    for r in extra_rows:
        by_key[r[:len(KEY)]][1].append(r)
    per_col = collections.Counter()
    examples, unpaired_e, unpaired_a = [], [], []
    for key in sorted(by_key):
        es, as_ = (sorted(x) for x in by_key[key])
        for er, ar in zip(es, as_):
            cols = {c: [shown(x), shown(y)] for c, x, y in zip(COLUMNS, er, ar) if x != y}
            per_col.update(cols.keys())
            if len(examples) < args.examples:
                examples.append({"key": dict(zip(KEY, map(shown, key))), "differs": cols})
        for r in es[len(as_):]:
            unpaired_e.append(r)
        for r in as_[len(es):]:
            unpaired_a.append(r)
    for side, rows in (("only_expected", unpaired_e), ("only_actual", unpaired_a)):
        for r in rows[:args.examples]:
            examples.append({side: dict(zip(COLUMNS, map(shown, r)))})

    out.update({
        "examples": examples,
        "per_column_mismatches": dict(sorted(per_col.items(), key=lambda kv: -kv[1])),
        "unpaired_expected": len(unpaired_e),
        "unpaired_actual": len(unpaired_a),
        "schema_differences": schema_diffs,
        "extra_columns": extra_cols,
        "actual_format": fmt,
    })
    if changelog is not None:
        out["changelog"] = changelog
    print(json.dumps(out, ensure_ascii=False))
    differs = out["missing"] or out["extra"] or schema_diffs or (changelog and changelog["negative_rows"])
    sys.exit(1 if differs else 0)


if __name__ == "__main__":
    main()
