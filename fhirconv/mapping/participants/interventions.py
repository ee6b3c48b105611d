"""EX → MedicationAdministration, CM → MedicationStatement, MH → Condition, R4 and R5 (mappings/README.md).

One function per domain builds both versions: the versions differ in a few element names (R4
`medicationCodeableConcept` / R5 `medication.concept`, R4 `effective[x]` / R5 `occurence[x]`), which
`_Spelling` holds, so the FHIR-level choices are made once. The per-version tables at the end
(MAP_EXPOSURE, ...) are what the domain registry (fhirconv.pipeline.domains) looks up.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from fhirconv.mapping.participants.common import (
    CDISC_CT,
    MEDDRA,
    RESEARCH_STUDY,
    UCUM,
    Context,
    code_table,
    fhir_datetime,
    finite,
)
from fhirconv.model.participants import ConcomitantMedication, Exposure, MedicalHistory, SourceRef
from fhirconv.output.bundle import Keyed, reference
from fhirconv.versions import FhirVersion

# ATC, as HL7 Terminology names it (CodeSystem "ATC", WHO Collaborating Centre for Drug Statistics).
ATC = "http://www.whocc.no/atc"
CONDITION_CLINICAL = "http://terminology.hl7.org/CodeSystem/condition-clinical"
DATA_ABSENT_EXT = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"
# SDTM --ENRTPT / --ENRF values that say the condition or medication went on past the reference point.
_ONGOING = frozenset({"ONGOING", "AFTER", "DURING/AFTER", "U"})


@dataclass(frozen=True, slots=True)
class _Spelling:
    version: str
    medication: str  # element holding the drug
    when: str  # prefix of the choice element holding the time (effective / occurence)


_R4 = _Spelling("R4", "medicationCodeableConcept", "effective")
_R5 = _Spelling("R5", "medication", "occurence")  # R5 spells MedicationAdministration.occurence[x] so
_SPELLINGS = {FhirVersion.R4: _R4, FhirVersion.R5: _R5}


def _drug(spell: _Spelling, concept: dict[str, Any]) -> dict[str, Any]:
    return {spell.medication: concept} if spell.version == "R4" else {"medication": {"concept": concept}}


def _key(subject_id: str, seq: int | None, *natural: str | None) -> str:
    """Subject + --SEQ; without --SEQ the natural key subject/term/start date."""
    if seq is not None:
        return f"{subject_id}/{seq}"
    return "/".join([subject_id, *(n or "" for n in natural)])


def _time(
    spell: _Spelling, start: str | None, end: str | None, src: SourceRef, cols: tuple[str, str], ctx: Context
) -> dict[str, Any]:
    """`<when>Period` (start and/or end), `<when>DateTime` (a start only); {} when neither is given."""
    first = fhir_datetime(start, src, cols[0], ctx.tz)
    last = fhir_datetime(end, src, cols[1], ctx.tz)
    if first and not last:
        return {f"{spell.when}DateTime": first}
    span = {k: v for k, v in (("start", first), ("end", last)) if v}
    return {f"{spell.when}Period": span} if span else {}


def _quantity(value: float | None, unit: str | None, src: SourceRef, column: str) -> dict[str, Any] | None:
    """A dose as a Quantity: UCUM-coded when sdtm-unit-ucum knows the unit, else the unit as text."""
    number = finite(value, src, column)
    if number is None:
        return None
    q: dict[str, Any] = {"value": number}
    text = unit.strip() if unit and unit.strip() else None
    if text:
        q["unit"] = text
        entry = code_table("sdtm-unit-ucum").get(text)
        if entry is not None and entry.targets:
            q["system"] = UCUM
            q["code"] = entry.targets[0]["coding"]["code"]
    return q


def _cdisc(variable: str, value: str | None) -> dict[str, Any] | None:
    """A CDISC-CT coded value (route, ...) as the SDTM codelist value plus its words as text."""
    if value is None or not value.strip():
        return None
    v = value.strip()
    return {"coding": [{"system": f"{CDISC_CT}{variable}", "code": v}], "text": v}


def _study(ctx: Context) -> list[dict[str, Any]]:
    return [{"url": RESEARCH_STUDY, "valueReference": ctx.study_ref()}]


def _research_subject(ctx: Context, subject_id: str) -> dict[str, Any]:
    """The subject's ResearchSubject: it carries the arm (assigned and actual) the dose belongs to."""
    return reference("ResearchSubject", ctx.system("usubjid"), subject_id)


def _exposure(ex: Exposure, ctx: Context, spell: _Spelling) -> Keyed:
    system = ctx.system("exposure")
    key = _key(ex.subject_id, ex.seq, ex.treatment, ex.start)
    when = _time(spell, ex.start, ex.end, ex.source, ("EXSTDTC", "EXENDTC"), ctx)
    res: dict[str, Any] = {
        "resourceType": "MedicationAdministration",
        "identifier": [{"system": system, "value": key}],
        "extension": _study(ctx),
        "status": "completed",
        **_drug(spell, {"text": ex.treatment}),
        "subject": ctx.patient_ref(ex.subject_id),
    }
    # effective[x] / occurence[x] is required: without EXSTDTC the time is absent, and says so.
    res.update(when or {f"_{spell.when}DateTime": {"extension": [{"url": DATA_ABSENT_EXT, "valueCode": "unknown"}]}})
    res["supportingInformation"] = [_research_subject(ctx, ex.subject_id)]
    dosage: dict[str, Any] = {}
    words = [w.strip() for w in (ex.dose_text, ex.dose_form, ex.frequency) if w and w.strip()]
    if words:
        dosage["text"] = " ".join(words)
    route = _cdisc("ROUTE", ex.route)
    if route:
        dosage["route"] = route
    dose = _quantity(ex.dose, ex.dose_unit, ex.source, "EXDOSE")
    if dose:
        dosage["dose"] = dose
    if dosage:
        res["dosage"] = dosage
    return Keyed(res, system, key)


def _medication(cm: ConcomitantMedication, ctx: Context, spell: _Spelling) -> Keyed:
    system = ctx.system("medication")
    key = _key(cm.subject_id, cm.seq, cm.term, cm.start)
    codings: list[dict[str, Any]] = []
    if cm.atc_code and cm.atc_code.strip():
        atc: dict[str, Any] = {"system": ATC, "code": cm.atc_code.strip()}
        if cm.drug_class:
            atc["display"] = cm.drug_class.strip()
        codings.append(atc)
    concept: dict[str, Any] = {"coding": codings} if codings else {}
    concept["text"] = cm.term
    ongoing = (cm.ongoing or "").strip().upper() in _ONGOING
    if spell.version == "R4":
        status = "active" if ongoing else ("completed" if cm.end and cm.end.strip() else "unknown")
    else:
        status = "recorded"  # R5 MedicationStatement.status is the record's status, not the taking's
    res: dict[str, Any] = {
        "resourceType": "MedicationStatement",
        "identifier": [{"system": system, "value": key}],
        "extension": _study(ctx),
        "status": status,
        **_drug(spell, concept),
        "subject": ctx.patient_ref(cm.subject_id),
    }
    # MedicationStatement keeps effective[x] in both versions (only MedicationAdministration changed).
    statement = _Spelling(spell.version, spell.medication, "effective")
    res.update(_time(statement, cm.start, cm.end, cm.source, ("CMSTDTC", "CMENDTC"), ctx))
    if cm.indication and cm.indication.strip():
        reason = {"text": cm.indication.strip()}
        if spell.version == "R4":
            res["reasonCode"] = [reason]
        else:
            res["reason"] = [{"concept": reason}]
    notes = []
    if cm.decoded_term and cm.decoded_term.strip() and cm.decoded_term.strip() != cm.term:
        notes.append(f"Standardized name (CMDECOD): {cm.decoded_term.strip()}")
    if cm.drug_code and cm.drug_code.strip():
        notes.append(f"Drug dictionary code (CMDECDCD): {cm.drug_code.strip()}")
    if cm.drug_class and cm.drug_class.strip() and not codings:
        notes.append(f"Drug class (CMCLAS): {cm.drug_class.strip()}")
    if notes:
        res["note"] = [{"text": n} for n in notes]
    dosage: dict[str, Any] = {}
    if cm.frequency and cm.frequency.strip():
        dosage["text"] = cm.frequency.strip()
    route = _cdisc("ROUTE", cm.route)
    if route:
        dosage["route"] = route
    dose = _quantity(cm.dose, cm.dose_unit, cm.source, "CMDOSE")
    if dose:
        dosage["doseAndRate"] = [{"doseQuantity": dose}]
    if dosage:
        res["dosage"] = [dosage]
    return Keyed(res, system, key)


def _meddra(term: str, decoded: str | None, pt: str | None, llt: str | None, llt_code: str | None) -> dict[str, Any]:
    codings: list[dict[str, Any]] = []
    if pt and pt.strip():
        c: dict[str, Any] = {"system": MEDDRA, "code": pt.strip()}
        if decoded:
            c["display"] = decoded
        codings.append(c)
    if llt_code and llt_code.strip() and llt_code.strip() != (pt or "").strip():
        c = {"system": MEDDRA, "code": llt_code.strip()}
        if llt:
            c["display"] = llt
        codings.append(c)
    concept: dict[str, Any] = {"coding": codings} if codings else {}
    concept["text"] = term
    return concept


def _history(mh: MedicalHistory, ctx: Context, spell: _Spelling) -> Keyed:
    system = ctx.system("medical-history")
    key = _key(mh.subject_id, mh.seq, mh.term, mh.start)
    onset = fhir_datetime(mh.start, mh.source, "MHSTDTC", ctx.tz)
    abatement = fhir_datetime(mh.end, mh.source, "MHENDTC", ctx.tz)
    ongoing = (mh.ongoing or "").strip().upper() in _ONGOING
    # Condition does not take the workflow-researchStudy extension (HAPI refuses it there): the study
    # is known through the subject's ResearchSubject. Clinical status only where the row says it.
    res: dict[str, Any] = {"resourceType": "Condition", "identifier": [{"system": system, "value": key}]}
    state = "active" if ongoing and not abatement else ("resolved" if abatement else None)
    if state is None and spell.version == "R5":
        # 1..1 in R5, whose condition-clinical (v2.0.0) has `unknown`; HAPI refuses a data-absent-reason
        # extension in its place ("No code provided"). R4's code system has no `unknown`: left out there.
        state = "unknown"
    if state:
        res["clinicalStatus"] = {"coding": [{"system": CONDITION_CLINICAL, "code": state}]}
    if mh.category and mh.category.strip():
        res["category"] = [{"text": mh.category.strip()}]
    res["code"] = _meddra(mh.term, mh.decoded_term, mh.pt_code, mh.llt, mh.llt_code)
    if mh.body_system and mh.body_system.strip():
        res["note"] = [{"text": f"Body system (MHBODSYS): {mh.body_system.strip()}"}]
    res["subject"] = ctx.patient_ref(mh.subject_id)
    if onset:
        res["onsetDateTime"] = onset
    if abatement:
        res["abatementDateTime"] = abatement
    return Keyed(res, system, key)


Mapper = Callable[[Any, Context], Keyed]


def _by_version(build: Callable[[Any, Context, _Spelling], Keyed]) -> dict[FhirVersion, Mapper]:
    """The mapper of each FHIR version for one domain: `build` with that version's spelling."""
    return {version: partial(_call, build, spell) for version, spell in _SPELLINGS.items()}


def _call(build: Callable[[Any, Context, _Spelling], Keyed], spell: _Spelling, record: Any, ctx: Context) -> Keyed:
    return build(record, ctx, spell)


MAP_EXPOSURE = _by_version(_exposure)
MAP_MEDICATION = _by_version(_medication)
MAP_HISTORY = _by_version(_history)

__all__ = ["MAP_EXPOSURE", "MAP_HISTORY", "MAP_MEDICATION"]
