"""Check mapped resources against the fhir.resources models of their FHIR version before anything is written."""

from __future__ import annotations

import importlib
import math
import re
import typing
from collections.abc import Iterable
from functools import cache
from typing import Any

from pydantic import BaseModel, ValidationError

from fhirconv.bundle import Keyed
from fhirconv.errors import ValidationFailed
from fhirconv.versions import FhirVersion, model_class

# Why memoise: fhir.resources spends ~20 µs of Python per complex element it builds, and a study repeats the
# same coded fragments many times (every objective's type, every design concept, every site's Sex/Age code),
# as do the studies of one run. A datatype's validity does not depend on where it sits, so each distinct
# fragment of these types is validated once, by its own model, and the validated instance is handed to the
# parent model, which accepts instances of the right class as they are (pydantic does not revalidate them).
# Everything else is validated as usual, so the result is the same as validating the plain dict.
MEMO_TYPES = frozenset({"CodeableConcept", "Coding", "Reference", "Quantity", "Range", "Period", "Identifier"})
_MEMO_LIMIT = 50_000  # fragments remembered per version; cleared when full, so memory stays flat
_memo: dict[FhirVersion, dict[tuple[str, str], BaseModel]] = {v: {} for v in FhirVersion}

_PACKAGES = {FhirVersion.R4: "fhir.resources.R4B", FhirVersion.R5: "fhir.resources"}


@cache
def _element_class(version: FhirVersion, name: str) -> Any:
    getter = importlib.import_module(_PACKAGES[version]).get_fhir_model_class
    return getter(name)


@cache
def _fields(version: FhirVersion, cls: Any) -> dict[str, tuple[str, Any]]:
    """Per JSON key of `cls`: ('memo', type name) for memoised datatypes, ('nested', class) for backbone
    elements and other complex types worth descending into."""
    out: dict[str, tuple[str, Any]] = {}
    for name, info in cls.model_fields.items():
        inner = info.annotation
        while typing.get_args(inner):
            args = [a for a in typing.get_args(inner) if a is not type(None)]
            if not args or typing.get_origin(inner) is typing.Annotated:
                break
            inner = args[0]
        type_name = getattr(inner, "__name__", "")
        if not type_name.endswith("Type") or type_name in ("ResourceType", "ElementType", "ExtensionType"):
            continue
        fhir_name = type_name[: -len("Type")]
        key = info.alias or name
        if fhir_name in MEMO_TYPES:
            out[key] = ("memo", fhir_name)
            continue
        try:
            out[key] = ("nested", _element_class(version, fhir_name))
        except (ValueError, LookupError, AttributeError):
            continue  # not a class we can name: validated in place by its parent, as usual
    return out


def _memoised(version: FhirVersion, type_name: str, value: Any, path: str) -> Any:
    if not isinstance(value, dict):
        return value  # let the parent model report the wrong shape
    memo = _memo[version]
    key = (type_name, repr(value))
    found = memo.get(key)
    if found is None:
        try:
            found = _element_class(version, type_name).model_validate(value)
        except ValidationError as exc:
            raise _Located(exc, path) from exc
        if len(memo) >= _MEMO_LIMIT:
            memo.clear()
        memo[key] = found
    return found


class _Located(Exception):
    """A validation error of a fragment, with the fragment's path in the resource."""

    def __init__(self, error: ValidationError, path: str) -> None:
        super().__init__(path)
        self.error = error
        self.path = path


def _prepare(version: FhirVersion, cls: Any, data: dict[str, Any], path: str) -> dict[str, Any]:
    """A shallow copy of `data` with memoisable fragments replaced by validated instances (the input dict
    is never changed)."""
    fields = _fields(version, cls)
    out: dict[str, Any] | None = None
    for key, value in data.items():
        info = fields.get(key)
        if info is None:
            continue
        kind, target = info
        where = f"{path}.{key}" if path else key
        if isinstance(value, list):
            new: Any = [_one(version, kind, target, v, f"{where}.{i}") for i, v in enumerate(value)]
        else:
            new = _one(version, kind, target, value, where)
        if out is None:
            out = dict(data)
        out[key] = new
    return out if out is not None else data


def _one(version: FhirVersion, kind: str, target: Any, value: Any, path: str) -> Any:
    if kind == "memo":
        return _memoised(version, target, value, path)
    if isinstance(value, dict):
        return _prepare(version, target, value, path)
    return value


# Study sites are most of a large study's resources (hundreds for some trials) and all alike: a Location of a
# shape already validated by the model (same elements, same nesting, same primitive types) differs only in
# its primitive values, which the mapping takes from stripped, non-empty registry text, ConceptMap codes and
# range-checked coordinates. For those, the values are checked here with the rules the model applies to them
# (non-blank strings; codes matching the model's code pattern; finite decimals), and the model runs once per
# shape. tests/test_mapping_fast_paths.py compares both paths on every site of the corpus and on broken ones.
FAST_TYPES = frozenset({"Location"})
_shapes: dict[FhirVersion, set[Any]] = {v: set() for v in FhirVersion}
_CODE_KEYS = frozenset({"status", "system", "use"})
_CODE_RE = re.compile(r"[^\s]+(\s[^\s]+)*")  # the model's own pattern for code values (fhir_core Code)


def _leaf_ok(value: Any, key: str) -> bool:
    if type(value) is str:
        if not value.strip():
            return False
        return key not in _CODE_KEYS or _CODE_RE.fullmatch(value) is not None
    if type(value) is float:
        return math.isfinite(value)
    return isinstance(value, int)  # bool is an int


def _scan(value: Any, key: str, bad: list[str]) -> Any:
    """The shape of `value` (element names, nesting, primitive types), noting in `bad` any primitive whose
    value the model might refuse. One pass over the resource: sites are most of the resources checked."""
    if isinstance(value, dict):
        parts = []
        for k, v in value.items():
            t = type(v)
            if t is str:
                if not (v.strip() and (k not in _CODE_KEYS or _CODE_RE.fullmatch(v))):
                    bad.append(k)
                parts.append((k, str))
            else:
                parts.append((k, _scan(v, k, bad)))
        return tuple(parts)
    if isinstance(value, list):
        return ("[", *[_scan(v, key, bad) for v in value])
    if not _leaf_ok(value, key):
        bad.append(key)
    return type(value)


def check_models(items: Iterable[Keyed], version: FhirVersion) -> None:
    """Validate each resource dict (never dumped or re-serialised); the first failure raises ValidationFailed
    naming resource type, key and element path."""
    shapes = _shapes[version]
    for item in items:
        rtype = item.resource_type
        shape = None
        if rtype in FAST_TYPES:
            bad: list[str] = []
            shape = (rtype, _scan(item.resource, "", bad))
            if not bad and shape in shapes:
                continue
        cls = model_class(version, rtype)
        try:
            cls.model_validate(_prepare(version, cls, item.resource, ""))
        except _Located as located:
            _fail(item, version, located.error, located.path)
        except ValidationError as exc:
            _fail(item, version, exc, "")
        if shape is not None:
            if len(shapes) >= _MEMO_LIMIT:
                shapes.clear()
            shapes.add(shape)


def _fail(item: Keyed, version: FhirVersion, exc: ValidationError, prefix: str) -> typing.NoReturn:
    error = exc.errors()[0]
    inner = ".".join(str(p) for p in error["loc"])
    path = ".".join(p for p in (prefix, inner) if p) or "(resource)"
    more = len(exc.errors()) - 1
    suffix = f" (and {more} more)" if more else ""
    raise ValidationFailed(
        f"{version.value} {item.resource_type} {item.system}|{item.value} is not valid FHIR: {path}: "
        f"{error['msg']}{suffix}",
        field=path,
        hint="this is a fhirconv mapping defect if the input is well formed; please report it",
    ) from exc
