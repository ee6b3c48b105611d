"""The Provenance of a converted study: which record, in which format and version, fhirconv made which resources of."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping import keys
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed, reference
from fhirconv.versions import FhirVersion

# Each input a Study can be read from (model.study.Source.format), as the Provenance names it.
SOURCE_FORMATS = {
    "ctgov-v2": "ClinicalTrials.gov API v2 JSON",
    "ctgov-classic": "ClinicalTrials.gov classic API JSON",
    "ctgov-xml": "ClinicalTrials.gov legacy XML",
    "ctgov-page-text": "ClinicalTrials.gov registry page text",
    "sdtm-trial-design": "CDISC SDTM trial design domains (TS, TA)",
    "participant-data": "participant data (study id and arms only)",
}
# ISO 21089 record lifecycle event 'transform' ("Transform/Translate Record Lifecycle Event"), the code HL7's
# Record Lifecycle Event IG and the R5 ProvenanceActivityType value set use for a record turned into another form.
LIFECYCLE = "http://terminology.hl7.org/CodeSystem/iso-21089-lifecycle"
# Provenance participant type 'assembler': "A device that operates on custodian's data to assemble it".
PARTICIPANT_TYPE = "http://terminology.hl7.org/CodeSystem/provenance-participant-type"
DATA_ABSENT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
DEVICE_ID = "fhirconv"


def recorded_date(study: Study) -> str | None:
    """The source's own date that stands for the conversion's `recorded` instant: the record's last update,
    else the registry's data version, else the last date the record has. Never the clock: converting the same
    record again gives the same bytes."""
    candidates = (
        study.last_update_posted.date if study.last_update_posted else None,
        study.source.version if study.source else None,
        study.status_verified_date,
        study.first_posted.date if study.first_posted else None,
        study.first_submitted,
    )
    return next((c.strip() for c in candidates if c and c.strip()), None)


def instant(date: str) -> str:
    """A registry date (YYYY, YYYY-MM or YYYY-MM-DD: the registry gives no time) as the instant FHIR needs:
    the start of that day (month, year) in UTC."""
    parts = [*date.split("-"), "01", "01"]
    return f"{parts[0]}-{parts[1]}-{parts[2]}T00:00:00Z"


def source_display(study: Study) -> str:
    """'ClinicalTrials.gov API v2 JSON record NCT…, last updated: 2023-06-15, data version: 2023-10-06'."""
    fmt = study.source.format if study.source else None
    words = SOURCE_FORMATS.get(fmt, "study") if fmt else "study built in code (fhirconv Python API)"
    out = f"{words} record {study.nct_id}"
    if study.last_update_posted and study.last_update_posted.date.strip():
        out += f", last updated: {study.last_update_posted.date.strip()}"
    if study.source and study.source.version:
        out += f", data version: {study.source.version}"
    return out


def _device(version: FhirVersion) -> dict[str, Any]:
    from fhirconv import __version__

    device: dict[str, Any] = {"resourceType": "Device", "id": DEVICE_ID}
    if version is FhirVersion.R4:
        device["deviceName"] = [{"name": "fhirconv", "type": "user-friendly-name"}]
    else:
        device["name"] = [{"value": "fhirconv", "type": "user-friendly-name"}]
    kind = {"text": "Clinical trial data to FHIR converter"}
    device["type"] = kind if version is FhirVersion.R4 else [kind]  # R5 Device.type is 0..*
    device["version"] = [{"value": __version__}]
    return device


def provenance(study: Study, items: list[Keyed], version: FhirVersion) -> Keyed:
    """One Provenance for the study's resources (`items`): the record they were converted from (entity), by
    fhirconv at its version (agent: a contained Device), recorded at the source's date (recorded_date).
    Provenance has no identifier search, so it is keyed on the study and written with its deterministic id."""
    from fhirconv import __version__

    res: dict[str, Any] = {
        "resourceType": "Provenance",
        "contained": [_device(version)],
        "target": [reference(i.resource_type, i.system, i.value) for i in items],
    }
    date = recorded_date(study)
    if date is not None:
        res["recorded"] = instant(date)
    elif version is FhirVersion.R4:
        # R4 requires `recorded`; a source without any date says so rather than taking the clock.
        res["_recorded"] = {"extension": [{"url": DATA_ABSENT, "valueCode": "unknown"}]}
    res["activity"] = {
        "coding": [{"system": LIFECYCLE, "code": "transform", "display": "Transform/Translate Record Lifecycle Event"}],
        "text": f"Converted to FHIR {version.value} ({version.number}) by fhirconv {__version__}",
    }
    res["agent"] = [{
        "type": {"coding": [{"system": PARTICIPANT_TYPE, "code": "assembler", "display": "Assembler"}]},
        "who": {"reference": f"#{DEVICE_ID}", "display": f"fhirconv {__version__}"},
    }]
    system, value = keys.study_key(study.nct_id)
    # R4's 'derivation' ("the construction of a new entity based on a preexisting entity") says it exactly; R5
    # dropped that code, and its 'source' ("an entity that was used by an activity") is the one that fits.
    role = "derivation" if version is FhirVersion.R4 else "source"
    res["entity"] = [{"role": role, "what": {"identifier": {"system": system, "value": value},
                                             "display": source_display(study)}}]
    pkey = keys.provenance_key(study.nct_id)
    return Keyed(res, *pkey)
