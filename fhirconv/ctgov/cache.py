"""On-disk cache of API v2 study records: one JSON file per NCT ID, written atomically.

A cached file is exactly the study's API v2 JSON (so it can be handed to `fhirconv convert` as is).
Its modification time is when it was last confirmed current; the record's own
`lastUpdatePostDateStruct.date` is what a cheap re-check compares against.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fhirconv.ctgov.errors import CtgovBadAnswer
from fhirconv.ctgov.ids import is_nct_id
from fhirconv.output.files import atomic_writer, study_path


def study_nct_id(record: Any) -> str:
    """The NCT ID of an API v2 study object; a CtgovBadAnswer if the object is not one."""
    try:
        nct_id = record["protocolSection"]["identificationModule"]["nctId"]
    except (TypeError, KeyError):
        nct_id = None
    if not isinstance(nct_id, str) or not is_nct_id(nct_id):
        raise CtgovBadAnswer(
            "the answer is not an API v2 study record (no protocolSection.identificationModule.nctId)",
            hint="check --ctgov-url: it must be the API v2 base, e.g. https://clinicaltrials.gov/api/v2",
        )
    return nct_id.upper()


def study_aliases(record: Any) -> set[str]:
    """The IDs a study answers to: its own and its nctIdAliases (the API redirects those to it)."""
    ids = {study_nct_id(record)}
    aliases = record["protocolSection"]["identificationModule"].get("nctIdAliases") or []
    ids.update(a.upper() for a in aliases if isinstance(a, str))
    return ids


def last_update(record: Any) -> str | None:
    """protocolSection.statusModule.lastUpdatePostDateStruct.date, also from a `fields=` answer."""
    try:
        date = record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"]
    except (TypeError, KeyError):
        return None
    return date if isinstance(date, str) else None


def render(record: Any) -> str:
    """The one on-disk form of a record, whether it came from /studies/{id} or from a search page."""
    return json.dumps(record, ensure_ascii=False, indent=2) + "\n"


@dataclass(slots=True)
class CachedStudy:
    path: Path
    record: dict[str, Any]
    checked_at: float  # wall-clock seconds: when the record was last fetched or confirmed current

    @property
    def last_update(self) -> str | None:
        return last_update(self.record)


class StudyCache:
    """`<root>/<NCT ID>.json`; anything unreadable or not matching its key counts as absent."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def path(self, nct_id: str) -> Path:
        return study_path(self.root, nct_id, ".json")  # the one way a data-derived name becomes a path

    def load(self, nct_id: str) -> CachedStudy | None:
        path = self.path(nct_id)
        try:
            stat = path.stat()
            record = json.loads(path.read_text(encoding="utf-8"))
            if nct_id not in study_aliases(record):
                return None
        except (OSError, ValueError, CtgovBadAnswer):
            return None  # a damaged entry is simply fetched again
        return CachedStudy(path, record, stat.st_mtime)

    def store(self, nct_id: str, record: dict[str, Any]) -> Path:
        """Write atomically: a reader sees the old record or the new one, never half of one."""
        path = self.path(nct_id)
        with atomic_writer(path) as handle:
            handle.write(render(record))
        return path

    def touch(self, nct_id: str, when: float) -> None:
        """Mark a cached record as confirmed current at `when` (after a cheap last-update check)."""
        os.utime(self.path(nct_id), (when, when))
