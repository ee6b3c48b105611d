"""Reports: text grouped by file → resource → element path, or a FHIR OperationOutcome for other tools."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhirconv.validation.findings import Finding, Layer, Severity

# OperationOutcome.issue.code (IssueType) for each kind of finding.
_ISSUE_TYPE = {
    "unknown-element": "structure",
    "unknown-resource-type": "structure",
    "wrong-type": "structure",
    "required": "required",
    "bad-format": "value",
    "bad-code": "code-invalid",
    "not-checked": "informational",
    "dangling-reference": "not-found",
    "duplicate-fullurl": "duplicate",
}
_LAYER_ISSUE_TYPE = {
    Layer.INVARIANT: "invariant",
    Layer.INTEGRITY: "invalid",
    Layer.TERMINOLOGY: "code-invalid",
    Layer.STRUCTURE: "structure",
    Layer.SCHEMA: "structure",
    Layer.SERVER: "processing",
    Layer.INPUT: "invalid",
}


def summary_line(findings: list[Finding], *, files: int, resources: int, unreadable: int = 0) -> str:
    errors = sum(1 for f in findings if f.is_error)
    warnings = sum(1 for f in findings if f.severity is Severity.WARNING)
    notes = sum(1 for f in findings if f.severity is Severity.INFORMATION)
    # "valid" is a verdict on everything given: with a file that could not be read there is none to give.
    verdict = "INVALID" if errors else ("INCOMPLETE" if unreadable else "valid")
    skipped = f", {unreadable} file(s) could not be read" if unreadable else ""
    return (
        f"{verdict}: {files} file(s), {resources} resource(s) checked{skipped}: "
        f"{errors} error(s), {warnings} warning(s), {notes} note(s)"
    )


def text_report(findings: Iterable[Finding]) -> str:
    """file
    Resource/id (entry 3, urn:uuid:...)
      error [terminology] ResearchStudy.status: code 'x' is not in ...
    """
    lines: list[str] = []
    last_file: str | None = None
    last_resource: str | None = None
    for f in findings:
        file = f.file or "<content>"
        if file != last_file:
            lines.append(file)
            last_file, last_resource = file, None
        label = f.resource_label
        if label != last_resource:
            lines.append(f"  {label}")
            last_resource = label
        layers = f.layer.value + "".join(f"+{layer.value}" for layer in f.also)
        rule = f" ({f.code})" if f.code else ""
        lines.append(f"    {f.severity.value} [{layers}] {f.path or '(resource)'}: {f.message}{rule}")
    return "\n".join(lines) + ("\n" if lines else "")


def operation_outcome(findings: Iterable[Finding]) -> dict[str, Any]:
    """One issue per finding; `expression` is the path from the top of the validated document."""
    issues: list[dict[str, Any]] = []
    for f in findings:
        issue: dict[str, Any] = {
            "severity": f.severity.value,
            "code": _ISSUE_TYPE.get(f.code, _LAYER_ISSUE_TYPE[f.layer]),
            "details": {"text": f.message},
            "diagnostics": _diagnostics(f),
        }
        if f.expression:
            issue["expression"] = [f.expression]
        issues.append(issue)
    if not issues:
        issues.append({"severity": "information", "code": "informational", "details": {"text": "no problems found"}})
    return {"resourceType": "OperationOutcome", "issue": issues}


def _diagnostics(f: Finding) -> str:
    parts = [f"layer={f.layer.value}"]
    if f.also:
        parts.append("also=" + ",".join(layer.value for layer in f.also))
    if f.code:
        parts.append(f"rule={f.code}")
    if f.file:
        parts.append(f"file={f.file}")
    if f.line is not None:
        parts.append(f"line={f.line}")
    parts.append(f"resource={f.resource_label}")
    return "; ".join(parts)


def coverage_report(version: Any) -> str:
    """What the offline layers do not check in `version`, and why: nothing is skipped silently."""
    from fhirconv.validation.invariants import compiled
    from fhirconv.validation.terminology import unexpandable_valuesets

    lines = [f"FHIR {version}: required value sets not expandable offline (codes bound to them are not checked):"]
    lines += [f"  {url}: {why}" for url, why in sorted(unexpandable_valuesets(version).items())]
    lines.append(f"FHIR {version}: invariants not evaluated with FHIRPath:")
    lines += [f"  {element} {key}: {why}" for element, key, why in compiled(version).skipped]
    return "\n".join(lines) + "\n"
