"""Hostile registry records end quickly with a clean error naming file, record and field (exit 1), or
convert (exit 0): long whitespace runs, huge integers, deep nesting, lone surrogates, cut tables.

Each case once hung for a minute or more, or exited 70 ("a bug in fhirconv"), in a fuzzing campaign."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import cut
from fhirconv.readers import ReadFailure, read_bytes

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "ctgov-corpus"
PAGE = (DATA / "seed" / "NCT04382547.txt").read_text()
V2 = json.loads((CORPUS / "NCT00763412.json").read_text())
XML = (CORPUS / "NCT00023673.xml").read_text()
CLASSIC = (CORPUS / "NCT00023673.classic.json").read_text()
RUN = " " * 40_000
SECONDS = 5.0  # each case took over a minute before; a clean answer takes milliseconds


def _v2(**design: Any) -> str:
    record = json.loads(json.dumps(V2))
    record["protocolSection"].setdefault("designModule", {}).update(design)
    return json.dumps(record)


def _sponsor(raw_json_string: str) -> str:
    record = json.loads(json.dumps(V2))
    record["protocolSection"]["sponsorCollaboratorsModule"]["leadSponsor"]["name"] = "@@"
    return json.dumps(record).replace('"@@"', raw_json_string)


def _geo(lat: Any) -> str:
    record = json.loads(json.dumps(V2))
    record["protocolSection"]["contactsLocationsModule"]["locations"][0]["geoPoint"]["lat"] = lat
    return json.dumps(record)


def _count(value: Any) -> str:
    return _v2(enrollmentInfo={"count": value})


def _page(old: str, new: str) -> str:
    assert old in PAGE
    return PAGE.replace(old, new)


def _arms_cut() -> str:
    """The page with its first arm's label and description lines gone: the row opens with '|'."""
    lines = PAGE.split("\n")
    first_arm = next(i for i, line in enumerate(lines) if line.startswith("Experimental:"))
    return "\n".join(lines[:first_arm] + lines[first_arm + 2 :])


_STUDY_TYPE = "Study Type : | Interventional (Clinical Trial) |"
_OUTCOME = "- Number of cured patients [ Time Frame: 3 weeks ]"
_MASKING = "Masking: | None (Open Label) |"

# name, file name, content, expected exit code, field named in the error (None: converts)
CASES: list[tuple[str, str, str, int, str | None]] = [
    ("v2 phases of 40,000 spaces", "a.json", _v2(phases=[RUN]), 0, None),
    ("v2 phase then 40,000 spaces", "a.json", _v2(phases=["PHASE1" + RUN + "x"]), 1, "designModule.phases"),
    (
        "v2 masking of spaces",
        "a.json",
        _v2(designInfo={"maskingInfo": {"masking": "DOUBLE" + RUN + "x"}}),
        1,
        "designInfo.maskingInfo.masking",
    ),
    (
        "v2 integer of 5,000 digits",
        "a.json",
        json.dumps(V2).replace('"protocolSection"', '"x": ' + "1" * 5000 + ', "protocolSection"', 1),
        1,
        "field x",
    ),
    (
        "v2 integer of 5,000 digits in a field",
        "a.json",
        _v2(enrollmentInfo={"count": 7}).replace('"count": 7', '"count": ' + "9" * 5000),
        1,
        "designModule.enrollmentInfo.count",
    ),
    ("v2 NaN", "a.json", _v2(enrollmentInfo={"count": 7}).replace('"count": 7', '"count": NaN'), 1, "count"),
    ("v2 lone surrogate in the sponsor", "a.json", _sponsor('"Acme \\ud800 Inc"'), 1, "leadSponsor.name"),
    ("v2 lone low surrogate", "a.json", _sponsor('"\\udfff"'), 1, "leadSponsor.name"),
    ("NDJSON lone surrogate", "a.ndjson", _sponsor('"\\ud800"') + "\n" + json.dumps(V2) + "\n", 1, "leadSponsor"),
    ("JSON nested 100,000 deep", "a.json", "[" * 100_000 + "]" * 100_000, 1, None),
    ("JSON object nested 50,000 deep", "a.json", '{"a":' * 50_000 + "1" + "}" * 50_000, 1, None),
    # Found by the fuzz campaign (tests/fuzz/campaign.py): exit 70 before.
    ("fuzz: v2 latitude an object", "a.json", _geo({"x": 1}), 1, "geoPoint.lat"),
    ("fuzz: v2 latitude a list", "a.json", _geo([1.5]), 1, "geoPoint.lat"),
    ("fuzz: v2 enrollment count a list", "a.json", _count([7]), 1, "enrollmentInfo.count"),
    (
        "fuzz: XML declaring an unknown encoding",
        "a.xml",
        XML.replace('encoding="UTF-8"', 'encoding="UXF-8"', 1),
        1,
        None,
    ),
    (
        "page Study Type of spaces",
        "a.txt",
        _page(_STUDY_TYPE, "Study Type : | Interventional" + RUN + "x |"),
        1,
        "Study Type",
    ),
    (
        "page Study Type, spaces around (Clinical Trial)",
        "a.txt",
        _page(_STUDY_TYPE, "Study Type : | Interventional" + RUN + "(Clinical Trial)" + RUN + "|"),
        0,
        None,
    ),
    ("page outcome of spaces", "a.txt", _page(_OUTCOME, "- cured" + RUN + "[" + RUN + "Time Frame:" + RUN), 0, None),
    ("page outcome dash and spaces", "a.txt", _page(_OUTCOME, "-" + RUN + "x"), 0, None),
    ("page masking of spaces", "a.txt", _page(_MASKING, "Masking: | Double (" + RUN + "x) |"), 1, "Masking"),
    (
        "page status of spaces",
        "a.txt",
        _page("Recruitment Status :", "Recruitment Status :" + RUN + "x" + RUN),
        1,
        None,
    ),
    (
        "page identifier of spaces",
        "a.txt",
        _page(
            "ClinicalTrials.gov Identifier:",
            "ClinicalTrials.gov Identifier:" + RUN + "x\nClinicalTrials.gov Identifier:",
        ),
        0,
        None,
    ),
    ("page arms table cut", "a.txt", _arms_cut(), 1, "Arm"),
    (
        "XML masking of spaces",
        "a.xml",
        re.sub(r"<masking>[^<]*</masking>", "<masking>Double (" + RUN + "x)</masking>", XML),
        1,
        "study_design_info/masking",
    ),
    (
        "XML phase of spaces",
        "a.xml",
        re.sub(r"<phase>[^<]*</phase>", "<phase>Phase 1" + RUN + "x</phase>", XML),
        1,
        "phase",
    ),
    (
        "classic masking of spaces",
        "a.json",
        CLASSIC.replace('"DesignMasking":"None (Open Label)"', '"DesignMasking":"Double (' + RUN + "x, " + RUN + ')"'),
        1,
        "DesignMasking",
    ),
]


@pytest.fixture(scope="module", autouse=True)
def _warm(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Convert a plain record once, outside the time bound: the first run loads the validation data."""
    out = tmp_path_factory.mktemp("warm") / "out.json"
    assert CliRunner().invoke(main, ["convert", str(CORPUS / "NCT00763412.json"), "-o", str(out)]).exit_code == 0


@pytest.mark.parametrize(("name", "file", "content", "code", "field"), CASES, ids=[c[0] for c in CASES])
def test_cli_ends_quickly_with_a_clean_answer(
    tmp_path: Path, name: str, file: str, content: str, code: int, field: str | None
) -> None:
    path = tmp_path / file
    path.write_text(content, encoding="utf-8", errors="surrogatepass")
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "out.json")])
    took = time.perf_counter() - start
    assert took < SECONDS, f"{name}: took {took:.1f} s"
    assert result.exit_code == code, result.output
    assert "Traceback" not in result.output
    assert "internal error" not in result.output
    if code:
        error = next(line for line in result.stderr.splitlines() if line.startswith("error:"))
        assert str(path) in error
        if field:
            assert field in error
        assert len(error) < 600, f"a value was echoed whole: {len(error)} characters"


def test_reader_names_record_and_field_of_a_huge_integer() -> None:
    data = _v2(enrollmentInfo={"count": 7}).replace('"count": 7', '"count": ' + "9" * 5000).encode()
    (failure,) = read_bytes(data, "a.json")
    assert isinstance(failure, ReadFailure)
    assert failure.error.record == "NCT00763412"
    assert failure.error.field == "protocolSection.designModule.enrollmentInfo.count"
    assert "integer of 5,000 digits" in failure.error.message


def test_a_bad_record_in_a_page_leaves_the_others_converting() -> None:
    bad = json.loads(_sponsor('"x"'))
    page = json.dumps({"studies": [V2, bad, V2]}).replace('"name": "x"', '"name": "\\ud800"').encode()
    items = list(read_bytes(page, "page.json"))
    assert [isinstance(i, ReadFailure) for i in items] == [False, True, False]


def test_long_integers_within_the_limit_still_read() -> None:
    data = _v2(enrollmentInfo={"count": 7}).replace('"count": 7', '"count": ' + "1" * 19).encode()
    (record,) = read_bytes(data, "a.json")
    assert not isinstance(record, ReadFailure)
    assert record.study.design.enrollment is not None
    assert record.study.design.enrollment.count == int("1" * 19)


def test_a_huge_key_is_not_echoed_whole() -> None:
    (failure,) = read_bytes(json.dumps({"k" * 1_000_000: 1}).encode(), "a.json")
    assert isinstance(failure, ReadFailure)
    assert len(str(failure.error)) < 300


def test_cut_keeps_short_values_and_cuts_long_ones() -> None:
    assert cut("Phase 9") == "'Phase 9'"
    assert cut(12) == "12"
    long = cut("x" * 20_000_000)
    assert long.startswith("'" + "x" * 80 + "'…")
    assert "20,000,000 characters" in long
    assert len(long) < 120
