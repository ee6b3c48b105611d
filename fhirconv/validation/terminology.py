"""Layer 3: every code with a *required* binding is checked against the official ValueSets of its version."""

from __future__ import annotations

from functools import cache
from typing import Any

from fhirconv.validation.definitions import Definitions, Spec, Walks, load_definitions, walk
from fhirconv.validation.findings import Finding, Layer, Severity, resource_context
from fhirconv.versions import FhirVersion


@cache
def _bound(version: FhirVersion) -> dict[str, list[tuple[str, Spec]]]:
    """Node type → its keys that carry a required binding (most node types have none)."""
    defs = load_definitions(version)
    out: dict[str, list[tuple[str, Spec]]] = {}
    for node_type, table in defs.elements.items():
        keys = [(key, spec) for key, spec in table.items() if spec[1]]
        if keys:
            out[node_type] = keys
    return out


def unexpandable_valuesets(version: FhirVersion) -> dict[str, str]:
    """Required value sets that cannot be expanded offline, with why: codes bound to them are not checked."""
    return dict(load_definitions(version).unexpandable)


def terminology_findings(resource: dict[str, Any], version: FhirVersion, walks: Walks | None = None) -> list[Finding]:
    """Check one resource (and its contained resources); Bundle entries are the caller's to split."""
    defs = load_definitions(version)
    bound = _bound(version)
    context = resource_context(resource)
    findings: list[Finding] = []
    for node in walk(defs, resource, walks):
        keys = bound.get(node.type)
        if not keys:
            continue
        for key, spec in keys:
            if key not in node.value:
                continue
            value = node.value[key]
            items = value if isinstance(value, list) else [value]
            for i, item in enumerate(items):
                at = f"{node.path}.{key}[{i}]" if isinstance(value, list) else f"{node.path}.{key}"
                findings.extend(_check(defs, spec, item, at, context))
    return findings


def _check(defs: Definitions, spec: Spec, item: Any, at: str, context: dict[str, Any]) -> list[Finding]:
    kind, url = spec[0], spec[1]
    if url in defs.unexpandable:
        return [
            Finding(
                Severity.INFORMATION,
                Layer.TERMINOLOGY,
                at,
                f"not checked: the required value set {url} cannot be expanded offline ({defs.unexpandable[url]})",
                "not-checked",
                **context,
            )
        ]
    allowed = defs.valuesets.get(url)
    if allowed is None:
        return []  # cannot happen: the build expands or lists every required value set
    if kind == "code":
        if not isinstance(item, str):
            return []  # a wrong JSON type is the schema layer's finding
        if any(item in codes for codes in allowed.values()):
            return []
        return [_bad(f"code {item!r} is not in the required value set {url}{_hint(allowed)}", at, context)]
    if kind == "Coding" and isinstance(item, dict):
        return [] if _coding_ok(item, allowed) else [_bad(_coding_text(item, url, allowed), f"{at}.code", context)]
    if kind == "CodeableReference" and isinstance(item, dict) and isinstance(item.get("concept"), dict):
        return _check(defs, ["CodeableConcept", url, None], item["concept"], f"{at}.concept", context)
    if kind == "CodeableConcept" and isinstance(item, dict):
        codings = (
            [c for c in item.get("coding", []) if isinstance(c, dict)] if isinstance(item.get("coding"), list) else []
        )
        if any(_coding_ok(c, allowed) for c in codings):
            return []
        if not codings:
            return [_bad(f"needs a coding from the required value set {url}{_hint(allowed)}", at, context)]
        if len(codings) == 1:
            return [_bad(_coding_text(codings[0], url, allowed), f"{at}.coding[0].code", context)]
        return [
            _bad(f"none of the codings is in the required value set {url}{_hint(allowed)}", f"{at}.coding", context)
        ]
    return []


def _coding_ok(coding: dict[str, Any], allowed: dict[str, frozenset[str]]) -> bool:
    codes = allowed.get(coding.get("system", ""))
    return codes is not None and coding.get("code") in codes


def _coding_text(coding: dict[str, Any], url: str, allowed: dict[str, frozenset[str]]) -> str:
    system, code = coding.get("system"), coding.get("code")
    if system not in allowed:
        systems = ", ".join(sorted(allowed))
        return f"code {code!r} of system {system!r} is not in the required value set {url} (systems: {systems})"
    return f"code {code!r} is not in the required value set {url}{_hint(allowed)}"


def _hint(allowed: dict[str, frozenset[str]]) -> str:
    codes = sorted(c for cs in allowed.values() for c in cs)
    if len(codes) <= 12:
        return f" (allowed: {', '.join(codes)})"
    return f" ({len(codes)} codes)"


def _bad(message: str, at: str, context: dict[str, Any]) -> Finding:
    return Finding(Severity.ERROR, Layer.TERMINOLOGY, at, message, "bad-code", **context)
