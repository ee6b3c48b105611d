"""Participant records → FHIR R5 resources (Patient, ResearchSubject, Observation, AdverseEvent), as Keyed dicts."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.participants.common import (
    CDISC_CT,
    Context,
    ae_causality,
    ae_coded,
    ae_event_concept,
    ae_grade,
    ae_key,
    ae_organ_system,
    ae_seriousness,
    default_state,
    fhir_datetime,
    identifier,
    intervention_label,
    map_age,
    map_observation,
    map_patient,
    period,
    subject_states,
)
from fhirconv.model.participants import AdverseEventRecord, Disposition, Participant
from fhirconv.output.bundle import Keyed

__all__ = ["map_adverse_event", "map_age", "map_observation", "map_patient", "map_research_subject"]

STATE_TYPE = "http://terminology.hl7.org/CodeSystem/research-subject-state-type"
STATE = "http://terminology.hl7.org/CodeSystem/research-subject-state"
MILESTONE = "http://terminology.hl7.org/CodeSystem/research-subject-milestone"
# HL7 Adverse Event Clinical Research IG (R5, STU1): severity and grade are extensions there.
AE_SEVERITY = "http://hl7.org/fhir/uv/ae-research-ig/StructureDefinition/ae-severity"
AE_GRADE = "http://hl7.org/fhir/uv/ae-research-ig/StructureDefinition/ae-grade"
_DONE_OUTCOMES = frozenset({"resolved", "resolvedWithSequelae", "fatal"})
_ONGOING_OUTCOMES = frozenset({"recovering", "ongoing"})


def _progress(code: str, display: str | None, reason: str | None, date: str | None) -> dict[str, Any]:
    state: dict[str, Any] = {"system": STATE, "code": code}
    if display:
        state["display"] = display
    entry: dict[str, Any] = {
        "type": {"coding": [{"system": STATE_TYPE, "code": "Enrollment", "display": "Enrollment status"}]},
        "subjectState": {"coding": [state]},
    }
    if reason:
        entry["reason"] = {"coding": [{"system": f"{CDISC_CT}DSDECOD", "code": reason}], "text": reason}
    if date:
        entry["startDate"] = date
    return entry


def map_research_subject(p: Participant, dispositions: list[Disposition], ctx: Context) -> Keyed:
    """DM row (+ its DS rows) → R5 ResearchSubject: progress from DS, comparison groups by linkId."""
    assigned = ctx.arm(p.arm, p.source, "ARM")
    actual = ctx.arm(p.actual_arm, p.source, "ACTARM")
    progress = []
    for ds, coding in subject_states(dispositions):
        date = fhir_datetime(ds.date, ds.source, "DSSTDTC", ctx.tz)
        progress.append(_progress(coding["code"], coding.get("display"), ds.term.strip(), date))
        if ds.term.strip().upper() == "RANDOMIZED":
            progress[-1]["milestone"] = {"coding": [{"system": MILESTONE, "code": "Randomized"}]}
    if not progress:
        progress.append(_progress(default_state(p, assigned), None, None, None))
    system = ctx.system("usubjid")
    res: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "identifier": [identifier(system, p.subject_id)],
        "status": "active",
        "progress": progress,
    }
    span = period(p, ctx)
    if span:
        res["period"] = span
    res["study"] = ctx.study_ref()
    res["subject"] = ctx.patient_ref(p.subject_id)
    if assigned:
        res["assignedComparisonGroup"] = ctx.arm_link_ids[assigned]
    if actual:
        res["actualComparisonGroup"] = ctx.arm_link_ids[actual]
    return Keyed(res, system, p.subject_id)


def map_adverse_event(ae: AdverseEventRecord, ctx: Context) -> Keyed:
    """AE row → R5 AdverseEvent (status + actuality; severity and grade as the AE research IG does)."""
    system = ctx.system("adverse-event")
    key = ae_key(ae)
    outcome = ae_coded("sdtm-aeout-outcome", ae.outcome, ae.source, "AEOUT")
    start = fhir_datetime(ae.start, ae.source, "AESTDTC", ctx.tz)
    end = fhir_datetime(ae.end, ae.source, "AEENDTC", ctx.tz)
    out_code = outcome["coding"][0]["code"] if outcome and outcome.get("coding") else None
    if out_code in _DONE_OUTCOMES or (end and out_code not in _ONGOING_OUTCOMES):
        status = "completed"
    elif out_code in _ONGOING_OUTCOMES:
        status = "in-progress"
    else:
        status = "unknown"
    res: dict[str, Any] = {"resourceType": "AdverseEvent"}
    extensions = []
    severity = ae_coded("sdtm-aesev-severity", ae.severity, ae.source, "AESEV")
    if severity:
        extensions.append({"url": AE_SEVERITY, "valueCodeableConcept": severity})
    if ae.grade is not None:
        grade = ae_grade(ae)
        if grade:
            extensions.append({"url": AE_GRADE, "valueCodeableConcept": grade})
    if extensions:
        res["extension"] = extensions
    res.update(
        {
            "identifier": [identifier(system, key)],
            "status": status,
            "actuality": "actual",
        }
    )
    organ_system = ae_organ_system(ae)
    if organ_system:
        res["category"] = [organ_system]
    res["code"] = ae_event_concept(ae)
    res["subject"] = ctx.patient_ref(ae.subject_id)
    if start and end:
        res["occurrencePeriod"] = {"start": start, "end": end}
    elif start:
        res["occurrenceDateTime"] = start
    elif end:
        res["occurrencePeriod"] = {"end": end}
    serious = ae_seriousness(ae, "R5")
    if serious:
        res["seriousness"] = serious
    if outcome:
        res["outcome"] = [outcome]
    res["study"] = [ctx.study_ref()]
    causality = ae_causality(ae, "R5")
    if causality:
        res["suspectEntity"] = [
            {
                "instanceCodeableConcept": {"text": intervention_label(ctx, ae.subject_id)},
                "causality": {"entityRelatedness": causality},
            }
        ]
    return Keyed(res, system, key)
