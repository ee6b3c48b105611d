"""Classic API JSON reader: prose enums, "Month D, YYYY" dates and strings-for-numbers → the same Study."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import InputError
from fhirconv.model.study import Age, Contact, DateInfo, Mesh, Org, SecondaryId, Study
from fhirconv.readers.ctgov_classic import classic_nct_id_of, classic_page_studies, read_classic_study

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
CLASSIC_FILES = sorted(CORPUS.glob("*.classic.json"))
PAGES = CORPUS / "pages" / "ctti-clinicaltrials__aact"


def _load(name: str) -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / name).read_bytes())
    return data


def _read(nct_id: str) -> Study:
    return read_classic_study(_load(f"{nct_id}.classic.json"))


def test_corpus_has_the_expected_files() -> None:
    assert len(CLASSIC_FILES) == 205


@pytest.mark.parametrize("path", CLASSIC_FILES, ids=lambda p: p.name)
def test_every_classic_record_reads(path: Path) -> None:
    study = read_classic_study(json.loads(path.read_bytes()))
    assert study.nct_id == path.name.split(".")[0]
    assert study.brief_title
    assert study.overall_status is not None
    assert study.design.study_type in ("INTERVENTIONAL", "OBSERVATIONAL")
    assert study.partial is False


@pytest.mark.parametrize(
    ("name", "count"), [("covid-19-search.json", 100), ("results_1.json", 100), ("results_2.json", 3)]
)
def test_every_page_element_reads(name: str, count: int) -> None:
    elements = classic_page_studies(json.loads((PAGES / name).read_bytes()))
    assert len(elements) == count
    studies = [read_classic_study(e) for e in elements]
    assert len({s.nct_id for s in studies}) == count


def test_unknown_status_with_last_known_status_observational() -> None:
    s = _read("NCT04339322")
    assert s.overall_status == "UNKNOWN"  # "Unknown status"
    assert s.last_known_status == "NOT_YET_RECRUITING"  # "Not yet recruiting"
    assert s.status_verified_date == "2020-04"  # "April 2020"
    assert s.start_date == DateInfo("2020-05-01", "ESTIMATED")  # "May 1, 2020", "Anticipated"
    assert s.first_submitted == "2020-04-07"
    assert s.first_posted == DateInfo("2020-04-09", "ACTUAL")
    d = s.design
    assert (d.study_type, d.observational_model, d.time_perspective) == ("OBSERVATIONAL", "COHORT", "PROSPECTIVE")
    assert d.patient_registry is False  # "No"
    assert d.enrollment is not None
    assert (d.enrollment.count, d.enrollment.type) == (200, "ESTIMATED")  # "200", "Anticipated"
    assert s.eligibility.std_ages == ["CHILD", "ADULT", "OLDER_ADULT"]
    assert s.condition_meshes == [Mesh(term="COVID-19", id="D000086382")]
    assert s.responsible_party is not None
    assert s.responsible_party.type == "PRINCIPAL_INVESTIGATOR"
    assert s.responsible_party.investigator_affiliation == "Assiut University"


def test_masked_randomised_multi_phase() -> None:
    s = _read("NCT04595136")
    d = s.design
    assert d.phases == ["PHASE1", "PHASE2"]
    assert (d.allocation, d.intervention_model, d.primary_purpose) == ("RANDOMIZED", "PARALLEL", "TREATMENT")
    assert d.masking == "TRIPLE"
    assert d.who_masked == ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR"]
    assert d.masking_description is not None
    assert d.masking_description.startswith("The mapping sequence will be hidden")
    assert s.eligibility.minimum_age == Age(18.0, "years", "18 Years")
    assert s.eligibility.healthy_volunteers is False
    loc = s.locations[0]
    assert (loc.facility, loc.status, loc.city, loc.country) == ("Cimedical", "RECRUITING", "Barranquilla", "Colombia")
    assert loc.contacts[0] == Contact(
        name="Juan Jaller, MD", role="CONTACT", phone="57-5-345-0085", email="contacto@cimedical.co"
    )
    assert s.central_contacts[0].name == "Carlos A Riveros, MD"


def test_secondary_ids_and_location_contact_roles() -> None:
    s = _read("NCT04779697")
    assert s.secondary_ids == [
        SecondaryId(
            "2R01DK099039-06",
            "NIH",  # "U.S. NIH Grant/Contract"
            None,
            "https://projectreporter.nih.gov/reporterapi.cfm?PROJECTNUM=2R01DK099039-06&Fy=all",
        )
    ]
    assert s.design.intervention_model == "FACTORIAL"
    assert s.eligibility.maximum_age == Age(55.0, "years", "55 Years")
    assert [c.role for c in s.locations[0].contacts] == ["CONTACT", "CONTACT", "PRINCIPAL_INVESTIGATOR"]


def test_record_with_results() -> None:
    s = _read("NCT00023673")
    assert s.has_results is True
    assert s.overall_status == "COMPLETED"
    assert s.design.phases == ["PHASE1", "PHASE2"]
    assert s.design.allocation == "NON_RANDOMIZED"
    assert s.start_date == DateInfo("2001-07", None)
    assert [x.type for x in s.secondary_ids] == ["REGISTRY", "REGISTRY"]
    assert len(s.locations) == 41
    assert s.officials[0].role == "STUDY_CHAIR"
    assert s.lead_sponsor is not None
    assert s.lead_sponsor.cls is not None
    assert Mesh(term="Lung Neoplasms", id="D008175")  # the record pads it: D000008175 in s.condition_meshes


def test_classic_and_page_element_agree() -> None:
    page = json.loads((PAGES / "NCT00023673.json").read_bytes())
    [element] = classic_page_studies(page)
    assert read_classic_study(element) == _read("NCT00023673")


def test_bare_study_without_rank_wrapper() -> None:
    wrapped = _load("NCT04779697.classic.json")
    assert read_classic_study(wrapped["Study"]) == read_classic_study(wrapped)


def _broken(nct_id: str, module: str, key: str, value: Any) -> dict[str, Any]:
    data = copy.deepcopy(_load(f"{nct_id}.classic.json"))
    node = data["Study"]["ProtocolSection"][module]
    if value is None:
        del node[key]
    else:
        node[key] = value
    return data


def test_missing_nct_id() -> None:
    data = _broken("NCT04779697", "IdentificationModule", "NCTId", None)
    assert classic_nct_id_of(data) is None
    with pytest.raises(InputError) as info:
        read_classic_study(data)
    assert info.value.field == "IdentificationModule.NCTId"


def test_unknown_prose_enum_names_field() -> None:
    data = _broken("NCT04779697", "StatusModule", "OverallStatus", "Paused")
    assert classic_nct_id_of(data) == "NCT04779697"
    with pytest.raises(InputError) as info:
        read_classic_study(data)
    assert info.value.field == "StatusModule.OverallStatus"
    assert info.value.hint is not None
    assert "RECRUITING" in info.value.hint


def test_bad_count_names_field() -> None:
    data = _broken("NCT04779697", "DesignModule", "EnrollmentInfo", {"EnrollmentCount": "ninety-six"})
    with pytest.raises(InputError) as info:
        read_classic_study(data)
    assert info.value.field == "DesignModule.EnrollmentInfo.EnrollmentCount"


def test_organisation_class_prose() -> None:
    data = _broken(
        "NCT04779697",
        "SponsorCollaboratorsModule",
        "LeadSponsor",
        {"LeadSponsorName": "X", "LeadSponsorClass": "U.S. Fed"},
    )
    assert read_classic_study(data).lead_sponsor == Org("X", "FED")
