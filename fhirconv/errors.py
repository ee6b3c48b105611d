"""The one exception family of fhirconv: every user-facing error has a message, a hint and an exit code."""

from __future__ import annotations

from enum import IntEnum

# How much of an input value an error message echoes: enough to recognise it, never a 20 MB attribute.
CUT_LIMIT = 80


def cut(value: object, limit: int = CUT_LIMIT) -> str:
    """repr() of a value for a message, cut to about `limit` characters with the full length noted.

    Every message that quotes input data goes through this, so one hostile value cannot flood the
    terminal or a log."""
    text = value if isinstance(value, str) else repr(value)
    if len(text) <= limit:
        return repr(text) if isinstance(value, str) else text
    head = repr(text[:limit]) if isinstance(value, str) else text[:limit]
    return f"{head}… ({len(text):,} characters)"


class ExitCode(IntEnum):
    """Process exit statuses; stable, documented in the README, tested on their own."""

    OK = 0
    INVALID = 1  # input data or FHIR content is invalid, or some records failed to convert
    USAGE = 2  # bad arguments, or input that cannot be used at all
    REJECTED = 3  # the FHIR server rejected content
    UNREACHABLE = 4  # the server (FHIR or ClinicalTrials.gov) could not be reached
    PARTIAL = 5  # an upload partly failed: some chunks landed, some did not
    NOT_FOUND = 6  # a named record does not exist (e.g. unknown NCT ID)
    INTERNAL = 70  # a bug in fhirconv (EX_SOFTWARE)


class FhirconvError(Exception):
    """Base class. `where` pinpoints the input: file, record (index or NCT ID), field / row / column."""

    exit_code: ExitCode = ExitCode.INVALID

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        file: str | None = None,
        record: str | None = None,
        field: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.file = file
        self.record = record
        self.field = field

    @property
    def where(self) -> str:
        parts = []
        if self.file:
            parts.append(self.file)
        if self.record:
            parts.append(f"record {self.record}")
        if self.field:
            parts.append(f"field {self.field}")
        return ": ".join(parts)

    def __str__(self) -> str:
        where = self.where
        return f"{where}: {self.message}" if where else self.message

    def located(self, *, file: str | None = None, record: str | None = None) -> FhirconvError:
        """Fill in location parts that the raiser could not know (it returns self, for `raise`)."""
        if file and not self.file:
            self.file = file
        if record and not self.record:
            self.record = record
        return self


class UsageError(FhirconvError):
    exit_code = ExitCode.USAGE


class InputError(FhirconvError):
    """The input is not what it claims to be, or a value in it cannot be read."""

    exit_code = ExitCode.INVALID


class UnmappedCodeError(InputError):
    """A source code that no ConceptMap maps: reported, never silently dropped."""


class ValidationFailed(FhirconvError):
    """Produced FHIR content failed validation; it is not written."""

    exit_code = ExitCode.INVALID


class MappingDataError(FhirconvError):
    """A file in mappings/ (ConceptMap or column spec) is itself broken."""

    exit_code = ExitCode.USAGE
