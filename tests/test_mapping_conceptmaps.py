"""ConceptMaps: every mapping file is a valid FHIR ConceptMap, every CT.gov v2 enum value is mapped, and the
loader's translate / lookup / concept behave as documented."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from fhir.resources.conceptmap import ConceptMap

from fhirconv.errors import MappingDataError, UnmappedCodeError
from fhirconv.mapping import conceptmaps
from fhirconv.mapping.conceptmaps import concept, display, load, lookup, translate, translate_all
from fhirconv.model.participants import SourceRef

ROOT = Path(__file__).resolve().parents[1]
MAPS = ROOT / "mappings" / "conceptmaps"
SPEC = Path(__file__).parent / "data" / "mapping" / "ctg-oas-v2.yaml"

# ConceptMap id → the API v2 OpenAPI enum its source codes come from.
SPEC_ENUMS = {
    "ctgov-overall-status-r4": "Status",
    "ctgov-overall-status-r5": "Status",
    "ctgov-overall-status-publication": "Status",
    "ctgov-phase": "Phase",
    "ctgov-study-type": "StudyType",
    "ctgov-allocation": "DesignAllocation",
    "ctgov-intervention-model": "InterventionalAssignment",
    "ctgov-observational-model": "ObservationalModel",
    "ctgov-time-perspective": "DesignTimePerspective",
    "ctgov-masking": "DesignMasking",
    "ctgov-who-masked": "WhoMasked",
    "ctgov-sampling-method": "SamplingMethod",
    "ctgov-primary-purpose": "PrimaryPurpose",
    "ctgov-sex": "Sex",
    "ctgov-arm-type": "ArmGroupType",
    "ctgov-intervention-type": "InterventionType",
    "ctgov-official-role": "OfficialRole",
    "ctgov-contact-role": "ContactRole",
    "ctgov-agency-class": "AgencyClass",
    "ctgov-agency-class-org-type": "AgencyClass",
    "ctgov-recruitment-status-location": "RecruitmentStatus",
    "ctgov-reference-type": "ReferenceType",
    "ctgov-secondary-id-type": "SecondaryIdType",
    "ctgov-responsible-party-type": "ResponsiblePartyType",
}
# Maps whose source is not an API enum (the record's own lists and unit words).
OTHER_MAPS = {"ctgov-outcome-kind", "ctgov-age-unit"}
# Required bindings: every code must reach the FHIR code system (except the documented noMap ones).
REQUIRED = {
    "ctgov-overall-status-r4": {"WITHHELD", "UNKNOWN"},  # reported; UNKNOWN falls back to lastKnownStatus
    "ctgov-overall-status-publication": set(),
    "ctgov-recruitment-status-location": set(),
    "ctgov-phase": set(),
    "ctgov-reference-type": set(),
    "ctgov-outcome-kind": set(),
    "ctgov-age-unit": set(),
}


def _spec_enums() -> dict[str, list[str]]:
    schemas = yaml.safe_load(SPEC.read_text(encoding="utf-8"))["components"]["schemas"]
    return {name: schemas[name]["enum"] for name in set(SPEC_ENUMS.values())}


def _doc(map_id: str) -> dict[str, object]:
    data: dict[str, object] = json.loads((MAPS / f"{map_id}.json").read_text(encoding="utf-8"))
    return data


@pytest.mark.parametrize("path", sorted(MAPS.glob("*.json")), ids=lambda p: p.name)
def test_every_mapping_file_is_a_valid_conceptmap(path: Path) -> None:
    doc = json.loads(path.read_text(encoding="utf-8"))
    ConceptMap.model_validate(doc)
    assert doc["id"] == path.stem
    assert doc["url"].endswith("/" + path.stem)
    assert doc["group"], "a ConceptMap without groups maps nothing"


def test_the_ctgov_maps_are_the_ones_listed_here() -> None:
    assert {p.stem for p in MAPS.glob("ctgov-*.json")} == set(SPEC_ENUMS) | OTHER_MAPS


@pytest.mark.parametrize("map_id", sorted(set(SPEC_ENUMS) | OTHER_MAPS))
def test_each_ctgov_map_cites_the_source_of_its_codes(map_id: str) -> None:
    doc = _doc(map_id)
    description = str(doc["description"])
    assert "Source codes:" in description
    assert "Target:" in description
    assert "clinicaltrials.gov" in description.lower()
    assert str(doc["sourceScopeUri"]).startswith("https://fhirconv.dev/fhir/CodeSystem/ctgov-")


@pytest.mark.parametrize(("map_id", "enum"), sorted(SPEC_ENUMS.items()))
def test_every_api_v2_enum_value_has_a_mapping_entry(map_id: str, enum: str) -> None:
    values = _spec_enums()[enum]
    table = load(map_id)
    missing = [v for v in values if v not in table.entries]
    assert not missing, f"{map_id} lacks {missing}"
    # Every value gets a display (the registry's words) so a code without a FHIR target is kept as text.
    for v in values:
        assert display(map_id, v, field="f")


@pytest.mark.parametrize(("map_id", "allowed_nomap"), sorted(REQUIRED.items()))
def test_required_bindings_map_every_code(map_id: str, allowed_nomap: set[str]) -> None:
    table = load(map_id)
    unmapped = {code for code, entry in table.entries.items() if entry.coding is None}
    assert unmapped == allowed_nomap


def test_translate_gives_the_target_coding() -> None:
    assert translate("ctgov-phase", "PHASE2", field="phases") == {
        "system": "http://terminology.hl7.org/CodeSystem/research-study-phase",
        "code": "phase-2",
        "display": "Phase 2",
    }
    assert translate("ctgov-phase", "PHASE1/PHASE2", field="phases")["code"] == "phase-1-phase-2"
    assert translate("ctgov-overall-status-r4", "ACTIVE_NOT_RECRUITING", field="s")["code"] == "closed-to-accrual"
    assert translate("ctgov-overall-status-r5", "ACTIVE_NOT_RECRUITING", field="s")["code"] == (
        "active-but-not-recruiting"
    )
    assert translate("ctgov-sex", "FEMALE", field="sex")["system"] == "http://hl7.org/fhir/administrative-gender"


def test_translate_returns_a_fresh_dict() -> None:
    first = translate("ctgov-phase", "PHASE3", field="phases")
    first["code"] = "mutated"
    assert translate("ctgov-phase", "PHASE3", field="phases")["code"] == "phase-3"


def test_unknown_code_is_reported_with_field_and_code() -> None:
    with pytest.raises(UnmappedCodeError) as err:
        translate("ctgov-arm-type", "BOGUS_ARM", field="armGroups.type")
    assert err.value.field == "armGroups.type"
    assert "BOGUS_ARM" in str(err.value)
    assert "ctgov-arm-type" in str(err.value)
    with pytest.raises(UnmappedCodeError):
        concept("ctgov-arm-type", "BOGUS_ARM", field="armGroups.type")
    assert lookup("ctgov-arm-type", "BOGUS_ARM") is None


def test_nomap_code_is_known_but_has_no_coding() -> None:
    assert lookup("ctgov-primary-purpose", "ECT") is None
    with pytest.raises(UnmappedCodeError, match="no equivalent"):
        translate("ctgov-primary-purpose", "ECT", field="primaryPurpose")
    # concept() keeps it as the registry's words: never silently dropped.
    assert concept("ctgov-primary-purpose", "ECT", field="primaryPurpose") == {
        "text": "Educational/Counseling/Training"
    }
    assert concept("ctgov-allocation", "RANDOMIZED", field="a", label="Allocation") == {
        "coding": [{"system": "http://hl7.org/fhir/study-design", "code": "SEVCO:01003",
                    "display": "randomized assignment"}],
        "text": "Allocation: Randomized",
    }


def test_one_translate_for_registry_and_participant_codes() -> None:
    """Participant mapping uses the same translate: dependsOn picks the target, a noMap code is None when
    the caller keeps the words (optional) and an error otherwise, an unknown code names file, row, column."""
    loinc = "http://loinc.org"
    assert translate("sdtm-lbtestcd-loinc", "BILI", field="LBTESTCD", depends={"unit": "mg/dL"})["code"] == "1975-2"
    every = translate_all("sdtm-lbtestcd-loinc", "BILI", field="LBTESTCD", depends={"unit": "umol/L"})
    assert {"system": loinc, "code": "14631-6"} in [{k: c[k] for k in ("system", "code")} for c in every]
    assert "1975-2" not in [c["code"] for c in every]
    assert translate("sdtm-aerel-causality", "NONE", field="AEREL", optional=True) is None
    with pytest.raises(UnmappedCodeError, match="no equivalent"):
        translate("sdtm-aerel-causality", "NONE", field="AEREL")
    with pytest.raises(UnmappedCodeError) as err:
        translate("sdtm-aerel-causality", "MAYBE", field="AEREL", source=SourceRef("ae.csv", 7), optional=True)
    assert (err.value.file, err.value.record, err.value.field) == ("ae.csv", "row 7", "AEREL")
    assert "'MAYBE' is not a code ConceptMap sdtm-aerel-causality knows" in err.value.message


def test_mapping_root_is_the_repository_mappings_in_an_editable_install() -> None:
    assert Path(str(conceptmaps.mapping_root())).resolve() == (ROOT / "mappings").resolve()


@pytest.fixture
def own_maps(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private mapping root for ConceptMaps made up by a test; the load cache is cleared around it."""
    (tmp_path / "conceptmaps").mkdir()
    monkeypatch.setattr(conceptmaps, "mapping_root", lambda: tmp_path)
    load.cache_clear()
    yield tmp_path / "conceptmaps"
    load.cache_clear()


def _write_map(folder: Path, map_id: str, group: dict[str, object]) -> None:
    doc = {"resourceType": "ConceptMap", "id": map_id, "status": "draft", "group": [group]}
    (folder / f"{map_id}.json").write_text(json.dumps(doc), encoding="utf-8")


def test_group_unmapped_use_source_code(own_maps: Path) -> None:
    _write_map(own_maps, "t-src", {
        "source": "urn:src", "target": "urn:tgt",
        "element": [{"code": "A", "target": [{"code": "a", "relationship": "equivalent"}]}],
        "unmapped": {"mode": "use-source-code"},
    })
    assert translate("t-src", "A", field="f") == {"system": "urn:tgt", "code": "a"}
    assert translate("t-src", "Z", field="f") == {"system": "urn:src", "code": "Z"}
    # The same rule for participant codes (file and row given, noMap allowed).
    assert translate("t-src", "Z", field="f", source=SourceRef("x.csv", 1), optional=True) == {
        "system": "urn:src",
        "code": "Z",
    }


def test_group_unmapped_fixed(own_maps: Path) -> None:
    _write_map(own_maps, "t-fixed", {
        "source": "urn:src", "target": "urn:tgt", "element": [],
        "unmapped": {"mode": "fixed", "code": "other", "display": "Other"},
    })
    assert translate("t-fixed", "anything", field="f") == {"system": "urn:tgt", "code": "other", "display": "Other"}


def test_invalid_conceptmap_is_a_mapping_data_error(own_maps: Path) -> None:
    (own_maps / "t-bad.json").write_text(json.dumps({"resourceType": "ConceptMap", "id": "t-bad"}), "utf-8")
    with pytest.raises(MappingDataError, match="not a valid FHIR ConceptMap"):
        load("t-bad")
    _write_map(own_maps, "t-wrong-id", {"element": []})
    (own_maps / "t-wrong-id.json").rename(own_maps / "t-other.json")
    with pytest.raises(MappingDataError, match="does not match its file name"):
        load("t-other")
    with pytest.raises(MappingDataError, match="no ConceptMap"):
        load("t-missing")
    (own_maps / "t-json.json").write_text("{not json", "utf-8")
    with pytest.raises(MappingDataError, match="cannot read"):
        load("t-json")
