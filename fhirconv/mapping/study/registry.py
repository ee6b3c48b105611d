"""Registry facts with no ResearchStudy element in R4 or R5 (oversight, data-sharing plan, expanded access,
the record's own dates), and the ones that have one in both: posted documents and secondary-ID links
(relatedArtifact), FDA regulation and standard age groups (R5 classifier, R4 category), biospecimens
(studyDesign / category and a note), unposted-results and FDAAA 801 violation events (note)."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping import keys, xver
from fhirconv.mapping.conceptmaps import display
from fhirconv.mapping.study.common import clean, with_url
from fhirconv.model.study import DateInfo, Document, Study
from fhirconv.versions import FhirVersion

# fhirconv's own extensions (documented in mappings/README.md): neither FHIR version has an element for these.
EXT = "https://fhirconv.dev/fhir/StructureDefinition/ctgov-"
# The v2 enum as a code system, as the ConceptMaps' source sides name it.
CODES = "https://fhirconv.dev/fhir/CodeSystem/ctgov-"
CLASSIFIERS = "http://hl7.org/fhir/research-study-classifiers"  # R5 ResearchStudy.classifier (example binding)

_WORDS: dict[str, dict[str, str]] = {
    "IpdSharing": {"YES": "Yes", "NO": "No", "UNDECIDED": "Undecided"},
    "IpdSharingInfoType": {"STUDY_PROTOCOL": "Study Protocol", "SAP": "Statistical Analysis Plan (SAP)",
                           "ICF": "Informed Consent Form (ICF)", "CSR": "Clinical Study Report (CSR)",
                           "ANALYTIC_CODE": "Analytic Code"},
    "ExpandedAccessStatus": {"AVAILABLE": "Available", "NO_LONGER_AVAILABLE": "No longer available",
                             "TEMPORARILY_NOT_AVAILABLE": "Temporarily not available",
                             "APPROVED_FOR_MARKETING": "Approved for marketing"},
    "ExpandedAccessType": {"INDIVIDUAL": "Individual Patients", "INTERMEDIATE": "Intermediate-size Population",
                           "TREATMENT": "Treatment IND/Protocol"},
    "StandardAge": {"CHILD": "Child", "ADULT": "Adult", "OLDER_ADULT": "Older Adult"},
    "BioSpecRetention": {"NONE_RETAINED": "None Retained", "SAMPLES_WITH_DNA": "Samples With DNA",
                         "SAMPLES_WITHOUT_DNA": "Samples Without DNA"},
}
_UNPOSTED = {"RELEASE": "Results submitted to ClinicalTrials.gov, not yet posted",
             "RESET": "Results returned by ClinicalTrials.gov after quality control review",
             "UNRELEASE": "Results submission cancelled"}
_VIOLATION = {"VIOLATION_IDENTIFIED": "Violation identified", "CORRECTION_CONFIRMED": "Correction confirmed",
              "PENALTY_IMPOSED": "Penalty imposed",
              "ISSUES_IN_LETTER_ADDRESSED_CONFIRMED": "Issues in letter addressed confirmed"}

_EVENT_DATES = {"issued": "letter issued", "release": "record released", "posted": "posted", "creation": "created"}


def coding(enum: str, code: str) -> dict[str, Any]:
    return {"system": CODES + enum, "code": code, "display": _WORDS[enum][code]}


def _coded(enum: str, code: str, label: str | None = None) -> dict[str, Any]:
    words = _WORDS[enum][code]
    return {"coding": [coding(enum, code)], "text": f"{label}: {words}" if label else words}


def _ext(name: str, parts: list[tuple[str, str, Any]]) -> dict[str, Any] | None:
    kept = [{"url": n, f"value{t}": v} for n, t, v in parts if v is not None]
    return {"url": EXT + name, "extension": kept} if kept else None


def extensions(study: Study, version: FhirVersion) -> list[dict[str, Any]]:
    """The fhirconv extensions of the ResearchStudy (same in R4 and R5)."""
    out = [_oversight(study), _ipd(study), _expanded_access(study), _dates(study, version)]
    if study.has_results is not None:
        # Whether results are posted ("No Results Posted" on the page, v2 hasResults), also when the posted
        # results themselves were not read (a fields= record, a page copy).
        out.append({"url": EXT + "results-posted", "valueBoolean": study.has_results})
    return [e for e in out if e is not None]


def _oversight(study: Study) -> dict[str, Any] | None:
    o = study.oversight
    if o is None:
        return None
    parts: list[tuple[str, str, Any]] = [
        ("hasDmc", "Boolean", o.has_dmc), ("fdaRegulatedDrug", "Boolean", o.fda_regulated_drug),
        ("fdaRegulatedDevice", "Boolean", o.fda_regulated_device),
        ("unapprovedDevice", "Boolean", o.unapproved_device), ("ppsd", "Boolean", o.ppsd),
        ("usExport", "Boolean", o.us_export), ("fdaaa801Violation", "Boolean", o.fdaaa801_violation)]
    parts += [("authority", "String", a) for a in o.authorities if clean(a)]
    return _ext("oversight", parts)


def _ipd(study: Study) -> dict[str, Any] | None:
    p = study.ipd_sharing
    if p is None:
        return None
    parts: list[tuple[str, str, Any]] = [
        ("plan", "Coding", coding("IpdSharing", p.plan) if p.plan else None),
        ("description", "Markdown", clean(p.description))]
    parts += [("infoType", "Coding", coding("IpdSharingInfoType", t)) for t in p.info_types]
    parts += [("timeFrame", "String", clean(p.time_frame)), ("accessCriteria", "Markdown", clean(p.access_criteria)),
              ("url", "Url", clean(p.url))]
    return _ext("ipd-sharing", parts)


def _expanded_access(study: Study) -> dict[str, Any] | None:
    e = study.expanded_access
    if e is None:
        return None
    parts: list[tuple[str, str, Any]] = [
        ("available", "Boolean", e.available),
        ("record", "Identifier", {"system": keys.CTGOV_SYSTEM, "value": e.nct_id} if e.nct_id else None),
        ("status", "Coding", coding("ExpandedAccessStatus", e.status) if e.status else None)]
    parts += [("type", "Coding", coding("ExpandedAccessType", t)) for t in e.types]
    return _ext("expanded-access", parts)


def _date(info: DateInfo | None) -> str | None:
    return clean(info.date) if info is not None else None


def _dates(study: Study, version: FhirVersion) -> dict[str, Any] | None:
    """The record's milestones at the registry. R5 has `date` for the last update; R4 has nothing."""
    rd = study.registry_dates
    parts: list[tuple[str, str, Any]] = [
        ("firstSubmitted", "Date", clean(study.first_submitted)),
        ("firstSubmittedQc", "Date", clean(rd.first_submitted_qc)),
        ("firstPosted", "Date", _date(study.first_posted)),
        ("lastUpdateSubmitted", "Date", clean(rd.last_update_submitted)),
        ("lastUpdatePosted", "Date", _date(study.last_update_posted) if version is FhirVersion.R4 else None),
        ("statusVerified", "Date", clean(study.status_verified_date)),
        ("resultsFirstSubmitted", "Date", clean(rd.results_first_submitted)),
        ("resultsFirstSubmittedQc", "Date", clean(rd.results_first_submitted_qc)),
        ("resultsFirstPosted", "Date", _date(rd.results_first_posted)),
        ("dispositionFirstSubmitted", "Date", clean(rd.disposition_first_submitted)),
        ("dispositionFirstSubmittedQc", "Date", clean(rd.disposition_first_submitted_qc)),
        ("dispositionFirstPosted", "Date", _date(rd.disposition_first_posted)),
    ]
    return _ext("registry-dates", parts)


def classifiers(study: Study) -> list[dict[str, Any]]:
    """FDA regulation (R5 research-study-classifiers codes) and the registry's standard age groups: R5
    `classifier`, R4 `category` (R4's "classifications for the study")."""
    out: list[dict[str, Any]] = []
    o = study.oversight
    if o is not None:
        for flag, code, words in ((o.fda_regulated_drug, "fda-regulated-drug", "FDA regulated drug"),
                                  (o.fda_regulated_device, "fda-regulated-device", "FDA regulated device")):
            if flag:
                out.append({"coding": [{"system": CLASSIFIERS, "code": code, "display": words}], "text": words})
    for age in study.eligibility.std_ages:
        out.append(_coded("StandardAge", age, "Age group"))
    return out


def design_concepts(study: Study) -> list[dict[str, Any]]:
    """Biospecimen retention, a design characteristic (R5 studyDesign, R4 category)."""
    if not study.biospec_retention:
        return []
    return [_coded("BioSpecRetention", study.biospec_retention, "Biospecimen retention")]


def notes(study: Study) -> list[dict[str, Any]]:
    """The biospecimen description, and the registry's annotations (results submitted but not posted,
    FDAAA 801 violation events) as dated Annotations."""
    out: list[dict[str, Any]] = []
    bio = clean(study.biospec_description)
    if bio:
        out.append({"text": f"Biospecimen description: {bio}"})
    party = clean(study.unposted_responsible_party)
    if party:
        out.append({"text": f"Responsible party for the unposted results: {party}"})
    for ev in study.record_events:
        note: dict[str, Any] = {}
        if ev.date:
            note["time"] = ev.date
        if ev.kind == "unposted":
            note["text"] = _UNPOSTED[ev.type] + ("" if ev.date else " (date unknown)")
        else:
            dated = ", ".join(f"{_EVENT_DATES.get(name, name)} {d}" for name, d in ev.dates.items())
            text = f"FDAAA 801 violation: {_VIOLATION[ev.type]}" + (f" ({dated})" if dated else "")
            desc = clean(ev.description)
            note["text"] = f"{text}. {desc}" if desc else text
        out.append(note)
    return out


_DOC_KINDS = (("has_protocol", "Study protocol"), ("has_sap", "Statistical analysis plan"),
              ("has_icf", "Informed consent form"))


def related_artifacts(study: Study, version: FhirVersion) -> list[dict[str, Any]]:
    """Posted documents (protocol, SAP, consent form) with their URLs, and secondary-ID links."""
    out: list[dict[str, Any]] = []
    for doc in study.documents:
        art = _document(doc, version)
        if art:
            out.append(art)
    for sid in study.secondary_ids:
        link, value = clean(sid.link), clean(sid.id)
        if not link or not value:
            continue
        kind = display("ctgov-secondary-id-type", sid.type, field="secondaryIdInfos.type") if sid.type else None
        art = {"type": "documentation", "display": f"{kind}: {value}" if kind else value}
        out.append(with_url(art, link, version))
    return out


def _document(doc: Document, version: FhirVersion) -> dict[str, Any] | None:
    url, label = clean(doc.url), clean(doc.label)
    if not url and not label:
        return None
    kinds = [{"text": words} for attr, words in _DOC_KINDS if getattr(doc, attr)]
    art: dict[str, Any] = {"type": "documentation"}
    if kinds:
        if version is FhirVersion.R4:
            art["extension"] = [xver.simple("RelatedArtifact.classifier", "CodeableConcept", k) for k in kinds]
        else:
            art["classifier"] = kinds
    if label:
        art["display"] = label
    attachment: dict[str, Any] = {}
    filename = clean(doc.filename)
    if filename and filename.lower().endswith(".pdf"):
        attachment["contentType"] = "application/pdf"
    if url:
        attachment["url"] = url
    if doc.size is not None and doc.size >= 0 and version is FhirVersion.R4:
        # R4 Attachment.size is unsignedInt. R5's is integer64, which the project's compiled structure check
        # does not take as written (a JSON string): left out of R5 until that is settled.
        attachment["size"] = doc.size
    if filename:
        attachment["title"] = filename
    if doc.date:
        attachment["creation"] = doc.date
    if attachment:
        art["document"] = attachment
    return art
