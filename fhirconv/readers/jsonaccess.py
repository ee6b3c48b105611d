"""Typed access to parsed JSON records: wrong shapes become InputErrors that name the field."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import InputError

JsonObj = dict[str, Any]

_EMPTY: JsonObj = {}


def _type_error(expected: str, value: Any, field: str) -> InputError:
    return InputError(
        f"expected {expected}, got {type(value).__name__}",
        field=field,
        hint="the record does not follow the ClinicalTrials.gov data model here",
    )


def obj(parent: JsonObj, key: str, field: str) -> JsonObj:
    """The object under `key`, or an empty one when absent (modules are often left out)."""
    value = parent.get(key)
    if value is None:
        return _EMPTY
    if not isinstance(value, dict):
        raise _type_error("an object", value, field)
    return value


def items(parent: JsonObj, key: str, field: str) -> list[Any]:
    """The list under `key`, or an empty one when absent."""
    value = parent.get(key)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _type_error("a list", value, field)
    return value


def objs(parent: JsonObj, key: str, field: str) -> list[JsonObj]:
    """A list of objects under `key`; a non-object entry is an error naming its index."""
    out = items(parent, key, field)
    for i, entry in enumerate(out):
        if not isinstance(entry, dict):
            raise _type_error("an object", entry, f"{field}[{i}]")
    return out


def strs(parent: JsonObj, key: str, field: str) -> list[str]:
    """A list of strings under `key`; numbers are taken as their text (registries store both)."""
    out: list[str] = []
    for i, entry in enumerate(items(parent, key, field)):
        if isinstance(entry, str):
            out.append(entry)
        elif isinstance(entry, int | float) and not isinstance(entry, bool):
            out.append(str(entry))
        elif entry is not None:
            raise _type_error("text", entry, f"{field}[{i}]")
    return out


def text(parent: JsonObj, key: str, field: str) -> str | None:
    """A string value; numbers are accepted as their text (classic API sends numbers as strings)."""
    value = parent.get(key)
    if value is None or isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise _type_error("text", value, field)
