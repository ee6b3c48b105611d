"""NCT ID validation: `NCT` followed by exactly 8 digits, case-normalised, checked before any request."""

from __future__ import annotations

import re

from fhirconv.errors import UsageError

_NCT_ID = re.compile(r"NCT\d{8}", re.IGNORECASE)
# Something the user clearly meant as an NCT ID (so a typo is refused, not read as a missing file).
_NCT_LIKE = re.compile(r"NCT[\w-]*", re.IGNORECASE)

NCT_HINT = "an NCT ID is 'NCT' followed by exactly 8 digits, e.g. NCT04382547"


def is_nct_id(text: str) -> bool:
    """True for a well-formed NCT ID (any letter case, surrounding blanks ignored)."""
    return _NCT_ID.fullmatch(text.strip()) is not None


def looks_like_nct_id(text: str) -> bool:
    """True for anything that starts like an NCT ID and has no path or extension parts."""
    return _NCT_LIKE.fullmatch(text.strip()) is not None


def normalize_nct_id(text: str) -> str:
    """Return the ID in its canonical form (upper case), or raise a usage error for a malformed one."""
    candidate = text.strip()
    if _NCT_ID.fullmatch(candidate) is None:
        raise UsageError(f"malformed NCT ID {text!r}", hint=NCT_HINT)
    return candidate.upper()


def normalize_all(texts: list[str]) -> list[str]:
    """Normalise every ID first (so one typo stops the run before any request), dropping repeats in order."""
    seen: dict[str, None] = {}
    for text in texts:
        seen.setdefault(normalize_nct_id(text), None)
    return list(seen)
