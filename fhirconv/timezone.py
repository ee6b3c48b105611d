"""The one check of a time zone given for SDTM's zone-less local times (--timezone, the API's `tz`)."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from fhirconv.errors import InputError, cut

__all__ = ["OFFSET", "check_timezone"]

# A zone offset as FHIR's dateTime pattern allows it: Z, or -13:59..+13:59, or ±14:00 (no +14:30).
OFFSET = r"Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00"
_OFFSET_RE = re.compile(OFFSET)


def check_timezone(tz: str) -> str:
    """`tz` when it is an offset FHIR can write or an IANA zone name (Europe/Minsk); else an InputError."""
    if _OFFSET_RE.fullmatch(tz):
        return tz
    try:
        ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise InputError(
            f"time zone {cut(tz)} is neither a zone offset (+03:00, -05:00, Z; at most ±14:00) "
            "nor a time zone name (Europe/Minsk)",
            hint="e.g. --timezone +01:00 or --timezone Europe/Minsk",
        ) from None
    return tz
