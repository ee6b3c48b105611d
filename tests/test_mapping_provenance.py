"""Every converted study carries a Provenance: its source record (NCT ID, format, last update, data version),
fhirconv and its version, every resource made from it as target; deterministic, from the source's own dates."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from fhirconv import __version__
from fhirconv.mapping import map_study
from fhirconv.model.study import DateInfo, Source, Study
from fhirconv.output.bundle import build_bundle, client_id, dumps
from fhirconv.output.ndjson import ndjson_resources
from fhirconv.pipeline.study import convert_with_participants
from fhirconv.readers import read_study
from fhirconv.validation.structure import check_models
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "ctgov-corpus"
R4, R5 = FhirVersion.R4, FhirVersion.R5


def _provenance(items: list[Any]) -> dict[str, Any]:
    (prov,) = [i.resource for i in items if i.resource_type == "Provenance"]
    return prov


@pytest.mark.parametrize("version", list(FhirVersion))
def test_targets_every_resource_of_the_study(version: FhirVersion) -> None:
    items = map_study(read_study(CORPUS / "NCT02513394.json"), version)
    assert items[-1].resource_type == "Provenance"
    others = items[:-1]
    assert [t["reference"] for t in items[-1].resource["target"]] == [i.full_url for i in others]
    report = "Composition" if version is FhirVersion.R4 else "EvidenceReport"  # its posted results (mapping.results)
    assert {i.resource_type for i in others} == {"Organization", "Group", "Location", "ResearchStudy",
                                                 "EvidenceVariable", "Evidence", report}
    check_models(items, version)


@pytest.mark.parametrize(("path", "fmt", "words", "last_update", "data_version"), [
    ("NCT02513394.json", "ctgov-v2", "ClinicalTrials.gov API v2 JSON", "2023-06-15", "2023-10-06"),
    ("NCT00023673.classic.json", "ctgov-classic", "ClinicalTrials.gov classic API JSON", None, "2023-10-18"),
    ("NCT02513394.xml", "ctgov-xml", "ClinicalTrials.gov legacy XML", None, "2020-08-18"),
])
def test_names_the_record_its_format_and_version(path: str, fmt: str, words: str, last_update: str | None,
                                                 data_version: str) -> None:
    study = read_study(CORPUS / path)
    assert study.source == Source(fmt, version=data_version)
    updated = study.last_update_posted.date if study.last_update_posted else None
    assert updated  # every registry record of the corpus has one
    if last_update:
        assert updated == last_update
    for version, role in ((R4, "derivation"), (R5, "source")):
        prov = _provenance(map_study(study, version))
        # `recorded` is the record's last update (the registry gives the day only: its start, UTC), not the clock
        assert prov["recorded"] == f"{updated}T00:00:00Z"
        (entity,) = prov["entity"]
        assert entity["role"] == role
        assert entity["what"]["identifier"] == {"system": "https://clinicaltrials.gov", "value": study.nct_id}
        assert entity["what"]["display"] == (
            f"{words} record {study.nct_id}, last updated: {updated}, data version: {data_version}")


def test_page_text_and_participant_data_are_named() -> None:
    page = read_study(DATA / "seed" / "NCT04382547.txt")
    assert page.source == Source("ctgov-page-text")
    display = _provenance(map_study(page, R5))["entity"][0]["what"]["display"]
    assert display == "ClinicalTrials.gov registry page text record NCT04382547, last updated: 2021-08-23"
    run = convert_with_participants(None, [DATA / "participants" / "pilot"], R4)
    prov = _provenance(run.study_items)
    assert prov["entity"][0]["what"]["display"].startswith("CDISC SDTM trial design domains (TS, TA) record ")


def test_fhirconv_and_its_version_are_the_agent() -> None:
    for version, name_key in ((R4, "deviceName"), (R5, "name")):
        prov = _provenance(map_study(read_study(CORPUS / "NCT02513394.json"), version))
        (device,) = prov["contained"]
        assert device["resourceType"] == "Device"
        assert device["version"] == [{"value": __version__}]
        assert device[name_key][0]["type"] == "user-friendly-name"
        (agent,) = prov["agent"]
        assert agent["who"] == {"reference": "#fhirconv", "display": f"fhirconv {__version__}"}
        assert agent["type"]["coding"][0]["code"] == "assembler"
        assert prov["activity"]["coding"][0]["code"] == "transform"
        assert f"FHIR {version.value}" in prov["activity"]["text"]


def test_without_any_source_date_r4_says_recorded_is_unknown() -> None:
    study = Study("CDISCPILOT01", source=Source("participant-data"))
    r4 = _provenance(map_study(study, R4))
    assert "recorded" not in r4
    assert r4["_recorded"]["extension"][0]["valueCode"] == "unknown"  # R4 requires it; the clock is no source
    r5 = _provenance(map_study(study, R5))
    assert "recorded" not in r5  # R5 Provenance.recorded is 0..1
    assert "_recorded" not in r5
    check_models(map_study(study, R4), R4)
    check_models(map_study(study, R5), R5)


def test_recorded_falls_back_to_the_data_version_then_other_dates() -> None:
    study = Study("NCT01234567", source=Source("ctgov-v2", version="2024-01-03"), status_verified_date="2023-05",
                  first_posted=DateInfo("2020-01-02"))
    assert _provenance(map_study(study, R4))["recorded"] == "2024-01-03T00:00:00Z"
    study.source = None
    assert _provenance(map_study(study, R4))["recorded"] == "2023-05-01T00:00:00Z"
    study.last_update_posted = DateInfo("2025")
    assert _provenance(map_study(study, R5))["recorded"] == "2025-01-01T00:00:00Z"


@pytest.mark.parametrize("version", list(FhirVersion))
def test_deterministic_id_and_put_in_a_transaction(version: FhirVersion) -> None:
    study = read_study(CORPUS / "NCT02513394.json")
    items = map_study(study, version)
    bundle = build_bundle(items, kind="transaction", version=version)
    entry = bundle["entry"][-1]
    prov = items[-1]
    rid = client_id("Provenance", prov.system, prov.value)
    # Provenance has no identifier to update on: a PUT to its id, the same for the same study every time
    assert entry["request"] == {"method": "PUT", "url": f"Provenance/{rid}"}
    assert entry["resource"]["id"] == rid
    again = dumps(build_bundle(map_study(read_study(CORPUS / "NCT02513394.json"), version), kind="transaction",
                               version=version))
    assert dumps(bundle) == again
    lines = list(ndjson_resources(items, version))
    assert lines[-1]["id"] == rid
    assert lines[-1]["target"][-1]["reference"].startswith("ResearchStudy/fc-")
