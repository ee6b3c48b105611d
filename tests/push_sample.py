"""Small R4 or R5 transaction bundles shaped like convert's output (study, sites, participants, observations, AEs)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

from fhirconv.output.bundle import Keyed, build_bundle, reference
from fhirconv.versions import FhirVersion

PARTY_ROLE = "http://hl7.org/fhir/research-study-party-role"


def new_system() -> str:
    """A fresh identifier system, so each test's resources are its own on a shared server."""
    return f"urn:fhirconv-test:{uuid.uuid4().hex}"


def study_items(
    system: str,
    participants: int = 3,
    observations: int = 2,
    events: int = 1,
    study_id: str = "NCT00000001",
    version: FhirVersion = FhirVersion.R4,
) -> list[Keyed]:
    """One study with its sponsor and site, then each participant with observations and adverse events.
    Studies of one `system` share the sponsor and site; participants are keyed per study. The same entries
    in either version: R5 names the sponsor as an associated party and the ResearchSubject's Patient as
    `subject`, and its AdverseEvent has a status, a `code` and a list of identifiers."""
    org = {"resourceType": "Organization", "identifier": [{"system": system, "value": "ORG-1"}], "name": "Sponsor"}
    site = {"resourceType": "Location", "identifier": [{"system": system, "value": "SITE-1"}], "name": "Site 1"}
    study: dict[str, Any] = {
        "resourceType": "ResearchStudy",
        "identifier": [{"system": system, "value": study_id}],
        "title": "A study",
        "status": "active",
        "sponsor": reference("Organization", system, "ORG-1"),
        "site": [reference("Location", system, "SITE-1")],
    }
    if version is FhirVersion.R5:
        del study["sponsor"]
        study["associatedParty"] = [
            {
                "role": {"coding": [{"system": PARTY_ROLE, "code": "sponsor"}]},
                "party": reference("Organization", system, "ORG-1"),
            }
        ]
    items = [
        Keyed(org, system, "ORG-1"),
        Keyed(site, system, "SITE-1"),
        Keyed(study, system, study_id),
    ]
    for p in range(participants):
        pid = f"SUBJ|{p:04d}"  # '|' in a value exercises search escaping end to end
        if study_id != "NCT00000001":
            pid = f"{study_id}-{pid}"
        items.append(
            Keyed(
                {
                    "resourceType": "Patient",
                    "identifier": [{"system": system, "value": pid}],
                    "gender": "female" if p % 2 else "male",
                    "birthDate": f"19{50 + p % 40}-0{1 + p % 9}-1{p % 10}",
                },
                system,
                pid,
            )
        )
        items.append(
            Keyed(
                {
                    "resourceType": "ResearchSubject",
                    "identifier": [{"system": system, "value": f"RS-{pid}"}],
                    "status": "on-study" if version is FhirVersion.R4 else "active",
                    "study": reference("ResearchStudy", system, study_id),
                    "individual" if version is FhirVersion.R4 else "subject": reference("Patient", system, pid),
                },
                system,
                f"RS-{pid}",
            )
        )
        for o in range(observations):
            oid = f"OBS-{pid}-{o}"
            items.append(
                Keyed(
                    {
                        "resourceType": "Observation",
                        "identifier": [{"system": system, "value": oid}],
                        "status": "final",
                        "code": {"coding": [{"system": "http://loinc.org", "code": "29463-7"}], "text": "Weight"},
                        "subject": reference("Patient", system, pid),
                        "effectiveDateTime": "2020-05-01",
                        "valueQuantity": {"value": 60 + o + p / 10, "unit": "kg"},
                    },
                    system,
                    oid,
                )
            )
        for a in range(events):
            aid = f"AE-{pid}-{a}"
            event: dict[str, Any] = {
                "resourceType": "AdverseEvent",
                "identifier": {"system": system, "value": aid},
                "actuality": "actual",
                "event": {"text": "Headache"},
                "subject": reference("Patient", system, pid),
                "study": [reference("ResearchStudy", system, study_id)],
            }
            if version is FhirVersion.R5:
                event = {
                    "resourceType": "AdverseEvent",
                    "identifier": [{"system": system, "value": aid}],
                    "status": "completed",
                    "actuality": "actual",
                    "code": {"text": "Headache"},
                    "subject": reference("Patient", system, pid),
                    "study": [reference("ResearchStudy", system, study_id)],
                }
            items.append(Keyed(event, system, aid))
    return items


def study_bundle(system: str, version: FhirVersion = FhirVersion.R4, **kwargs: Any) -> dict[str, Any]:
    return build_bundle(study_items(system, version=version, **kwargs), kind="transaction", version=version)


def write_bundle(path: Path, bundle: dict[str, Any]) -> Path:
    path.write_text(json.dumps(bundle, indent=2), encoding="utf-8")
    return path
