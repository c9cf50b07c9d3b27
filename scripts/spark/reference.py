#!/usr/bin/env python3
"""reference.py - QUALITY_SEMANTICS.md in plain Python (exact Decimal), an oracle for the peers.

Not the benchmark peer (that is quality.py, on Spark): a slow, obviously-literal reading of
the rules, written without Spark, so that Spark's output (and trustflow's) can be checked
against the text itself with compare.py. Writes the same 19 columns, same Arrow types, as one
Parquet file OUTPUT_DIR/part-0.parquet.

Usage:
  PY=$(bash scripts/sparkenv.sh | tail -1)
  "$PY" scripts/spark/reference.py INPUT.jsonl OUTPUT_DIR --now MS
  "$PY" scripts/spark/compare.py OUTPUT_DIR SPARK_OUTPUT_DIR --actual-format parquet

JSON parsing mimics what Spark's JSON reader does under the explicit schema, for the inputs the
generator and the worked cases use: amount from a JSON number or a decimal string, read
exactly and set to scale 2 HALF_UP (Spark rounds "12.345" to 12.35), "," removed from strings
(Spark's en-US decimal parser does that); anything else unreadable (" 12.34", "abc", "", true,
more than 16 integer digits) becomes null. A non-string metadata value becomes its JSON text.
"""
import argparse
import decimal
import json
import os
from decimal import Decimal

import pyarrow as pa
import pyarrow.parquet as pq

decimal.getcontext().prec = 60
CENT, MICRO = Decimal("0.01"), Decimal("0.000001")
AMOUNT_LIMIT = Decimal(10) ** 16  # decimal(18,2): at most 16 integer digits

SCHEMA = pa.schema([
    ("transactionId", pa.string()), ("userId", pa.string()), ("amount", pa.decimal128(18, 2)),
    ("currency", pa.string()), ("timestamp", pa.int64()), ("metadata", pa.map_(pa.string(), pa.string())),
    ("transactionId_completeness", pa.string()), ("userId_completeness", pa.string()),
    ("amount_completeness", pa.string()), ("currency_completeness", pa.string()),
    ("timestamp_completeness", pa.string()), ("amount_validity", pa.string()),
    ("currency_validity", pa.string()), ("timestamp_validity", pa.string()),
    ("avg_transaction_amount", pa.decimal128(22, 6)), ("consistency_check", pa.string()),
    ("uniqueness", pa.string()), ("checks_passed", pa.int32()), ("quality_score", pa.float64()),
])


def read_amount(v):
    if isinstance(v, bool) or v is None:
        return None
    if isinstance(v, str):
        if v != v.strip() or not v:
            return None
        v = v.replace(",", "")
    try:
        d = Decimal(v) if isinstance(v, (str, int, Decimal)) else None
    except decimal.InvalidOperation:
        return None
    if d is None or not d.is_finite():
        return None
    d = d.quantize(CENT, rounding=decimal.ROUND_HALF_UP)
    return d if abs(d) < AMOUNT_LIMIT else None


def read_string(v):
    return v if isinstance(v, str) else None


def read_long(v):
    return v if isinstance(v, int) and not isinstance(v, bool) and -2**63 <= v < 2**63 else None


def read_metadata(v):
    if not isinstance(v, dict):
        return None
    return [(k, x if isinstance(x, str) or x is None else json.dumps(x, separators=(",", ":")))
            for k, x in v.items()]


def nulls_first(v, f=lambda x: x):
    return (0,) if v is None else (1, f(v))


def utf8(s):
    return s.encode("utf-8")


def metadata_key(m):
    """Entries sorted, compared lexicographically, shorter prefix first; null map first."""
    if m is None:
        return (0,)
    return (1, tuple(sorted((utf8(k), nulls_first(v, utf8)) for k, v in m)))


def order_key(r):
    return (nulls_first(r["timestamp"]), nulls_first(r["transactionId"], utf8),
            nulls_first(r["amount"]), nulls_first(r["currency"], utf8), metadata_key(r["metadata"]))


def is_currency(c):
    return c is not None and len(c) == 3 and all("A" <= ch <= "Z" for ch in c)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input")
    ap.add_argument("output_dir")
    ap.add_argument("--now", type=int, required=True, help="now, epoch milliseconds")
    args = ap.parse_args()
    now = args.now // 1000

    rows = []
    with open(args.input, encoding="utf-8") as f:
        for line in f:
            if not line.strip():
                continue
            o = json.loads(line, parse_float=Decimal)
            rows.append({
                "transactionId": read_string(o.get("transactionId")),
                "userId": read_string(o.get("userId")),
                "amount": read_amount(o.get("amount")),
                "currency": read_string(o.get("currency")),
                "timestamp": read_long(o.get("timestamp")),
                "metadata": read_metadata(o.get("metadata")),
            })

    tx_count = {}
    for r in rows:
        if r["transactionId"] is not None:
            tx_count[r["transactionId"]] = tx_count.get(r["transactionId"], 0) + 1

    by_user = {}
    for r in rows:
        by_user.setdefault(r["userId"], []).append(r)
    for part in by_user.values():
        part.sort(key=order_key)
        for i, r in enumerate(part):
            amounts = [x["amount"] for x in part[max(0, i - 5): i + 1] if x["amount"] is not None]
            avg = (sum(amounts) / len(amounts)).quantize(MICRO, rounding=decimal.ROUND_HALF_UP) if amounts else None
            r["avg_transaction_amount"] = avg
            a = r["amount"]
            bad = a is not None and avg is not None and avg > 0 and 2 * abs(a - avg) > avg
            r["consistency_check"] = "INCONSISTENT" if bad else "CONSISTENT"

    for r in rows:
        flags = []
        for c in ("transactionId", "userId", "amount", "currency", "timestamp"):
            ok = r[c] is not None and r[c] != ""
            r[f"{c}_completeness"] = "COMPLETE" if ok else "INCOMPLETE"
            flags.append(ok)
        checks = {
            "amount_validity": r["amount"] is not None and r["amount"] > 0,
            "currency_validity": is_currency(r["currency"]),
            "timestamp_validity": r["timestamp"] is not None
            and (now - 86400) * 1000 <= r["timestamp"] <= now * 1000 + 999,
        }
        for c, ok in checks.items():
            r[c] = "VALID" if ok else "INVALID"
            flags.append(ok)
        flags.append(r["consistency_check"] == "CONSISTENT")
        unique = r["transactionId"] is None or tx_count[r["transactionId"]] == 1
        r["uniqueness"] = "UNIQUE" if unique else "DUPLICATE"
        flags.append(unique)
        r["checks_passed"] = sum(flags)
        r["quality_score"] = r["checks_passed"] / 10.0

    os.makedirs(args.output_dir, exist_ok=True)
    table = pa.Table.from_pylist(rows, schema=SCHEMA)
    pq.write_table(table, os.path.join(args.output_dir, "part-0.parquet"))
    print(json.dumps({"rows": len(rows)}))


if __name__ == "__main__":
    main()
