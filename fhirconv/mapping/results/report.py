"""The results report that gathers every results resource by section: R5 EvidenceReport, R4 Composition."""

from __future__ import annotations

from html import escape
from typing import Any

from fhirconv.mapping.keys import study_key
from fhirconv.mapping.results import ids
from fhirconv.mapping.results.evidence import Section, ref
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed

DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def narrative(paragraphs: list[str]) -> dict[str, str]:
    body = "".join(f"<p>{escape(p, quote=False)}</p>" for p in paragraphs)
    return {"status": "additional", "div": f'<div xmlns="http://www.w3.org/1999/xhtml">{body}</div>'}


def _section(s: Section, entry_key: str, focus_key: str) -> dict[str, Any] | None:
    """One section in the shape both versions share (title, focus, text, entries, sub-sections); an empty one is
    left out (FHIR: a section holds text, entries or sections)."""
    subs = [x for x in (_section(c, entry_key, focus_key) for c in s.sections) if x]
    if not (s.text or s.entries or subs):
        return None
    out: dict[str, Any] = {"title": s.title}
    if s.focus is not None:
        out[focus_key] = ref(s.focus, s.focus.resource.get("title"))
    if s.text:
        out["text"] = narrative(s.text)
    if s.entries:
        out[entry_key] = [ref(e) for e in s.entries]
    if subs:
        out["section"] = subs
    return out


def _title(study: Study) -> str:
    return f"Posted results of {study.nct_id}" + (f": {study.brief_title}" if study.brief_title else "")


def evidence_report_r5(study: Study, sections: list[Section]) -> Keyed:
    """R5 EvidenceReport: the one R5 resource ResearchStudy.result may point at (Citation, DiagnosticReport,
    EvidenceReport), and the R5 form of the EBM IG's report Compositions. Its subject is the study, named by
    its NCT ID (relatedIdentifier): a reference back would make ResearchStudy ↔ report a cycle."""
    value = ids.value(study.nct_id, "report")
    system, nct = study_key(study.nct_id)
    res: dict[str, Any] = {
        "resourceType": "EvidenceReport",
        "identifier": [{"system": ids.RESULT_SYSTEM, "value": value}],
        "relatedIdentifier": [{"system": system, "value": nct}],
        "status": "active",
        "subject": {"note": [{"text": _title(study)}]},
    }
    body = [x for x in (_section(s, "entryReference", "focusReference") for s in sections) if x]
    if body:
        res["section"] = body
    return Keyed(res, ids.RESULT_SYSTEM, value)


def composition_r4(study: Study, sections: list[Section], author: str) -> Keyed:
    """R4 Composition (R4 has no EvidenceReport): the same sections; its date is the record's last update."""
    value = ids.value(study.nct_id, "report")
    res: dict[str, Any] = {"resourceType": "Composition",
                           "identifier": {"system": ids.RESULT_SYSTEM, "value": value},
                           "status": "final", "type": {"text": "Clinical trial results"}}
    when = next((d.date.strip() for d in (study.last_update_posted, study.first_posted) if d and d.date.strip()), None)
    if when:
        res["date"] = when
    else:
        res["_date"] = {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}
    res["author"] = [{"display": author}]
    res["title"] = _title(study)
    body = [x for x in (_section(s, "entry", "focus") for s in sections) if x]
    if body:
        res["section"] = body
    return Keyed(res, ids.RESULT_SYSTEM, value)
