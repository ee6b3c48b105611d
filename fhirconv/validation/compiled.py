"""The compiled structure check: per type, the models' rules (elements, types, cardinality, required, choice
groups, primitive formats) as plain closures over shipped tables, at a cost that does not depend on values repeating.

The tables (data/structure.R4.json.gz, .R5.json.gz) are derived from the fhir.resources models by
`python -m fhirconv.validation.build_structure`. The check is exact where it says "clean": every rule it
applies is at least as strict as the model's (and as the FHIR JSON rules of the structure layer: no null, no
empty string, no empty list). Where it cannot vouch for a value (a primitive type it leaves to the models:
base64Binary, time, uuid, oid, xhtml; a leap second; anything unusual), it reports a problem, and only then
does the structure layer ask the models to explain. tests/test_validate_compiled.py is the oracle: the
compiled check and the models agree on every resource of the corpus outputs and of the defect corpus.
"""

from __future__ import annotations

import datetime as _dt
import gzip
import math
import re
from collections.abc import Callable
from functools import cache
from importlib import resources as _resources
from typing import Any

import orjson

from fhirconv.versions import FhirVersion, has_model

# (value, its path, problems found so far). The path is None on the first, quick pass, which only says whether
# there is a problem; paths are made on a second pass, for content that has one.
Check = Callable[[Any, "str | None", list["str | None"]], None]

# Primitive rules, each no looser than fhir_core's (fhir_core/types.py) plus the structure layer's JSON rules.
_STRING_BAD = re.compile(r"[^ \r\n\t\S]|[\x00-\x08\x0b\x0c\x0e-\x1f]")
_CODE = re.compile(r"[^\s]+(\s[^\s]+)*")
_URL = re.compile(r"https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?(/[^\s]*)?")
_DECIMAL = re.compile(r"-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?")
_YEAR = r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)"
_DATE = re.compile(_YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1]))?)?")
_ZONE = r"(Z|([+\-])((0[0-9]|1[0-3]):[0-5][0-9]|14:00))"
# Seconds 00-59 only and at most 6 fraction digits: a leap second or finer fractions go to the models.
_TIME = r"T([01][0-9]|2[0-3]):[0-5][0-9]:[0-5][0-9](\.[0-9]{1,6})?" + _ZONE
_DATETIME = re.compile(_YEAR + r"(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])(" + _TIME + r")?)?)?")
_INSTANT = re.compile(_YEAR + r"-(0[1-9]|1[0-2])-(0[1-9]|[1-2][0-9]|3[0-1])" + _TIME)
_INT32 = (-(2**31), 2**31 - 1)


def _string(v: Any) -> bool:
    return type(v) is str and v != "" and not v.isspace() and _STRING_BAD.search(v) is None


def _nonempty(v: Any) -> bool:  # uri, canonical, markdown: the models take any text
    return type(v) is str and v != ""


def _code(v: Any) -> bool:
    return type(v) is str and _CODE.fullmatch(v) is not None


def _url(v: Any) -> bool:
    return type(v) is str and len(v) <= 2083 and _URL.fullmatch(v) is not None


def _boolean(v: Any) -> bool:
    return type(v) is bool


def _integer(low: int) -> Callable[[Any], bool]:
    return lambda v: type(v) is int and low <= v <= _INT32[1]


_INTEGER64 = re.compile(r"-?(0|[1-9][0-9]{0,18})")


def _integer64(v: Any) -> bool:
    """R5 integer64: a JSON string in FHIR JSON; the models take a number too."""
    if type(v) is str:
        return _INTEGER64.fullmatch(v) is not None and -(2**63) <= int(v) < 2**63
    return type(v) is int and -(2**63) <= v < 2**63


def _decimal(v: Any) -> bool:
    kind = type(v)
    if kind is int:
        return True
    return kind is float and math.isfinite(v) and _DECIMAL.fullmatch(str(v)) is not None


def _real_date(v: str) -> bool:
    """A full date part must be a calendar date (the models parse it)."""
    if len(v) < 10:
        return True
    try:
        _dt.date(int(v[0:4]), int(v[5:7]), int(v[8:10]))
    except ValueError:
        return False
    return True


def _date(v: Any) -> bool:
    return type(v) is str and _DATE.fullmatch(v) is not None and _real_date(v)


def _datetime(v: Any) -> bool:
    return type(v) is str and _DATETIME.fullmatch(v) is not None and _real_date(v)


def _instant(v: Any) -> bool:
    return type(v) is str and _INSTANT.fullmatch(v) is not None and _real_date(v)


def _never(_: Any) -> bool:
    return False  # a primitive type left to the models


def _primitives(id_rule: list[Any]) -> dict[str, Callable[[Any], bool]]:
    id_pattern = re.compile(id_rule[0].removeprefix("^").removesuffix("$")) if id_rule[0] else None
    longest = id_rule[1]

    def _id(v: Any) -> bool:
        if type(v) is not str or v == "" or id_pattern is None or longest is None or len(v) > longest:
            return False
        return id_pattern.fullmatch(v) is not None

    return {
        "string": _string,
        "code": _code,
        "id": _id,
        "uri": _nonempty,
        "canonical": _nonempty,
        "markdown": _nonempty,
        "url": _url,
        "boolean": _boolean,
        "integer": _integer(_INT32[0]),
        "unsignedInt": _integer(0),
        "positiveInt": _integer(1),
        "integer64": _integer64,
        "decimal": _decimal,
        "date": _date,
        "dateTime": _datetime,
        "instant": _instant,
        "?": _never,
    }


@cache
def _table(version: FhirVersion) -> dict[str, Any]:
    blob = _resources.files("fhirconv.validation").joinpath("data", f"structure.{version}.json.gz").read_bytes()
    table: dict[str, Any] = orjson.loads(gzip.decompress(blob))
    return table


class Compiled:
    """The checks of one FHIR version, compiled on first use per type and kept."""

    def __init__(self, version: FhirVersion) -> None:
        table = _table(version)
        self.version = version
        self.classes: dict[str, Any] = table["classes"]
        self.resources = frozenset(table["resources"])
        self.prims = _primitives(table["id"])
        self._checks: dict[str, Check] = {}

    def check(self, name: str) -> Check:
        found = self._checks.get(name)
        if found is None:
            found = self._compile(name)
        return found

    def any_resource(self, value: Any, path: str | None, out: list[str | None]) -> None:
        """A field of type Resource (contained, ...): checked as the type its resourceType names."""
        rtype = value.get("resourceType") if type(value) is dict else None
        if type(rtype) is not str or rtype not in self.resources:
            out.append(path)
            return
        self.check(rtype)(value, path, out)

    @staticmethod
    def entry_resource(value: Any, path: str | None, out: list[str | None]) -> None:
        """Bundle.entry.resource: the caller checks each entry's resource as its own resource."""
        if type(value) is not dict:
            out.append(path)

    def _compile(self, name: str) -> Check:
        spec = self.classes.get(name)
        if spec is None:
            def unknown(_: Any, path: str | None, out: list[str | None]) -> None:
                out.append(path)

            self._checks[name] = unknown
            return unknown
        resource_type: str | None = spec["resource"]
        # Per key: (value check, list?, complex check or None). Complex checks are looked up late (recursion).
        prims: dict[str, tuple[Callable[[Any], bool], bool]] = {}
        nested: dict[str, tuple[str, bool]] = {}
        required: list[tuple[str, bool]] = []
        for key, (kind, many, needed) in spec["fields"].items():
            if kind.startswith("p:"):
                prims[key] = (self.prims[kind[2:]], many)
            elif kind == "x":
                nested[key] = ("FHIRPrimitiveExtension", many)
            else:
                nested[key] = (kind[2:], many)
            if needed:
                required.append((key, kind.startswith("p:")))
        choices = [(frozenset(keys), bool(needed)) for keys, needed in spec["choices"]]
        in_entry = name == "BundleEntry"
        checks = self._checks
        compiled = self

        def check(obj: Any, path: str | None, out: list[str | None]) -> None:
            if type(obj) is not dict or not obj:
                out.append(path)
                return
            for key, value in obj.items():
                prim = prims.get(key)
                if prim is not None:
                    ok, many = prim
                    if many:
                        if type(value) is not list or not value:
                            out.append(path and f"{path}.{key}")
                            continue
                        paired = type(obj.get(f"_{key}")) is list
                        for i, item in enumerate(value):
                            if not (ok(item) or (item is None and paired)):
                                out.append(path and f"{path}.{key}[{i}]")
                    elif not ok(value):
                        out.append(path and f"{path}.{key}")
                    continue
                inner = nested.get(key)
                if inner is None:
                    if key != "resourceType" or value != resource_type:
                        out.append(path and f"{path}.{key}")
                    continue
                target, many = inner
                sub: Check
                if target == "Resource":
                    sub = compiled.entry_resource if in_entry else compiled.any_resource
                else:
                    sub = checks.get(target) or compiled.check(target)
                if many:
                    if type(value) is not list or not value:
                        out.append(path and f"{path}.{key}")
                        continue
                    extension_list = target == "FHIRPrimitiveExtension"
                    for i, item in enumerate(value):
                        if item is None and extension_list:
                            continue  # a placeholder lining up with its primitive value
                        sub(item, path and f"{path}.{key}[{i}]", out)
                else:
                    sub(value, path and f"{path}.{key}", out)
            for key, primitive in required:
                if obj.get(key) is None and not (primitive and _has_extension(obj.get(f"_{key}"))):
                    out.append(path and f"{path}.{key}")
            for keys, needed in choices:
                hits: set[str] | frozenset[str] = keys.intersection(obj)
                if hits:
                    hits = {k for k in hits if obj[k] is not None}  # the models read null as absent
                if len(hits) > 1 or (needed and not hits):
                    out.append(path)

        self._checks[name] = check
        return check

    def problems(self, resource: Any, path: str | None = None) -> list[str]:
        """Where `resource` breaks a rule, or may (paths; [] means the models accept it)."""
        rtype = resource.get("resourceType") if type(resource) is dict else None
        if type(rtype) is not str or rtype not in self.resources:
            return [path or "resourceType"]
        check = self.check(rtype)
        quick: list[str | None] = []
        check(resource, None, quick)
        if not quick:
            return []
        out: list[str | None] = []
        check(resource, path or rtype, out)
        return [p for p in out if p is not None]


def _has_extension(value: Any) -> bool:
    return type(value) is dict and type(value.get("extension")) is list and bool(value["extension"])


@cache
def compiled(version: FhirVersion) -> Compiled:
    return Compiled(version)


def problems(resource: Any, version: FhirVersion) -> list[str]:
    """The compiled structure check of one resource (a Bundle's entry resources are not descended into).
    A type with no faithful model in `version` (versions.NO_MODEL) has no compiled rules: the SCHEMA layer
    checks it."""
    if isinstance(resource, dict) and not has_model(version, str(resource.get("resourceType"))):
        return []
    return compiled(version).problems(resource)


__all__ = ["compiled", "problems"]
