#!/usr/bin/env python3
"""validate.py — check a file of OpenLineage run events (JSON lines) against the spec.

Usage:  PY=$(bash scripts/pyenv.sh lineage | tail -1)
        "$PY" scripts/lineage/validate.py EVENTS.jsonl [--facets DIR]

The spec's JSON Schema files are not in any package registry (openlineage-python, the
integrations and the Java client ship none), so the spec comes from `openlineage-python`
itself: its `openlineage.client.generated` classes are generated from those schemas
(RunEvent 2-0-2 and each facet at the version its `_get_schema()` names). Each event is
rebuilt strictly into those classes:

* every object's keys are the definition's fields (no unknown keys), required fields are
  present and not null, values have the declared types (str, int, bool, lists, maps, enums
  such as eventType, nested definitions), and the classes' own validators run (runId a
  UUID, eventTime a date-time, URIs);
* every facet is checked against its own definition, found by its `_schemaURL` among the
  package's facet classes, must sit in the right place (run, job, dataset, input or output
  facets) under its standard key (e.g. `schema`, `columnLineage`), and carries `_producer`
  and `_schemaURL`;
* what the classes would fill in silently is required explicitly: `producer` and
  `schemaURL` (the RunEvent definition's URL), `_producer` and `_schemaURL` on every facet,
  and an eventTime in RFC 3339 with a time zone;
* a custom facet (any other `_schemaURL`) is validated with `jsonschema` against the JSON
  Schema whose `$id` matches, from --facets (default: the repository's
  schemas/openlineage/); a custom facet without a schema is an error; its key must be
  prefixed (`prefix_name`).

Prints one summary line (events, facets per schema) and exits 0, or prints the first
error with its line number and JSON path and exits 1 (2 for usage or unreadable input).
"""

from __future__ import annotations

import argparse
import enum
import importlib
import inspect
import json
import pkgutil
import re
import sys
import types
import typing
from collections import Counter
from pathlib import Path
from typing import Any

import attr
import jsonschema
import openlineage.client.generated as generated
from openlineage.client.generated import base
from referencing import Registry, Resource

REPO = Path(__file__).resolve().parents[2]

# The standard key of each facet definition (the `properties` of each spec facet file).
STANDARD_KEYS = {
    "BaseSubsetDatasetFacet": "subset",
    "InputSubsetInputDatasetFacet": "subset",
    "OutputSubsetOutputDatasetFacet": "subset",
    "CatalogDatasetFacet": "catalog",
    "ColumnLineageDatasetFacet": "columnLineage",
    "DataQualityAssertionsDatasetFacet": "dataQualityAssertions",
    "DataQualityMetricsDatasetFacet": "dataQualityMetrics",
    "DataQualityMetricsInputDatasetFacet": "dataQualityMetrics",
    "DatasetTypeDatasetFacet": "datasetType",
    "DatasetVersionDatasetFacet": "version",
    "DatasourceDatasetFacet": "dataSource",
    "DocumentationDatasetFacet": "documentation",
    "DocumentationJobFacet": "documentation",
    "EnvironmentVariablesRunFacet": "environmentVariables",
    "ErrorMessageRunFacet": "errorMessage",
    "ExecutionParametersRunFacet": "executionParameters",
    "ExternalQueryRunFacet": "externalQuery",
    "ExtractionErrorRunFacet": "extractionError",
    "HierarchyDatasetFacet": "hierarchy",
    "InputStatisticsInputDatasetFacet": "inputStatistics",
    "JobDependenciesRunFacet": "jobDependencies",
    "JobTypeJobFacet": "jobType",
    "LifecycleStateChangeDatasetFacet": "lifecycleStateChange",
    "NominalTimeRunFacet": "nominalTime",
    "OutputStatisticsOutputDatasetFacet": "outputStatistics",
    "OwnershipDatasetFacet": "ownership",
    "OwnershipJobFacet": "ownership",
    "ParentRunFacet": "parent",
    "ProcessingEngineRunFacet": "processing_engine",
    "SQLJobFacet": "sql",
    "SchemaDatasetFacet": "schema",
    "SourceCodeJobFacet": "sourceCode",
    "SourceCodeLocationJobFacet": "sourceCodeLocation",
    "StorageDatasetFacet": "storage",
    "SymlinksDatasetFacet": "symlinks",
    "TagsDatasetFacet": "tags",
    "TagsJobFacet": "tags",
    "TagsRunFacet": "tags",
}

# The facet containers: which base definition a facet in them must extend.
FACET_BASES = (
    base.RunFacet,
    base.JobFacet,
    base.DatasetFacet,
    base.InputDatasetFacet,
    base.OutputDatasetFacet,
)

RFC3339 = re.compile(r"^\d{4}-\d{2}-\d{2}[Tt]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$")
CUSTOM_KEY = re.compile(r"^[a-z][A-Za-z0-9]*_[A-Za-z][A-Za-z0-9_]*$")


class Invalid(Exception):
    """An event that does not conform, with the JSON path where it fails."""

    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")


def facet_classes() -> dict[str, type]:
    """Every facet definition of openlineage-python, by its schema URL."""
    found = {}
    for info in pkgutil.iter_modules(generated.__path__):
        module = importlib.import_module(f"{generated.__name__}.{info.name}")
        for cls in vars(module).values():
            if inspect.isclass(cls) and issubclass(cls, base.BaseFacet) and cls.__module__ == module.__name__:
                if cls not in (base.BaseFacet, *FACET_BASES):
                    found[cls._get_schema()] = cls
    return found


def custom_schemas(directory: Path) -> tuple[Registry, dict[str, dict]]:
    """The custom facets' JSON Schemas in `directory`, by `$id`."""
    documents = {}
    for path in sorted(directory.glob("*.json")):
        document = json.loads(path.read_text())
        jsonschema.Draft202012Validator.check_schema(document)
        documents[document["$id"]] = document
    registry = Registry().with_resources(
        (uri, Resource.from_contents(document)) for uri, document in documents.items()
    )
    return registry, documents


def is_uri(value: Any) -> bool:
    return isinstance(value, str) and re.match(r"^[A-Za-z][A-Za-z0-9+.-]*:\S+$", value) is not None


class Checker:
    def __init__(self, facets_dir: Path) -> None:
        self.facets = facet_classes()
        self.registry, self.custom = custom_schemas(facets_dir)
        self.seen: Counter[str] = Counter()

    # --- types -----------------------------------------------------------------------------

    def value(self, hint: Any, value: Any, path: str, module: types.ModuleType) -> Any:
        """`value` converted to `hint` (a resolved annotation), or Invalid."""
        origin = typing.get_origin(hint)
        args = typing.get_args(hint)
        if origin in (typing.Union, types.UnionType):
            options = [a for a in args if a is not type(None)]
            if value is None:
                if type(None) in args:
                    return None
                raise Invalid(path, "null is not allowed")
            errors = []
            for option in options:
                try:
                    return self.value(option, value, path, module)
                except Invalid as error:
                    errors.append(str(error))
            raise Invalid(path, " / ".join(errors))
        if value is None:
            raise Invalid(path, "null is not allowed")
        if hint is Any:
            return value
        if origin is list:
            if not isinstance(value, list):
                raise Invalid(path, f"expected an array, found {type(value).__name__}")
            return [self.value(args[0], item, f"{path}[{i}]", module) for i, item in enumerate(value)]
        if origin is dict:
            if not isinstance(value, dict):
                raise Invalid(path, f"expected an object, found {type(value).__name__}")
            item = args[1]
            if inspect.isclass(item) and item in FACET_BASES:
                return {key: self.facet(item, key, facet, f"{path}.{key}") for key, facet in value.items()}
            return {key: self.value(item, v, f"{path}.{key}", module) for key, v in value.items()}
        if inspect.isclass(hint) and issubclass(hint, enum.Enum):
            allowed = [member.value for member in hint]
            if value not in allowed:
                raise Invalid(path, f"{value!r} is not one of {allowed}")
            return hint(value)
        if inspect.isclass(hint) and attr.has(hint):
            return self.build(hint, value, path)
        if hint is bool:
            if not isinstance(value, bool):
                raise Invalid(path, f"expected a boolean, found {value!r}")
            return value
        if hint is int:
            if isinstance(value, bool) or not isinstance(value, int):
                raise Invalid(path, f"expected an integer, found {value!r}")
            return value
        if hint is float:
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise Invalid(path, f"expected a number, found {value!r}")
            return value
        if hint is str:
            if not isinstance(value, str):
                raise Invalid(path, f"expected a string, found {value!r}")
            return value
        raise Invalid(path, f"no check for the declared type {hint!r}")

    @staticmethod
    def hint(cls: type, field: attr.Attribute) -> Any:
        """The declared type of `field` (the generated modules postpone annotations)."""
        if not isinstance(field.type, str):
            return field.type
        # The class's own module, then the module of the base class that declared the field.
        for owner in cls.__mro__:
            module = sys.modules.get(owner.__module__)
            try:
                return eval(field.type, {**vars(typing), **vars(module)})  # noqa: S307 (a type)
            except NameError:
                continue
        raise Invalid("$", f"cannot resolve the type {field.type!r} of {cls.__name__}.{field.name}")

    def build(self, cls: type, value: Any, path: str) -> Any:
        """An instance of the attrs class `cls` from the JSON object `value`, strictly."""
        if not isinstance(value, dict):
            raise Invalid(path, f"expected an object ({cls.__name__}), found {type(value).__name__}")
        module = sys.modules[cls.__module__]
        fields = {f.name: f for f in attr.fields(cls)}
        unknown = sorted(set(value) - set(fields))
        if unknown:
            raise Invalid(path, f"{unknown} not in the spec's definition of {cls.__name__} (fields: {sorted(fields)})")
        kwargs = {}
        for name, field in fields.items():
            if name not in value:
                if field.default is attr.NOTHING:
                    raise Invalid(path, f"required field `{name}` of {cls.__name__} is missing")
                continue
            converted = self.value(self.hint(cls, field), value[name], f"{path}.{name}", module)
            if field.init:
                kwargs[field.alias] = converted
        try:
            return cls(**kwargs)
        except Exception as error:  # the generated validators raise ValueError, TypeError, ...
            raise Invalid(path, f"{cls.__name__}: {type(error).__name__}: {error}") from None

    # --- facets ----------------------------------------------------------------------------

    def facet(self, expected: type, key: str, value: Any, path: str) -> Any:
        if not isinstance(value, dict):
            raise Invalid(path, "a facet must be an object")
        for field in ("_producer", "_schemaURL"):
            if not is_uri(value.get(field)):
                raise Invalid(path, f"`{field}` is required and must be a URI, found {value.get(field)!r}")
        url = value["_schemaURL"]
        cls = self.facets.get(url)
        if cls is None:
            return self.custom_facet(expected, key, value, path)
        if not issubclass(cls, expected):
            raise Invalid(path, f"{cls.__name__} is not a {expected.__name__}: wrong place for it")
        want = STANDARD_KEYS.get(cls.__name__)
        if want is not None and key != want:
            raise Invalid(path, f"a {cls.__name__} goes under the key `{want}`, not `{key}`")
        self.seen[cls.__name__] += 1
        return self.build(cls, value, path)

    def custom_facet(self, expected: type, key: str, value: dict, path: str) -> Any:
        url = value["_schemaURL"]
        document_id, _, pointer = url.partition("#")
        if document_id not in self.custom:
            raise Invalid(
                path,
                f"`_schemaURL` {url} is neither a facet of openlineage-python nor a custom facet "
                f"with a schema in the facets directory",
            )
        if not CUSTOM_KEY.match(key):
            raise Invalid(path, f"a custom facet's key must be `prefix_name`, not `{key}`")
        name = pointer.rsplit("/", 1)[-1]
        suffix = expected.__name__  # RunFacet, OutputDatasetFacet, ...
        placed = name.endswith(suffix)
        if expected is base.DatasetFacet:
            placed = placed and not name.endswith(("InputDatasetFacet", "OutputDatasetFacet"))
        if not placed:
            raise Invalid(path, f"custom facet {name} is not a {suffix} (its name must end so): wrong place")
        validator = jsonschema.Draft202012Validator(
            {"$ref": url}, registry=self.registry, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
        )
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
        if error is not None:
            where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
            raise Invalid(f"{path}{where}", f"{name}: {error.message}")
        self.seen[name] += 1
        return value

    # --- events ----------------------------------------------------------------------------

    def event(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise Invalid("$", "an event must be a JSON object")
        for field in ("producer", "schemaURL"):
            if not is_uri(value.get(field)):
                raise Invalid(f"$.{field}", f"required and must be a URI, found {value.get(field)!r}")
        if value["schemaURL"] != base.RunEvent._get_schema():
            raise Invalid("$.schemaURL", f"must be {base.RunEvent._get_schema()}, found {value['schemaURL']}")
        time = value.get("eventTime")
        if not isinstance(time, str) or not RFC3339.match(time):
            raise Invalid("$.eventTime", f"must be an RFC 3339 date-time with a time zone, found {time!r}")
        if "eventType" not in value:
            raise Invalid("$.eventType", "missing (required of run events here)")
        self.build(base.RunEvent, value, "$")
        self.seen["RunEvent"] += 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("events", type=Path, help="a file of OpenLineage run events, one JSON per line")
    parser.add_argument("--facets", type=Path, default=REPO / "schemas" / "openlineage",
                        help="directory of custom facet JSON Schemas (default: schemas/openlineage)")
    args = parser.parse_args()
    try:
        lines = args.events.read_text().splitlines()
        checker = Checker(args.facets)
    except (OSError, ValueError, jsonschema.exceptions.SchemaError) as error:
        print(f"validate.py: {error}", file=sys.stderr)
        return 2
    events = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            checker.event(json.loads(line))
        except json.JSONDecodeError as error:
            print(f"{args.events}:{number}: not JSON: {error}", file=sys.stderr)
            return 1
        except Invalid as error:
            print(f"{args.events}:{number}: {error}", file=sys.stderr)
            return 1
        events += 1
    if events == 0:
        print(f"{args.events}: no events", file=sys.stderr)
        return 1
    checker.seen.pop("RunEvent", None)
    facets = ", ".join(f"{name} {count}" for name, count in sorted(checker.seen.items()))
    print(f"{args.events}: {events} valid run events (spec 2-0-2 via openlineage-python); facets: {facets}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
