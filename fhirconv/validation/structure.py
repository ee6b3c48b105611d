"""Layer 1: structure, by the fhir.resources models (R5; R4B for R4): types, cardinality, unknown elements."""

from __future__ import annotations

from typing import Any

import pydantic

from fhirconv.validation.findings import Finding, Layer, Severity, join_path, resource_context
from fhirconv.versions import FhirVersion, model_class


def structure_findings(resource: Any, version: FhirVersion) -> list[Finding]:
    """Check one resource (its contained resources included) against its fhir.resources model.

    A Bundle's entry resources are not descended into here: the caller checks each as its own resource."""
    context = resource_context(resource)
    if not isinstance(resource, dict):
        return [Finding(Severity.ERROR, Layer.STRUCTURE, "", "a resource must be a JSON object", "not-object")]
    rtype = resource.get("resourceType")
    try:
        model = model_class(version, rtype) if isinstance(rtype, str) and rtype.isidentifier() else None
    except (ImportError, AttributeError):
        model = None
    if model is None:
        return [
            Finding(
                Severity.ERROR,
                Layer.STRUCTURE,
                "resourceType",
                f"unknown resourceType {rtype!r} in FHIR {version}",
                "unknown-resource-type",
                **context,
            )
        ]
    body = resource
    if rtype == "Bundle" and isinstance(resource.get("entry"), list):
        body = {**resource, "entry": [_shell(e) for e in resource["entry"]]}
    try:
        model.model_validate(body)
    except pydantic.ValidationError as exc:
        return [_translate(error, str(rtype), version, context) for error in exc.errors()]
    return []


def _shell(entry: Any) -> Any:
    return {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, dict) else entry


def _translate(error: Any, rtype: str, version: FhirVersion, context: dict[str, Any]) -> Finding:
    loc = [part for part in error["loc"] if isinstance(part, int | str)]
    path = join_path(rtype, loc)
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        owner = join_path(rtype, loc[:-1]) if len(loc) > 1 else rtype
        text, code = f"unknown element {loc[-1]!r}: {owner} has no such element in FHIR {version}", "unknown-element"
    elif kind == "missing" or kind.endswith(".missing"):
        text, code = f"required element {loc[-1]!r} is missing", "required"
    elif kind == "string_pattern_mismatch" or "does not match spec regex" in msg:
        text, code = (
            f"{error.get('input')!r} is not a valid value here ({msg.removeprefix('Value error, ')})",
            "bad-format",
        )
    elif kind.endswith("_type") or kind in ("int_from_float", "json_invalid"):
        text, code = f"wrong type: {msg} (got {error.get('input')!r})", "wrong-type"
    else:
        text, code = msg.removeprefix("Value error, "), kind
    return Finding(Severity.ERROR, Layer.STRUCTURE, path, text, code, **context)
