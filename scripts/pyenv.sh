#!/usr/bin/env bash
# pyenv.sh — create/update the Python virtualenv used by trustflow's test tooling
# (scripts/read_delta.py) at ${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/venv, with
# pinned deltalake + pyarrow. Skips pip when a stamp file matches the pins.
# The venv's python path is the last line on stdout; everything else goes to stderr.
#
# Usage:  PY=$(bash scripts/pyenv.sh | tail -1); "$PY" scripts/read_delta.py TABLE
#         bash scripts/pyenv.sh spark   # the Spark peer's venv: the same pins plus pyspark
# Environment: TRUSTFLOW_CACHE, PYTHON (interpreter to build the venv from; default python3).
set -euo pipefail

# deltalake and pyarrow, plus deltalake's own dependencies pinned for reproducibility.
PINS=(
  deltalake==1.6.6
  pyarrow==26.0.1
  arro3-core==0.9.1
  deprecated==1.3.1
  wrapt==2.5.2
  typing-extensions==4.16.0
)
VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/venv"
IMPORTS="deltalake, pyarrow"
if [[ "${1:-}" == spark ]]; then
  # The reference engine (PySpark 4.x needs Java 17+ at run time) beside the same readers.
  PINS=(pyspark==4.3.0 py4j==0.10.9.9 "${PINS[@]}")
  VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/spark-venv"
  IMPORTS="pyspark, $IMPORTS"
fi
STAMP="$VENV/.trustflow-pins"
WANT="$(printf '%s\n' "${PINS[@]}")"

up_to_date() { [[ -x "$VENV/bin/python" && -f "$STAMP" && "$(cat "$STAMP")" == "$WANT" ]]; }

if ! up_to_date; then
  mkdir -p "$(dirname "$VENV")"
  exec 9>"$VENV.lock"
  flock 9 # concurrent callers wait for one installer
  if ! up_to_date; then
    echo "pyenv.sh: installing ${PINS[*]} into $VENV" >&2
    [[ -x "$VENV/bin/python" ]] || "${PYTHON:-python3}" -m venv "$VENV" >&2 || {
      echo "pyenv.sh: 'python3 -m venv' failed (on Debian: apt-get install python3-venv)" >&2
      exit 1
    }
    PIP_NO_INPUT=1 "$VENV/bin/python" -m pip install -q --disable-pip-version-check "${PINS[@]}" >&2
    "$VENV/bin/python" -c "import $IMPORTS" >&2
    echo "$WANT" >"$STAMP"
  fi
fi
echo "$VENV/bin/python"
