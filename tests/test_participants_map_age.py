"""DM.AGE with AGEU → an Observation of the subject's age (LOINC 30525-0) in UCUM, at RFSTDTC, R4 and R5."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirconv.mapping.participants import r4, r5
from fhirconv.mapping.participants.common import Context
from fhirconv.model.participants import Participant, SourceRef
from fhirconv.model.study import Study
from fhirconv.readers.participants import read_participants
from fhirconv.validation.fast import full_validate
from fhirconv.versions import FhirVersion

PILOT = Path(__file__).parent / "data" / "participants" / "pilot"
CTX = Context.for_study(Study("NCT04382547"))


def _p(**fields: object) -> Participant:
    return Participant("S-1", SourceRef("dm.csv", 1), **fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(("unit", "ucum"), [("YEARS", "a"), ("MONTHS", "mo"), ("WEEKS", "wk"), ("DAYS", "d"),
                                            ("HOURS", "h")])
def test_age_with_its_unit_in_ucum(unit: str, ucum: str) -> None:
    item = r4.map_age(_p(age=7.0, age_unit=unit, reference_start="2020-03-04"), CTX)
    assert item is not None
    res = item.resource
    assert res["code"]["coding"] == [{"system": "http://loinc.org", "code": "30525-0", "display": "Age"}]
    assert res["valueQuantity"] == {"value": 7, "unit": unit, "system": "http://unitsofmeasure.org", "code": ucum}
    assert res["effectiveDateTime"] == "2020-03-04"
    assert res["identifier"][0]["value"] == "S-1/DM/AGE"


def test_age_unit_outside_the_codelist_is_unit_text_and_no_age_is_no_observation() -> None:
    item = r5.map_age(_p(age=30.5, age_unit="decades?"), CTX)
    assert item is not None
    assert item.resource["valueQuantity"] == {"value": 30.5, "unit": "decades?"}
    assert "effectiveDateTime" not in item.resource
    assert r5.map_age(_p(age_unit="YEARS"), CTX) is None


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
def test_pilot_ages_are_valid_observations(version: FhirVersion) -> None:
    data = read_participants(PILOT)
    mappers = r4 if version is FhirVersion.R4 else r5
    ages = [mappers.map_age(p, CTX) for p in data.participants]
    assert all(a is not None for a in ages)
    first = ages[0]
    assert first is not None
    assert (first.resource["valueQuantity"]["value"], first.resource["valueQuantity"]["code"]) == (63, "a")
    for item in ages[:20]:
        assert item is not None
        full_validate(item, version)
