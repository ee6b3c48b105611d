"""The reader dispatcher: sources (files, directories, stdin), format detection by content, failures per record."""

from __future__ import annotations

import io
import json
import shutil
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import ExitCode, InputError, UsageError
from fhirconv.model.study import StudyRecord
from fhirconv.readers import ReadFailure, read_bytes, read_sources, read_study

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
V2_STUDY = CORPUS / "NCT00973089.json"
CLASSIC_STUDY = CORPUS / "NCT04779697.classic.json"


def _v2(name: str = "NCT00973089.json") -> dict[str, Any]:
    data: dict[str, Any] = json.loads((CORPUS / name).read_bytes())
    return data


def _records(items: list[StudyRecord | ReadFailure]) -> list[StudyRecord]:
    return [i for i in items if isinstance(i, StudyRecord)]


def _failures(items: list[StudyRecord | ReadFailure]) -> list[ReadFailure]:
    return [i for i in items if isinstance(i, ReadFailure)]


def test_whole_corpus_directory_reads_without_failure() -> None:
    items = list(read_sources([str(CORPUS)]))
    assert _failures(items) == []
    formats = Counter(r.format for r in _records(items))
    # v2: 17 studies + 20 partial + 24 in pages; classic: 205 studies + 206 in pages; XML: 67 files.
    assert formats == {"ctgov-v2": 61, "ctgov-classic": 411, "ctgov-xml": 67}
    # Directory order is sorted and recursive; SOURCES.md and the spec/ files are not records.
    sources = [r.source for r in _records(items)]
    assert sources == sorted(sources, key=lambda s: Path(s).parts)
    assert not any(s.endswith((".md", ".yaml", ".xsd")) for s in sources)


def test_format_detected_by_content_not_name(tmp_path: Path) -> None:
    shutil.copy(CLASSIC_STUDY, tmp_path / "a.data")
    shutil.copy(V2_STUDY, tmp_path / "b")
    shutil.copy(CORPUS / "NCT01207388.xml", tmp_path / "c.json")
    shutil.copy(CORPUS / "NCT03475563.json", tmp_path / "d.xml")
    items = list(read_sources([str(tmp_path / n) for n in ("a.data", "b", "c.json", "d.xml")]))
    assert [(r.format, r.study.nct_id) for r in _records(items)] == [
        ("ctgov-classic", "NCT04779697"),
        ("ctgov-v2", "NCT00973089"),
        ("ctgov-xml", "NCT01207388"),
        ("ctgov-v2", "NCT03475563"),
    ]


def test_v2_page_records_are_indexed() -> None:
    page = CORPUS / "pages" / "genomoncology__biomcp" / "search_phelan_limit5_20260811.json"
    items = list(read_sources([str(page)]))
    records = _records(items)
    assert len(records) == len(items) == 5
    assert [r.index for r in records] == [0, 1, 2, 3, 4]
    assert all(r.study.partial for r in records)  # the page was fetched with fields=
    assert all(r.source == str(page) for r in records)


def test_classic_page() -> None:
    items = list(read_sources([str(CORPUS / "pages" / "ctti-clinicaltrials__aact" / "results_2.json")]))
    assert [(r.format, r.index) for r in _records(items)] == [("ctgov-classic", i) for i in range(3)]


def test_ndjson_with_a_bad_line_keeps_the_others(tmp_path: Path) -> None:
    good = [_v2("NCT00973089.json"), _v2("NCT03475563.json"), _v2("partial/NCT02576665.json")]
    lines = [json.dumps(good[0]), '{"protocolSection": {"identificationModule": ', "", json.dumps(good[1])]
    bad_enum = _v2("NCT06171568.json")
    bad_enum["protocolSection"]["statusModule"]["overallStatus"] = "ON_HOLD"
    lines += [json.dumps(bad_enum), json.dumps(good[2])]
    path = tmp_path / "studies.ndjson"
    path.write_text("\r\n".join(lines) + "\r\n", encoding="utf-8")

    items = list(read_sources([str(path)]))
    assert len(items) == 5  # the blank line is no record
    ok = _records(items)
    assert [(r.index, r.study.nct_id) for r in ok] == [(0, "NCT00973089"), (2, "NCT03475563"), (4, "NCT02576665")]
    assert all(r.format == "ctgov-v2" for r in ok)

    broken, unknown = _failures(items)
    assert (broken.index, broken.nct_id) == (1, None)
    assert broken.error.file == str(path)
    assert broken.error.record == "1"
    assert "line 2" in broken.error.message
    assert (unknown.index, unknown.nct_id) == (3, "NCT06171568")
    assert unknown.error.record == "NCT06171568"
    assert unknown.error.field == "statusModule.overallStatus"
    assert str(unknown) == (
        f"{path}: record NCT06171568: field statusModule.overallStatus: unknown overall status value 'ON_HOLD'"
    )


def test_ndjson_saved_as_json_and_one_line_jsonl(tmp_path: Path) -> None:
    two = tmp_path / "two.json"
    two.write_text(json.dumps(_v2()) + "\n" + json.dumps(_v2("NCT03475563.json")) + "\n", encoding="utf-8")
    one = tmp_path / "one.jsonl"
    one.write_text(json.dumps(_v2()) + "\n", encoding="utf-8")
    items = list(read_sources([str(two), str(one)]))
    assert [(r.source, r.index) for r in _records(items)] == [(str(two), 0), (str(two), 1), (str(one), 0)]


def test_stdin(monkeypatch: pytest.MonkeyPatch) -> None:
    page = {"studies": [_v2(), _v2("NCT03475563.json")], "nextPageToken": "abc"}
    stdin = io.TextIOWrapper(io.BytesIO(json.dumps(page).encode()), encoding="utf-8")
    monkeypatch.setattr("sys.stdin", stdin)
    items = list(read_sources(["-"]))
    assert [(r.source, r.index, r.study.nct_id) for r in _records(items)] == [
        ("<stdin>", 0, "NCT00973089"),
        ("<stdin>", 1, "NCT03475563"),
    ]


def test_utf8_bom_is_accepted() -> None:
    [item] = read_bytes(b"\xef\xbb\xbf" + V2_STUDY.read_bytes(), "bom.json")
    assert isinstance(item, StudyRecord)
    assert item.study.nct_id == "NCT00973089"


def test_leading_whitespace_does_not_hide_the_format() -> None:
    [item] = read_bytes(b" \t\r\n" + V2_STUDY.read_bytes(), "spaced.txt")
    assert isinstance(item, StudyRecord)
    assert item.format == "ctgov-v2"
    # Vertical tab and form feed are whitespace to the format sniffing (bytes.lstrip) but not to JSON.
    [failure] = read_bytes(b"\x0b\x0c" + V2_STUDY.read_bytes(), "spaced.txt")
    assert isinstance(failure, ReadFailure)
    assert "malformed JSON" in str(failure.error)
    [xml_failure] = read_bytes(b"\x0c\n" + b"<clinical_study/>", "spaced.txt")
    assert isinstance(xml_failure, ReadFailure)
    assert "XML" in str(xml_failure.error)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b'{"protocolSection": {"identificationModule": {"nctId": "NCT00973089"}', "malformed JSON"),
        (b'{"StudyFieldsResponse": {"StudyFields": []}}', "not a ClinicalTrials.gov study record"),
        (b"[1, 2]", "not a ClinicalTrials.gov study record"),
        (b'"NCT00973089"', "not a ClinicalTrials.gov study record"),
        (b"   \n", "empty file"),
        (b'{"studies": "none"}', "not a list"),
        (b"\xff\xfe\x00binary", "not a study record"),
    ],
)
def test_not_a_study_record(tmp_path: Path, content: bytes, message: str) -> None:
    path = tmp_path / "input.json"
    path.write_bytes(content)
    items = list(read_sources([str(path)]))
    assert items
    failure = _failures(items)[0]
    assert message in failure.error.message
    assert failure.error.file == str(path)
    assert failure.error.hint
    assert isinstance(failure.error, InputError)
    assert failure.error.exit_code == ExitCode.INVALID


def test_malformed_json_names_line_and_column(tmp_path: Path) -> None:
    path = tmp_path / "broken.json"
    path.write_text('{\n  "protocolSection": {\n    "identificationModule": [,]\n  }\n}\n', encoding="utf-8")
    [failure] = read_sources([str(path)])
    assert isinstance(failure, ReadFailure)
    assert "line 3 column 30" in failure.error.message


def test_page_with_one_bad_study_converts_the_others(tmp_path: Path) -> None:
    no_id = _v2("NCT03475563.json")
    del no_id["protocolSection"]["identificationModule"]["nctId"]
    page = {"studies": [_v2(), no_id, "junk", _v2("NCT06171568.json")]}
    path = tmp_path / "page.json"
    path.write_text(json.dumps(page), encoding="utf-8")
    items = list(read_sources([str(path)]))
    assert [r.index for r in _records(items)] == [0, 3]
    missing, junk = _failures(items)
    assert (missing.index, missing.nct_id, missing.error.record) == (1, None, "1")
    assert missing.error.field == "identificationModule.nctId"
    assert missing.error.file == str(path)
    assert junk.index == 2
    assert "not a ClinicalTrials.gov study record" in junk.error.message


def test_missing_file_and_empty_directory_are_usage_errors(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "notes.md").write_text("not a record", encoding="utf-8")
    items = list(read_sources([str(tmp_path / "nope.json"), str(tmp_path / "empty"), str(V2_STUDY)]))
    missing, empty = _failures(items)
    assert isinstance(missing.error, UsageError)
    assert missing.error.file == str(tmp_path / "nope.json")
    assert isinstance(empty.error, UsageError)
    assert "no study files" in empty.error.message
    assert [r.study.nct_id for r in _records(items)] == ["NCT00973089"]  # the run goes on


def test_read_study() -> None:
    study = read_study(V2_STUDY)
    assert study.nct_id == "NCT00973089"
    assert read_study(str(CLASSIC_STUDY)).nct_id == "NCT04779697"


def test_read_study_errors(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="holds 3 study records"):
        read_study(CORPUS / "pages" / "ctti-clinicaltrials__aact" / "results_2.json")
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(InputError, match="malformed JSON") as info:
        read_study(bad)
    assert info.value.file == str(bad)


def test_same_study_as_v2_json_and_legacy_xml_has_the_same_core() -> None:
    # The XML copy is an older registry version (2020 vs 2023): status dates, officials, secondary
    # outcomes and references moved on since. The core that identifies and describes the trial must read the same.
    v2 = read_study(CORPUS / "NCT02513394.json")
    xml = read_study(CORPUS / "NCT02513394.xml")
    for name in ("nct_id", "brief_title", "official_title", "acronym", "org_study_id", "overall_status"):
        assert getattr(v2, name) == getattr(xml, name), name
    assert v2.start_date == xml.start_date
    assert v2.lead_sponsor is not None
    assert xml.lead_sponsor is not None
    assert v2.lead_sponsor.name == xml.lead_sponsor.name
    assert [c.name for c in v2.collaborators] == [c.name for c in xml.collaborators]
    assert [s.id for s in v2.secondary_ids] == [s.id for s in xml.secondary_ids]
    assert v2.design == xml.design
    assert v2.conditions == xml.conditions
    assert v2.keywords == xml.keywords
    assert [m.term for m in v2.condition_meshes] == [m.term for m in xml.condition_meshes]
    assert v2.arm_groups == xml.arm_groups
    assert [(i.name, i.type, i.arm_group_labels) for i in v2.interventions] == [
        (i.name, i.type, i.arm_group_labels) for i in xml.interventions
    ]
    assert [o.measure for o in v2.outcomes if o.kind == "primary"] == [
        o.measure for o in xml.outcomes if o.kind == "primary"
    ]
    e1, e2 = v2.eligibility, xml.eligibility  # std_ages: derived by the registry, absent from legacy XML
    assert (e1.sex, e1.minimum_age, e1.maximum_age, e1.healthy_volunteers) == (
        e2.sex,
        e2.minimum_age,
        e2.maximum_age,
        e2.healthy_volunteers,
    )
    # Sites: the 2020 XML lists 233 (North America), the 2023 v2 record 437; the first is the same.
    assert (v2.locations[0].facility, v2.locations[0].city) == (xml.locations[0].facility, xml.locations[0].city)


def test_json_beyond_the_fast_parser_still_reads() -> None:
    # orjson refuses integers beyond 64 bits; the json fallback reads them instead of calling the
    # file malformed.
    data = _v2()
    data["protocolSection"]["designModule"]["enrollmentInfo"]["count"] = 10**20
    [record] = read_bytes(json.dumps(data).encode(), "big.json")
    assert isinstance(record, StudyRecord)
    assert record.study.design.enrollment is not None
    assert record.study.design.enrollment.count == 10**20


def test_other_text_goes_to_the_page_text_reader(tmp_path: Path) -> None:
    pytest.importorskip("fhirconv.readers.ctgov_page_text")  # part B's reader
    path = tmp_path / "notes.txt"
    path.write_text("Shopping list: milk, eggs.\n", encoding="utf-8")
    [failure] = read_sources([str(path)])
    assert isinstance(failure, ReadFailure)
    assert failure.error.file == str(path)
    assert isinstance(failure.error, InputError)


def test_binary_file_is_not_a_study(tmp_path: Path) -> None:
    path = tmp_path / "image.txt"
    path.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\xff\xfe")
    [failure] = read_sources([str(path)])
    assert isinstance(failure, ReadFailure)
    assert "not a study record" in failure.error.message


def test_classic_page_without_a_study_list(tmp_path: Path) -> None:
    path = tmp_path / "page.json"
    path.write_text('{"FullStudiesResponse": {"NStudiesFound": 0, "FullStudies": {}}}', encoding="utf-8")
    [failure] = read_sources([str(path)])
    assert isinstance(failure, ReadFailure)
    assert failure.error.field == "FullStudiesResponse.FullStudies"
    assert failure.error.file == str(path)
