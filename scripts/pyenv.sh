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
#         bash scripts/pyenv.sh presidio   # Presidio's analyzer (scripts/presidio/), own venv
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
  presidio)
    # Presidio's analyzer, the peer of trustflow's PII recognizers (scripts/presidio/), with every
    # dependency pinned: spaCy runs a blank English pipeline (no model download), so no NER.
    PINS=(
      presidio-analyzer==2.2.366
      spacy==3.8.18 spacy-legacy==3.0.12 spacy-loggers==1.0.5 thinc==8.3.14 blis==1.3.4
      cymem==2.0.16 murmurhash==1.0.16 preshed==3.0.13 srsly==2.5.6 wasabi==1.1.3
      catalogue==2.0.10 confection==1.3.4 weasel==1.0.1 cloudpathlib==0.26.0 smart-open==9.0.2
      wrapt==2.5.2 typer==0.29.2 click==8.5.1 rich==15.0.0 markdown-it-py==4.3.0 mdurl==0.1.2
      pygments==2.21.0 shellingham==1.5.4 annotated-doc==0.0.7 tqdm==4.70.1 numpy==2.4.6
      pydantic==2.14.4 pydantic-core==2.50.5 annotated-types==0.8.0 typing-inspection==0.4.5
      typing-extensions==4.16.0 jinja2==3.1.6 markupsafe==3.0.4 packaging==26.4
      phonenumbers==9.0.43 tldextract==5.4.0 requests==2.34.2 requests-file==3.0.1
      filelock==4.3.1 idna==3.20 urllib3==2.8.0 certifi==2026.10.19.post1
      charset-normalizer==3.5.3 pyyaml==6.0.4 regex==2026.11.19 httpx==0.28.1 httpcore==1.0.9
      h11==0.16.0 anyio==4.16.0
    )
    VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/presidio-venv"
    IMPORTS="presidio_analyzer, spacy"
    ;;
  "") ;;
  *)
    echo "pyenv.sh: unknown mode '$1' (none, spark, lineage or presidio)" >&2
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
