"""Check mapped resources against the fhir.resources models of their FHIR version before anything is written."""

from __future__ import annotations

import importlib
import math
import re
import typing
from collections.abc import Iterable
from functools import cache
from typing import Any

import fhir_core.constraints as _constraints
from pydantic import BaseModel, ValidationError

from fhirconv.errors import ValidationFailed
from fhirconv.output.bundle import Keyed
from fhirconv.versions import FhirVersion, model_class

# Why memoise: fhir.resources spends ~20 µs of Python per complex element it builds, and a study repeats the
# same coded fragments many times (every objective's type, every design concept, every site's Sex/Age code),
# as do the studies of one run. A datatype's validity does not depend on where it sits, so each distinct
# fragment of these types is validated once, by its own model, and the validated instance is handed to the
# parent model, which accepts instances of the right class as they are (pydantic does not revalidate them).
# A fragment not seen before goes the way of backbone elements (below): its shape may be known.
# Everything else is validated as usual, so the result is the same as validating the plain dict.
MEMO_TYPES = frozenset({"CodeableConcept", "Coding", "Reference", "Quantity", "Range", "Period", "Identifier"})
_MEMO_LIMIT = 10_000  # fragments remembered per version; cleared when full, so memory stays flat. Not more:
# on distinct records most fragments (site references, identifiers) never repeat and only fill it, while the
# repeating vocabulary (codes, concepts) is small, and each fragment kept is a model instance of a few KB.
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
        # A fragment not seen before (a site's reference, an identifier) is still often of a known shape.
        found = _element(version, _element_class(version, type_name), value, path)
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
            if key != "contained" or not isinstance(value, list):
                continue
            info = ("contained", None)
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
    if not isinstance(value, dict):
        return value
    if kind == "contained":
        # A contained resource is validated by the class its resourceType names (fhir_core does the same
        # in place, and accepts an instance of that class as it is).
        rtype = value.get("resourceType")
        try:
            target = _element_class(version, rtype) if isinstance(rtype, str) else None
        except (ValueError, LookupError, AttributeError, ImportError):
            target = None
        if target is None or getattr(target, "__resource_type__", None) != rtype:
            return value  # left to the model, which reports it
    return _element(version, target, value, path)


# Backbone elements (objectives, arms, characteristics, related artifacts, ...) are the other ~20 µs pieces,
# and unlike coded fragments they are rarely repeated. But their shapes are: an element whose shape (element
# names, nesting, primitive types) the model has accepted before, whose memoisable fragments validate, and
# whose primitive values pass the checks below for their FHIR type (taken from the model's own field
# annotations, never from the element name), is valid too; the model's checks that are not per value
# (required elements, choice types, cardinality) depend on the shape alone. Such an element is replaced by
# the first validated element of its shape, which its parent accepts as it is. Contained resources (R5 arms'
# EvidenceVariables, contacts' Practitioners) are taken the same way, by the class their resourceType names.
# Any value of another FHIR type (dates, times, base64, ...) or any doubt sends the element through the model
# as usual.
# tests/test_mapping_fast_paths.py compares both ways on every element of the corpus and on broken values.
_CODE_RE = re.compile(r"[^\s]+(\s[^\s]+)*")  # the model's own pattern for code values (fhir_core Code)
_NO_SPACE_RE = re.compile(r"\S+")


def _decimal_ok(v: Any) -> bool:
    return (type(v) is float and math.isfinite(v)) or type(v) is int


def _integer_check(mark: Any) -> typing.Callable[[Any], bool]:
    low, high = mark.min_length, mark.max_length  # the bounds the model's own marker applies (Ge, Le)
    return lambda v: type(v) is int and low <= v <= high


def _id_check(_: Any) -> typing.Callable[[Any], bool] | None:
    # fhir_core reads these when the models are built; with no pattern configured, leave ids to the model.
    pattern, longest = _constraints.TYPES_ID_PATTERN, _constraints.TYPES_ID_MAX_LENGTH
    if not pattern or longest is None:
        return None
    compiled = re.compile(pattern)
    return lambda v: type(v) is str and 1 <= len(v) <= longest and compiled.fullmatch(v) is not None


# Checks built from the marker instance of a field (its bounds), per marker class name.
_MARKED_OK: dict[str, typing.Callable[[Any], typing.Callable[[Any], bool] | None]] = {
    "Integer": _integer_check,
    "UnsignedInt": _integer_check,
    "PositiveInt": _integer_check,
    "Id": _id_check,
}
_PRIMITIVE_OK: dict[str, typing.Callable[[Any], bool]] = {
    "String": lambda v: type(v) is str and bool(v.strip()),
    "Markdown": lambda v: type(v) is str and bool(v.strip()),
    "Code": lambda v: type(v) is str and _CODE_RE.fullmatch(v) is not None,
    "Uri": lambda v: type(v) is str and _NO_SPACE_RE.fullmatch(v) is not None,
    "Url": lambda v: type(v) is str and _NO_SPACE_RE.fullmatch(v) is not None,
    "bool": lambda v: type(v) is bool,
    "Decimal": _decimal_ok,
}
_element_shapes: dict[FhirVersion, dict[tuple[Any, Any], BaseModel]] = {v: {} for v in FhirVersion}


@cache
def _primitives(cls: Any) -> dict[str, typing.Callable[[Any], bool]]:
    """Per JSON key of `cls`: the value check of its primitive FHIR type, for the types checked here."""
    out: dict[str, typing.Callable[[Any], bool]] = {}
    for name, info in cls.model_fields.items():
        inner = info.annotation
        while typing.get_origin(inner) is not typing.Annotated and typing.get_args(inner):
            args = [a for a in typing.get_args(inner) if a is not type(None)]
            if len(args) != 1:
                break
            inner = args[0]
        check: typing.Callable[[Any], bool] | None = None
        if typing.get_origin(inner) is typing.Annotated:
            marks = typing.get_args(inner)[1:]
            kind = type(marks[0]).__name__ if len(marks) == 1 else ""
            factory = _MARKED_OK.get(kind)
            check = factory(marks[0]) if factory is not None else _PRIMITIVE_OK.get(kind)
        else:
            check = _PRIMITIVE_OK.get(getattr(inner, "__name__", ""))
        if check is not None:
            out[info.alias or name] = check
    return out


def _typed_shape(version: FhirVersion, cls: Any, value: dict[str, Any], path: str) -> Any:
    """The shape of element `value` of class `cls`, or None when any of its values is not provably valid
    (memoisable fragments are validated on the way, raising as usual)."""
    fields = _fields(version, cls)
    prims = _primitives(cls)
    parts: list[Any] = []
    for key, v in value.items():
        if key == "resourceType":  # not a model field: fhir_core compares it with the class's own type
            if v != getattr(cls, "__resource_type__", None):
                return None
            parts.append((key, str))
            continue
        check = prims.get(key)
        if check is not None:
            if not check(v):
                return None
            parts.append((key, type(v)))
            continue
        info = fields.get(key)
        if info is None or not isinstance(v, dict | list):
            return None  # an element the model will refuse or that is not checked here
        kind, target = info
        where = f"{path}.{key}" if path else key
        elements = [v] if isinstance(v, dict) else v
        tag = "{" if isinstance(v, dict) else "["
        sub: list[Any] = [tag, len(elements)]
        for i, x in enumerate(elements):
            if not isinstance(x, dict):
                return None
            if kind == "memo":
                _memoised(version, target, x, f"{where}.{i}" if tag == "[" else where)
                sub.append(tuple(x))
            else:
                inner = _typed_shape(version, target, x, f"{where}.{i}" if tag == "[" else where)
                if inner is None:
                    return None
                sub.append(inner)
        parts.append((key, tuple(sub)))
    return tuple(parts)


def _element(version: FhirVersion, cls: Any, value: dict[str, Any], path: str) -> Any:
    shape = _typed_shape(version, cls, value, path)
    known = _element_shapes[version]
    if shape is not None:
        found = known.get((cls, shape))
        if found is not None:
            return found
    try:
        validated = cls.model_validate(_prepare(version, cls, value, path))
    except ValidationError as exc:
        raise _Located(exc, path) from exc
    if shape is not None:
        if len(known) >= _MEMO_LIMIT:
            known.clear()
        known[(cls, shape)] = validated
    return validated


# Study sites are most of a large study's resources (hundreds for some trials) and all alike: a Location of a
# shape already validated by the model (same elements, same nesting, same primitive types) differs only in
# its primitive values, which the mapping takes from stripped, non-empty registry text, ConceptMap codes and
# range-checked coordinates. For those, the values are checked here with the rules the model applies to them
# (non-blank strings; codes matching the model's code pattern; finite decimals), and the model runs once per
# shape. tests/test_mapping_fast_paths.py compares both paths on every site of the corpus and on broken ones.
FAST_TYPES = frozenset({"Location"})
# Resources whose shapes recur across studies (the corpus: 3 sponsor shapes in 309 studies, ~30 eligibility
# Group shapes in 307) take the backbone elements' short cut as a whole; a ResearchStudy's shape is its own.
SHAPE_TYPES = frozenset({"Organization", "Group"})
_shapes: dict[FhirVersion, set[Any]] = {v: set() for v in FhirVersion}
_CODE_KEYS = frozenset({"status", "system", "use"})


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
            if rtype in SHAPE_TYPES:
                _element(version, cls, item.resource, "")
            else:
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
