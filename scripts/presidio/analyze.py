#!/usr/bin/env python3
"""Presidio's analyzer over trustflow's labelled PII corpus: findings as JSON lines.

Reads the corpus `trustflow pii corpus` writes (one {"id", "field", "text", ...} per line),
runs presidio-analyzer's AnalyzerEngine on each text and writes one line per finding in the
shape `trustflow pii eval --findings presidio=PATH` scores:

    {"id", "type", "start", "end", "score", "entity", "recognizer", "field", "matched"}

Spans are Python string indices (code points), as in the corpus. Presidio's entity names are
mapped to trustflow's types (MAPPING below); only those entities are asked for. DATE_TIME is
any date or time, not a date of birth: it is mapped to date_of_birth because that is the only
date type trustflow has, and the mismatch shows as false positives on other dates.

Configuration (docs/governance.md, "Precision and recall, side by side with Presidio"):
  * NLP engine: spaCy with a blank English pipeline (`spacy.blank("en")`, tokenizer only,
    saved to a temporary directory and loaded through NlpEngineProvider), because no spaCy
    model can be downloaded here. Pattern recognizers, validation and context words work; the
    NER-based SpacyRecognizer finds nothing, so PERSON and LOCATION are never found and
    DATE_TIME only by its patterns. `--nlp MODEL` uses an installed spaCy model instead.
  * Context: the field name, as given (lower-cased) and split into words at non-alphanumerics
    and camelCase, is passed as `context=`; Presidio's LemmaContextAwareEnhancer (substring
    matching, +0.35, at least 0.4) uses it with the words before the match.
  * score_threshold: 0.4 (trustflow's reporting threshold) unless --score-threshold.
  * tldextract (the e-mail recognizer's domain check) uses the public suffix list bundled with
    it: its default would try to download the list first.

Usage: PY=$(bash scripts/pyenv.sh presidio | tail -1)
       "$PY" scripts/presidio/analyze.py --corpus corpus.jsonl --output presidio.jsonl
"""

import argparse
import importlib.metadata
import json
import logging
import re
import sys
import tempfile
import time

import tldextract

# Offline: the bundled public suffix snapshot, no fetch. Presidio's e-mail recognizer calls
# tldextract.extract(), which uses this module-level extractor.
tldextract.tldextract.TLD_EXTRACTOR = tldextract.TLDExtract(suffix_list_urls=(), cache_dir=None)

import spacy  # noqa: E402
from presidio_analyzer import AnalyzerEngine  # noqa: E402
from presidio_analyzer.nlp_engine import NlpEngineProvider  # noqa: E402

# Presidio entity -> trustflow type.
MAPPING = {
    "EMAIL_ADDRESS": "email",
    "PHONE_NUMBER": "phone",
    "CREDIT_CARD": "payment_card",
    "IBAN_CODE": "iban",
    "US_SSN": "us_ssn",
    "IP_ADDRESS": "ip_address",
    "DATE_TIME": "date_of_birth",
    "PERSON": "person_name",
    "LOCATION": "address",
}


def field_context(field):
    """The field name lower-cased, and its words (split at non-alphanumerics and camelCase)."""
    if not field:
        return None
    words = re.findall(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])", field)
    context = [field.lower()] + [w.lower() for w in words]
    return list(dict.fromkeys(context))


def engine(nlp, workdir):
    """The analyzer on a blank English spaCy pipeline (or the installed model `nlp`)."""
    if nlp == "blank":
        path = f"{workdir}/blank_en"
        spacy.blank("en").to_disk(path)
        model = path
    else:
        model = nlp
    provider = NlpEngineProvider(
        nlp_configuration={"nlp_engine_name": "spacy", "models": [{"lang_code": "en", "model_name": model}]}
    )
    return AnalyzerEngine(nlp_engine=provider.create_engine(), supported_languages=["en"])


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--corpus", required=True, help="the labelled corpus (JSON lines)")
    parser.add_argument("--output", required=True, help="findings, JSON lines")
    parser.add_argument("--score-threshold", type=float, default=0.4)
    parser.add_argument("--nlp", default="blank", help="blank (default) or an installed spaCy model")
    parser.add_argument("--no-context", action="store_true", help="do not pass the field name as context")
    parser.add_argument("--stats", help="also write versions, counts and timings as JSON here")
    args = parser.parse_args()
    logging.getLogger("presidio-analyzer").setLevel(logging.ERROR)

    items = []
    with open(args.corpus, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if line.strip():
                item = json.loads(line)
                items.append((str(item.get("id") or n), item.get("field") or "", item["text"]))

    started = time.perf_counter()
    with tempfile.TemporaryDirectory() as workdir:
        analyzer = engine(args.nlp, workdir)
        ready = time.perf_counter()
        entities = list(MAPPING)
        found = 0
        with open(args.output, "w", encoding="utf-8") as out:
            for item_id, field, text in items:
                context = None if args.no_context else field_context(field)
                results = analyzer.analyze(
                    text=text,
                    language="en",
                    entities=entities,
                    context=context,
                    score_threshold=args.score_threshold,
                )
                for r in sorted(results, key=lambda r: (r.start, r.end, r.entity_type)):
                    recognizer = (r.recognition_metadata or {}).get("recognizer_name", "")
                    line = {
                        "id": item_id,
                        "type": MAPPING[r.entity_type],
                        "start": r.start,
                        "end": r.end,
                        "score": round(min(max(r.score, 0.0), 1.0), 4),
                        "entity": r.entity_type,
                        "recognizer": recognizer,
                        "field": field,
                        "matched": text[r.start : r.end],
                    }
                    out.write(json.dumps(line, ensure_ascii=False) + "\n")
                    found += 1
        done = time.perf_counter()

    stats = {
        "presidio_analyzer": importlib.metadata.version("presidio-analyzer"),
        "spacy": spacy.__version__,
        "nlp": args.nlp,
        "score_threshold": args.score_threshold,
        "context": not args.no_context,
        "texts": len(items),
        "findings": found,
        "init_seconds": round(ready - started, 3),
        "analyze_seconds": round(done - ready, 3),
        "texts_per_second": round(len(items) / max(done - ready, 1e-9), 1),
    }
    print(
        f"presidio-analyzer {stats['presidio_analyzer']} (spaCy {stats['spacy']}, nlp {args.nlp}): "
        f"{len(items)} texts in {stats['analyze_seconds']} s = {stats['texts_per_second']} texts/s, "
        f"{found} findings (engine built in {stats['init_seconds']} s)",
        file=sys.stderr,
    )
    if args.stats:
        with open(args.stats, "w", encoding="utf-8") as f:
            json.dump(stats, f, indent=2)


if __name__ == "__main__":
    main()
