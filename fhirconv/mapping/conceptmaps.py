"""Code tables as FHIR ConceptMaps: loaded from the package's mapping data, validated, cached, translated."""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from fhirconv.errors import MappingDataError, UnmappedCodeError

__all__ = [
    "ConceptTable",
    "Entry",
    "concept",
    "display",
    "load",
    "lookup",
    "mapping_root",
    "translate",
]


def mapping_root() -> Traversable:
    """Where the mapping data lives: fhirconv/_mappings inside a wheel (pyproject force-includes the
    top-level mappings/ there), else the repository's mappings/ beside the package (editable install)."""
    packaged = resources.files("fhirconv") / "_mappings"
    if packaged.is_dir():
        return packaged
    import fhirconv

    return Path(fhirconv.__file__).resolve().parents[1] / "mappings"


@dataclass(frozen=True, slots=True)
class Entry:
    """One source code: its display (the source's words), its first target Coding (None for noMap), and
    every target with the dependsOn conditions it needs (attribute -> valueCode), in map order."""

    display: str | None
    coding: dict[str, str] | None
    targets: tuple[tuple[dict[str, str], dict[str, str | None]], ...] = ()


@dataclass(frozen=True, slots=True)
class ConceptTable:
    """A loaded ConceptMap reduced to what mapping needs: a dict lookup per source code."""

    map_id: str
    entries: dict[str, Entry]
    # group.unmapped of the first group, if any: what to do with a code the map does not list.
    unmapped: dict[str, Any] | None
    source_system: str | None
    target_system: str | None


def _read(map_id: str) -> dict[str, Any]:
    node = mapping_root() / "conceptmaps" / f"{map_id}.json"
    try:
        doc: dict[str, Any] = json.loads(node.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MappingDataError(
            f"no ConceptMap {map_id!r}", file=str(node), hint="reinstall fhirconv; the mapping data is missing"
        ) from None
    except (OSError, ValueError) as exc:
        raise MappingDataError(f"cannot read ConceptMap {map_id!r}: {exc}", file=str(node)) from exc
    return doc


@cache
def load(map_id: str) -> ConceptTable:
    """Load, validate (R5 ConceptMap model) and index ConceptMap `map_id`; cached per process."""
    doc = _read(map_id)
    from pydantic import ValidationError

    from fhirconv.versions import FhirVersion, model_class

    where = f"mappings/conceptmaps/{map_id}.json"
    try:
        model_class(FhirVersion.R5, "ConceptMap").model_validate(doc)
    except ValidationError as exc:
        error = exc.errors()[0]
        path = ".".join(str(p) for p in error["loc"])
        raise MappingDataError(f"ConceptMap {map_id!r} is not a valid FHIR ConceptMap: {path}: {error['msg']}",
                               file=where) from None
    if doc.get("id") != map_id:
        raise MappingDataError(f"ConceptMap id {doc.get('id')!r} does not match its file name", file=where)
    entries: dict[str, Entry] = {}
    groups = doc.get("group", [])
    for group in groups:
        system = group.get("target")
        for element in group.get("element", []):
            code = element["code"]
            if code in entries and entries[code].coding is not None:
                continue  # the first group that maps a code wins, as in $translate
            targets = [] if element.get("noMap") else element.get("target", [])
            if targets and not system:
                raise MappingDataError(f"group without target system maps code {code!r}", file=where)
            found: list[tuple[dict[str, str], dict[str, str | None]]] = []
            for target in targets:
                coding = {"system": system, "code": target["code"]}
                if target.get("display"):
                    coding["display"] = target["display"]
                found.append((coding, {d["attribute"]: d.get("valueCode") for d in target.get("dependsOn", [])}))
            entries[code] = Entry(element.get("display"), found[0][0] if found else None, tuple(found))
    first: dict[str, Any] = groups[0] if groups else {}
    return ConceptTable(map_id, entries, first.get("unmapped"), first.get("source"), first.get("target"))


def _unmapped(table: ConceptTable, code: str) -> dict[str, str] | None:
    """What group.unmapped says for a code the map does not list (None: nothing, so report it)."""
    rule = table.unmapped
    if not rule:
        return None
    mode = rule.get("mode")
    if mode == "use-source-code" and table.source_system:
        return {"system": table.source_system, "code": code}
    if mode == "fixed" and rule.get("code") and table.target_system:
        coding = {"system": table.target_system, "code": rule["code"]}
        if rule.get("display"):
            coding["display"] = rule["display"]
        return coding
    if mode == "other-map" and rule.get("otherMap"):
        other = str(rule["otherMap"]).rstrip("/").rsplit("/", 1)[-1]
        return lookup(other, code)
    return None


def lookup(map_id: str, code: str) -> dict[str, str] | None:
    """The target Coding of `code` (a fresh dict), or None when the map has none for it."""
    table = load(map_id)
    entry = table.entries.get(code)
    if entry is None:
        return _unmapped(table, code)
    return dict(entry.coding) if entry.coding is not None else None


def translate(map_id: str, code: str, *, field: str) -> dict[str, str]:
    """The target Coding of `code`; a code without one (unknown, or noMap) is an error naming the field."""
    coding = lookup(map_id, code)
    if coding is not None:
        return coding
    table = load(map_id)
    if code in table.entries:
        message = f"{field} value {code!r} has no equivalent in {table.target_system or 'the target'}"
    else:
        message = f"{field} value {code!r} is not a code ConceptMap {map_id} knows"
    raise UnmappedCodeError(message, field=field, hint=f"see mappings/conceptmaps/{map_id}.json")


def display(map_id: str, code: str, *, field: str) -> str:
    """The registry's own words for a known code (e.g. 'Phase 1/Phase 2'); unknown code → error."""
    entry = load(map_id).entries.get(code)
    if entry is None:
        raise UnmappedCodeError(
            f"{field} value {code!r} is not a code ConceptMap {map_id} knows",
            field=field,
            hint=f"add it to mappings/conceptmaps/{map_id}.json or fix the input",
        )
    return entry.display or code


def concept(map_id: str, code: str, *, field: str, label: str | None = None) -> dict[str, Any]:
    """A CodeableConcept for a known code: the target Coding when there is one, and always the registry's
    words as text (prefixed with `label`), so a code without a FHIR equivalent is kept, not dropped.
    An unknown code is an error naming the field."""
    words = display(map_id, code, field=field)
    out: dict[str, Any] = {}
    coding = lookup(map_id, code)
    if coding is not None:
        out["coding"] = [coding]
    out["text"] = f"{label}: {words}" if label else words
    return out
