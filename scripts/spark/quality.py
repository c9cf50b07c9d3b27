#!/usr/bin/env python3
"""quality.py - the reference DataQualityFramework on PySpark local[2] (trustflow's Spark peer).

Reads the JSON lines that `trustflow batch` reads, runs the reference design's quality checks
the way its Spark/Scala code does (DataFrame API: `when`, a regexp, a per-user
`Window ... rowsBetween(-5, 0)` with `avg`, a groupBy/count on transactionId joined back),
with every ambiguity resolved as ../shared/QUALITY_SEMANTICS.md (docs/quality-semantics.md)
says, and writes the 19 output columns as Parquet (or JSON lines) under OUTPUT_DIR.
Prints ONE JSON line of timings on stdout at the end; Spark's logs go to stderr.

Usage:
  PY=$(bash scripts/sparkenv.sh | tail -1)
  "$PY" scripts/spark/quality.py INPUT.jsonl OUTPUT_DIR --now 1767225600000 [--format parquet|json]
        [--files N] [--no-cache]

  --now MS      "now", epoch milliseconds (the rules use floor(MS/1000) seconds); default: the
                wall clock, read ONCE in the driver (pass it for reproducible output).
  --format      parquet (default) or json (JSON lines, no Delta; `delta-less-json` is an alias;
                decimals as JSON numbers, maps as objects, nulls written as null).
  --files N     output files (coalesce), default 2.
  --no-cache    do not cache the parsed input (Spark then parses the JSON twice: once for the
                window branch, once for the uniqueness count).
  --mode M      Spark's JSON mode: PERMISSIVE (default, Spark's own default: an unreadable field
                becomes null and the row stays; an unreadable line becomes an all-null row),
                DROPMALFORMED (such lines are dropped) or FAILFAST (the job fails).
  --repeat N    run the job (read + checks + write) N times in the same session; the first run
                is the cold one (fresh JVM), runs 2..N are listed under "warm".

Output line: {"rows", "read_s", "compute_and_write_s", "total_s", "jvm_start_s", ...}
  jvm_start_s          SparkSession start (JVM launch included)
  read_s               parse the JSON into a cached DataFrame and count it (0-ish with --no-cache)
  compute_and_write_s  the checks and the Parquet write
  total_s              wall time of the whole script, Python start to end
  cold_s               Python start to the end of the first run (= total_s less shutdown
                       and the warm runs): the cold figure
  warm                 (with --repeat) per later run: read_s, compute_and_write_s, job_s
Environment: JAVA_HOME (Java 17+), SPARK_LOCAL_IP (default 127.0.0.1),
  SPARK_DRIVER_MEMORY (default 4g).
"""
import argparse
import json
import os
import sys
import time

T0 = time.perf_counter()

# Spark only ever binds to loopback here.
os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")

from pyspark.sql import SparkSession, Window  # noqa: E402
from pyspark.sql import functions as F  # noqa: E402
from pyspark.sql import types as T  # noqa: E402

# The input record (QUALITY_SEMANTICS.md): an explicit schema, never inferred, so amounts are
# read as exact decimals, from JSON numbers (12.34) and from decimal strings ("12.34") alike.
INPUT_SCHEMA = T.StructType([
    T.StructField("transactionId", T.StringType()),
    T.StructField("userId", T.StringType()),
    T.StructField("amount", T.DecimalType(18, 2)),
    T.StructField("currency", T.StringType()),
    T.StructField("timestamp", T.LongType()),
    T.StructField("metadata", T.MapType(T.StringType(), T.StringType())),
])

REQUIRED = ["transactionId", "userId", "amount", "currency", "timestamp"]
STRING_REQUIRED = {"transactionId", "userId", "currency"}

from columns import OUTPUT_COLUMNS  # noqa: E402

# Exactly three ASCII capitals, the whole string. NOT the reference's `^[A-Z]{3}$`: in Java
# regex (Spark's rlike/regexp) `$` also matches before a final line terminator, so
# "USD\n", "USD\r\n", "USD\u2028" would be VALID. `\z` is the true end of input.
CURRENCY_REGEX = r"^[A-Z]{3}\z"

# ROWS 5 PRECEDING .. CURRENT ROW: the current row and the 5 before it.
WINDOW_PRECEDING = 5


def spark_session():
    """A local[2] session sized for a 2-core machine."""
    return (
        SparkSession.builder.master("local[2]")
        .appName("trustflow-spark-peer-quality")
        .config("spark.driver.memory", os.environ.get("SPARK_DRIVER_MEMORY", "4g"))
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.driver.host", "127.0.0.1")
        .config("spark.driver.bindAddress", "127.0.0.1")
        # Spark 4's default; stated so decimal overflow fails loudly instead of nulling.
        .config("spark.sql.ansi.enabled", "true")
        .getOrCreate()
    )


def metadata_order_key(col):
    """An orderable value for a map<string,string>: its entries sorted, as array<struct<k,v>>.

    Spark orders arrays element by element and then by length (shorter prefix first), structs
    field by field, strings by UTF-8 bytes; a null map gives a null array (first under
    nulls-first) and an empty map an empty array (before any non-empty one).
    scripts/spark/verify_spark.py checks all of this.
    """
    return F.array_sort(F.map_entries(col))


def quality(df, now_s):
    """The reference DataQualityFramework over df (INPUT_SCHEMA), as QUALITY_SEMANTICS.md fixes it."""
    # Completeness: string fields INCOMPLETE iff null or exactly ""; amount/timestamp iff null.
    for c in REQUIRED:
        missing = F.col(c).isNull()
        if c in STRING_REQUIRED:
            missing = missing | (F.col(c) == F.lit(""))
        df = df.withColumn(f"{c}_completeness",
                           F.when(missing, "INCOMPLETE").otherwise("COMPLETE"))

    # Validity. A null comparison is null, and when(null) falls through to otherwise: INVALID.
    df = df.withColumn(
        "amount_validity",
        F.when(F.col("amount") > F.lit(0), "VALID").otherwise("INVALID"))
    df = df.withColumn(
        "currency_validity",
        F.when(F.col("currency").rlike(CURRENCY_REGEX), "VALID").otherwise("INVALID"))
    # floor(ts / 1000) in [now - 86400, now]  <=>  (now-86400)*1000 <= ts <= now*1000 + 999,
    # in exact long arithmetic (ts / 1000 would be a double in Spark).
    lo, hi = (now_s - 86400) * 1000, now_s * 1000 + 999
    df = df.withColumn(
        "timestamp_validity",
        F.when(F.col("timestamp").between(F.lit(lo), F.lit(hi)), "VALID").otherwise("INVALID"))

    # Consistency: per user, the current row and the 5 before it in a total order
    # (timestamp, transactionId, amount, currency, metadata; ascending, nulls first).
    w = (
        Window.partitionBy("userId")
        .orderBy(
            F.col("timestamp").asc_nulls_first(),
            F.col("transactionId").asc_nulls_first(),
            F.col("amount").asc_nulls_first(),
            F.col("currency").asc_nulls_first(),
            metadata_order_key(F.col("metadata")).asc_nulls_first(),
        )
        .rowsBetween(-WINDOW_PRECEDING, Window.currentRow)
    )
    # avg over decimal(18,2) is decimal(22,6), rounded HALF_UP; nulls skipped; null if none.
    df = df.withColumn("avg_transaction_amount", F.avg("amount").over(w))
    amount, avg = F.col("amount"), F.col("avg_transaction_amount")
    # |amount - avg| / avg > 0.5 with the rounded avg, exactly: 2*|amount - avg| > avg.
    inconsistent = amount.isNotNull() & (avg > F.lit(0)) & (F.lit(2) * F.abs(amount - avg) > avg)
    df = df.withColumn(
        "consistency_check",
        F.when(inconsistent, "INCONSISTENT").otherwise("CONSISTENT"))

    # Uniqueness: count per transactionId, joined back. The null group's count never joins
    # (null = null is not true), so a null transactionId is always UNIQUE; "" is an ordinary id.
    counts = df.groupBy("transactionId").agg(F.count(F.lit(1)).alias("_tx_count"))
    df = df.join(counts, on="transactionId", how="left")
    df = df.withColumn(
        "uniqueness",
        F.when(F.col("_tx_count") > F.lit(1), "DUPLICATE").otherwise("UNIQUE"))

    passes = [
        F.col("transactionId_completeness") == "COMPLETE",
        F.col("userId_completeness") == "COMPLETE",
        F.col("amount_completeness") == "COMPLETE",
        F.col("currency_completeness") == "COMPLETE",
        F.col("timestamp_completeness") == "COMPLETE",
        F.col("amount_validity") == "VALID",
        F.col("currency_validity") == "VALID",
        F.col("timestamp_validity") == "VALID",
        F.col("consistency_check") == "CONSISTENT",
        F.col("uniqueness") == "UNIQUE",
    ]
    checks = sum((F.when(p, 1).otherwise(0) for p in passes[1:]), F.when(passes[0], 1).otherwise(0))
    df = df.withColumn("checks_passed", checks.cast("int"))
    df = df.withColumn("quality_score", F.col("checks_passed").cast("double") / F.lit(10.0).cast("double"))
    return df.select(*OUTPUT_COLUMNS)


def run_once(spark, args, now_s):
    """Read (and cache), then check and write: (rows, read seconds, compute+write seconds)."""
    t = time.perf_counter()
    df = spark.read.schema(INPUT_SCHEMA).option("mode", args.mode).json(args.input)
    if not args.no_cache:
        df = df.cache()
    rows = df.count()
    read_s = time.perf_counter() - t

    t = time.perf_counter()
    out = quality(df, now_s).coalesce(args.files).write.mode("overwrite")
    if args.format == "parquet":
        out.parquet(args.output_dir)
    else:
        out.option("ignoreNullFields", "false").json(args.output_dir)  # nulls stay visible
    compute_s = time.perf_counter() - t
    if not args.no_cache:
        df.unpersist(blocking=True)
    return rows, read_s, compute_s


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("input", help="JSON lines file (or directory) of transactions")
    ap.add_argument("output_dir", help="output directory (overwritten)")
    ap.add_argument("--now", type=int, default=None, help="now, epoch milliseconds")
    ap.add_argument("--format", choices=["parquet", "json", "delta-less-json"], default="parquet")
    ap.add_argument("--files", type=int, default=2, help="number of output files (coalesce)")
    ap.add_argument("--no-cache", action="store_true", help="do not cache the parsed input")
    ap.add_argument("--mode", choices=["PERMISSIVE", "DROPMALFORMED", "FAILFAST"], default="PERMISSIVE",
                    help="Spark's JSON parse mode for unreadable lines and fields")
    ap.add_argument("--repeat", type=int, default=1,
                    help="run the whole job N times in one session; runs 2..N are reported as warm")
    args = ap.parse_args()

    now_ms = args.now
    if now_ms is None:
        now_ms = int(time.time() * 1000)
        print(f"quality.py: no --now, using the wall clock once: {now_ms}", file=sys.stderr)
    now_s = now_ms // 1000  # floor, also for negative values

    t = time.perf_counter()
    spark = spark_session()
    spark.sparkContext.setLogLevel("WARN")
    jvm_start_s = time.perf_counter() - t

    rows, read_s, compute_s = run_once(spark, args, now_s)
    cold_s = time.perf_counter() - T0
    warm = []
    for _ in range(args.repeat - 1):  # same session, JVM already started and warmed up
        _, r, c = run_once(spark, args, now_s)
        warm.append({"read_s": round(r, 3), "compute_and_write_s": round(c, 3),
                     "job_s": round(r + c, 3)})

    version = spark.version
    spark.stop()
    print(json.dumps({
        "rows": rows,
        "read_s": round(read_s, 3),
        "compute_and_write_s": round(compute_s, 3),
        "total_s": round(time.perf_counter() - T0, 3),
        "jvm_start_s": round(jvm_start_s, 3),
        "cold_s": round(cold_s, 3),
        "now_ms": now_ms,
        "cached": not args.no_cache,
        "format": "parquet" if args.format == "parquet" else "json",
        "spark": version,
        **({"warm": warm} if warm else {}),
    }), flush=True)


if __name__ == "__main__":
    main()
