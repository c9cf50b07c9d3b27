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
#         bash scripts/pyenv.sh pathway    # Pathway, the streaming peer (scripts/pathway/), own venv
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
  pathway)
    # Pathway (the streaming peer, scripts/pathway/: its engine is differential dataflow in Rust)
    # with every dependency pinned as pip resolved them for pathway==0.33.0 on Python 3.11.
    # Pathway brings its own pyarrow (25.x) and deltalake, which scripts/pathway/compare.py uses.
    PINS=(
      pathway==0.33.0
      aiohappyeyeballs==2.7.1 aiohttp==3.14.5 aiohttp-cors==0.8.1 aiosignal==1.4.0
      annotated-doc==0.0.7 annotated-types==0.8.0 anyio==4.16.0 arro3-core==0.9.1 asttokens==3.0.2
      async-lru==2.4.0 attrs==26.1.0 beartype==0.22.9 bokeh==3.9.2 certifi==2026.10.19.post1
      cffi==2.1.1 charset-normalizer==3.5.3 click==8.5.1 cloudpickle==3.1.3 comm==0.2.3
      contourpy==1.3.3 cryptography==50.0.2 deltalake==1.6.6 Deprecated==1.3.1 diskcache==5.6.3
      executing==2.3.0 fastapi==0.165.0 frozenlist==1.8.0 geographiclib==2.1 geopy==2.5.0
      gitdb==4.0.12 GitPython==3.2.1 google-api-core==2.44.0 google-api-python-client==2.202.0
      google-auth==2.63.0 google-auth-httplib2==0.4.4 google-cloud-bigquery==3.47.0
      google-cloud-core==2.8.0 google-cloud-pubsub==2.44.0 google-crc32c==1.9.0
      google-resumable-media==2.11.0 googleapis-common-protos==1.76.0 grpc-google-iam-v1==0.14.6
      grpcio==1.85.3 grpcio-status==1.85.3 h11==0.16.0 h3==4.5.0 httplib2==0.32.1 idna==3.20
      ipython==9.18.1 ipython_pygments_lexers==1.1.1 ipywidgets==8.1.9 jedi==0.20.1 Jinja2==3.1.6
      jmespath==1.1.0 joblib==1.6.0 jupyter_bokeh==4.1.0 jupyterlab_widgets==3.0.17
      linkify-it-py==2.2.0 Markdown==3.11.3 markdown-it-py==4.3.0 MarkupSafe==3.0.4
      matplotlib-inline==0.2.2 mdit-py-plugins==0.7.0 mdurl==0.1.2 multidict==7.2.1
      narwhals==2.29.0 networkx==3.6.1 nh3==0.3.8 numpy==2.4.6 opentelemetry-api==1.45.2
      opentelemetry-exporter-otlp-common==0.66b2 opentelemetry-exporter-otlp-proto-common==1.45.2
      opentelemetry-exporter-otlp-proto-grpc==1.45.2 opentelemetry-proto==1.45.2
      opentelemetry-sdk==1.45.2 opentelemetry-semantic-conventions==0.66b2 packaging==26.4
      pandas==3.1.1 panel==1.9.4 panel-material-ui==0.16.6 param==2.4.2 parso==0.8.7
      pexpect==4.9.0 pillow==13.0.0 prompt_toolkit==3.0.53 propcache==0.5.4 proto-plus==1.29.0
      protobuf==7.36.2 psutil==7.2.2 ptyprocess==0.7.0 pure_eval==0.2.4 pyarrow==25.0.1
      pyasn1==0.6.5 pyasn1_modules==0.4.2 pycparser==3.12 pydantic==2.14.4 pydantic_core==2.50.5
      Pygments==2.21.0 pyparsing==3.3.3 python-dateutil==2.9.0.post0 python-sat==1.9.dev24
      pyviz_comms==3.0.6 PyYAML==6.0.4 requests==2.34.2 rich==15.0.0 scikit-learn==1.9.1
      scipy==1.17.1 shapely==2.2.0 six==1.17.0 smmap==5.0.3 SQLAlchemy==2.1.9 sqlmodel==0.0.50
      stack-data==0.6.3 starlette==1.10.0 threadpoolctl==3.8.0 tornado==6.6.1 tqdm==4.70.1
      traitlets==5.16.1 typing-inspection==0.4.5 typing_extensions==4.16.0 uritemplate==4.2.0
      urllib3==2.8.0 uvicorn==0.54.0 wcwidth==0.9.4 widgetsnbextension==4.0.16 wrapt==2.5.2
      xyzservices==2026.9.1 yarl==1.25.1
    )
    VENV="${TRUSTFLOW_CACHE:-$HOME/.cache/trustflow}/pathway-venv"
    IMPORTS="pathway, pyarrow, deltalake"
    ;;
  "") ;;
  *)
    echo "pyenv.sh: unknown mode '$1' (none, spark, lineage, presidio or pathway)" >&2
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
