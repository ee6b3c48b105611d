"""Legacy ClinicalTrials.gov XML reader: both tag generations, unsafe and bad input, agreement with API v2."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from fhirconv.errors import InputError
from fhirconv.model.study import Study, StudyRecord
from fhirconv.readers.ctgov_v2 import read_v2_study
from fhirconv.readers.ctgov_xml import read_xml
from fhirconv.readers.failure import ReadFailure

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
XML_FILES = sorted(CORPUS.glob("*.xml"))


def read_one(name: str) -> Study:
    path = CORPUS / name
    items = list(read_xml(path.read_bytes(), str(path)))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, StudyRecord), str(item)
    assert item.format == "ctgov-xml"
    return item.study


def minimal(body: str = "", nct: str | None = "NCT00000001") -> str:
    ident = f"<nct_id>{nct}</nct_id>" if nct else ""
    return (
        f"<clinical_study><id_info><org_study_id>X-1</org_study_id>{ident}</id_info>"
        f"<brief_title>A study</brief_title><overall_status>Completed</overall_status>{body}</clinical_study>"
    )


def failure_of(data: bytes | str, source: str = "bad.xml") -> ReadFailure:
    raw = data.encode() if isinstance(data, str) else data
    items = list(read_xml(raw, source))
    assert len(items) == 1
    assert isinstance(items[0], ReadFailure)
    return items[0]


# --- the corpus ------------------------------------------------------------------------------------


def test_corpus_has_both_generations() -> None:
    # Guard for the tests below: the copied corpus must hold old (study_design) and new records.
    texts = [p.read_text(encoding="utf-8") for p in XML_FILES]
    assert len(XML_FILES) >= 60
    assert any("<study_design>" in t for t in texts)
    assert any("<study_design_info>" in t for t in texts)


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.stem)
def test_every_corpus_record_reads(path: Path) -> None:
    items = list(read_xml(path.read_bytes(), str(path)))
    assert len(items) == 1
    item = items[0]
    assert isinstance(item, StudyRecord), str(item)
    assert item.study.nct_id == path.stem
    assert item.study.brief_title
    for text in (item.study.brief_summary, item.study.eligibility.criteria):
        assert text is None or "\r" not in text  # CRLF sources leave no carriage returns


def test_new_generation_record() -> None:
    s = read_one("NCT02513394.xml")
    assert (s.brief_title, s.acronym) == ("PALbociclib CoLlaborative Adjuvant Study", "PALLAS")
    assert s.org_study_id == "AFT-05"
    assert [x.id for x in s.secondary_ids] == ["ABCSG 42", "BIG 14-03", "2014-005181-30"]
    assert s.overall_status == "ACTIVE_NOT_RECRUITING"
    assert s.design.study_type == "INTERVENTIONAL"
    assert s.design.phases == ["PHASE3"]
    assert s.design.allocation == "RANDOMIZED"
    assert s.design.masking == "NONE"
    assert s.design.enrollment is not None
    assert (s.design.enrollment.count, s.design.enrollment.type) == (5796, "ACTUAL")
    assert s.first_posted is not None
    assert (s.first_posted.date, s.first_posted.type) == ("2015-07-31", "ESTIMATED")  # posted before 2017: estimated
    assert s.lead_sponsor is not None
    assert (s.lead_sponsor.name, s.lead_sponsor.cls) == ("Alliance Foundation Trials, LLC.", "OTHER")
    assert [c.cls for c in s.collaborators][-1] == "INDUSTRY"  # Pfizer
    assert s.responsible_party is not None
    assert s.responsible_party.type == "SPONSOR"
    assert len(s.locations) == 233
    assert s.condition_meshes
    assert all(m.id is None for m in s.condition_meshes)
    arms = {a.label: a for a in s.arm_groups}
    # arm groups list no interventions in XML: rebuilt from each intervention's arm_group_label
    assert arms["Arm A"].intervention_names == ["Drug: Palbociclib", "Drug: Standard Adjuvant Endocrine Therapy"]
    assert arms["Arm B"].intervention_names == ["Drug: Standard Adjuvant Endocrine Therapy"]


def test_old_generation_record() -> None:
    s = read_one("NCT00002475.xml")
    # <study_design>Primary Purpose: Treatment</study_design>, gender "Both", firstreceived_date
    assert s.design.primary_purpose == "TREATMENT"
    assert s.design.allocation is None
    assert s.eligibility.sex == "ALL"
    assert s.first_submitted == "1999-11-01"
    assert s.last_update_posted is None  # lastchanged_date is a submission date, not a posting date
    assert s.start_date is not None
    assert (s.start_date.date, s.start_date.type) == ("1991-04", None)
    assert s.design.enrollment is not None
    assert s.design.enrollment.type == "ESTIMATED"  # "Anticipated"
    assert s.responsible_party is not None
    assert s.responsible_party.old_name_title == "Charles L. Wiseman"
    assert [(r.type, r.pmid) for r in s.references] == [("RESULT", "8368765")]


def test_old_design_string_with_masking() -> None:
    design = (
        "<study_type>Interventional</study_type><study_design>Allocation: Randomized, Endpoint Classification: "
        "Safety/Efficacy Study, Intervention Model: Parallel Assignment, Masking: Double Blind (Subject, "
        "Caregiver, Investigator, Outcomes Assessor), Primary Purpose: Treatment</study_design>"
    )
    item = next(read_xml(minimal(design).encode(), "old.xml"))
    assert isinstance(item, StudyRecord)
    d = item.study.design
    assert (d.allocation, d.intervention_model, d.primary_purpose) == ("RANDOMIZED", "PARALLEL", "TREATMENT")
    assert d.masking == "DOUBLE"
    assert d.who_masked == ["PARTICIPANT", "CARE_PROVIDER", "INVESTIGATOR", "OUTCOMES_ASSESSOR"]


def test_prose_quirks() -> None:
    registry = read_one("NCT01076361.xml")  # "Observational [Patient Registry]"
    assert (registry.design.study_type, registry.design.patient_registry) == ("OBSERVATIONAL", True)
    assert registry.eligibility.sampling_method == "NON_PROBABILITY_SAMPLE"
    withheld = read_one("NCT01827488.xml")  # unapproved device: study type "N/A", status "Withheld"
    assert (withheld.overall_status, withheld.design.study_type) == ("WITHHELD", None)
    volunteers = [read_one(p.name).eligibility.healthy_volunteers for p in XML_FILES[:20]]
    assert True in volunteers
    assert False in volunteers


# --- unsafe and bad input ------------------------------------------------------------------------


XXE = b"""<?xml version="1.0"?>
<!DOCTYPE clinical_study [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info><brief_title>&secret;</brief_title>
</clinical_study>"""

BILLION_LAUGHS = b"""<?xml version="1.0"?>
<!DOCTYPE lolz [
 <!ENTITY lol "lol">
 <!ENTITY lol1 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">
 <!ENTITY lol2 "&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;&lol1;">
 <!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">
 <!ENTITY lol4 "&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;&lol3;">
 <!ENTITY lol5 "&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;&lol4;">
 <!ENTITY lol6 "&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;&lol5;">
 <!ENTITY lol7 "&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;&lol6;">
 <!ENTITY lol8 "&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;&lol7;">
 <!ENTITY lol9 "&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;&lol8;">
]>
<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info><brief_title>&lol9;</brief_title>
</clinical_study>"""

EXTERNAL_DTD = b"""<?xml version="1.0"?>
<!DOCTYPE clinical_study SYSTEM "http://example.invalid/public.dtd">
<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info></clinical_study>"""


@pytest.mark.parametrize("data", [XXE, BILLION_LAUGHS, EXTERNAL_DTD], ids=["xxe", "billion-laughs", "external-dtd"])
def test_unsafe_xml_is_refused(data: bytes) -> None:
    failure = failure_of(data, "evil.xml")
    assert isinstance(failure.error, InputError)
    message = str(failure)
    assert message.startswith("evil.xml: unsafe XML refused")
    assert "lollollol" not in message
    assert "root:" not in message
    assert failure.error.hint
    assert "entity" in failure.error.hint


@pytest.mark.parametrize("data", [
    # EBCDIC bytes do not contain b"<!DOCTYPE"; the declared encoding alone keeps the file from the C parser.
    b'<?xml version="1.0" encoding="cp037"?>'
    + '<!DOCTYPE a [<!ENTITY x "y">]><clinical_study>&x;</clinical_study>'.encode("cp037"),
    '<!DOCTYPE a [<!ENTITY x "y">]><clinical_study>&x;</clinical_study>'.encode("utf-16"),
], ids=["ebcdic", "utf-16"])
def test_doctype_in_other_encodings_never_reaches_the_plain_parser(data: bytes) -> None:
    from fhirconv.readers.ctgov_xml import _has_no_dtd

    assert b"<!DOCTYPE" not in data
    assert not _has_no_dtd(data)
    failure = failure_of(data, "evil.xml")
    assert isinstance(failure.error, InputError)


@pytest.mark.parametrize("path", XML_FILES, ids=lambda p: p.name)
def test_plain_parser_gives_defusedxml_tree(path: Path) -> None:
    from xml.etree.ElementTree import tostring

    from defusedxml.ElementTree import fromstring

    from fhirconv.readers.ctgov_xml import _has_no_dtd, _parse

    data = path.read_bytes()
    assert _has_no_dtd(data)  # registry XML takes the C parser ...
    assert tostring(_parse(data, str(path))) == tostring(fromstring(data, forbid_dtd=True))  # ... to the same tree


@pytest.mark.parametrize("data", [b"<a>&foo;</a>", b"<a><b></a>", b"<a>\xff</a>", b"<a/><b/>", b"<a>&#0;</a>",
                                  b'<?xml version="1.0"?>\n<a x="1" x="2"/>', b"<a"])
def test_plain_parser_reports_what_defusedxml_reports(data: bytes) -> None:
    from xml.etree.ElementTree import ParseError

    from defusedxml.ElementTree import fromstring

    with pytest.raises(ParseError) as expected:
        fromstring(data, forbid_dtd=True)
    failure = failure_of(data, "bad.xml")
    assert str(failure) == f"bad.xml: malformed XML: {expected.value}"


def test_malformed_xml_names_the_file() -> None:
    failure = failure_of(minimal()[:-5], "broken.xml")
    assert failure.error.file == "broken.xml"
    assert "malformed XML" in str(failure)
    assert re.search(r"line \d+, column \d+", str(failure))


def test_record_without_nct_id() -> None:
    failure = failure_of(minimal(nct=None), "no-id.xml")
    assert (failure.error.file, failure.error.field) == ("no-id.xml", "id_info/nct_id")
    assert "no NCT ID" in str(failure)


def test_malformed_nct_id() -> None:
    failure = failure_of(minimal(nct="NCT123"), "bad-id.xml")
    assert failure.error.field == "id_info/nct_id"
    assert "'NCT123'" in str(failure)


def test_unknown_enum_names_file_record_and_field() -> None:
    bad = minimal().replace("<overall_status>Completed", "<overall_status>Sleeping")
    failure = failure_of(bad, "enum.xml")
    assert failure.nct_id == "NCT00000001"
    assert str(failure).startswith("enum.xml: record NCT00000001: field overall_status: unknown overall status")
    assert failure.error.hint
    assert "COMPLETED" in failure.error.hint


def test_bad_nested_value_names_its_path() -> None:
    bad = minimal(
        "<arm_group><arm_group_label>A</arm_group_label><arm_group_type>Sideways</arm_group_type></arm_group>"
    )
    failure = failure_of(bad, "arm.xml")
    assert failure.error.field == "arm_group[0]/arm_group_type"
    bad_date = minimal('<start_date type="Actual">Someday 2020</start_date>')
    assert failure_of(bad_date).error.field == "start_date"


def test_wrapper_with_several_studies_reports_each() -> None:
    good, bad = minimal(), minimal().replace("NCT00000001", "NCT00000002").replace("Completed", "Sleeping")
    items = list(read_xml(f"<search_results>{good}{bad}{good}</search_results>".encode(), "many.xml"))
    assert [type(i).__name__ for i in items] == ["StudyRecord", "ReadFailure", "StudyRecord"]
    assert [i.index for i in items] == [0, 1, 2]
    assert isinstance(items[1], ReadFailure)
    assert items[1].error.record == "NCT00000002"


def test_not_a_registry_record() -> None:
    failure = failure_of(b"<rss><channel/></rss>", "feed.xml")
    assert "no <clinical_study> element" in str(failure)


# --- the same study as API v2 JSON and as XML ------------------------------------------------------


def _words(text: str | None) -> list[str]:
    # The XML hard-wraps text blocks and writes list bullets as "-"; v2 keeps the submitted markdown.
    return [w for w in (text or "").split() if w not in ("*", "-")]


def test_same_study_as_v2_json_and_xml() -> None:
    v2 = read_v2_study(json.loads((CORPUS / "NCT02513394.json").read_text(encoding="utf-8")))
    xml = read_one("NCT02513394.xml")

    # Core elements that must agree.
    assert xml.nct_id == v2.nct_id
    assert (xml.brief_title, xml.official_title, xml.acronym) == (v2.brief_title, v2.official_title, v2.acronym)
    assert xml.org_study_id == v2.org_study_id
    assert [s.id for s in xml.secondary_ids] == [s.id for s in v2.secondary_ids]
    assert xml.overall_status == v2.overall_status
    assert xml.start_date == v2.start_date
    assert xml.first_submitted == v2.first_submitted
    assert xml.first_posted == v2.first_posted
    assert xml.design == v2.design  # type, phases, allocation, model, purpose, masking, enrollment
    assert [a.label for a in xml.arm_groups] == [a.label for a in v2.arm_groups]
    assert xml.arm_groups == v2.arm_groups  # types, descriptions, "Drug: ..." intervention names
    assert xml.interventions == v2.interventions
    assert xml.conditions == v2.conditions
    assert xml.keywords == v2.keywords
    assert [m.term for m in xml.condition_meshes] == [m.term for m in v2.condition_meshes]
    assert xml.lead_sponsor == v2.lead_sponsor
    assert [c.name for c in xml.collaborators] == [c.name for c in v2.collaborators]
    assert xml.responsible_party == v2.responsible_party
    assert xml.organization is not None
    assert v2.organization is not None
    assert xml.organization.name == v2.organization.name
    assert _words(xml.brief_summary) == _words(v2.brief_summary)
    xe, ve = xml.eligibility, v2.eligibility
    assert (xe.sex, xe.minimum_age, xe.maximum_age, xe.healthy_volunteers) == (
        ve.sex,
        ve.minimum_age,
        ve.maximum_age,
        ve.healthy_volunteers,
    )
    assert _words(xe.criteria) == _words(ve.criteria)
    assert xml.outcomes[0].measure == v2.outcomes[0].measure
    assert xml.locations[0].facility == v2.locations[0].facility

    # What legitimately differs. The XML is the registry's 2020-08-18 export, the JSON a 2023 version,
    # so record updates show: later verification / completion / update dates, sites closed and removed
    # (437 → 233 listed), a PI replaced, outcomes and references added with the posted results.
    assert (xml.status_verified_date, v2.status_verified_date) == ("2019-12", "2023-04")
    assert (xml.has_results, v2.has_results) == (False, True)
    assert (len(xml.locations), len(v2.locations)) == (233, 437)
    assert (len(xml.outcomes), len(v2.outcomes)) == (2, 5)
    assert (len(xml.references), len(v2.references)) == (0, 4)
    assert xml.officials[1:] == v2.officials[1:]
    # The XML's vocabularies are coarser: no organisation class for the registering organisation,
    # agency classes only NIH / U.S. Fed / Industry / Other (v2 says NETWORK), no secondary ID types,
    # no MeSH IDs, no standard age groups, no geo coordinates.
    assert xml.organization.cls is None
    assert v2.organization.cls == "OTHER"
    assert [c.cls for c in xml.collaborators][:2] == ["OTHER", "OTHER"]
    assert [c.cls for c in v2.collaborators][:2] == ["NETWORK", "NETWORK"]
    assert all(s.type is None for s in xml.secondary_ids)
    assert (xe.std_ages, ve.std_ages) == ([], ["ADULT", "OLDER_ADULT"])
    assert xml.locations[0].geo is None
    assert v2.locations[0].geo is not None


@pytest.mark.parametrize("site", [
    "<facility><name>A</name><address><city>C</city><country>X</country></address></facility>",
    "<facility><name>A</name></facility>",
    "<facility><address><city>C</city></address></facility><facility><name>B</name><address><zip>1</zip>"
    "<country>Y</country></address></facility>",
    "<facility><name>A</name><address><city>C</city></address><address><state>S</state></address></facility>",
], ids=["usual", "no-address", "two-facilities", "two-addresses"])
def test_site_fields_follow_the_element_paths(site: str) -> None:
    from xml.etree.ElementTree import fromstring

    data = minimal(f"<location>{site}<status>Recruiting</status></location>")
    [record] = list(read_xml(data.encode(), "site.xml"))
    assert isinstance(record, StudyRecord)
    [loc] = record.study.locations
    element = fromstring(f"<location>{site}</location>")

    def path(p: str) -> str | None:
        found = element.find(p)
        return found.text if found is not None else None

    assert (loc.facility, loc.city, loc.state, loc.zip, loc.country) == (
        path("facility/name"), path("facility/address/city"), path("facility/address/state"),
        path("facility/address/zip"), path("facility/address/country"))
