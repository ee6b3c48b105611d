"""Generic-shape validation of AdverseEvents: the quick path accepts only what the full model accepts."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import ValidationFailed
from fhirconv.mapping.participants import r4 as map_r4
from fhirconv.mapping.participants import r5 as map_r5
from fhirconv.mapping.participants.common import Context
from fhirconv.model.participants import AdverseEventRecord
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed
from fhirconv.readers.participants import read_participants
from fhirconv.readers.trial_design import study_from_design
from fhirconv.validation.fast import FastValidator, full_validate
from fhirconv.versions import FhirVersion

ROOT = Path(__file__).parents[1]
SOURCES = [
    ROOT / "tests" / "data" / "participants" / "pilot",
    ROOT / "examples" / "NCT04382547" / "participants" / "sdtm",
]
VERSIONS = [FhirVersion.R4, FhirVersion.R5]


def _events(version: FhirVersion) -> list[Keyed]:
    items = []
    for folder in SOURCES:
        data = read_participants(folder)
        study = study_from_design(data.design) if data.design is not None else Study(nct_id=folder.parent.parent.name)
        ctx = Context.for_study(study)
        mapper: Any = map_r4 if version is FhirVersion.R4 else map_r5
        items += [mapper.map_adverse_event(ae, ctx) for ae in data.adverse_events if isinstance(ae, AdverseEventRecord)]
    return items


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_every_event_passes_both_ways_and_shapes_are_shared(version: FhirVersion) -> None:
    events = _events(version)
    validator = FastValidator(version)
    for item in events:
        validator.validate_generic(item)
        full_validate(item, version)  # the model agrees with every resource the quick path let through
    assert validator.full + validator.fast == len(events) > 20
    assert validator.fast > validator.full  # events share shapes: most were checked the quick way


def _known(version: FhirVersion) -> tuple[FastValidator, Keyed]:
    concept = "event" if version is FhirVersion.R4 else "code"
    item = next(e for e in _events(version) if "coding" in e.resource[concept])
    validator = FastValidator(version)
    validator.validate_generic(item)
    validator.validate_generic(item)
    assert (validator.full, validator.fast) == (1, 1)
    return validator, item


def _changed(item: Keyed, path: list[Any], value: Any) -> Keyed:
    res = copy.deepcopy(item.resource)
    node = res
    for step in path[:-1]:
        node = node[step]
    node[path[-1]] = value
    return Keyed(res, item.system, item.value)


def _date_path(version: FhirVersion, item: Keyed) -> list[Any]:
    if version is FhirVersion.R4:
        return ["date"]
    return ["occurrencePeriod", "start"] if "occurrencePeriod" in item.resource else ["occurrenceDateTime"]


def _identifier_path(version: FhirVersion) -> list[Any]:
    return ["identifier", "value"] if version is FhirVersion.R4 else ["identifier", 0, "value"]


@pytest.mark.parametrize("version", VERSIONS, ids=str)
@pytest.mark.parametrize("bad", ["2021-02-29", "2020-13-01", "yesterday"])
def test_bad_date_is_refused_by_the_model(version: FhirVersion, bad: str) -> None:
    validator, item = _known(version)
    with pytest.raises(ValidationFailed):
        validator.validate_generic(_changed(item, _date_path(version, item), bad))


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_bad_code_and_empty_identifier_are_refused(version: FhirVersion) -> None:
    validator, item = _known(version)
    concept = "event" if version is FhirVersion.R4 else "code"
    with pytest.raises(ValidationFailed):
        validator.validate_generic(_changed(item, [concept, "coding", 0, "code"], "100  27"))
    with pytest.raises(ValidationFailed):
        validator.validate_generic(_changed(item, _identifier_path(version), ""))


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_a_value_the_quick_check_doubts_goes_to_the_model(version: FhirVersion) -> None:
    validator, item = _known(version)
    # Only blanks: not a FHIR string by the spec's rule, but fhir.resources accepts it, and the
    # resource was accepted before there was a quick path: the model decides, so it still is.
    validator.validate_generic(_changed(item, _identifier_path(version), "  "))
    assert (validator.full, validator.fast) == (2, 1)


@pytest.mark.parametrize("version", VERSIONS, ids=str)
def test_a_changed_fixed_leaf_is_a_new_shape(version: FhirVersion) -> None:
    validator, item = _known(version)
    validator.validate_generic(_changed(item, ["actuality"], "potential"))
    assert (validator.full, validator.fast) == (2, 1)
    with pytest.raises(ValidationFailed):
        validator.validate_generic(_changed(item, ["actuality"], "not  a code"))
