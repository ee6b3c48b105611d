"""NCT IDs in place of input files: `fhirconv convert NCT04382547` fetches (or re-uses) the record first."""

from __future__ import annotations

from pathlib import Path

from fhirconv.ctgov.errors import CtgovBadAnswer, CtgovUnreachable, StudyNotFound
from fhirconv.ctgov.ids import looks_like_nct_id, normalize_nct_id
from fhirconv.ctgov.settings import CtgovSettings
from fhirconv.ctgov.studies import fetch_study
from fhirconv.errors import FhirconvError


def resolve_sources(
    args: list[str], *, settings: CtgovSettings, failures: list[tuple[str, FhirconvError]] | None = None
) -> list[str]:
    """Return `args` with each NCT ID that is not an existing path replaced by its cached API v2 JSON file.

    Every ID-like argument is checked before the first request, so a typo (NCT123) stops the run
    with a usage error instead of after minutes of fetching; an existing file or directory of that
    name always wins over the ID. With `failures` given, an ID that cannot be fetched (unknown,
    server unreachable, bad answer) is collected there and left out, so the other sources still convert.
    """
    ids: dict[int, str] = {}
    for index, arg in enumerate(args):
        if arg != "-" and looks_like_nct_id(arg) and not Path(arg).exists():
            ids[index] = normalize_nct_id(arg)
    resolved: list[str | None] = list(args)
    for index, nct_id in ids.items():
        try:
            resolved[index] = str(fetch_study(nct_id, settings=settings))
        except (StudyNotFound, CtgovUnreachable, CtgovBadAnswer) as exc:
            if failures is None:
                raise
            failures.append((nct_id, exc))
            resolved[index] = None
    return [r for r in resolved if r is not None]
