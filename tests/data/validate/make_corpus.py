"""Writes the validation test corpus: clean R4/R5 bundles shaped like fhirconv output, and the defect corpus
(one seeded defect per file) with manifest.json naming the layer, path and rule each defect must be caught by.

Run from the repository root after changing it: python tests/data/validate/make_corpus.py
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
SYS = "https://clinicaltrials.gov"


def uid(n: int) -> str:
    return f"urn:uuid:00000000-0000-5000-8000-{n:012d}"


def entry(n: int, resource: dict[str, Any], url: str) -> dict[str, Any]:
    return {"fullUrl": uid(n), "resource": resource, "request": {"method": "PUT", "url": url}}


def org() -> dict[str, Any]:
    return {
        "resourceType": "Organization",
        "identifier": [{"system": "urn:fhirconv:sponsor", "value": "acme-pharma"}],
        "active": True,
        "name": "Acme Pharma",
    }


def location() -> dict[str, Any]:
    return {
        "resourceType": "Location",
        "identifier": [{"system": "urn:fhirconv:site", "value": "site-1"}],
        "status": "active",
        "name": "General Hospital",
        "address": {"city": "Boston", "state": "MA", "postalCode": "02114", "country": "US"},
    }


def practitioner() -> dict[str, Any]:
    return {
        "resourceType": "Practitioner",
        "identifier": [{"system": "urn:fhirconv:investigator", "value": "jane-roe"}],
        "name": [{"family": "Roe", "given": ["Jane"], "prefix": ["Dr."]}],
    }


def role() -> dict[str, Any]:
    return {
        "resourceType": "PractitionerRole",
        "identifier": [{"system": "urn:fhirconv:role", "value": "pi-1"}],
        "practitioner": {"reference": uid(3)},
        "organization": {"reference": uid(1)},
        "code": [{"text": "Principal Investigator"}],
    }


def patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:fhirconv:subject", "value": "01-701-1015"}],
        "gender": "female",
        "birthDate": "1951",
    }


def observation(subject: int) -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "identifier": [{"system": "urn:fhirconv:vs", "value": "01-701-1015-SYSBP-1"}],
        "status": "final",
        "category": [
            {
                "coding": [
                    {"system": "http://terminology.hl7.org/CodeSystem/observation-category", "code": "vital-signs"}
                ]
            }
        ],
        "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6", "display": "Systolic blood pressure"}]},
        "subject": {"reference": uid(subject)},
        "effectiveDateTime": "2014-01-02",
        "valueQuantity": {"value": 140, "unit": "mmHg", "system": "http://unitsofmeasure.org", "code": "mm[Hg]"},
    }


def bundle_r4() -> dict[str, Any]:
    study = {
        "resourceType": "ResearchStudy",
        "identifier": [{"system": SYS, "value": "NCT00000001"}],
        "title": "A Study of Something",
        "status": "completed",
        "phase": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-phase", "code": "phase-2"}]
        },
        "period": {"start": "2012-07", "end": "2014-09-15"},
        "sponsor": {"reference": uid(1)},
        "principalInvestigator": {"reference": uid(4)},
        "site": [{"reference": uid(2)}],
        "enrollment": [{"reference": uid(6)}],
        "arm": [{"name": "Placebo"}, {"name": "Drug 10 mg"}],
    }
    group = {
        "resourceType": "Group",
        "identifier": [{"system": "urn:fhirconv:enrollment", "value": "NCT00000001"}],
        "type": "person",
        "actual": True,
        "quantity": 254,
    }
    subject = {
        "resourceType": "ResearchSubject",
        "identifier": [{"system": "urn:fhirconv:subject", "value": "01-701-1015"}],
        "status": "on-study",
        "period": {"start": "2014-01-02", "end": "2014-07-02"},
        "study": {"reference": uid(5)},
        "individual": {"reference": uid(7)},
        "assignedArm": "Placebo",
    }
    ae = {
        "resourceType": "AdverseEvent",
        "id": "fc-ae1",
        "identifier": {"system": "urn:fhirconv:ae", "value": "01-701-1015-AE-1"},
        "actuality": "actual",
        "event": {"text": "APPLICATION SITE ERYTHEMA"},
        "subject": {"reference": uid(7)},
        "date": "2014-01-03",
        "seriousness": {"text": "non-serious"},
        "study": [{"reference": uid(5)}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(1, org(), "Organization?identifier=urn:fhirconv:sponsor|acme-pharma"),
            entry(2, location(), "Location?identifier=urn:fhirconv:site|site-1"),
            entry(3, practitioner(), "Practitioner?identifier=urn:fhirconv:investigator|jane-roe"),
            entry(4, role(), "PractitionerRole?identifier=urn:fhirconv:role|pi-1"),
            entry(5, study, f"ResearchStudy?identifier={SYS}|NCT00000001"),
            entry(6, group, "Group?identifier=urn:fhirconv:enrollment|NCT00000001"),
            entry(7, patient(), "Patient?identifier=urn:fhirconv:subject|01-701-1015"),
            entry(8, subject, "ResearchSubject?identifier=urn:fhirconv:subject|01-701-1015"),
            entry(9, observation(7), "Observation?identifier=urn:fhirconv:vs|01-701-1015-SYSBP-1"),
            entry(10, ae, "AdverseEvent/fc-ae1"),
        ],
    }


def bundle_r5() -> dict[str, Any]:
    study = {
        "resourceType": "ResearchStudy",
        "identifier": [{"system": SYS, "value": "NCT00000001"}],
        "title": "A Study of Something",
        "status": "active",
        "phase": {
            "coding": [{"system": "http://terminology.hl7.org/CodeSystem/research-study-phase", "code": "phase-2"}]
        },
        "period": {"start": "2012-07", "end": "2014-09-15"},
        "associatedParty": [
            {
                "role": {"coding": [{"system": "http://hl7.org/fhir/research-study-party-role", "code": "sponsor"}]},
                "party": {"reference": uid(1)},
            }
        ],
        "site": [{"reference": uid(2)}],
        "recruitment": {"targetNumber": 254, "actualGroup": {"reference": uid(6)}},
        "comparisonGroup": [{"name": "Placebo"}, {"name": "Drug 10 mg"}],
    }
    group = {
        "resourceType": "Group",
        "identifier": [{"system": "urn:fhirconv:enrollment", "value": "NCT00000001"}],
        "type": "person",
        "membership": "definitional",
        "quantity": 254,
    }
    subject = {
        "resourceType": "ResearchSubject",
        "identifier": [{"system": "urn:fhirconv:subject", "value": "01-701-1015"}],
        "status": "active",
        "period": {"start": "2014-01-02", "end": "2014-07-02"},
        "study": {"reference": uid(5)},
        "subject": {"reference": uid(7)},
        "assignedComparisonGroup": "Placebo",
    }
    ae = {
        "resourceType": "AdverseEvent",
        "identifier": [{"system": "urn:fhirconv:ae", "value": "01-701-1015-AE-1"}],
        "status": "completed",
        "actuality": "actual",
        "code": {"text": "APPLICATION SITE ERYTHEMA"},
        "subject": {"reference": uid(7)},
        "occurrenceDateTime": "2014-01-03",
        "seriousness": {"text": "non-serious"},
        "study": [{"reference": uid(5)}],
    }
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            entry(1, org(), "Organization?identifier=urn:fhirconv:sponsor|acme-pharma"),
            entry(2, location(), "Location?identifier=urn:fhirconv:site|site-1"),
            entry(3, practitioner(), "Practitioner?identifier=urn:fhirconv:investigator|jane-roe"),
            entry(4, role(), "PractitionerRole?identifier=urn:fhirconv:role|pi-1"),
            entry(5, study, f"ResearchStudy?identifier={SYS}|NCT00000001"),
            entry(6, group, "Group?identifier=urn:fhirconv:enrollment|NCT00000001"),
            entry(7, patient(), "Patient?identifier=urn:fhirconv:subject|01-701-1015"),
            entry(8, subject, "ResearchSubject?identifier=urn:fhirconv:subject|01-701-1015"),
            entry(9, observation(7), "Observation?identifier=urn:fhirconv:vs|01-701-1015-SYSBP-1"),
            entry(10, ae, "AdverseEvent?identifier=urn:fhirconv:ae|01-701-1015-AE-1"),
        ],
    }


INDEX = {
    "Organization": 0,
    "Location": 1,
    "Practitioner": 2,
    "PractitionerRole": 3,
    "ResearchStudy": 4,
    "Group": 5,
    "Patient": 6,
    "ResearchSubject": 7,
    "Observation": 8,
    "AdverseEvent": 9,
}


def defects(version: str, base: dict[str, Any]) -> list[tuple[str, str, Any, list[dict[str, Any]]]]:
    """(name, what is wrong, content, expected findings). Each defect sits in a copy of the clean bundle, in
    one resource; `at(rtype)` is that resource's expression prefix."""
    out: list[tuple[str, str, Any, list[dict[str, Any]]]] = []
    r4 = version == "R4"

    def at(rtype: str) -> str:
        return f"Bundle.entry[{INDEX[rtype]}].resource"

    def copy_with(rtype: str) -> tuple[dict[str, Any], dict[str, Any]]:
        bundle = copy.deepcopy(base)
        return bundle, bundle["entry"][INDEX[rtype]]["resource"]

    def one(name: str, why: str, content: Any, layer: str, expr: str, code: str, also: list[str]) -> None:
        out.append((name, why, content, [{"layer": layer, "expression": expr, "code": code, "also": also}]))

    # 1. structure (the JSON Schema agrees on most of these: merged into one finding, `also` names it)
    b, p = copy_with("Patient")
    p["favouriteColour"] = "blue"
    one(
        "unknown-element",
        "an element FHIR does not define",
        b,
        "structure",
        f"{at('Patient')}.favouriteColour",
        "unknown-element",
        ["schema"],
    )
    b, o = copy_with("Observation")
    del o["code"]
    one(
        "missing-required",
        "Observation.code is 1..1",
        b,
        "structure",
        f"{at('Observation')}.code",
        "required",
        ["schema"],
    )
    b, p = copy_with("Patient")
    p["name"] = [{"family": "Doe", "given": "Jane"}]
    one(
        "wrong-type",
        "given is a list of strings",
        b,
        "structure",
        f"{at('Patient')}.name[0].given",
        "wrong-type",
        ["schema"],
    )
    b, p = copy_with("Patient")
    p["birthDate"] = "1951-13-01"
    one(
        "malformed-date", "there is no month 13", b, "structure", f"{at('Patient')}.birthDate", "bad-format", ["schema"]
    )
    b, p = copy_with("Patient")
    p["extension"] = [{"valueString": "x"}]
    one(
        "extension-without-url",
        "Extension.url is 1..1",
        b,
        "structure",
        f"{at('Patient')}.extension[0].url",
        "required",
        [],
    )
    b, o = copy_with("Observation")
    o["valueString"] = "140 mmHg"
    one(
        "two-choice-values",
        "value[x] is 0..1: valueQuantity and valueString",
        b,
        "structure",
        at("Observation"),
        "value_error",
        [],
    )
    if r4:
        b, s = copy_with("ResearchStudy")
        s["associatedParty"] = [{"party": {"reference": uid(1)}}]
        one(
            "r5-element-in-r4",
            "ResearchStudy.associatedParty exists only in R5",
            b,
            "structure",
            f"{at('ResearchStudy')}.associatedParty",
            "unknown-element",
            ["schema"],
        )
    else:
        b, s = copy_with("ResearchStudy")
        s["sponsor"] = {"reference": uid(1)}
        one(
            "r4-shaped-in-r5",
            "ResearchStudy.sponsor was R4; R5 uses associatedParty",
            b,
            "structure",
            f"{at('ResearchStudy')}.sponsor",
            "unknown-element",
            ["schema"],
        )
        b, rs = copy_with("ResearchSubject")
        rs["individual"] = rs.pop("subject")
        prefix = at("ResearchSubject")
        out.append(
            (
                "r4-researchsubject-in-r5",
                "R4 ResearchSubject.individual; R5 calls it subject (1..1)",
                b,
                [
                    {
                        "layer": "structure",
                        "expression": f"{prefix}.individual",
                        "code": "unknown-element",
                        "also": ["schema"],
                    },
                    {"layer": "structure", "expression": f"{prefix}.subject", "code": "required", "also": ["schema"]},
                ],
            )
        )
    b, p = copy_with("Patient")
    p["identifier"] = []
    one("empty-array", "FHIR JSON has no empty lists", b, "structure", f"{at('Patient')}.identifier", "empty-array", [])
    b, og = copy_with("Organization")
    og["identifier"][0]["system"] = ""
    one(
        "empty-string",
        "FHIR JSON has no empty strings",
        b,
        "structure",
        f"{at('Organization')}.identifier[0].system",
        "empty-string",
        [],
    )
    b, loc = copy_with("Location")
    loc["address"] = None
    one(
        "null-value",
        "FHIR JSON has no nulls",
        b,
        "structure",
        f"{at('Location')}.address",
        "null-value",
        [] if r4 else ["schema"],
    )
    # 2. JSON Schema only (the models coerce or do not check these)
    b, p = copy_with("Patient")
    p["active"] = "true"
    one(
        "boolean-as-string",
        "JSON booleans are true/false, not strings",
        b,
        "schema",
        f"{at('Patient')}.active",
        "wrong-type",
        [],
    )
    b, p = copy_with("Patient")
    p["id"] = "p" * 65
    one("id-too-long", "ids are at most 64 characters", b, "schema", f"{at('Patient')}.id", "bad-format", [])
    # 3. terminology (R4's schema has enums for some required bindings: merged, named in `also`)
    b, o = copy_with("Observation")
    o["status"] = "done"
    one(
        "bad-status-code",
        "not an observation-status code",
        b,
        "terminology",
        f"{at('Observation')}.status",
        "bad-code",
        ["schema"] if r4 else [],
    )
    b, o = copy_with("Observation")
    o["valueQuantity"]["comparator"] = "=="
    one(
        "bad-comparator",
        "not a quantity-comparator code",
        b,
        "terminology",
        f"{at('Observation')}.valueQuantity.comparator",
        "bad-code",
        ["schema"],
    )
    b, s = copy_with("ResearchStudy")
    s["status"] = "recruiting"
    one(
        "registry-status-not-mapped",
        "a ClinicalTrials.gov status copied as is",
        b,
        "terminology",
        f"{at('ResearchStudy')}.status",
        "bad-code",
        ["schema"] if r4 else [],
    )
    b, g = copy_with("Group")
    g["type"] = "people"
    one(
        "bad-group-type",
        "not a group-type code",
        b,
        "terminology",
        f"{at('Group')}.type",
        "bad-code",
        ["schema"] if r4 else [],
    )
    # 4. invariants
    b, s = copy_with("ResearchStudy")
    s["period"] = {"start": "2014-09-15", "end": "2012-07"}
    one("per-1", "the period ends before it starts", b, "invariant", f"{at('ResearchStudy')}.period", "per-1", [])
    b, o = copy_with("Observation")
    o["dataAbsentReason"] = {"text": "not asked"}
    one("obs-6", "a value and a dataAbsentReason", b, "invariant", at("Observation"), "obs-6", [])
    b, p = copy_with("Patient")
    p["identifier"].append({})
    one("ele-1", "an empty element", b, "invariant", f"{at('Patient')}.identifier[1]", "ele-1", [])
    b, o = copy_with("Observation")
    o["contained"] = [{"resourceType": "Device", "id": "cuff", "manufacturer": "Acme"}]
    one(
        "dom-3",
        "a contained resource nothing refers to",
        b,
        "invariant",
        f"{at('Observation')}.contained[0]",
        "dom-3",
        [],
    )
    # 5. bundle integrity
    subject_key = "individual" if r4 else "subject"
    b, rs = copy_with("ResearchSubject")
    rs[subject_key] = {"reference": uid(42)}
    one(
        "dangling-reference",
        "the ResearchSubject points at no entry",
        b,
        "integrity",
        f"{at('ResearchSubject')}.{subject_key}.reference",
        "dangling-reference",
        [],
    )
    b, rs = copy_with("ResearchSubject")
    rs[subject_key] = {"reference": uid(1)}
    one(
        "wrong-target-type",
        "the subject of a ResearchSubject cannot be an Organization",
        b,
        "integrity",
        f"{at('ResearchSubject')}.{subject_key}.reference",
        "wrong-target-type",
        [],
    )
    b = copy.deepcopy(base)
    # The AdverseEvent takes the Observation's fullUrl: nothing refers to either, so only the duplicate is wrong.
    b["entry"][9]["fullUrl"] = b["entry"][8]["fullUrl"]
    one(
        "duplicate-fullurl",
        "two entries share a fullUrl",
        b,
        "integrity",
        "Bundle.entry[9].fullUrl",
        "duplicate-fullurl",
        [],
    )
    b = copy.deepcopy(base)
    b["entry"][0]["request"]["url"] = "Patient?identifier=urn:fhirconv:sponsor|acme-pharma"
    one(
        "request-url-type",
        "a PUT to Patient carrying an Organization",
        b,
        "integrity",
        "Bundle.entry[0].request.url",
        "request-url-type",
        [],
    )
    b = copy.deepcopy(base)
    del b["entry"][5]["request"]
    if r4:
        one(
            "transaction-entry-without-request",
            "every entry of a transaction needs a request",
            b,
            "integrity",
            "Bundle.entry[5].request",
            "bdl-3",
            [],
        )
    else:
        one(
            "transaction-entry-without-request",
            "every entry of a transaction needs a request",
            b,
            "integrity",
            "Bundle.entry[5].request.method",
            "bdl-3c",
            [],
        )
    b, o = copy_with("Observation")
    o["subject"] = {"reference": "#pat"}
    one(
        "contained-reference-missing",
        "no contained resource has id pat",
        b,
        "integrity",
        f"{at('Observation')}.subject.reference",
        "dangling-reference",
        [],
    )
    return out


def main() -> None:
    manifest: list[dict[str, Any]] = []
    for version, base in (("R4", bundle_r4()), ("R5", bundle_r5())):
        clean = HERE / "clean"
        clean.mkdir(exist_ok=True)
        (clean / f"bundle.{version}.json").write_text(json.dumps(base, indent=2) + "\n", encoding="utf-8")
        folder = HERE / "defects" / version
        folder.mkdir(parents=True, exist_ok=True)
        for name, why, content, expected in defects(version, base):
            path = folder / f"{name}.json"
            path.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
            manifest.append({"file": f"{version}/{name}.json", "version": version, "defect": why, "expected": expected})
    (HERE / "defects" / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
