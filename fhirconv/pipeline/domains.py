"""The registry of participant record kinds that stream row by row and become one resource each.

One entry per SDTM domain kind: the record class the readers build (its spec section is the spec's
`record:` of the same name, mappings/specs/sdtm.yaml), the resource it becomes, and the mapper per
FHIR version. The pipeline, and the summary through it, iterate this list; a new domain is one
entry here plus its mapper. A version without a mapper is an error, never a fallback to another.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from fhirconv.errors import UsageError
from fhirconv.mapping.participants import interventions
from fhirconv.mapping.participants import r4 as map_r4
from fhirconv.mapping.participants import r5 as map_r5
from fhirconv.mapping.participants.common import Context
from fhirconv.model.participants import AdverseEventRecord, ConcomitantMedication, Exposure, MedicalHistory
from fhirconv.output.bundle import Keyed
from fhirconv.versions import FhirVersion

Mapper = Callable[[Any, Context], Keyed]


@dataclass(frozen=True, slots=True)
class Domain:
    record: str  # the record kind: spec `record:` and fhirconv.readers.spec.RECORD_FIELDS key
    record_class: type
    resource_type: str
    mappers: Mapping[FhirVersion, Mapper]

    def mapper(self, version: FhirVersion) -> Mapper:
        found = self.mappers.get(version)
        if found is None:
            raise UsageError(f"no {self.resource_type} mapping for FHIR {version.value} ({self.record} records)")
        return found


R4, R5 = FhirVersion.R4, FhirVersion.R5

EVENT_DOMAINS: tuple[Domain, ...] = (
    Domain(
        "adverse_event",
        AdverseEventRecord,
        "AdverseEvent",
        {R4: map_r4.map_adverse_event, R5: map_r5.map_adverse_event},
    ),
    Domain("exposure", Exposure, "MedicationAdministration", interventions.MAP_EXPOSURE),
    Domain("medication", ConcomitantMedication, "MedicationStatement", interventions.MAP_MEDICATION),
    Domain("medical_history", MedicalHistory, "Condition", interventions.MAP_HISTORY),
)

# Patient and ResearchSubject (from DM + DS), by version.
SUBJECT_MAPPERS: Mapping[FhirVersion, Any] = {R4: map_r4, R5: map_r5}


def subject_mappers(version: FhirVersion) -> Any:
    found = SUBJECT_MAPPERS.get(version)
    if found is None:
        raise UsageError(f"no participant mapping for FHIR {version.value}")
    return found
