"""Every leaf value of every corpus record (API v2 JSON, classic API JSON, legacy XML) is placed in the FHIR
output of both versions, or its field path is listed in the "Deliberately not placed" table of
mappings/README.md with the reason.

How a value counts as placed is decided in tests/placement.py (its docstring has the rules): the value after
the mapping's own normalisations (markdown escapes, whitespace, dates, enums through the same ConceptMaps,
ages as durations), found as a whole segment of an output string (never inside another word or sentence), as a
Coding code, or, for booleans and values written as structure, at the one element listed for them; values that
do not identify themselves (numbers, enums, dates, short strings) must sit in a resource where a distinctive
value of the same source object was placed (a site's zip code in that site's Location).

So a field a new record brings that fhirconv neither places nor lists fails here, and so does a row of the table
for a field that is now placed (the table must shrink as fields are placed). New rows, with the paths and
versions filled in: `python benchmarks/placement_share.py --missing`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from placement import (
    Leaf,
    Tally,
    found_in,
    index_output,
    iter_missing,
    not_placed_table,
    place,
    read_record,
    tally,
)

from fhirconv.versions import FhirVersion


@pytest.fixture(scope="module")
def corpus_tally() -> Tally:
    return tally()


def unlisted(t: Tally, readme: Path | None = None) -> list[str]:
    table = not_placed_table() if readme is None else not_placed_table(readme)
    out = []
    for path, versions in iter_missing(t):
        row = table.get(path)
        left = versions - (row.versions if row else frozenset())
        for version in sorted(left):
            out.append(f"{path} ({version}; e.g. {t.example[(path, version)]})")
    return out


def test_every_leaf_is_placed_or_listed(corpus_tally: Tally) -> None:
    missing = unlisted(corpus_tally)
    assert not missing, (
        f"{len(missing)} field(s) neither placed nor listed in mappings/README.md 'Deliberately not placed' "
        "(rows: python benchmarks/placement_share.py --missing):\n" + "\n".join(missing))


def test_the_table_lists_only_what_is_not_placed(corpus_tally: Tally) -> None:
    stale = []
    for path, row in not_placed_table().items():
        assert row.reason, f"{path}: a row needs its reason"
        assert row.versions, f"{path}: a row names the versions it is not placed in"
        assert row.versions <= {"R4", "R5"}, f"{path}: versions must be R4 and/or R5"
        if corpus_tally.seen[path] == 0:
            continue  # a field the corpus does not hold: kept for the spec's sake, nothing to measure
        stale += [f"{path} ({v})" for v in sorted(row.versions) if not corpus_tally.missing[(path, v)]]
    assert not stale, "placed now, remove from the table: " + ", ".join(stale)


def test_a_new_field_neither_placed_nor_listed_fails(tmp_path: Path) -> None:
    record = json.loads((Path(__file__).parent / "data" / "ctgov-corpus" / "NCT02513394.json").read_text())
    record["protocolSection"]["designModule"]["surpriseInfo"] = {"note": "A field no reader knows"}
    path = tmp_path / "NCT02513394.json"
    path.write_text(json.dumps(record), encoding="utf-8")
    missing = unlisted(tally([path]))
    new = [m for m in missing if "surprise" in m]
    assert [m.split(" (")[0] for m in new] == ["protocolSection.designModule.surpriseInfo.note"] * 2
    assert {m.split(" (")[1][:2] for m in new} == {"R4", "R5"}


def _out(*resources: dict[str, Any]) -> Any:
    return index_output(list(resources))


def test_a_value_inside_another_sentence_is_not_placed() -> None:
    out = _out({"resourceType": "ResearchStudy", "title": "Aspirin for Breast Cancer Prevention",
                "condition": [{"text": "Drug: Aspirin; Other: Placebo"}]})
    assert not found_in(Leaf("x", "Breast Cancer", 0), out)  # inside a title: not a placement
    assert found_in(Leaf("x", "aspirin for breast  cancer\nprevention", 0), out) == {0}  # case, whitespace
    assert found_in(Leaf("x", "Placebo", 0), out) == {0}  # a segment of a join the mapping makes
    assert not found_in(Leaf("x", "Plac", 0), out)


def test_enums_dates_and_ages_are_compared_as_the_mapping_writes_them() -> None:
    out = _out({"resourceType": "ResearchStudy", "status": "active",
                "phase": {"coding": [{"code": "phase-2"}], "text": "Phase 2"},
                "period": {"start": "2015-08-03"}},
               {"resourceType": "Group", "characteristic": [
                   {"valueRange": {"low": {"value": 3, "code": "mo"}, "high": {"value": 204, "code": "mo"}}}]})
    assert found_in(Leaf("p.phases", "PHASE2", 0), out) == {0}
    assert found_in(Leaf("clinical_study.phase", "Phase 2", 0), out) == {0}
    assert found_in(Leaf("clinical_study.start_date", "August 3, 2015", 0), out) == {0}
    assert found_in(Leaf("e.maximumAge", "17 Years", 0), out) == {1}
    assert not found_in(Leaf("e.maximumAge", "18 Years", 0), out)


def test_booleans_count_only_at_their_element() -> None:
    out = _out({"resourceType": "Group", "actual": False, "characteristic": [{"valueBoolean": True}]})
    assert found_in(Leaf("eligibilityModule.healthyVolunteers", True, 0), out) == {0}
    assert not found_in(Leaf("oversightModule.oversightHasDmc", False, 0), out)  # 'false' elsewhere is no home


def test_a_site_value_must_be_in_that_site() -> None:
    record = read_record(Path(__file__).parent / "data" / "ctgov-corpus" / "NCT02513394.json")
    result = place(record, FhirVersion.R5)
    zips = [ok for leaf, ok in zip(record.leaves, result.placed, strict=True)
            if leaf.path.endswith("locations.zip")]
    assert zips
    assert all(zips)
    # The same zip code moved to another site's object is not placed there: it is looked for in that site only.
    city = {leaf.group: leaf.value for leaf in record.leaves if leaf.path.endswith("locations.city")}
    leaves = [(i, leaf) for i, leaf in enumerate(record.leaves) if leaf.path.endswith("locations.zip")]
    i, a = leaves[0]
    b = next(x for _, x in leaves if city.get(x.group) != city.get(a.group))  # a site in another city
    record.leaves[i] = Leaf(a.path, b.value, a.group)
    assert not place(record, FhirVersion.R5).placed[i]
