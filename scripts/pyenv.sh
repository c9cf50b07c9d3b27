#!/usr/bin/env bash
# pyenv.sh — create/update the Python virtualenv used by trustflow's test tooling
# (scripts/read_delta.py) at ${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/venv, with
# pinned deltalake + pyarrow (or another mode's pins in its own venv, below). Skips pip when a
# stamp file matches the pins.
# The venv's python path is the last line on stdout; everything else goes to stderr.
#
# Usage:  PY=$(bash scripts/pyenv.sh | tail -1); "$PY" scripts/read_delta.py TABLE
#         bash scripts/pyenv.sh spark   # the Spark peer's venv: the same pins plus pyspark
#         bash scripts/pyenv.sh lineage # openlineage-python + jsonschema for scripts/lineage/validate.py
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
case "${1:-}" in
  spark)
    # The reference engine (PySpark 4.x needs Java 17+ at run time) beside the same readers.
    PINS=(pyspark==4.3.0 py4j==0.10.9.9 "${PINS[@]}")
    VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/spark-venv"
    IMPORTS="pyspark, $IMPORTS"
    ;;
  lineage)
    # The OpenLineage spec as openlineage-python's generated classes, jsonschema for trustflow's
    # custom facets, and the dependencies of both, pinned.
    PINS=(
      openlineage-python==1.54.0
      attrs==26.1.0
      python-dateutil==4.0.0
      PyYAML==6.0.4
      requests==2.34.2
      httpx2==2.16.2
      httpcore2==2.16.2
      h11==0.16.0
      anyio==4.16.0
      truststore==0.10.5
      packaging==26.4
      certifi==2026.10.19.post1
      charset-normalizer==3.5.3
      idna==3.20
      urllib3==2.8.0
      tzdata==2026.6
      typing-extensions==4.16.0
      jsonschema==4.26.0
      jsonschema-specifications==2025.9.1
      referencing==0.37.0
      rpds-py==2026.9.1
    )
    VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/lineage-venv"
    IMPORTS="openlineage.client.generated, jsonschema"
    ;;
  "") ;;
  *)
    echo "pyenv.sh: unknown mode '$1' (none, spark or lineage)" >&2
    exit 2
    ;;
esac
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
