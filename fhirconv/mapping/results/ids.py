"""Business identifiers of results resources: the NCT ID and the item's place or id in the posted results."""

from __future__ import annotations

from fhirconv.mapping.keys import SID_BASE

# One system for every results resource; the value is a path under the study, e.g.
# "NCT02513394/outcome/1/OG000" (the Evidence of outcome measure 1 for group OG000). Positions are 1-based
# in record order; group ids are the registry's own (FG000, BG000, OG000, EG000). Documented in mappings/README.md.
RESULT_SYSTEM = f"{SID_BASE}/ctgov-result"


def value(nct_id: str, *parts: object) -> str:
    return "/".join([nct_id, *(str(p) for p in parts)])
