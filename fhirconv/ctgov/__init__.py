"""ClinicalTrials.gov API v2: fetch study records by NCT ID or search, with an on-disk cache."""

from __future__ import annotations

from fhirconv.ctgov.errors import CtgovBadAnswer, CtgovUnreachable, StudyNotFound
from fhirconv.ctgov.ids import is_nct_id, normalize_nct_id
from fhirconv.ctgov.resolve import resolve_sources
from fhirconv.ctgov.settings import DEFAULT_BASE_URL, CtgovSettings, default_cache_dir
from fhirconv.ctgov.studies import StudySearch, fetch_study, get_study, search

__all__ = [
    "DEFAULT_BASE_URL",
    "CtgovBadAnswer",
    "CtgovSettings",
    "CtgovUnreachable",
    "StudyNotFound",
    "StudySearch",
    "default_cache_dir",
    "fetch_study",
    "get_study",
    "is_nct_id",
    "normalize_nct_id",
    "resolve_sources",
    "search",
]
