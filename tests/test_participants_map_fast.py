"""The fast validated path agrees with full validation (model + official JSON Schema) on a sample of real rows."""

from __future__ import annotations

import csv
import dataclasses
import math
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import ValidationFailed
from fhirconv.mapping.participants.common import Context, build_observation
from fhirconv.model.participants import Measurement, SourceRef
from fhirconv.model.study import ArmGroup, Study
from fhirconv.output.bundle import Keyed
from fhirconv.validation.fast import FastValidator, full_validate
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data" / "participants_map"


def _num(text: str) -> float | None:
    return float(text) if text.strip() else None


def _text(text: str) -> str | None:
    return text if text.strip() else None


def pilot_measurements() -> list[Measurement]:
    """CDISC pilot LB/VS rows (a subset covering every test, unit, status and date form) as records."""
    out = []
    for name, d in (("lb_subset.csv", "LB"), ("vs_subset.csv", "VS")):
        with (DATA / name).open(encoding="utf-8", newline="") as handle:
            for i, row in enumerate(csv.DictReader(handle), start=1):
                out.append(
                    Measurement(
                        subject_id=row["USUBJID"],
                        source=SourceRef(name, i),
                        domain=d,
                        test_code=row[f"{d}TESTCD"],
                        test_name=_text(row[f"{d}TEST"]),
                        category=_text(row.get(f"{d}CAT", "")),
                        seq=int(float(row[f"{d}SEQ"])),
                        result_text=_text(row[f"{d}ORRES"]),
                        result_unit=_text(row[f"{d}ORRESU"]),
                        std_text=_text(row[f"{d}STRESC"]),
                        std_value=_num(row[f"{d}STRESN"]),
                        std_unit=_text(row[f"{d}STRESU"]),
                        ref_low=_num(row.get(f"{d}STNRLO", "")),
                        ref_high=_num(row.get(f"{d}STNRHI", "")),
                        normal_indicator=_text(row.get(f"{d}NRIND", "")),
                        status=_text(row.get(f"{d}STAT", "")),
                        date=_text(row[f"{d}DTC"]),
                        position=_text(row.get("VSPOS", "")),
                    )
                )
    return out


def pilot_ctx(tz: str | None = None) -> Context:
    return Context.for_study(Study(nct_id="CDISCPILOT01", arm_groups=[ArmGroup("Placebo")]), tz=tz)


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
@pytest.mark.parametrize("tz", [None, "-05:00"])
def test_fast_path_output_passes_full_validation(version: FhirVersion, tz: str | None) -> None:
    from fhirconv.validation.schema import schema_findings

    ctx = pilot_ctx(tz)
    validator = FastValidator(version)
    items: list[tuple[Keyed, Any]] = []
    for m in pilot_measurements():
        item, plan = build_observation(m, ctx)
        validator.validate(item, plan.shape)
        items.append((item, plan.shape))
    assert len(items) == 452
    # Each shape was fully validated once; every other row only had its values checked.
    assert validator.full == validator.shapes
    assert validator.fast == len(items) - validator.shapes
    assert validator.fast > 200
    # The sample: every shape's second and later members (which took the fast path) and every 10th row.
    seen: set[Any] = set()
    sample = []
    for i, (item, shape) in enumerate(items):
        if shape in seen or i % 10 == 0:
            sample.append(item)
        seen.add(shape)
    for item in sample:
        full_validate(item, version)
        findings = [f for f in schema_findings(item.resource, version) if f.severity == "error"]
        assert findings == [], (item.value, findings)


def test_pilot_values_map_as_expected() -> None:
    items = {
        m.test_code + "/" + str(m.seq): build_observation(m, pilot_ctx())[0].resource for m in pilot_measurements()
    }
    color = next(r for k, r in items.items() if k.startswith("COLOR/"))
    assert color["valueString"] == "N"
    less = next(r for r in items.values() if r.get("valueQuantity", {}).get("comparator"))
    assert less["valueQuantity"]["comparator"] == "<"
    not_done = [r for r in items.values() if r["status"] == "cancelled"]
    assert not_done
    assert all(r["dataAbsentReason"]["coding"][0]["code"] == "not-performed" for r in not_done)
    temp = next(r for k, r in items.items() if k.startswith("TEMP/"))
    assert temp["valueQuantity"]["code"] == "Cel"
    assert temp["category"][0]["coding"][0]["code"] == "vital-signs"
    assert all(math.isfinite(r["valueQuantity"]["value"]) for r in items.values() if "valueQuantity" in r)


@pytest.mark.parametrize("version", [FhirVersion.R4, FhirVersion.R5])
@pytest.mark.parametrize(
    ("path", "bad"),
    [
        ("effectiveDateTime", "2020-13-01"),
        ("effectiveDateTime", "2021-02-29"),  # matches the dateTime pattern; no such day (the model says so too)
        ("effectiveDateTime", "2020-04-31T08:00:00+01:00"),
        ("identifier", " "),
        ("valueQuantity", float("inf")),
        ("encounter.display", " "),  # the visit (VISIT, VISITNUM) varies per row too
        ("encounter.identifier", " "),
    ],
)
def test_fast_path_rejects_bad_varying_values(version: FhirVersion, path: str, bad: Any) -> None:
    ctx = pilot_ctx()
    validator = FastValidator(version)
    first = dataclasses.replace(pilot_measurements()[0], visit="WEEK 2", visit_number=4.0)
    item, plan = build_observation(first, ctx)
    validator.validate(item, plan.shape)
    res = dict(item.resource)
    if path == "identifier":
        res["identifier"] = [{"system": "s", "value": bad}]
    elif path == "valueQuantity":
        res["valueQuantity"] = {**res["valueQuantity"], "value": bad}
    elif path == "encounter.display":
        res["encounter"] = {**res["encounter"], "display": bad}
    elif path == "encounter.identifier":
        res["encounter"] = {**res["encounter"], "identifier": {"system": "s", "value": bad}}
    else:
        res[path] = bad
    with pytest.raises(ValidationFailed):
        validator.validate(Keyed(res, item.system, item.value), plan.shape)
    assert validator.fast == 0


def test_r4_time_without_zone_is_rejected_by_fast_check() -> None:
    ctx = pilot_ctx()
    validator = FastValidator(FhirVersion.R4)
    item, plan = build_observation(pilot_measurements()[0], ctx)
    validator.validate(item, plan.shape)
    res = {**item.resource, "effectiveDateTime": "2013-12-26T14:45:00"}
    with pytest.raises(ValidationFailed):
        validator.validate(Keyed(res, item.system, item.value), plan.shape)
