"""Participant records → FHIR R4 resources (Patient, ResearchSubject, Observation, AdverseEvent), as Keyed dicts."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.participants.common import (
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

# The R4 backport of the HL7 Adverse Event Clinical Research IG carries the grade R4 has no element for.
AE_GRADE_R4 = "http://hl7.org/fhir/uv/ae-research-backport-ig/StructureDefinition/ae-grade"


def map_research_subject(p: Participant, dispositions: list[Disposition], ctx: Context) -> Keyed:
    """DM row (+ its DS rows) → R4 ResearchSubject: status from the last disposition, arms by name."""
    assigned = ctx.arm(p.arm, p.source, "ARM")
    actual = ctx.arm(p.actual_arm, p.source, "ACTARM")
    states = subject_states(dispositions)
    status = states[-1][1]["code"] if states else default_state(p, assigned)
    system = ctx.system("usubjid")
    res: dict[str, Any] = {
        "resourceType": "ResearchSubject",
        "identifier": [identifier(system, p.subject_id)],
        "status": status,
    }
    span = period(p, ctx)
    if span:
        res["period"] = span
    res["study"] = ctx.study_ref()
    res["individual"] = ctx.patient_ref(p.subject_id)
    if assigned:
        res["assignedArm"] = assigned
    if actual:
        res["actualArm"] = actual
    return Keyed(res, system, p.subject_id)


def map_adverse_event(ae: AdverseEventRecord, ctx: Context) -> Keyed:
    """AE row → R4 AdverseEvent (actuality actual; severity, seriousness, outcome, causality)."""
    system = ctx.system("adverse-event")
    key = ae_key(ae)
    res: dict[str, Any] = {
        "resourceType": "AdverseEvent",
        "identifier": identifier(system, key),  # 0..1 in R4
        "actuality": "actual",
    }
    organ_system = ae_organ_system(ae)
    if organ_system:
        res["category"] = [organ_system]
    res["event"] = ae_event_concept(ae)
    res["subject"] = ctx.patient_ref(ae.subject_id)
    start = fhir_datetime(ae.start, ae.source, "AESTDTC", ctx.tz)
    if start:
        res["date"] = start
    # AEENDTC has no R4 element (R4 AdverseEvent has only a single date): see mappings/README.md.
    fhir_datetime(ae.end, ae.source, "AEENDTC", ctx.tz)  # still checked, so bad input is reported
    serious = ae_seriousness(ae, "R4")
    if serious:
        res["seriousness"] = serious
    severity = ae_coded("sdtm-aesev-severity", ae.severity, ae.source, "AESEV")
    if severity:
        res["severity"] = severity
    if ae.grade is not None:
        grade = ae_grade(ae)
        if grade:
            res["extension"] = [{"url": AE_GRADE_R4, "valueCodeableConcept": grade}]
    outcome = ae_coded("sdtm-aeout-outcome", ae.outcome, ae.source, "AEOUT")
    if outcome:
        res["outcome"] = outcome
    causality = ae_causality(ae, "R4")
    if causality:
        res["suspectEntity"] = [
            {"instance": {"display": intervention_label(ctx, ae.subject_id)}, "causality": [{"assessment": causality}]}
        ]
    res["study"] = [ctx.study_ref()]
    return Keyed(res, system, key)
