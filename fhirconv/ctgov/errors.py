"""Errors of the ClinicalTrials.gov layer, each with its exit code and a next step for the user."""

from __future__ import annotations

from fhirconv.errors import ExitCode, FhirconvError


class StudyNotFound(FhirconvError):
    """The API answered 404: no study has this NCT ID."""

    exit_code = ExitCode.NOT_FOUND


class CtgovUnreachable(FhirconvError):
    """The API could not be reached (connection, timeout, 429/5xx) even after the retries."""

    exit_code = ExitCode.UNREACHABLE


class CtgovBadAnswer(FhirconvError):
    """The API answered, but not with what API v2 sends (not JSON, truncated, not a study, unexpected status).

    Same exit code as unreachable: the service could not be used, and the usual cause is a wrong
    --ctgov-url or a proxy page; nothing from such an answer is cached or written.
    """

    exit_code = ExitCode.UNREACHABLE
