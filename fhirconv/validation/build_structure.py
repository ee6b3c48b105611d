"""Derive the structure tables (elements, types, cardinality, required, choice groups) from the fhir.resources models.

Run `python -m fhirconv.validation.build_structure` to regenerate data/structure.R4.json.gz and .R5.json.gz after
upgrading fhir.resources; tests/test_validate_compiled.py fails while the shipped tables differ from the models.
The models are read here, at build time, and in the tests (as the oracle); fhirconv.validation.compiled checks
content with these tables alone.
"""

from __future__ import annotations

import importlib
import json
import typing
from typing import Any

from fhirconv.validation.build_data import write_gz
from fhirconv.validation.schema import resource_types
from fhirconv.versions import FhirVersion

_PACKAGES = {FhirVersion.R4: "fhir.resources.R4B", FhirVersion.R5: "fhir.resources"}

# A primitive field's marker class (fhir_core.types) → the FHIR type the compiled check applies.
_MARKERS = {
    "String": "string",
    "Code": "code",
    "Id": "id",
    "Uri": "uri",
    "Canonical": "canonical",
    "Url": "url",
    "Markdown": "markdown",
    "Date": "date",
    "DateTime": "dateTime",
    "Instant": "instant",
    "Decimal": "decimal",
    "Integer": "integer",
    "UnsignedInt": "unsignedInt",
    "PositiveInt": "positiveInt",
    "Integer64": "integer64",
}


def _unwrap(annotation: Any) -> tuple[Any, bool]:
    """The element type of a field annotation, and whether it is a list."""
    many = False
    inner = annotation
    while True:
        origin = typing.get_origin(inner)
        if origin is typing.Annotated:
            return inner, many
        args = [a for a in typing.get_args(inner) if a is not type(None)]
        if origin in (list, typing.List):  # noqa: UP006 - the models spell it typing.List
            many = True
            inner = args[0]
            continue
        if origin is typing.Union or (origin is not None and len(args) == 1):
            if len(args) != 1:
                return inner, many  # e.g. fhir_comments: str | list[str]
            inner = args[0]
            continue
        if origin is None and len(args) == 0 and hasattr(inner, "__args__") and len(inner.__args__) == 2:
            inner = next(a for a in inner.__args__ if a is not type(None))  # `X | None` (types.UnionType)
            continue
        return inner, many


def _kind(element: Any) -> str | None:
    """'p:<fhir primitive>' or 'c:<class name>' (complex or 'Resource'); None for what is not checked here."""
    if typing.get_origin(element) is typing.Annotated:
        marks = typing.get_args(element)[1:]
        names = [type(m).__name__ if not isinstance(m, type) else m.__name__ for m in marks]
        for name in names:
            if name in _MARKERS:
                return f"p:{_MARKERS[name]}"
        return "p:?"  # base64Binary, time, uuid, oid, xhtml: the models decide
    if element is bool:
        return "p:boolean"
    name = getattr(element, "__name__", "")
    if name.endswith("Type") and name not in ("ElementType",):
        return f"c:{name[: -len('Type')]}"
    return None


def build(version: FhirVersion) -> dict[str, Any]:
    package = importlib.import_module(_PACKAGES[version])
    getter = package.get_fhir_model_class
    classes: dict[str, Any] = {}
    todo = ["FHIRPrimitiveExtension"]
    resources: list[str] = []
    for rtype in sorted(resource_types(version)):
        try:
            getter(rtype)
        except (KeyError, ValueError, LookupError, AttributeError, ImportError):
            continue  # a type the R4B models lack: the models are asked (they refuse it)
        resources.append(rtype)
        todo.append(rtype)
    while todo:
        name = todo.pop()
        if name in classes or name == "Resource":
            continue
        cls = getter(name)
        fields: dict[str, list[Any]] = {}
        choices: dict[str, list[Any]] = {}
        for field_name, info in cls.model_fields.items():
            key = info.alias or field_name
            if key == "fhir_comments":
                continue  # not FHIR JSON: the compiled check refuses it (the models then decide)
            element, many = _unwrap(info.annotation)
            kind = _kind(element)
            if kind is None:
                continue
            extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
            if field_name.endswith("__ext"):
                kind = "x"  # a primitive's `_name` sibling: FHIRPrimitiveExtension (or a list of them)
            required = bool(info.is_required() or extra.get("element_required"))
            fields[key] = [kind, many, required]
            if kind.startswith("c:") and kind[2:] != "Resource":
                todo.append(kind[2:])
            prefix = extra.get("one_of_many")
            if isinstance(prefix, str):
                group = choices.setdefault(prefix, [[], bool(extra.get("one_of_many_required"))])
                group[0].append(key)
        resource_type = getattr(cls, "__resource_type__", None)
        classes[name] = {
            "resource": resource_type if name in resources else None,
            "fields": dict(sorted(fields.items())),
            "choices": [choices[p] for p in sorted(choices)],
        }
    constraints = importlib.import_module("fhir_core.constraints")
    return {
        "source": f"{_PACKAGES[version]} (fhir.resources {importlib.import_module('fhir.resources').__version__})",
        "id": [constraints.TYPES_ID_PATTERN, constraints.TYPES_ID_MAX_LENGTH],
        "resources": resources,
        "classes": dict(sorted(classes.items())),
    }


def payload(version: FhirVersion) -> bytes:
    """The table of `version` as the bytes shipped (sorted keys, one line: reproducible)."""
    return json.dumps(build(version), sort_keys=True, separators=(",", ":")).encode()


def main() -> None:
    for version in FhirVersion:
        digest = write_gz(f"structure.{version}.json.gz", payload(version))
        print(f"wrote data/structure.{version}.json.gz (sha256 {digest})")


if __name__ == "__main__":
    main()
