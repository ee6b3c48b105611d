"""NCT IDs in place of input files: `fhirconv convert NCT04382547` fetches (or re-uses) the record first."""

from __future__ import annotations

from pathlib import Path

from fhirconv.ctgov.ids import looks_like_nct_id, normalize_nct_id
from fhirconv.ctgov.settings import CtgovSettings
from fhirconv.ctgov.studies import fetch_study


def resolve_sources(args: list[str], *, settings: CtgovSettings) -> list[str]:
    """Return `args` with each NCT ID that is not an existing path replaced by its cached API v2 JSON file.

    Every ID-like argument is checked before the first request, so a typo (NCT123) stops the run
    with a usage error instead of after minutes of fetching; an existing file or directory of that
    name always wins over the ID.
    """
    ids: dict[int, str] = {}
    for index, arg in enumerate(args):
        if arg != "-" and looks_like_nct_id(arg) and not Path(arg).exists():
            ids[index] = normalize_nct_id(arg)
    resolved = list(args)
    for index, nct_id in ids.items():
        resolved[index] = str(fetch_study(nct_id, settings=settings))
    return resolved
