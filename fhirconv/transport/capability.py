"""Read a server's CapabilityStatement and refuse content it cannot take (other FHIR version, no transactions)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fhirconv.transport.client import FhirClient
from fhirconv.transport.errors import AuthenticationFailed, ServerIncompatible, ServerRejected
from fhirconv.versions import FhirVersion


@dataclass(frozen=True, slots=True)
class Capability:
    fhir_version: str
    transaction: bool
    software: str

    @property
    def version(self) -> FhirVersion | None:
        try:
            return FhirVersion.parse(self.fhir_version)
        except ValueError:
            return None


def read_capability(client: FhirClient) -> Capability:
    try:
        body = client.request("GET", "metadata").body
    except AuthenticationFailed:
        raise  # a protected /metadata: the token or password is the problem, not the URL
    except ServerRejected as exc:  # a 404 web page, a 501 from a plain HTTP server: not a FHIR base URL
        raise ServerIncompatible(
            f"{client.base_url} does not look like a FHIR server: GET /metadata answered {exc.status or 'an error'}",
            hint="is --server the FHIR base URL (e.g. https://hapi.fhir.org/baseR4)?",
            status=exc.status,
        ) from exc
    if not isinstance(body, dict) or body.get("resourceType") != "CapabilityStatement":
        raise ServerIncompatible(
            f"{client.base_url}/metadata did not return a CapabilityStatement",
            hint="is --server the FHIR base URL (e.g. https://hapi.fhir.org/baseR4)?",
        )
    return parse_capability(body)


def parse_capability(body: dict[str, Any]) -> Capability:
    interactions = {
        str(i.get("code"))
        for rest in body.get("rest", []) or []
        if rest.get("mode", "server") == "server"
        for i in rest.get("interaction", []) or []
    }
    software = body.get("software") or {}
    name = " ".join(str(p) for p in (software.get("name"), software.get("version")) if p)
    return Capability(str(body.get("fhirVersion", "")), "transaction" in interactions, name)


def check_version(client: FhirClient, version: FhirVersion | None) -> Capability:
    """Stop when the server speaks another FHIR version than the content (push, verify, validate --server)."""
    cap = read_capability(client)
    if version is not None and cap.version != version:
        raise ServerIncompatible(
            f"the server at {client.base_url} speaks FHIR {cap.fhir_version or 'unknown'}, "
            f"but the content is FHIR {version} ({version.number})",
            hint=f"push to a FHIR {version} server, or convert again with --fhir-version "
            f"{cap.version or 'matching the server'}",
        )
    return cap


def check_capability(client: FhirClient, version: FhirVersion | None) -> Capability:
    """Stop before sending anything the server cannot take. `version` None: content valid in either version."""
    cap = check_version(client, version)
    if not cap.transaction:
        raise ServerIncompatible(
            f"the server at {client.base_url} does not announce transaction support in its CapabilityStatement",
            hint="fhirconv pushes transaction bundles; use a server that supports them (e.g. HAPI FHIR)",
        )
    return cap
