"""ClinicalTrials.gov study → FHIR resources (R4 and R5): pure functions over fhirconv.model.study.Study."""

from __future__ import annotations

from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed
from fhirconv.versions import FhirVersion

__all__ = ["map_study"]


def map_study(study: Study, version: FhirVersion) -> list[Keyed]:
    """The ResearchStudy of `version` and every resource it references (Organizations, Group, Locations),
    referenced ones first, each keyed on its business identifier, then the Provenance that names the record
    they came from. Same Study → equal output."""
    from fhirconv.mapping.provenance import provenance

    if version is FhirVersion.R4:
        from fhirconv.mapping.study.r4 import map_study_r4

        items = map_study_r4(study)
    else:
        from fhirconv.mapping.study.r5 import map_study_r5

        items = map_study_r5(study)
    return [*items, provenance(study, items, version)]
