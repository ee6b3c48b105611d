"""Where each leaf value of a registry record lands in fhirconv's output: the engine of tests/test_placement.py
and benchmarks/placement_share.py.

A record (API v2 JSON, classic API JSON, legacy XML) is walked leaf by leaf. Each leaf has a normalised field
path: its keys (XML: element names, `@attr` for attributes) joined by dots, list positions left out, so every
value of one field has one path (`protocolSection.contactsLocationsModule.locations.city`,
`clinical_study.location.facility.address.city`, `ProtocolSection.DesignModule.DesignInfo.DesignAllocation`).

A leaf is *placed* in a FHIR version when its value, normalised the way the mapping normalises it, is found in
the resources converted from that record. Found means:

- Text is compared after the normalisations the readers apply (API v2 markdown escapes removed, line endings,
  XML indentation and hard wraps) with whitespace collapsed and case folded on both sides, paragraph breaks
  kept. It must equal a *whole segment* of an output string: the string itself, or a run of it bounded by the
  joins the mapping makes ("Label: value", "a; b", "name, affiliation", paragraphs, "phone ext. 12",
  "(Role)"). A value that only occurs inside another word or sentence is not placed.
- Enumerated values (v2 `RECRUITING`, XML / classic prose `Active, not recruiting`) are read with the readers'
  own vocabulary (`readers.normalize.enum_value`) and looked up in every `ctgov-*` ConceptMap: the value is
  placed when a target code appears as a Coding `code`, or the map's display words appear as a segment.
- Dates are read with the readers' `parse_date` and must appear as a date, dateTime or instant of that day.
- Ages ("18 Years") must appear as a Range bound of the same duration (the mapping may rewrite both bounds in
  the finer unit: 17 years is 204 months).
- Booleans (JSON true/false, XML and classic Yes/No) are placed only at a boolean element of their own name
  (`oversightHasDmc`, `has_dmc`, `OversightHasDMC` at `hasDmc`), or at the element STRUCTURAL below lists for
  them; so are the values written as structure (a date's ACTUAL / ESTIMATED → `actual`; the enrolment type →
  R5 `actualNumber` / `targetNumber`, R4 `Group.actual`): `true` occurs in every bundle, so "found anywhere"
  would mean nothing.
- Values that do not identify themselves (numbers, numeric strings, enums, dates, short strings) are placed
  only in a resource where a distinctive value (a string of four or more characters with a letter) of the
  same source object (itself or an object it holds; else of its nearest ancestor that has one, below the
  record and its sections) was placed, or in the study's own resources (the ResearchStudy, its eligibility
  Group and its Provenance): a site's status or zip code must be in that site's Location or the study's own
  resources, not in another site's Location.
- Posted results are placed only outside those study-level resources (STUDY_LEVEL_TYPES): a result group's
  title is an arm's label, an at-risk count may equal the enrolment, and finding them there says nothing
  about whether the results were converted.

R4 extensions shaped like the cross-version ones (fhirconv.mapping.xver) are walked as the R5 element they
stand for, so both versions are described with the same element paths.

This is a lower bound on the mapping's reach in one respect and an upper bound in another: a value rewritten in
a way not listed here counts as not placed, and a non-distinctive value that happens to equal another value of
the same resource counts as placed. Both are rare in the corpus; the first shows up as a row in the table.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fractions import Fraction
from functools import cache, lru_cache
from pathlib import Path
from typing import Any
from xml.etree.ElementTree import Element

from defusedxml.ElementTree import fromstring

from fhirconv.errors import FhirconvError
from fhirconv.mapping import keys, map_study, xver
from fhirconv.mapping.conceptmaps import load, mapping_root
from fhirconv.mapping.study import common
from fhirconv.readers import normalize as nz
from fhirconv.readers import read_study
from fhirconv.versions import FhirVersion

ROOT = Path(__file__).resolve().parents[1]
CORPUS = ROOT / "tests" / "data" / "ctgov-corpus"
README = ROOT / "mappings" / "README.md"
TABLE_HEADING = "### Deliberately not placed"
PARA = "\u2029"  # a paragraph break, kept through whitespace collapsing
# The joins the mapping makes between values inside one string: a segment starts after one and ends before one.
_LEFT = (PARA, ": ", "; ", ", ", " ext. ", " (", "/")
_RIGHT = (PARA, ": ", "; ", ", ", " ext. ", " (", ")", "/")
_ENUM_MAX = 100
_SEGMENT_MAX = 300  # segments up to this length are indexed; longer values are searched for directly


# --- the source side -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class Leaf:
    path: str
    value: str | int | float | bool
    group: int  # the source object holding it (its position in Record.parents)


@dataclass(slots=True)
class Record:
    file: Path
    fmt: str  # v2 | classic | xml
    leaves: list[Leaf]
    parents: list[int]  # per source object: its parent object (-1 for the root)


def corpus_files() -> list[Path]:
    """The corpus records: every whole API v2, classic and legacy XML file (not the partial or page copies)."""
    return sorted(p for p in CORPUS.iterdir() if p.suffix in (".json", ".xml") and p.is_file())


def fmt_of(path: Path) -> str:
    if path.name.endswith(".classic.json"):
        return "classic"
    return "xml" if path.suffix == ".xml" else "v2"


def read_record(path: Path) -> Record:
    fmt = fmt_of(path)
    record = Record(path, fmt, [], [])
    if fmt == "xml":
        root = fromstring(path.read_bytes())
        _walk_xml(root, root.tag, record, -1)
    else:
        data = json.loads(path.read_text(encoding="utf-8"))
        if fmt == "classic":
            data = data.get("Study", data)  # the page element's Rank is the page's, not the record's
        _walk_json(data, "", record, -1)
    return record


def _new_group(record: Record, parent: int) -> int:
    record.parents.append(parent)
    return len(record.parents) - 1


def _walk_json(value: Any, path: str, record: Record, parent: int) -> None:
    if isinstance(value, dict):
        group = _new_group(record, parent)
        for key, item in value.items():
            sub = f"{path}.{key}" if path else key
            if isinstance(item, list):
                for x in item:
                    _walk_list_item(x, sub, record, group)
            else:
                _walk_json(item, sub, record, group) if isinstance(item, dict) else _leaf(record, sub, item, group)
    elif isinstance(value, list):
        for x in value:
            _walk_list_item(x, path, record, parent)
    else:
        _leaf(record, path, value, parent)


def _walk_list_item(item: Any, path: str, record: Record, group: int) -> None:
    if isinstance(item, dict | list):
        _walk_json(item, path, record, group)
    else:
        _leaf(record, path, item, group)


def _leaf(record: Record, path: str, value: Any, group: int) -> None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return
    record.leaves.append(Leaf(path, value, group))


def _walk_xml(element: Element, path: str, record: Record, parent: int) -> None:
    group = _new_group(record, parent)
    for name, value in element.attrib.items():
        _leaf(record, f"{path}.@{name}", value, group)
    children = list(element)
    if not children:
        if element.text and element.text.strip():
            _leaf(record, path, element.text, parent)
        return
    for child in children:
        tag = child.tag
        if tag == "textblock":  # <brief_summary><textblock>: the text belongs to the field itself
            if child.text and child.text.strip():
                _leaf(record, path, child.text, parent)
            continue
        _walk_xml(child, f"{path}.{tag}", record, group)


def section(fmt: str, path: str) -> str:
    """The record section a field belongs to: protocol, derived, results, document or annotation."""
    parts = path.split(".")
    head = parts[1] if fmt == "xml" and len(parts) > 1 else parts[0]
    if fmt == "v2" and head == "hasResults":
        return "results"
    if fmt in ("v2", "classic"):
        return head[0].lower() + head[1:].removesuffix("Section")
    return XML_SECTIONS.get(head, "protocol")


# Legacy XML has no sections: its elements are given the section their API v2 counterparts are in.
XML_SECTIONS = {
    "clinical_results": "results", "pending_results": "annotation", "condition_browse": "derived",
    "intervention_browse": "derived", "required_header": "derived", "provided_document_section": "document",
    "results_reference": "protocol",
}


# --- normalisation -------------------------------------------------------------------------------------------

_PARAGRAPH = re.compile(r"\n[ \t]*\n\s*")
_SPACE = re.compile(r"\s+")


@lru_cache(maxsize=65536)
def norm(text: str) -> str:
    """Text as the comparison sees it: markdown escapes removed, paragraph breaks marked, other whitespace
    collapsed, case folded."""
    t = nz.unescape_markdown(nz.clean_text(text) or "") or ""
    t = _PARAGRAPH.sub(PARA, t)
    t = PARA.join(_SPACE.sub(" ", p).strip() for p in t.split(PARA))
    return t.casefold()


def _is_number(text: str) -> bool:
    try:
        float(text.replace(",", ""))
    except ValueError:
        return False
    return True


@cache
def _ctgov_tables() -> list[Any]:
    names = sorted(p.name.removesuffix(".json") for p in (mapping_root() / "conceptmaps").iterdir()
                   if p.name.startswith("ctgov-") and p.name.endswith(".json"))
    return [load(n) for n in names]


@cache
def enum_candidates(value: str) -> tuple[frozenset[str], frozenset[str]]:
    """(codes, words) a registry enum value may be written as: the v2 value of any vocabulary that knows it, its
    ConceptMap targets' codes and the maps' displays. Empty when no vocabulary knows the value."""
    v2 = set()
    if len(value) > _ENUM_MAX or _is_number(value):
        return frozenset(), frozenset()  # no registry enum, in any spelling, is that long or a number
    for kind in nz.ENUMS:
        try:
            got = nz.enum_value(kind, value, field="")
        except FhirconvError:
            continue
        if got:
            v2.add(got)
    codes: set[str] = set()
    words: set[str] = set()
    for code in v2:
        for table in _ctgov_tables():
            entry = table.entries.get(code)
            if entry is None:
                continue
            words.add(norm(entry.display or code))
            codes.update(t["code"] for t, _ in entry.targets)
    return frozenset(codes), frozenset(words)


_MESH_UI = re.compile(r"D\d{6,9}")
_INSTANT = re.compile(r"\d{4}-\d{2}-\d{2}t")


@lru_cache(maxsize=65536)
def _date(value: str) -> str | None:
    try:
        return nz.parse_date(value, field="")
    except FhirconvError:
        return None


# --- the output side -----------------------------------------------------------------------------------------


@dataclass(slots=True)
class Output:
    """The resources converted from one record, indexed for lookups: each resource's strings (and their
    segments), numbers, codes and booleans at their element paths."""

    types: list[str] = field(default_factory=list)
    segments: dict[str, set[int]] = field(default_factory=dict)
    long_texts: list[tuple[int, str]] = field(default_factory=list)
    codes: dict[str, set[int]] = field(default_factory=dict)
    numbers: dict[float, set[int]] = field(default_factory=dict)
    at: dict[str, list[tuple[int, Any]]] = field(default_factory=dict)  # element path → (resource, value)

    @property
    def everywhere(self) -> frozenset[int]:
        return frozenset(range(len(self.types)))


_XVER = xver.url("")


def _ext_name(url: str) -> str:
    """An extension's element name: the R5 element a cross-version-shaped extension stands for, the child
    name of a sub-extension, else the url's last part."""
    if url.startswith(_XVER):
        return url[len(_XVER):].rsplit(".", maxsplit=1)[-1]
    return url.rstrip("/").rsplit("/", 1)[-1]


def index_output(resources: list[dict[str, Any]]) -> Output:
    out = Output()
    for i, res in enumerate(resources):
        out.types.append(res["resourceType"])
        _walk_out(res, res["resourceType"], i, out)
    return out


def _walk_out(value: Any, path: str, i: int, out: Output, *, ext: bool = False) -> None:
    if isinstance(value, dict):
        if ext and isinstance(value.get("url"), str):
            path = f"{path}.{_ext_name(value['url'])}"
            for k, v in value.items():
                if k == "url":
                    continue
                if k == "extension":
                    _walk_out(v, path, i, out, ext=True)
                else:
                    _walk_out(v, path if k.startswith("value") else f"{path}.{k}", i, out)
            return
        for k, v in value.items():
            if k == "resourceType":
                continue
            if k == "code" and isinstance(v, str):
                out.codes.setdefault(v, set()).add(i)
            if k in ("extension", "modifierExtension"):
                _walk_out(v, path, i, out, ext=True)
            else:
                _walk_out(v, f"{path}.{k}", i, out)
    elif isinstance(value, list):
        for v in value:
            _walk_out(v, path, i, out, ext=ext)
    else:
        out.at.setdefault(path, []).append((i, value))
        if isinstance(value, bool):
            return
        if isinstance(value, int | float):
            out.numbers.setdefault(float(value), set()).add(i)
            value = str(value)
        if isinstance(value, str):
            _index_text(norm(value), i, out)


def _bounds(text: str, marks: tuple[str, ...], *, left: bool) -> list[int]:
    found = {0} if left else {len(text)}
    for mark in marks:
        start = 0
        while (pos := text.find(mark, start)) != -1:
            found.add(pos + len(mark) if left else pos)
            start = pos + 1
    return sorted(found)


def _index_text(text: str, i: int, out: Output) -> None:
    if _INSTANT.match(text):  # a dateTime or instant also stands for its day (Provenance.recorded)
        out.segments.setdefault(text[:10], set()).add(i)
    if len(text) > _SEGMENT_MAX:
        out.long_texts.append((i, text))
    starts = _bounds(text, _LEFT, left=True)
    ends = _bounds(text, _RIGHT, left=False)
    for s in starts:
        for e in ends:
            if s < e <= s + _SEGMENT_MAX:
                out.segments.setdefault(text[s:e].strip(), set()).add(i)


def _segment_in(text: str, out: Output) -> set[int]:
    """The resources holding `text` (normalised) as a whole segment of one of their strings."""
    if len(text) <= _SEGMENT_MAX:
        return set(out.segments.get(text, ()))
    found = set()
    for i, s in out.long_texts:
        pos = s.find(text)
        while pos != -1:
            end = pos + len(text)
            if (pos == 0 or s[:pos].endswith(_LEFT)) and (end == len(s) or s[end:].startswith(_RIGHT)):
                found.add(i)
                break
            pos = s.find(text, pos + 1)
    return found


# --- placing -------------------------------------------------------------------------------------------------

# Fields whose value is written as structure, not as a value: (path pattern, test on the output). Booleans are
# placed only through these. Each test gets the leaf's value and the output; it returns the resources that hold
# the value (empty: not placed).
Structural = Callable[[Any, Output], set[int]]


def _bool(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    try:
        return nz.parse_bool(str(value), field="")
    except FhirconvError:
        return None


def _at(out: Output, path: str, want: Any) -> set[int]:
    return {i for i, v in out.at.get(path, ()) if v == want and type(v) is type(want)}


def _healthy(value: Any, out: Output) -> set[int]:
    b = _bool(value)
    return set() if b is None else _at(out, "Group.characteristic.valueBoolean", b)


def _date_type(value: Any, out: Output) -> set[int]:
    kind = nz.enum_value("date_type", str(value), field="") if isinstance(value, str) else None
    if kind is None:
        return set()
    return _at(out, "ResearchStudy.progressStatus.actual", kind == "ACTUAL")


def _enrollment_type(value: Any, out: Output) -> set[int]:
    kind = nz.enum_value("enrollment_type", str(value), field="") if isinstance(value, str) else None
    if kind is None:
        return set()
    r5 = {i for i, _ in out.at.get("ResearchStudy.recruitment." + ("actualNumber" if kind == "ACTUAL"
                                                                     else "targetNumber"), ())}
    return r5 | _at(out, "Group.actual", kind == "ACTUAL")


def _patient_registry(value: Any, out: Output) -> set[int]:
    if _bool(value) is not True:
        return set()  # false writes nothing: a study that is no registry has no classifier
    return {i for i, v in out.at.get("ResearchStudy.classifier.text", ()) if v == "Patient registry"}


# Minutes per UCUM age unit, as the mapping defines them.
_MINUTES = {code: minutes for code, (minutes, _) in common._AGE_UNITS.items()}


def _age(value: Any, out: Output) -> set[int]:
    try:
        age = nz.parse_age(str(value), field="")
    except FhirconvError:
        return set()
    if age is None:
        return set()
    q = common.age_quantity(age, "")
    want = Fraction(str(q["value"])) * _MINUTES[q["code"]]
    found = set()
    for bound in ("low", "high"):
        values = out.at.get(f"Group.characteristic.valueRange.{bound}.value", [])
        codes = out.at.get(f"Group.characteristic.valueRange.{bound}.code", [])
        for (i, v), (_, code) in zip(values, codes, strict=False):
            if code in _MINUTES and Fraction(str(v)) * _MINUTES[code] == want:
                found.add(i)
    return found


def _download_date(value: Any, out: Output) -> set[int]:
    """ "ClinicalTrials.gov processed this data on August 18, 2020": the Provenance's data version."""
    iso = _date(str(value).rpartition(" on ")[2])
    return set() if iso is None else _segment_in(iso, out)


def _at_end(out: Output, suffix: str, want: bool) -> set[int]:
    return {i for path, found in out.at.items() if path.endswith(suffix) for i, v in found if v is want}


def _expanded_access(value: Any, out: Output) -> set[int]:
    b = _bool(value)
    return set() if b is None else _at_end(out, ".ctgov-expanded-access.available", b)


def _results_posted(value: Any, out: Output) -> set[int]:
    b = _bool(value)
    return set() if b is None else _at_end(out, ".ctgov-results-posted", b)


_NAME = re.compile(r"[^a-z0-9]")
_YES_NO = frozenset({"yes", "no", "true", "false"})


def _named_bool(path: str, value: bool, out: Output) -> set[int]:
    """A yes/no field placed as a boolean element of its own name: `oversightHasDmc`, `has_dmc` and
    `OversightHasDMC` at an element (or sub-extension) `hasDmc` holding the same value."""
    source = _NAME.sub("", path.rsplit(".", 1)[-1].casefold())
    found = set()
    for where, values in out.at.items():
        name = _NAME.sub("", where.rsplit(".", 1)[-1].casefold())
        if len(name) >= 4 and (source.endswith(name) or name.endswith(source)):
            found |= {i for i, v in values if v is value}
    return found


STRUCTURAL: list[tuple[re.Pattern[str], Structural]] = [
    (re.compile(r"(hasExpandedAccess|HasExpandedAccess|has_expanded_access)$"), _expanded_access),
    (re.compile(r"^hasResults$"), _results_posted),
    (re.compile(r"required_header\.download_date$"), _download_date),
    (re.compile(r"(healthyVolunteers|HealthyVolunteers|healthy_volunteers)$"), _healthy),
    (re.compile(r"(DateStruct\.type|DateType|_date\.@type)$"), _date_type),
    (re.compile(r"(enrollmentInfo\.type|EnrollmentType|enrollment\.@type)$"), _enrollment_type),
    (re.compile(r"(patientRegistry|PatientRegistry)$"), _patient_registry),
    (re.compile(r"(minimumAge|maximumAge|MinimumAge|MaximumAge|minimum_age|maximum_age)$"), _age),
]


@cache
def _structural(path: str) -> Structural | None:
    return next((fn for pattern, fn in STRUCTURAL if pattern.search(path)), None)


def distinctive(leaf: Leaf) -> bool:
    """A value that identifies itself: found anywhere in the study's output, it is this value."""
    v = leaf.value
    if not isinstance(v, str) or _structural(leaf.path):
        return False
    return _distinctive_text(v)


@lru_cache(maxsize=65536)
def _distinctive_text(v: str) -> bool:
    t = norm(v)
    if len(t) < 4 or not any(c.isalpha() for c in t) or _date(v) is not None:
        return False
    codes, words = enum_candidates(v.strip())
    return not (codes or words)


def found_in(leaf: Leaf, out: Output) -> set[int]:
    """The resources of `out` that hold the leaf's value, by the rules in the module docstring."""
    v = leaf.value
    rule = _structural(leaf.path)
    if rule is not None:
        return rule(v, out)
    if isinstance(v, bool):
        return _named_bool(leaf.path, v, out)
    if isinstance(v, int | float):
        return set(out.numbers.get(float(v), ())) if math.isfinite(v) else set()
    text = norm(v)
    hits = _segment_in(text, out)
    if text in _YES_NO:  # XML and classic yes/no: a boolean of its name, or the words of an enum (IPD: Yes)
        hits |= _named_bool(leaf.path, text in ("yes", "true"), out)
    iso = _date(v)
    if iso is not None:
        hits |= _segment_in(iso, out)
    if _is_number(v):
        hits |= set(out.numbers.get(float(v.replace(",", "")), ()))
    mesh = nz.mesh_id(v) if _MESH_UI.fullmatch(v.strip()) else None
    if mesh is not None:  # the registry's zero-padded descriptor UI, written as NLM's (readers.normalize.mesh_id)
        hits |= out.codes.get(mesh, set())
    codes, words = enum_candidates(v.strip())
    for code in codes:
        hits |= out.codes.get(code, set())
    for w in words:
        hits |= _segment_in(w, out)
    return hits


# The study-level resources (the ResearchStudy, its Organizations, Locations, eligibility Group and Provenance) do
# not hold posted results: a result group's title is an arm's label and an outcome's title its measure, so the
# ResearchStudy has them already, and an at-risk count may equal the enrolment; that says nothing about whether
# the results were converted. Results values are placed only in the other resources (issue 11: the EBM shapes).
STUDY_LEVEL_TYPES = frozenset({"ResearchStudy", "Organization", "Location", "Provenance"})
RESULTS = "results"


def _study_level(resource: dict[str, Any]) -> bool:
    if resource["resourceType"] in STUDY_LEVEL_TYPES:
        return True
    ids = resource.get("identifier", [])
    systems = {i.get("system") for i in (ids if isinstance(ids, list) else [ids])}  # R4 Composition: 0..1
    return resource["resourceType"] == "Group" and keys.GROUP_SYSTEM in systems


@dataclass(slots=True)
class Placement:
    record: Record
    version: FhirVersion
    placed: list[bool]


def _meet(sets: list[set[int]]) -> set[int]:
    both = set.intersection(*sets)
    return both or set.union(*sets)


def place(record: Record, version: FhirVersion) -> Placement:
    study = read_study(record.file)
    resources = [item.resource for item in map_study(study, version)]
    out = index_output(resources)
    not_results = {i for i, r in enumerate(resources) if _study_level(r)}
    everywhere = out.everywhere
    results_allowed = everywhere - not_results
    allowed = [results_allowed if section(record.fmt, leaf.path) == RESULTS else everywhere
               for leaf in record.leaves]
    # Where a value tied to no distinctive value is looked for: the study's own resources (not a site or a
    # sponsor: a status date is no site's), or for results the results resources.
    own = frozenset(i for i in not_results if out.types[i] not in ("Location", "Organization"))
    hits = [found_in(leaf, out) & ok for leaf, ok in zip(record.leaves, allowed, strict=True)]
    # Each source object's anchors: the resources holding all of its distinctive values that were placed (a
    # site's facility, city and country meet in that site's Location; its country alone is in many), else any
    # of them; an object with none takes those of the objects it holds. The record itself and (JSON) its
    # sections anchor nothing: they hold the whole study.
    top = {g for g, parent in enumerate(record.parents) if parent == -1 or (record.fmt != "xml"
                                                                            and record.parents[parent] == -1)}
    direct: dict[int, list[set[int]]] = {}
    for leaf, h in zip(record.leaves, hits, strict=True):
        if h and distinctive(leaf):
            direct.setdefault(leaf.group, []).append(h)
    anchors: dict[int, set[int]] = {g: _meet(sets) for g, sets in direct.items()}
    held: dict[int, list[set[int]]] = {}
    for g in range(len(record.parents) - 1, -1, -1):  # children are made after their parents
        if g not in anchors and g in held:
            anchors[g] = _meet(held[g])
        parent = record.parents[g]
        if g in anchors and parent != -1 and parent not in top:
            held.setdefault(parent, []).append(anchors[g])

    def anchor(group: int, fallback: frozenset[int]) -> frozenset[int] | set[int]:
        while group != -1 and group not in top:
            if group in anchors:
                return anchors[group] | fallback
            group = record.parents[group]
        return fallback

    placed = []
    for leaf, h, ok in zip(record.leaves, hits, allowed, strict=True):
        if not h:
            placed.append(False)
        elif distinctive(leaf) or _structural(leaf.path):
            placed.append(True)
        else:
            placed.append(bool(h & anchor(leaf.group, results_allowed if ok is results_allowed else own)))
    return Placement(record, version, placed)


# --- the table of fields deliberately not placed -------------------------------------------------------------

_ROW = re.compile(r"^\|\s*`([^`]+)`\s*\|\s*([^|]*?)\s*\|\s*(.*?)\s*\|\s*$")


@dataclass(frozen=True, slots=True)
class NotPlaced:
    path: str
    versions: frozenset[str]
    reason: str


def not_placed_table(readme: Path = README) -> dict[str, NotPlaced]:
    """The rows of mappings/README.md's "Deliberately not placed" table: path → versions and reason."""
    lines = readme.read_text(encoding="utf-8").splitlines()
    try:
        start = lines.index(TABLE_HEADING)
    except ValueError:
        raise AssertionError(f"{readme} has no '{TABLE_HEADING}' section") from None
    rows: dict[str, NotPlaced] = {}
    for line in lines[start + 1:]:
        if line.startswith("#"):
            break
        m = _ROW.match(line)
        if not m:
            continue
        path, versions, reason = m.groups()
        if path in rows:
            raise AssertionError(f"{readme}: '{path}' is listed twice")
        rows[path] = NotPlaced(path, frozenset(versions.split()), reason)
    return rows


@dataclass(slots=True)
class Tally:
    """Per (version, format, section): values placed and values in all; per (path, version): values not placed."""

    placed: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    total: Counter[tuple[str, str, str]] = field(default_factory=Counter)
    missing: Counter[tuple[str, str]] = field(default_factory=Counter)
    seen: Counter[str] = field(default_factory=Counter)
    example: dict[tuple[str, str], str] = field(default_factory=dict)


def tally(files: list[Path] | None = None) -> Tally:
    t = Tally()
    for path in files or corpus_files():
        record = read_record(path)
        for version in FhirVersion:
            result = place(record, version)
            for leaf, ok in zip(record.leaves, result.placed, strict=True):
                key = (version.value, record.fmt, section(record.fmt, leaf.path))
                t.total[key] += 1
                t.seen[leaf.path] += 1
                if ok:
                    t.placed[key] += 1
                else:
                    t.missing[(leaf.path, version.value)] += 1
                    t.example.setdefault((leaf.path, version.value), f"{path.name}: {str(leaf.value)[:60]!r}")
    return t


def iter_missing(t: Tally) -> Iterator[tuple[str, frozenset[str]]]:
    """Each field path with values not placed, and the versions it is not placed in."""
    by_path: dict[str, set[str]] = {}
    for path, version in t.missing:
        by_path.setdefault(path, set()).add(version)
    for path in sorted(by_path):
        yield path, frozenset(by_path[path])
