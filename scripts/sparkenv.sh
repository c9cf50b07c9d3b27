#!/usr/bin/env bash
# sparkenv.sh — create/update the Python virtualenv for the Spark peer (scripts/spark/)
# at ${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/spark-venv, with pinned pyspark + py4j
# (the reference engine, run in local[2] mode) and deltalake + pyarrow pinned exactly as in
# scripts/pyenv.sh (so scripts/spark/compare.py can read trustflow's Delta output from the
# same venv): `scripts/pyenv.sh spark` does the installing. Needs Java 17+ on PATH or in
# JAVA_HOME at run time (PySpark 4.x); the venv itself is pure Python.
# The venv's python path is the last line on stdout; everything else goes to stderr.
#
# Usage:  PY=$(bash scripts/sparkenv.sh | tail -1)
#         "$PY" scripts/spark/quality.py IN.jsonl OUT_DIR --now MS
#         "$PY" scripts/spark/compare.py OUT_DIR TRUSTFLOW_TABLE --actual-format delta
# Environment: TRUSTFLOW_CACHE, PYTHON (interpreter to build the venv from; default python3),
#   SPARKENV_CHECK=1 to also start a local[2] SparkSession once and run a tiny query.
set -euo pipefail

PY="$(bash "$(dirname "$0")/pyenv.sh" spark | tail -1)"

if [[ "${SPARKENV_CHECK:-0}" == 1 ]]; then
  # One local[2] session and a tiny query: proves Java + PySpark work together here.
  SPARK_LOCAL_IP="${SPARK_LOCAL_IP:-127.0.0.1}" "$PY" - >&2 <<'PY'
from pyspark.sql import SparkSession
s = (SparkSession.builder.master("local[2]").appName("sparkenv-check")
     .config("spark.ui.enabled", "false").config("spark.driver.host", "127.0.0.1")
     .config("spark.driver.bindAddress", "127.0.0.1").getOrCreate())
n = s.range(1000).selectExpr("sum(id) AS s").collect()[0]["s"]
assert n == 499500, n
print(f"sparkenv.sh: Spark {s.version} local[2] OK "
      f"(Java {s.sparkContext._jvm.java.lang.System.getProperty('java.version')})")
s.stop()
PY
fi
echo "$PY"
