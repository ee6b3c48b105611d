"""fhirconv: clinical-trial data to FHIR R4/R5, validated and delivered to FHIR servers."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
