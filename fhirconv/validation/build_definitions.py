"""Derive compact validation data (element tree, required bindings, value sets, invariants) from FHIR packages."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fhirconv.validation.build_data import MEDPLUM, R5_CORE, Tarballs, write_gz

# The resources fhirconv writes: their invariants (and those of every datatype they can hold) are extracted.
PRODUCED = (
    "AdverseEvent",
    "Bundle",
    "Group",
    "Location",
    "Observation",
    "Organization",
    "Patient",
    "Practitioner",
    "PractitionerRole",
    "ResearchStudy",
    "ResearchSubject",
)
BEST_PRACTICE = "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice"
# Invariants checked by fhirconv's own code instead of FHIRPath (listed as such, not dropped).
NATIVE = {
    "ele-1": "evaluated in Python (every element has a value or children), for speed",
    "dom-3": "evaluated in Python (fhirpathpy's descendants() takes ~0.2 s on a large resource); any string "
    "value '#id' in the resource counts as a reference to contained resource id",
    "bdl-7": "checked by the bundle-integrity layer (unique fullUrls, reported at the entry)",
    **dict.fromkeys(
        ("bdl-3", "bdl-4", "bdl-3a", "bdl-3b", "bdl-3c", "bdl-3d"),
        "checked by the bundle-integrity layer, entry by entry (reported at the entry)",
    ),
    "ref-1": "checked by the bundle-integrity layer (a local #reference needs its contained resource)",
}
# FHIRPath functions fhirpathpy does not implement, or that need a terminology server / the profile registry.
UNSUPPORTED_FUNCTIONS = ("htmlChecks", "conformsTo", "memberOf", "resolve()", "getValue()", "hasTemplateIdOf")


class Unexpandable(Exception):
    """A value set that cannot be expanded from the packages alone."""


def _sd_and_terminology(tb: Tarballs, version: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    if version == "R5":
        names = tb.members(R5_CORE, lambda n: n.count("/") == 0 and n.endswith(".json"))
        sds = [tb.json(R5_CORE, n) for n in names if n.startswith("StructureDefinition-")]
        terms = [tb.json(R5_CORE, n) for n in names if n.startswith(("ValueSet-", "CodeSystem-"))]
        return sds, terms
    sds = []
    for member in ("dist/fhir/r4/profiles-resources.json", "dist/fhir/r4/profiles-types.json"):
        sds += [e["resource"] for e in tb.json(MEDPLUM, member)["entry"]]
    terms = []
    for member in ("dist/fhir/r4/valuesets.json", "dist/fhir/r4/v3-codesystems.json", "dist/fhir/r4/v2-tables.json"):
        terms += [e["resource"] for e in tb.json(MEDPLUM, member)["entry"]]
    return [s for s in sds if s.get("resourceType") == "StructureDefinition"], terms


def _base_types(sds: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Resources and complex datatypes (not profiles, not logical models), by name."""
    return {
        sd["id"]: sd
        for sd in sds
        if sd.get("kind") in ("resource", "complex-type")
        and sd.get("type") == sd["id"]
        and sd.get("derivation", "specialization") == "specialization"
    }


def _child_key(name: str, code: str) -> str:
    return name[:-3] + code[0].upper() + code[1:] if name.endswith("[x]") else name


def _elements(types: dict[str, dict[str, Any]]) -> tuple[dict[str, dict[str, list[Any]]], dict[str, Any]]:
    """Node type → JSON key → [child node type, required ValueSet or None, reference target types or None].

    Node types are datatype/resource names, or element paths for backbone elements. Primitive children are
    kept only when they carry a required binding: the walker needs nothing else of them."""
    table: dict[str, dict[str, list[Any]]] = {}
    element_info: dict[str, Any] = {}
    for name, sd in types.items():
        elements = [e for e in sd["snapshot"]["element"] if "sliceName" not in e and ":" not in e["id"]]
        paths = {e["path"] for e in elements}
        table.setdefault(name, {})
        for el in elements:
            path = el["path"]
            element_info[path] = el
            if "." not in path:
                continue
            parent, leaf = path.rsplit(".", 1)
            if parent != name and parent not in paths:
                continue
            node = table.setdefault(parent, {})
            binding = el.get("binding", {})
            vs = binding["valueSet"].split("|")[0] if binding.get("strength") == "required" else None
            if "contentReference" in el:
                node[leaf] = [el["contentReference"].split("#", 1)[1], None, None]
                continue
            for t in el.get("type", []):
                code = t["code"]
                if code.startswith("http://hl7.org/fhirpath/"):
                    continue
                if code in ("BackboneElement", "Element") and any(p.startswith(path + ".") for p in paths):
                    child = path
                else:
                    child = code
                targets = sorted({u.rsplit("/", 1)[1] for u in t.get("targetProfile", [])}) or None
                primitive = child[0].islower()
                if primitive and vs is None:
                    continue
                node[_child_key(leaf, code)] = [child, vs, targets]
    return table, element_info


def _concepts(
    concepts: Iterable[dict[str, Any]], parents: tuple[str, ...] = ()
) -> Iterator[tuple[str, tuple[str, ...]]]:
    for c in concepts:
        yield c["code"], parents
        yield from _concepts(c.get("concept", []), (*parents, c["code"]))


class Expander:
    """Expands value sets from the CodeSystems and ValueSets of one package set (no server)."""

    def __init__(self, terms: list[dict[str, Any]]) -> None:
        self.valuesets = {t["url"]: t for t in terms if t.get("resourceType") == "ValueSet"}
        self.codesystems = {t["url"]: t for t in terms if t.get("resourceType") == "CodeSystem"}
        self.cache: dict[str, dict[str, set[str]] | str] = {}

    def expand(self, url: str) -> dict[str, set[str]]:
        url = url.split("|", maxsplit=1)[0]
        if url not in self.cache:
            try:
                self.cache[url] = self._expand(url)
            except Unexpandable as exc:
                self.cache[url] = str(exc)
        found = self.cache[url]
        if isinstance(found, str):
            raise Unexpandable(found)
        return found

    def _expand(self, url: str) -> dict[str, set[str]]:
        vs = self.valuesets.get(url)
        if vs is None:
            raise Unexpandable(f"ValueSet {url} is not in the package")
        compose = vs.get("compose")
        if not compose:
            raise Unexpandable(f"ValueSet {url} has no compose")
        out: dict[str, set[str]] = {}
        for inc in compose.get("include", []):
            for system, codes in self._part(inc, url).items():
                out.setdefault(system, set()).update(codes)
        for exc in compose.get("exclude", []):
            for system, codes in self._part(exc, url).items():
                out.get(system, set()).difference_update(codes)
        return out

    def _part(self, inc: dict[str, Any], url: str) -> dict[str, set[str]]:
        part: dict[str, set[str]] | None = None
        if "system" in inc:
            system = inc["system"]
            if "concept" in inc:
                part = {system: {c["code"] for c in inc["concept"]}}
            else:
                part = {system: self._system_codes(system, inc.get("filter", []), url)}
        for other in inc.get("valueSet", []):
            sub = self.expand(other)
            part = sub if part is None else {s: c & sub.get(s, set()) for s, c in part.items()}
        return part or {}

    def _system_codes(self, system: str, filters: list[dict[str, Any]], url: str) -> set[str]:
        cs = self.codesystems.get(system)
        if cs is None:
            raise Unexpandable(f"CodeSystem {system} (used by {url}) is not in the package")
        if cs.get("content") != "complete":
            raise Unexpandable(f"CodeSystem {system} (used by {url}) has content '{cs.get('content')}' here")
        pairs = list(_concepts(cs.get("concept", [])))
        codes = {code for code, _ in pairs}
        for f in filters:
            op, value = f.get("op"), f.get("value")
            if f.get("property") != "concept" or op not in ("is-a", "descendent-of", "is-not-a"):
                raise Unexpandable(f"ValueSet {url}: filter {f} needs a terminology server")
            below = {code for code, parents in pairs if value in parents}
            if op == "is-a":
                codes &= below | {value}
            elif op == "descendent-of":
                codes &= below
            else:
                codes -= below | {value}
        return codes


def _reachable(table: dict[str, dict[str, list[Any]]], roots: Iterable[str]) -> set[str]:
    seen: set[str] = set()
    todo = list(roots)
    while todo:
        node = todo.pop()
        if node in seen or node not in table:
            continue
        seen.add(node)
        todo.extend(child for child, _, _ in table[node].values())
    return seen


def _constraints(
    nodes: Iterable[str], element_info: dict[str, Any]
) -> tuple[dict[str, list[list[str]]], list[list[str]]]:
    """FHIRPath invariants per node type, and the ones not evaluated (with why)."""
    kept: dict[str, list[list[str]]] = {}
    skipped: list[list[str]] = []
    for node in sorted(nodes):
        el = element_info.get(node)
        if el is None:
            continue
        seen: set[str] = set()
        for c in el.get("constraint", []):
            key, expr = c["key"], c.get("expression")
            if key in seen:
                continue
            seen.add(key)
            best = any(e.get("url") == BEST_PRACTICE and e.get("valueBoolean") for e in c.get("extension", []))
            if key in NATIVE:
                skipped.append([node, key, NATIVE[key]])
            elif not expr:
                skipped.append([node, key, "no FHIRPath expression"])
            elif best:
                skipped.append([node, key, "best-practice guideline, not a rule"])
            elif any(fn in expr for fn in UNSUPPORTED_FUNCTIONS):
                skipped.append([node, key, f"uses a function fhirpathpy cannot evaluate offline: {expr}"])
            else:
                kept.setdefault(node, []).append([key, c.get("severity", "error"), c.get("human", ""), expr])
    return kept, skipped


def _element_constraints_elsewhere(nodes: set[str], element_info: dict[str, Any]) -> list[list[str]]:
    """Constraints set on a typed (non-backbone) element inside a produced type: not evaluated, so listed."""
    out = []
    for path, el in sorted(element_info.items()):
        if "." not in path or path in nodes or path.split(".")[0] not in nodes:
            continue
        for c in el.get("constraint", []):
            if c["key"] not in ("ele-1", "ext-1"):
                out.append([path, c["key"], "constraint on a typed element: not evaluated"])
    return out


def build_version(tb: Tarballs, version: str) -> dict[str, Any]:
    sds, terms = _sd_and_terminology(tb, version)
    types = _base_types(sds)
    table, element_info = _elements(types)
    resources = sorted(n for n, sd in types.items() if sd["kind"] == "resource" and not sd.get("abstract"))
    expander = Expander(terms)
    bound = sorted({vs for node in table.values() for _, vs, _ in node.values() if vs})
    valuesets: dict[str, dict[str, list[str]]] = {}
    unexpandable: dict[str, str] = {}
    for url in bound:
        try:
            valuesets[url] = {s: sorted(c) for s, c in sorted(expander.expand(url).items())}
        except Unexpandable as exc:
            unexpandable[url] = str(exc)
    nodes = _reachable(table, PRODUCED)
    constraints, skipped = _constraints(nodes, element_info)
    skipped += _element_constraints_elsewhere(nodes, element_info)
    return {
        "version": version,
        "resources": resources,
        "elements": {k: dict(sorted(v.items())) for k, v in sorted(table.items()) if v},
        "valuesets": valuesets,
        "unexpandable": unexpandable,
        "constraints": constraints,
        "skipped_constraints": skipped,
    }


def build_definitions(tb: Tarballs, notes: list[str]) -> None:
    lines = ["## Definitions (element tree, required bindings, value sets, invariants)\n"]
    for version, source in (
        ("R5", f"`{R5_CORE.spec()}` StructureDefinition-*, ValueSet-*, CodeSystem-*"),
        (
            "R4",
            f"`{MEDPLUM.spec()}` dist/fhir/r4/profiles-resources.json, profiles-types.json, "
            "valuesets.json, v3-codesystems.json, v2-tables.json",
        ),
    ):
        data = build_version(tb, version)
        payload = json.dumps(data, separators=(",", ":"), sort_keys=True).encode()
        sha = write_gz(f"definitions.{version}.json.gz", payload)
        n_constraints = sum(len(v) for v in data["constraints"].values())
        lines.append(
            f"- `definitions.{version}.json.gz` (sha256 {sha}) from {source}: "
            f"{len(data['elements'])} node types, {len(data['valuesets'])} required value sets expanded, "
            f"{len(data['unexpandable'])} not expandable offline (listed in the file under `unexpandable`), "
            f"{n_constraints} FHIRPath invariants, {len(data['skipped_constraints'])} not evaluated by fhirpathpy "
            "(listed under `skipped_constraints`, with the reason)."
        )
    notes.append("\n".join(lines) + "\n")
