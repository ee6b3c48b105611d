"""Transport: HTTP to FHIR servers (session, auth, retries, typed errors, capability check)."""

from __future__ import annotations

from fhirconv.transport.capability import Capability, check_capability, read_capability
from fhirconv.transport.client import Answer, FhirClient, ServerConfig
from fhirconv.transport.errors import (
    AuthenticationFailed,
    PreconditionFailed,
    ResourceNotFound,
    ServerIncompatible,
    ServerRejected,
    ServerUnreachable,
    TransportError,
)

__all__ = [
    "Answer",
    "AuthenticationFailed",
    "Capability",
    "FhirClient",
    "PreconditionFailed",
    "ResourceNotFound",
    "ServerConfig",
    "ServerIncompatible",
    "ServerRejected",
    "ServerUnreachable",
    "TransportError",
    "check_capability",
    "read_capability",
]
