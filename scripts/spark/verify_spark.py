#!/usr/bin/env python3
"""verify_spark.py - check the Spark behaviours that quality.py relies on, on this Spark.

Each check runs a tiny query on a local[2] session and compares Spark's answer with the one
QUALITY_SEMANTICS.md needs; prints ONE JSON object {"spark", "java", "checks": [{name, ok,
observed}...]} and exits 1 if any check fails (e.g. after a PySpark upgrade).

Usage:
  PY=$(bash scripts/sparkenv.sh | tail -1)
  "$PY" scripts/spark/verify_spark.py [--output SPARK_OUTPUT_DIR]

  --output  also recompute consistency on a quality.py output with the ratio form
            |amount - avg| / avg > 0.5 and count rows where it disagrees with 2*|amount-avg| > avg.

Checks: JSON amounts (numbers and decimal strings) under DecimalType(18,2); avg's type and
HALF_UP rounding; string order = UTF-8 bytes; the metadata order key
array_sort(map_entries(m)): null first, empty before non-empty, shorter prefix first, entries
sorted; Java-regex `$` versus `\\z`; null join keys; the ratio form versus the exact form.
"""
import argparse
import json
import os
import sys
import tempfile

os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from pyspark.sql import SparkSession, Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from quality import CURRENCY_REGEX, INPUT_SCHEMA, metadata_order_key, spark_session  # noqa: E402

CHECKS = []


def check(name, observed, expected):
    CHECKS.append({"name": name, "ok": observed == expected, "observed": observed,
                   **({} if observed == expected else {"expected": expected})})


def amounts(spark, tmp):
    lines = ['{"amount": 12.34}', '{"amount": "12.34"}', '{"amount": "12.345"}',
             '{"amount": 12.345}', '{"amount": "1,234.50"}', '{"amount": "1e3"}',
             '{"amount": " 12.34"}', '{"amount": ""}', '{"amount": "abc"}',
             '{"amount": 12345678901234567.00}', '{"amount": null}', '{"amount": -0.00}']
    path = os.path.join(tmp, "amounts.jsonl")
    with open(path, "w") as f:
        f.write("\n".join(lines) + "\n")
    got = [None if r.amount is None else str(r.amount)
           for r in spark.read.schema(INPUT_SCHEMA).json(path).select("amount").collect()]
    check("json amount: number and decimal string read alike, exactly",
          got[:2], ["12.34", "12.34"])
    check("json amount: more than 2 decimals rounded HALF_UP to scale 2 (string and number)",
          got[2:4], ["12.35", "12.35"])
    check("json amount: strings drop ',' (en-US decimal parser) and take exponents",
          got[4:6], ["1234.50", "1000.00"])
    check("json amount: padded, empty, non-numeric strings and >16 integer digits become null",
          got[6:10], [None, None, None, None])
    check("json amount: null is null, -0.00 is 0.00", got[10:], [None, "0.00"])


def averages(spark):
    d = T.DecimalType(18, 2)
    df = spark.createDataFrame([("u", 1, None)], "u string, i int, a decimal(18,2)")
    w = Window.partitionBy("u").orderBy("i").rowsBetween(-5, 0)
    check("avg over decimal(18,2) in a ROWS window is decimal(22,6)",
          df.select(F.avg("a").over(w).alias("x")).schema["x"].dataType.simpleString(),
          "decimal(22,6)")
    check("avg with no non-null amount in the frame is null",
          df.select(F.avg("a").over(w).alias("x")).collect()[0].x, None)
    # 20000 rows: one 0.01 (or -0.01), the rest 0.00 -> exact mean 0.0000005, a tie at the
    # 7th decimal; HALF_UP (away from zero) gives 0.000001 (-0.000001), HALF_EVEN 0.
    for sign in ("0.01", "-0.01"):
        rows = spark.range(20000).select(
            F.when(F.col("id") == 0, F.lit(sign)).otherwise(F.lit("0.00")).cast(d).alias("a"))
        got = str(rows.agg(F.avg("a")).collect()[0][0])
        check(f"avg rounds ties HALF_UP, away from zero ({sign}/20000)", got,
              "0.000001" if sign[0] != "-" else "-0.000001")
    df = spark.createDataFrame([("u", i, v) for i, v in enumerate(["100.00", "100.00", "200.00", "0.02", "-0.02"])],
                               "u string, i int, s string").withColumn("a", F.col("s").cast(d))
    got = [str(r.x) for r in df.select(F.avg("a").over(
        Window.partitionBy("u").orderBy("i").rowsBetween(-2, 0)).alias("x")).orderBy("i").collect()]
    check("window avg values (100,100,200,0.02,-0.02 over 3 rows)", got,
          ["100.000000", "100.000000", "133.333333", "100.006667", "66.666667"])


def orderings(spark):
    def order_of(values, schema, key):
        df = spark.createDataFrame([(i, v) for i, v in enumerate(values)], schema)
        return [r.i for r in df.orderBy(key(F.col("v")).asc_nulls_first()).collect()]

    # U+FF58 is EF BD 98 in UTF-8, U+1F600 is F0 9F 98 80 (UTF-16: D83D DE00 < FF58).
    strings = ["\U0001F600", "\uff58", "a", "Z", "\u00e4", "", None]
    check("strings order by UTF-8 bytes, null first",
          [strings[i] for i in order_of(strings, "i int, v string", lambda c: c)],
          [None, "", "Z", "a", "\u00e4", "\uff58", "\U0001F600"])
    maps = [{"b": "0"}, {"a": "2"}, {"a": "1", "b": "2"}, {}, None, {"a": "1"},
            {"a": None}, {"a": ""}, {"\U0001F600": "x"}, {"\uff58": "x"}, {"b": "0", "a": "1"}]
    got = [maps[i] for i in order_of(maps, "i int, v map<string,string>", metadata_order_key)]
    check("metadata key: null map, empty map, then entries sorted and compared "
          "lexicographically (shorter prefix first; a null value before any string; UTF-8 keys)",
          got, [None, {}, {"a": None}, {"a": ""}, {"a": "1"}, {"b": "0", "a": "1"},
                {"a": "1", "b": "2"}, {"a": "2"}, {"b": "0"}, {"\uff58": "x"}, {"\U0001F600": "x"}])


def regexes(spark):
    vals = ["USD", "USD\n", "USD\r\n", "USD\u2028", "usd", "\uff35\uff33\uff24", "\u00c4BC", "XYZ"]
    df = spark.createDataFrame([(v,) for v in vals], "c string")
    dollar = [r[0] for r in df.select(F.col("c").rlike("^[A-Z]{3}$")).collect()]
    exact = [r[0] for r in df.select(F.col("c").rlike(CURRENCY_REGEX)).collect()]
    check("Java regex ^[A-Z]{3}$ also accepts a trailing line terminator (why quality.py uses \\z)",
          dollar, [True, True, True, True, False, False, False, True])
    check("currency regex ^[A-Z]{3}\\z: exactly three ASCII capitals",
          exact, [True, False, False, False, False, False, False, True])


def joins(spark):
    df = spark.createDataFrame([(None,), (None,), ("",), ("",), ("x",)], "t string")
    counts = df.groupBy("t").agg(F.count(F.lit(1)).alias("n"))
    got = sorted([(r.t, r.n) for r in df.join(counts, "t", "left").collect()],
                 key=lambda x: (x[0] is not None, x[0] or ""))
    check("groupBy/count joined back: null ids never match (count null), '' is an ordinary id",
          got, [(None, None), (None, None), ("", 2), ("", 2), ("x", 1)])


def ratio_form(spark, output=None):
    d = T.DecimalType(22, 6)
    cases = spark.createDataFrame(
        [("30000000000000.01", "20000000000000.005"), ("300.00", "200.00"), ("300.02", "200.01"),
         ("200.00", "133.333333")], "a string, v string"
    ).select(F.col("a").cast(T.DecimalType(18, 2)).alias("a"), F.col("v").cast(d).alias("v"))
    exact = F.lit(2) * F.abs(F.col("a") - F.col("v")) > F.col("v")
    ratio = F.abs(F.col("a") - F.col("v")) / F.col("v") > F.lit(0.5).cast("decimal(1,1)")
    got = [(r.e, r.r) for r in cases.select(exact.alias("e"), ratio.alias("r")).collect()]
    check("2*|a-avg| > avg versus |a-avg|/avg > 0.5 (Spark rounds the quotient to 15 decimals:"
          " they part only when avg > ~1e9)",
          got, [(True, False), (False, False), (True, True), (True, True)])
    check("type of |a - avg| / avg", cases.select((F.abs(F.col("a") - F.col("v")) / F.col("v")).alias("q"))
          .schema["q"].dataType.simpleString(), "decimal(38,15)")
    if output:
        out = spark.read.parquet(output)
        a, v = F.col("amount"), F.col("avg_transaction_amount")
        r = F.when(a.isNotNull() & (v > 0) & (F.abs(a - v) / v > F.lit(0.5).cast("decimal(1,1)")),
                   "INCONSISTENT").otherwise("CONSISTENT")
        n = out.where(r != F.col("consistency_check")).count()
        check(f"ratio form on {output}: rows where it differs from consistency_check", n, 0)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--output", help="a quality.py Parquet output to recheck with the ratio form")
    args = ap.parse_args()
    spark = spark_session()
    spark.sparkContext.setLogLevel("ERROR")
    check("spark.sql.ansi.enabled (Spark 4 default)", spark.conf.get("spark.sql.ansi.enabled"), "true")
    with tempfile.TemporaryDirectory() as tmp:
        amounts(spark, tmp)
    averages(spark)
    orderings(spark)
    regexes(spark)
    joins(spark)
    ratio_form(spark, args.output)
    java = spark.sparkContext._jvm.java.lang.System.getProperty("java.version")
    print(json.dumps({"spark": spark.version, "java": java, "ok": all(c["ok"] for c in CHECKS),
                      "checks": CHECKS}, ensure_ascii=False, indent=1))
    spark.stop()
    sys.exit(0 if all(c["ok"] for c in CHECKS) else 1)


if __name__ == "__main__":
    main()
