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

# Except these: R4B rewrote Evidence and EvidenceVariable (towards their R5 form), so its models reject R4's
# own elements (Evidence.exposureBackground, EvidenceVariable.type) and accept R5's. No fhir.resources model
# checks them in R4; the official R4 JSON Schema (validation layer SCHEMA, run on all output) does.
NO_MODEL: dict[FhirVersion, frozenset[str]] = {
    FhirVersion.R4: frozenset({"Evidence", "EvidenceVariable"}),
    FhirVersion.R5: frozenset(),
}


def has_model(version: FhirVersion, resource_type: str) -> bool:
    """Whether fhir.resources has a model of `resource_type` that is faithful to `version` (see NO_MODEL)."""
    return resource_type not in NO_MODEL[version]


@cache
def model_class(version: FhirVersion, resource_type: str) -> Any:
    """The fhir.resources model class for `resource_type` in `version`."""
    module = importlib.import_module(f"{_PACKAGES[version]}.{resource_type.lower()}")
    return getattr(module, resource_type)


class ModelCrash(ValueError):
    """fhir_core raised something other than a ValidationError on content (it does, e.g. TypeError for a list
    or a number where a `url` belongs): the content is wrong, the program is not."""


def validate_model(version: FhirVersion, resource_type: str, body: Any) -> Any:
    """`body` through the fhir.resources model of `resource_type`: the one place the models are run on content,
    so that their crashes on wrong JSON types are input problems (ModelCrash), never an internal error."""
    from pydantic import ValidationError

    model = model_class(version, resource_type)
    try:
        return model.model_validate(body)
    except ValidationError:
        raise
    except (TypeError, KeyError, AttributeError, IndexError) as exc:
        raise ModelCrash(f"the FHIR {version} model of {resource_type} cannot read a value ({exc})") from exc


def detect_version(resources: Any) -> FhirVersion | None:
    """The FHIR version these resources validate as (one resource per type is checked), or None if they fit
    both or neither. Content does not say its version, and R4 and R5 share most element names; push and
    validate both decide with this, so the same file is never read as R4 by one and R5 by the other."""
    from pydantic import ValidationError

    samples: dict[str, dict[str, Any]] = {}
    for resource in resources:
        if isinstance(resource, dict) and isinstance(resource.get("resourceType"), str):
            samples.setdefault(resource["resourceType"], resource)
    if not samples:
        return None
    matching = []
    for version in FhirVersion:
        try:
            for rtype, resource in samples.items():
                if has_model(version, rtype):
                    validate_model(version, rtype, resource)
        except (ValidationError, ModuleNotFoundError, AttributeError, ValueError):
            continue
        matching.append(version)
    return matching[0] if len(matching) == 1 else None


def resources_of(content: Any) -> list[Any]:
    """A Bundle's entry resources (the Bundle itself left out: it is the same in both versions), or [content]."""
    if isinstance(content, dict) and content.get("resourceType") == "Bundle" and isinstance(content.get("entry"), list):
        return [e["resource"] for e in content["entry"] if isinstance(e, dict) and isinstance(e.get("resource"), dict)]
    return [content]
