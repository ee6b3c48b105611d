"""A record that could not be read: where it was and why, so a multi-record run can report it and go on."""

from __future__ import annotations

from dataclasses import dataclass

from fhirconv.errors import FhirconvError


@dataclass(slots=True)
class ReadFailure:
    """Yielded by readers in place of a StudyRecord; `error` already names file, record and field."""

    source: str  # file path, or "<stdin>"
    index: int | None  # position within a multi-study source (page, NDJSON line), 0-based
    nct_id: str | None  # when the record got far enough to show one
    error: FhirconvError

    def __str__(self) -> str:
        return str(self.error)
