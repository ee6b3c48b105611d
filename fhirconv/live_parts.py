"""The .part files this process is writing now.

A module of its own, importing nothing of fhirconv: the Ctrl-C handler (fhirconv.entry) reads this set, and it
must not import anything when the signal comes, because the interrupted code may be halfway through importing
that very module (the handler then met a partially initialised fhirconv.errors or fhirconv.output.files and
the run ended with a traceback or exit 70 instead of exit 130)."""

from __future__ import annotations

LIVE_PARTS: set[str] = set()
