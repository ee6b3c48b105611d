"""Typed errors of the HTTP layer: each keeps the status and the server's OperationOutcome, if any."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import ExitCode, FhirconvError


class TransportError(FhirconvError):
    """Base class of everything that goes wrong talking to a FHIR server."""

    exit_code = ExitCode.REJECTED

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        outcome: dict[str, Any] | None = None,
        url: str | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.outcome = outcome
        self.url = url


class ServerUnreachable(TransportError):
    """No usable answer: connection refused or dropped, timeouts, or transient statuses until retries ran out."""

    exit_code = ExitCode.UNREACHABLE


class ServerRejected(TransportError):
    """The server answered with a 4xx/5xx that is not worth retrying; `outcome` says why."""

    exit_code = ExitCode.REJECTED


class AuthenticationFailed(ServerRejected):
    """401 / 403."""


class ResourceNotFound(ServerRejected):
    """404 / 410."""


class PreconditionFailed(ServerRejected):
    """412: a conditional request matched more than one resource (or a version check failed)."""


class ServerIncompatible(TransportError):
    """The server cannot take this content: other FHIR version, or no transactions."""

    exit_code = ExitCode.USAGE


def outcome_text(outcome: dict[str, Any] | None) -> str:
    """The diagnostics of an OperationOutcome as one line (details.text, diagnostics, expression)."""
    if not outcome:
        return ""
    parts: list[str] = []
    for issue in outcome.get("issue", []) or []:
        text = issue.get("diagnostics") or (issue.get("details") or {}).get("text") or issue.get("code", "")
        where = issue.get("expression") or issue.get("location") or []
        if where and str(where[0]) not in str(text):
            text = f"{text} (at {', '.join(map(str, where))})"
        parts.append(str(text))
    return "; ".join(parts)
