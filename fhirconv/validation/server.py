"""Layer 6 (optional): a FHIR server's $validate; its OperationOutcome becomes findings beside ours."""

from __future__ import annotations

import re
from typing import Any

import requests

from fhirconv.errors import ExitCode, FhirconvError, UsageError
from fhirconv.validation.findings import Finding, Layer, Severity, resource_context
from fhirconv.versions import FhirVersion

_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]\.resource(?:\.(.*))?$")
_SEVERITY = {s.value: s for s in Severity}


class ServerUnreachable(FhirconvError):
    exit_code = ExitCode.UNREACHABLE


class ServerRefused(FhirconvError):
    exit_code = ExitCode.REJECTED


def check_server_version(
    base_url: str, version: FhirVersion, *, session: requests.Session | None = None, timeout: float = 60.0
) -> None:
    """Refuse a server of another FHIR version: its $validate would judge R5 content by R4 rules (and
    report hundreds of false errors). A server without a readable CapabilityStatement is refused too."""
    http = session or requests.Session()
    url = f"{base_url.rstrip('/')}/metadata"
    try:
        response = http.get(url, headers={"Accept": "application/fhir+json"}, timeout=timeout)
    except requests.RequestException as exc:
        raise ServerUnreachable(f"cannot reach the FHIR server: {exc}", hint=f"check --server {base_url}") from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    if not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
        raise UsageError(
            f"{base_url} does not look like a FHIR server: GET /metadata answered {response.status_code} "
            "without a CapabilityStatement",
            hint="is --server the FHIR base URL (e.g. https://hapi.fhir.org/baseR4)?",
        )
    announced = str(body.get("fhirVersion", ""))
    try:
        matches = FhirVersion.parse(announced) is version
    except ValueError:
        matches = False
    if not matches:
        raise UsageError(
            f"the server at {base_url} speaks FHIR {announced or 'unknown'}, but the content is checked as "
            f"FHIR {version} ({version.number})",
            hint=f"use a FHIR {version} server for --server, or the matching --fhir-version",
        )


def server_findings(
    content: dict[str, Any], base_url: str, *, session: requests.Session | None = None, timeout: float = 60.0
) -> list[Finding]:
    """POST the resource (or Bundle) to `[base]/[type]/$validate` and map the OperationOutcome it returns."""
    rtype = content.get("resourceType")
    url = f"{base_url.rstrip('/')}/{rtype}/$validate" if isinstance(rtype, str) else f"{base_url.rstrip('/')}/$validate"
    http = session or requests.Session()
    try:
        response = http.post(
            url,
            json=content,
            headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
            timeout=timeout,
        )
    except requests.RequestException as exc:
        raise ServerUnreachable(
            f"cannot reach the FHIR server for $validate: {exc}", hint=f"check --server {base_url}"
        ) from exc
    try:
        body = response.json()
    except ValueError:
        body = None
    outcome = _outcome(body)
    if outcome is None:
        raise ServerRefused(
            f"$validate at {url} answered HTTP {response.status_code} without an OperationOutcome",
            hint="check that --server is the FHIR base URL and that the server supports $validate",
        )
    return outcome_findings(outcome, content)


def _outcome(body: Any) -> dict[str, Any] | None:
    if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome":
        return body
    if isinstance(body, dict) and body.get("resourceType") == "Parameters":
        # $validate may wrap its OperationOutcome in Parameters (parameter "return").
        for p in body.get("parameter", []):
            if isinstance(p, dict) and isinstance(p.get("resource"), dict):
                return _outcome(p["resource"])
    return None


def outcome_findings(outcome: dict[str, Any], content: dict[str, Any]) -> list[Finding]:
    """Map OperationOutcome issues to findings; Bundle entry paths become entry + resource-relative paths."""
    entries = content.get("entry") if content.get("resourceType") == "Bundle" else None
    findings: list[Finding] = []
    for issue in outcome.get("issue", []):
        if not isinstance(issue, dict):
            continue
        severity = _SEVERITY.get(str(issue.get("severity")), Severity.ERROR)
        text = (issue.get("details") or {}).get("text") or issue.get("diagnostics") or str(issue.get("code", "?"))
        where = (issue.get("expression") or issue.get("location") or [""])[0]
        if severity is Severity.INFORMATION and any(
            phrase in str(text).lower() for phrase in ("all ok", "no issues detected")
        ):
            continue  # the server's way of saying "valid" (HAPI, Medplum): not a finding
        context = resource_context(content)
        path = str(where)
        match = _ENTRY.match(path)
        if match and isinstance(entries, list) and int(match.group(1)) < len(entries):
            index = int(match.group(1))
            entry = entries[index] if isinstance(entries[index], dict) else {}
            resource = entry.get("resource")
            context = resource_context(resource)
            context["entry"] = index
            if isinstance(entry.get("fullUrl"), str):
                context["full_url"] = entry["fullUrl"]
            rtype = context.get("resource_type") or "Resource"
            path = f"{rtype}.{match.group(2)}" if match.group(2) else rtype
        code = str(issue.get("code", ""))
        findings.append(Finding(severity, Layer.SERVER, path, str(text), code, **context))
    return findings
