"""Code tables as FHIR ConceptMaps: loaded from the package's mapping data, validated, cached, translated."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload

from fhirconv.errors import MappingDataError, UnmappedCodeError, cut

if TYPE_CHECKING:
    from fhirconv.model.participants import SourceRef

__all__ = [
    "ConceptTable",
    "Entry",
    "concept",
    "display",
    "load",
    "lookup",
    "mapping_root",
    "translate",
    "translate_all",
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

    from fhirconv.versions import FhirVersion, ModelCrash, validate_model

    where = f"mappings/conceptmaps/{map_id}.json"
    try:
        validate_model(FhirVersion.R5, "ConceptMap", doc)
    except ModelCrash as exc:
        raise MappingDataError(f"ConceptMap {map_id!r} is not a valid FHIR ConceptMap: {exc}", file=where) from None
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


def _applies(conditions: Mapping[str, str | None], depends: Mapping[str, str | None] | None) -> bool:
    """Whether a target's dependsOn conditions hold: none, or every one met by `depends`."""
    return not conditions or (depends is not None and all(depends.get(k) == v for k, v in conditions.items()))


def _codings(table: ConceptTable, code: str, depends: Mapping[str, str | None] | None) -> list[dict[str, str]] | None:
    """Every target Coding of `code` that applies (fresh dicts, map order; [] for noMap or when no target's
    dependsOn holds); for a code the map does not list, group.unmapped's answer, else None."""
    entry = table.entries.get(code)
    if entry is None:
        fallback = _unmapped(table, code)
        return None if fallback is None else [fallback]
    return [dict(coding) for coding, conditions in entry.targets if _applies(conditions, depends)]


def lookup(map_id: str, code: str, *, depends: Mapping[str, str | None] | None = None) -> dict[str, str] | None:
    """The target Coding of `code` (a fresh dict), or None when the map has none for it (translate's rules,
    without the error)."""
    found = _codings(load(map_id), code, depends)
    return found[0] if found else None


def translate_all(
    map_id: str,
    code: str,
    *,
    field: str,
    depends: Mapping[str, str | None] | None = None,
    source: SourceRef | None = None,
) -> list[dict[str, str]]:
    """Every target Coding of `code` that applies (e.g. a vital sign's profile-required LOINC code and a
    more specific one), in map order; [] for a code the map lists without a target that applies. A code
    the map does not list (and its group.unmapped does not cover) is an error naming the field, and the
    file and row when `source` is given."""
    table = load(map_id)
    found = _codings(table, code, depends)
    if found is None:
        raise UnmappedCodeError(
            f"{field} value {cut(code)} is not a code ConceptMap {map_id} knows",
            file=source.file if source else None,
            record=f"row {source.row}" if source else None,
            field=field,
            hint=f"add it to mappings/conceptmaps/{map_id}.json or fix the input",
        )
    return found


@overload
def translate(
    map_id: str,
    code: str,
    *,
    field: str,
    depends: Mapping[str, str | None] | None = ...,
    source: SourceRef | None = ...,
    optional: Literal[False] = ...,
) -> dict[str, str]: ...
@overload
def translate(
    map_id: str,
    code: str,
    *,
    field: str,
    depends: Mapping[str, str | None] | None = ...,
    source: SourceRef | None = ...,
    optional: Literal[True],
) -> dict[str, str] | None: ...
def translate(
    map_id: str,
    code: str,
    *,
    field: str,
    depends: Mapping[str, str | None] | None = None,
    source: SourceRef | None = None,
    optional: bool = False,
) -> dict[str, str] | None:
    """The target Coding of `code` through ConceptMap `map_id`: the project's one translate, for registry
    records and participant data alike.

    A code the map lists gives its first target whose dependsOn holds for `depends`; a code it does not
    list gives what group.unmapped says, else an UnmappedCodeError naming the field (and file and row,
    from `source`). A listed code with no target that applies (noMap) gives None when `optional` (the
    caller keeps the source words instead), else an error saying the target has no equivalent."""
    found = translate_all(map_id, code, field=field, depends=depends, source=source)
    if found:
        return found[0]
    if optional:
        return None
    table = load(map_id)
    raise UnmappedCodeError(
        f"{field} value {cut(code)} has no equivalent in {table.target_system or 'the target'}",
        file=source.file if source else None,
        record=f"row {source.row}" if source else None,
        field=field,
        hint=f"see mappings/conceptmaps/{map_id}.json",
    )


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
