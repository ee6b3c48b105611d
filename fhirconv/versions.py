"""FHIR versions fhirconv writes, and the fhir.resources model package behind each."""

from __future__ import annotations

import importlib
from enum import StrEnum
from functools import cache
from typing import Any


class FhirVersion(StrEnum):
    R4 = "R4"
    R5 = "R5"

    @property
    def number(self) -> str:
        """The fhirVersion a CapabilityStatement announces for content of this version."""
        return {"R4": "4.0.1", "R5": "5.0.0"}[self.value]

    @classmethod
    def parse(cls, text: str) -> FhirVersion:
        """Accept 'R4', 'r5', '4.0.1', '5.0.0', '4.0', ... ."""
        t = text.strip().upper()
        if t in ("R4", "4", "4.0", "4.0.0", "4.0.1"):
            return cls.R4
        if t in ("R5", "5", "5.0", "5.0.0"):
            return cls.R5
        raise ValueError(f"unknown FHIR version {text!r} (use R4 or R5)")


# R4 output is validated with fhir.resources' R4B models: for the resources fhirconv writes
# their elements match R4 4.0.1 (checked in tests against the official R4 JSON Schema).
_PACKAGES = {FhirVersion.R4: "fhir.resources.R4B", FhirVersion.R5: "fhir.resources"}


@cache
def model_class(version: FhirVersion, resource_type: str) -> Any:
    """The fhir.resources model class for `resource_type` in `version`."""
    module = importlib.import_module(f"{_PACKAGES[version]}.{resource_type.lower()}")
    return getattr(module, resource_type)
