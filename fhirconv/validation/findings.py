"""One validation finding: what is wrong, where (file → resource → element path), how bad, which layer."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from enum import StrEnum
from typing import Any


class Severity(StrEnum):
    # The FHIR OperationOutcome issue severities, so findings map 1:1 onto issues.
    FATAL = "fatal"
    ERROR = "error"
    WARNING = "warning"
    INFORMATION = "information"


class Layer(StrEnum):
    STRUCTURE = "structure"  # fhir.resources models
    SCHEMA = "schema"  # official FHIR JSON Schema
    TERMINOLOGY = "terminology"  # required bindings against the official ValueSets
    INVARIANT = "invariant"  # FHIRPath constraints (per-1, obs-6, ...)
    INTEGRITY = "integrity"  # bundle: fullUrls, references, requests
    SERVER = "server"  # a FHIR server's $validate
    INPUT = "input"  # the file itself could not be read as FHIR JSON


@dataclass(frozen=True, slots=True)
class Finding:
    """`path` is FHIRPath-like and starts at the resource (`ResearchStudy.phase.coding[0].code`);
    `entry` is the resource's index in its Bundle, `line` its line in an NDJSON file."""

    severity: Severity
    layer: Layer
    path: str
    message: str
    code: str = ""  # short rule name: 'unknown-element', 'per-1', 'dangling-reference', ...
    resource_type: str | None = None
    resource_id: str | None = None
    full_url: str | None = None
    entry: int | None = None
    line: int | None = None
    file: str | None = None
    also: tuple[Layer, ...] = ()  # other layers that reported the same problem at the same path

    @property
    def is_error(self) -> bool:
        return self.severity in (Severity.FATAL, Severity.ERROR)

    @property
    def expression(self) -> str:
        """The path from the top of the validated document (for OperationOutcome.issue.expression)."""
        if self.entry is None:
            return self.path
        head, _, rest = self.path.partition(".")
        prefix = f"Bundle.entry[{self.entry}].resource"
        if head == "Bundle" and not rest.startswith("entry"):
            return self.path  # a finding on the Bundle itself
        return f"{prefix}.{rest}" if rest else prefix

    @property
    def resource_label(self) -> str:
        """How the report names the resource: `Patient/p1 (entry 3, urn:uuid:...)`."""
        name = self.resource_type or "?"
        if self.resource_id:
            name += f"/{self.resource_id}"
        where = []
        if self.entry is not None:
            where.append(f"entry {self.entry}")
        if self.line is not None:
            where.append(f"line {self.line}")
        if self.full_url:
            where.append(self.full_url)
        return f"{name} ({', '.join(where)})" if where else name

    def with_context(self, **changes: Any) -> Finding:
        """A copy with location parts filled in (only those still empty)."""
        fill = {k: v for k, v in changes.items() if getattr(self, k) in (None, "", ())}
        return dataclasses.replace(self, **fill) if fill else self


def resource_context(resource: Any) -> dict[str, Any]:
    """The resource-identifying fields of a Finding, taken from a resource dict."""
    if not isinstance(resource, dict):
        return {}
    rid = resource.get("id")
    return {
        "resource_type": resource.get("resourceType") if isinstance(resource.get("resourceType"), str) else None,
        "resource_id": rid if isinstance(rid, str) else None,
    }


def join_path(base: str, parts: Any) -> str:
    """`Patient` + ['name', 0, 'given'] → `Patient.name[0].given`."""
    out = base
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out
