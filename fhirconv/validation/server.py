"""Layer 6 (optional): a FHIR server's $validate; its OperationOutcome becomes findings beside ours."""

from __future__ import annotations

import re
from typing import Any

from fhirconv.transport.client import FhirClient
from fhirconv.transport.errors import AuthenticationFailed, ServerRejected
from fhirconv.validation.findings import Finding, Layer, Severity, resource_context

_ENTRY = re.compile(r"^Bundle\.entry\[(\d+)\]\.resource(?:\.(.*))?$")
# HAPI annotates paths with the resource they are in: `Bundle.entry[3].resource/*Patient/fc-1*/.birthDate`.
_ANNOTATION = re.compile(r"/\*.*?\*/")
_SEVERITY = {s.value: s for s in Severity}


def server_findings(content: dict[str, Any], client: FhirClient) -> list[Finding]:
    """POST the resource (or Bundle) to `[base]/[type]/$validate` and map the OperationOutcome it returns.

    All HTTP goes through fhirconv.transport (retries, TLS, typed errors); a server that answers an invalid
    resource with 4xx still sends the OperationOutcome, which is what this layer wants."""
    rtype = content.get("resourceType")
    path = f"{rtype}/$validate" if isinstance(rtype, str) else "$validate"
    try:
        body = client.request("POST", path, json_body=content).body
    except AuthenticationFailed:
        raise  # its OperationOutcome is about the credentials, not about the content
    except ServerRejected as exc:
        if exc.outcome is None:
            raise ServerRejected(
                f"$validate at {client.base_url}/{path} answered {exc.status} without an OperationOutcome",
                status=exc.status,
                hint="check that --server is the FHIR base URL and that the server supports $validate",
            ) from exc
        body = exc.outcome
    outcome = _outcome(body)
    if outcome is None:
        raise ServerRejected(
            f"$validate at {client.base_url}/{path} answered without an OperationOutcome",
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
        path = _ANNOTATION.sub("", str(where))
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
