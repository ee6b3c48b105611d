"""Registry page text reader: the reference trial's page, the same layout for other studies, bad pages."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from fhirconv.errors import InputError
from fhirconv.model.study import Study, StudyRecord
from fhirconv.readers import read_bytes
from fhirconv.readers.ctgov_page_text import parse_page_text, read_page_text, split_terms

DATA = Path(__file__).parent / "data"
SEED = DATA / "seed" / "NCT04382547.txt"
PAGE = SEED.read_text(encoding="utf-8")


def test_example_copy_is_the_seed() -> None:
    example = Path(__file__).parent.parent / "examples" / "NCT04382547" / "NCT04382547.txt"
    assert example.read_bytes() == SEED.read_bytes()


def test_reference_trial_every_field_the_page_shows() -> None:
    s, extras = parse_page_text(PAGE, str(SEED))
    title = (
        "Treatment of Covid-19 Associated Pneumonia With Allogenic Pooled Olfactory Mucosa-derived "
        "Mesenchymal Stem Cells"
    )
    assert s.nct_id == "NCT04382547"
    assert s.brief_title == title
    assert s.official_title == title
    assert s.overall_status == "COMPLETED"
    assert s.first_posted is not None
    assert s.first_posted.date == "2020-05-11"
    assert s.last_update_posted is not None
    assert s.last_update_posted.date == "2021-08-23"
    assert s.has_results is False  # "No Results Posted"
    # The conditions cell lost its separators; recovered with MeSH headings and the inverted-form rule.
    assert s.conditions == [
        "COVID", "Covid-19", "Coronavirus", "Pneumonia", "Pneumonia, Viral", "Pneumonia, Interstitial", "Sars-CoV2",
    ]  # fmt: skip
    assert [(i.type, i.name) for i in s.interventions] == [
        ("BIOLOGICAL", "Allogenic pooled olfactory mucosa-derived mesenchymal stem cells"),
        ("OTHER", "Standard treatment according to the Clinical protocols"),
    ]
    assert s.interventions[0].description == "Allogenic pooled olfactory mucosa-derived mesenchymal stem cells"
    assert s.interventions[1].description == "Standard treatment according to the Clinical protocols"
    assert s.interventions[0].arm_group_labels == ["mesenchymal stem cells"]
    assert s.interventions[1].arm_group_labels == ["mesenchymal stem cells", "control"]
    assert s.design.phases == ["PHASE1", "PHASE2"]
    assert s.brief_summary is not None
    assert s.brief_summary.startswith("During the implementation of the project, it is planned")
    assert s.brief_summary.endswith("and the first clinical studies in patients.")
    assert s.brief_summary.count("\n- ") == 4

    d = s.design
    assert d.study_type == "INTERVENTIONAL"
    assert d.enrollment is not None
    assert (d.enrollment.count, d.enrollment.type) == (32, "ACTUAL")
    assert (d.allocation, d.intervention_model, d.masking, d.who_masked, d.primary_purpose) == (
        "NON_RANDOMIZED", "PARALLEL", "NONE", [], "TREATMENT",
    )  # fmt: skip
    assert s.start_date is not None
    assert (s.start_date.date, s.start_date.type) == ("2020-05-11", "ACTUAL")
    assert s.primary_completion_date is not None
    assert (s.primary_completion_date.date, s.primary_completion_date.type) == ("2021-06-30", "ACTUAL")
    assert s.completion_date is not None
    assert (s.completion_date.date, s.completion_date.type) == ("2021-06-30", "ACTUAL")

    assert [(a.type, a.label) for a in s.arm_groups] == [
        ("EXPERIMENTAL", "mesenchymal stem cells"),
        ("ACTIVE_COMPARATOR", "control"),
    ]
    assert s.arm_groups[0].description == (
        "Patients with Covid-19 associated pneumonia receiving standard treatment and allogenic pooled "
        "olfactory mucosa-derived mesenchymal stem cells"
    )
    assert s.arm_groups[0].intervention_names == [
        "Biological: Allogenic pooled olfactory mucosa-derived mesenchymal stem cells",
        "Other: Standard treatment according to the Clinical protocols",
    ]
    assert s.arm_groups[1].intervention_names == ["Other: Standard treatment according to the Clinical protocols"]

    assert [(o.kind, o.measure, o.time_frame) for o in s.outcomes] == [
        ("primary", "Number of cured patients", "3 weeks"),
        ("primary", "Number of patients with treatment-related adverse events", "3 weeks"),
    ]
    assert s.outcomes[0].description == "Number of patients cured, assessed by PCR in addition to chest CT scan"

    e = s.eligibility
    assert e.minimum_age is not None
    assert e.maximum_age is not None
    assert (e.minimum_age.value, e.minimum_age.unit, e.maximum_age.value) == (18, "years", 70)
    assert e.std_ages == ["ADULT", "OLDER_ADULT"]
    assert (e.sex, e.healthy_volunteers) == ("ALL", False)
    assert e.criteria == (
        "Inclusion Criteria:\n- PCR-confirmed Covid-19 pneumonia\n- respiratory failure\n"
        "Exclusion Criteria:\n- diagnosed cancer"
    )

    assert len(s.locations) == 1
    loc = s.locations[0]
    assert (loc.facility, loc.city, loc.country, loc.zip, loc.state) == (
        "Institute of Biophysics and Cell Engineering of National Academy of Sciences of Belarus",
        "Minsk", "Belarus", "220072", None,
    )  # fmt: skip
    assert [(o.role, o.name, o.affiliation) for o in s.officials] == [
        ("STUDY_DIRECTOR", "Andrei Y Hancharou, Dr.",
         "Director, the Institute of Biophysics and Cell Engineering of NAS of Belarus"),
        ("STUDY_DIRECTOR", "Eduard A Dotsenko, Dr., prof.", "Head of the chair, Belarusian State Medical University"),
        ("PRINCIPAL_INVESTIGATOR", "Natalia G Antonevich, Dr.",
         "Head of the Lab of Institute of Biophysics and Cell Engineering of NAS"),
    ]  # fmt: skip
    assert s.responsible_party is not None
    assert s.responsible_party.type == "SPONSOR"
    assert s.lead_sponsor is not None
    assert s.lead_sponsor.name == loc.facility  # the responsible party that is an organisation
    assert (s.org_study_id, s.secondary_ids) == ("IBCE_MSC2(Covid)", [])
    assert s.status_verified_date == "2021-08"
    assert s.keywords == ["pneumonia", "Sars-COV2", "Covid-19"]
    # every "Additional relevant MeSH terms" entry (the page does not tell own terms from ancestors)
    assert [m.term for m in s.condition_meshes] == [
        "COVID-19", "Pneumonia", "Pneumonia, Viral", "Lung Diseases, Interstitial", "Respiratory Tract Infections",
        "Infections", "Virus Diseases", "Coronavirus Infections", "Coronaviridae Infections", "Nidovirales Infections",
        "RNA Virus Infections", "Lung Diseases", "Respiratory Tract Diseases",
    ]  # fmt: skip
    assert s.ipd_sharing is not None
    assert (s.ipd_sharing.plan, s.ipd_sharing.description) == ("NO", None)
    assert s.oversight is not None
    assert (s.oversight.fda_regulated_drug, s.oversight.fda_regulated_device) == (False, False)
    assert s.has_results is False  # "- No Results Posted"
    assert s.eligibility.std_ages == ["ADULT", "OLDER_ADULT"]
    assert s.first_posted is not None
    assert s.first_posted.date == "2020-05-11"

    assert extras.ipd_sharing == "NO"
    assert (extras.fda_regulated_drug, extras.fda_regulated_device) == (False, False)
    assert extras.mesh_terms == [
        "COVID-19", "Pneumonia", "Pneumonia, Viral", "Lung Diseases, Interstitial", "Respiratory Tract Infections",
        "Infections", "Virus Diseases", "Coronavirus Infections", "Coronaviridae Infections", "Nidovirales Infections",
        "RNA Virus Infections", "Lung Diseases", "Respiratory Tract Diseases",
    ]  # fmt: skip


def test_read_page_text_and_dispatcher() -> None:
    record = read_page_text(PAGE, "page.txt")
    assert (record.source, record.index, record.format) == ("page.txt", None, "ctgov-page-text")
    items = list(read_bytes(SEED.read_bytes(), str(SEED), suffix=".txt"))
    assert len(items) == 1
    assert isinstance(items[0], StudyRecord)
    assert items[0].study == record.study


def test_crlf_page_reads_the_same() -> None:
    assert read_page_text(PAGE.replace("\n", "\r\n"), "crlf.txt").study == read_page_text(PAGE, "lf.txt").study


# --- the same layout for another study -----------------------------------------------------------

# The seed page edited into another study's page: status, sponsor header lines, estimated dates,
# ages without an upper limit, a blank line between primary and secondary outcomes, several sites
# under country headers (with site contacts), an investigator as responsible party, a second ID.
_SITES_SEED = """Belarus | |
Institute of Biophysics and Cell Engineering of National Academy of Sciences of Belarus | |
Minsk, Belarus, 220072 |
"""
_SITES = """United States, California | |
Stanford University Medical Center | |
Stanford, California, United States, 94305 |
Contact: | Ann Smith | 650-555-0100 | ann@example.org |
Principal Investigator: | Bob Jones, MD |
Cedars-Sinai Medical Center | |
Los Angeles, California, United States, 90048 |
Germany | |
Charite Berlin | |
Berlin, Germany, 10117 |
"""
EDITS = [
    ("Recruitment Status :\nCompleted", "Recruitment Status :\nRecruiting"),
    (
        "Last Update Posted : August 23, 2021\n",
        "Last Update Posted : August 23, 2021\nSponsor:\nAcme Research Institute\nCollaborators:\n"
        "Beta University\nInformation provided by (Responsible Party):\nJane Q Public, Professor, Beta University\n",
    ),
    ("Actual Primary Completion Date : | June 30, 2021 |", "Estimated Primary Completion Date : | June 2026 |"),
    ("Actual Study Completion Date : | June 30, 2021 |", "Estimated Study Completion Date : | December 2026 |"),
    ("Actual Enrollment : | 32 participants |", "Estimated Enrollment : | 1,200 participants |"),
    ("CT scan\n- Number of patients", "CT scan\n\n- Number of patients"),
    ("18 Years to 70 Years (Adult, Older Adult)", "18 Years and older (Adult, Older Adult)"),
    (_SITES_SEED, _SITES),
    (
        "Responsible Party: | Institute of Biophysics and Cell Engineering of National Academy of Sciences of "
        "Belarus |",
        "Responsible Party: | Jane Q Public, Professor, Beta University |",
    ),
    ("IBCE_MSC2(Covid) |\n", "IBCE_MSC2(Covid) |\nR01-XYZ-123 |\n"),
]


def edited(page: str, edits: list[tuple[str, str]]) -> str:
    for old, new in edits:
        assert old in page, old
        page = page.replace(old, new)
    return page


def test_same_layout_other_study() -> None:
    s: Study = read_page_text(edited(PAGE, EDITS), "other.txt").study
    assert s.overall_status == "RECRUITING"
    assert s.lead_sponsor is not None
    assert s.lead_sponsor.name == "Acme Research Institute"
    assert [c.name for c in s.collaborators] == ["Beta University"]
    assert s.responsible_party is not None
    rp = s.responsible_party
    assert (rp.type, rp.investigator_name, rp.investigator_title, rp.investigator_affiliation) == (
        "PRINCIPAL_INVESTIGATOR", "Jane Q Public", "Professor", "Beta University",
    )  # fmt: skip
    assert s.primary_completion_date is not None
    assert (s.primary_completion_date.date, s.primary_completion_date.type) == ("2026-06", "ESTIMATED")
    assert s.completion_date is not None
    assert s.completion_date.date == "2026-12"
    assert s.design.enrollment is not None
    assert (s.design.enrollment.count, s.design.enrollment.type) == (1200, "ESTIMATED")
    assert [o.kind for o in s.outcomes] == ["primary", "secondary"]
    assert s.eligibility.minimum_age is not None
    assert s.eligibility.maximum_age is None
    assert [(x.facility, x.city, x.state, x.country, x.zip) for x in s.locations] == [
        ("Stanford University Medical Center", "Stanford", "California", "United States", "94305"),
        ("Cedars-Sinai Medical Center", "Los Angeles", "California", "United States", "90048"),
        ("Charite Berlin", "Berlin", None, "Germany", "10117"),
    ]
    assert [(c.role, c.name, c.phone, c.email) for c in s.locations[0].contacts] == [
        ("CONTACT", "Ann Smith", "650-555-0100", "ann@example.org"),
        ("PRINCIPAL_INVESTIGATOR", "Bob Jones, MD", None, None),
    ]
    assert [o.name for o in s.officials] == [
        "Andrei Y Hancharou, Dr.", "Eduard A Dotsenko, Dr., prof.", "Natalia G Antonevich, Dr.",
    ]  # fmt: skip
    assert (s.org_study_id, [x.id for x in s.secondary_ids]) == ("IBCE_MSC2(Covid)", ["R01-XYZ-123"])


OBSERVATIONAL_EDITS = [
    ("Study Type : | Interventional (Clinical Trial) |", "Study Type : | Observational [Patient Registry] |"),
    (
        "Allocation: | Non-Randomized |\nIntervention Model: | Parallel Assignment |\nMasking: | None (Open Label) |\n"
        "Primary Purpose: | Treatment |\n",
        "Observational Model: | Cohort |\nTime Perspective: | Prospective |\nTarget Follow-Up Duration: | 1 Year |\n",
    ),
    (
        "Condition or disease | Intervention/treatment | Phase |\n---|---|---|",
        "Condition or disease | Intervention/treatment |\n---|---|",
    ),
    (" | Phase 1 Phase 2 |", " |"),
    ("Arm | Intervention/treatment |", "Group/Cohort | Intervention/treatment |"),
    ("Experimental: mesenchymal stem cells", "mesenchymal stem cells"),
    ("Active Comparator: control", "control"),
    (
        "Accepts Healthy Volunteers: | No |\n",
        "Accepts Healthy Volunteers: | No |\nSampling Method: | Non-Probability Sample |\n"
        "Adults hospitalised with Covid-19 pneumonia.\n",
    ),
]


def test_same_layout_observational_study() -> None:
    s = read_page_text(edited(PAGE, OBSERVATIONAL_EDITS), "obs.txt").study
    d = s.design
    assert (d.study_type, d.patient_registry, d.phases) == ("OBSERVATIONAL", True, [])
    assert (d.observational_model, d.time_perspective, d.target_duration) == ("COHORT", "PROSPECTIVE", "1 Year")
    assert (d.allocation, d.masking) == (None, None)
    assert [(a.label, a.type) for a in s.arm_groups] == [("mesenchymal stem cells", None), ("control", None)]
    assert s.arm_groups[1].intervention_names == ["Other: Standard treatment according to the Clinical protocols"]
    e = s.eligibility
    assert (e.sampling_method, e.study_population) == (
        "NON_PROBABILITY_SAMPLE", "Adults hospitalised with Covid-19 pneumonia.",
    )  # fmt: skip
    assert e.criteria is not None
    assert e.criteria.startswith("Inclusion Criteria:")


# --- pages that do not fit -------------------------------------------------------------------------


def _drop(prefix: str) -> str:
    return "\n".join(line for line in PAGE.split("\n") if not line.startswith(prefix))


@pytest.mark.parametrize(
    ("page", "field"),
    [
        (_drop("Study Type"), "Study Type"),
        (_drop("Condition or disease"), "Condition or disease"),
        (PAGE.replace("Recruitment Status :", "Status"), "Recruitment Status"),
        (PAGE.replace("NCT04382547", "NCT0438"), "ClinicalTrials.gov Identifier"),
        ("", "ClinicalTrials.gov Identifier"),
    ],
    ids=["study-type", "conditions-table", "status", "nct-id", "empty"],
)
def test_missing_field_is_named(page: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        read_page_text(page, "cut.txt")
    err = info.value
    assert (err.file, err.field) == ("cut.txt", field)
    assert f"page text has no {field}" in str(err)
    assert err.hint is not None


@pytest.mark.parametrize(
    ("old", "new", "field"),
    [
        ("Allocation: | Non-Randomized |", "Allocation: | Sideways |", "Allocation"),
        ("Last Verified: | August 2021 |", "Last Verified: | Augtober 2021 |", "Last Verified"),
        ("18 Years to 70 Years (Adult, Older Adult)", "adults only", "Ages Eligible for Study"),
        ("Experimental: mesenchymal", "Exploratory: mesenchymal", "Arm"),
    ],
)
def test_bad_value_names_file_record_and_field(old: str, new: str, field: str) -> None:
    with pytest.raises(InputError) as info:
        read_page_text(edited(PAGE, [(old, new)]), "bad.txt")
    err = info.value
    assert (err.file, err.record) == ("bad.txt", "NCT04382547")
    assert err.field == field


def test_unreadable_page_through_the_dispatcher_is_a_failure_not_a_traceback() -> None:
    items = list(read_bytes(_drop("Study Type").encode(), "cut.txt", suffix=".txt"))
    assert len(items) == 1
    assert not isinstance(items[0], StudyRecord)
    assert "Study Type" in str(items[0])


# --- re-splitting runs of terms --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "terms"),
    [
        ("Breast Cancer Lung Cancer", ["Breast Cancer", "Lung Cancer"]),  # unknown, but end in a head noun
        ("Covid19 Heart Failure", ["Covid19", "Heart Failure"]),  # known tail is not swallowed
        ("Respiratory Tract Infections Infections Virus Diseases",
         ["Respiratory Tract Infections", "Infections", "Virus Diseases"]),
        ("Lung Diseases, Interstitial Lung Diseases", ["Lung Diseases, Interstitial", "Lung Diseases"]),
        ("pneumonia Sars-COV2 Covid-19", ["pneumonia", "Sars-COV2", "Covid-19"]),
        ("", []),
        ("Pneumonia,", ["Pneumonia,"]),  # nothing completes the inverted form: kept as it is
    ],
)  # fmt: skip
def test_split_terms(text: str, terms: list[str]) -> None:
    assert split_terms(text) == terms


def test_mesh_list_holds_every_corpus_heading() -> None:
    # page_text_mesh.txt was built from the corpus copy; it must still cover it (and so stay honest).
    path = Path(__file__).parent.parent / "fhirconv" / "readers" / "page_text_mesh.txt"
    listed = {line for line in path.read_text(encoding="utf-8").splitlines() if line and not line.startswith("#")}
    corpus = DATA / "ctgov-corpus"
    found: set[str] = set()
    for xml in corpus.glob("*.xml"):
        root = ET.parse(xml).getroot()
        found.update((e.text or "").strip() for e in root.iter("mesh_term"))
    for v2 in corpus.glob("*.json"):
        if v2.name.endswith(".classic.json"):
            continue
        derived = json.loads(v2.read_text(encoding="utf-8")).get("derivedSection", {})
        for module in ("conditionBrowseModule", "interventionBrowseModule"):
            for key in ("meshes", "ancestors"):
                found.update(m["term"] for m in derived.get(module, {}).get(key, []))
    found.discard("")
    assert len(found) > 100
    assert found <= listed


@pytest.mark.parametrize("encoding", ["cp1252", "utf-16", "utf-8-sig"])
def test_page_saved_in_a_windows_encoding_reads_the_same(tmp_path: Path, encoding: str) -> None:
    from fhirconv.readers import read_study

    text = (Path(__file__).parent / "data" / "seed" / "NCT04382547.txt").read_text(encoding="utf-8")
    text = text.replace("Belarus |", "Bélarus |", 1)  # a character whose bytes differ between encodings
    saved = tmp_path / "page.txt"
    saved.write_bytes(text.encode(encoding))
    reference = tmp_path / "reference.txt"
    reference.write_text(text, encoding="utf-8")
    assert read_study(saved) == read_study(reference)
