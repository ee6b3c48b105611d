"""SDTM trial-design domains (TS, TA) → the version-neutral Study, when no registry record is given."""

from __future__ import annotations

import re
from collections.abc import Sequence

from fhirconv.errors import InputError
from fhirconv.model.participants import NON_ARMS, Participant, TrialDesign
from fhirconv.model.study import Age, ArmGroup, Design, Eligibility, Enrollment, Intervention, Org, Source, Study

# TS parameter codes: CDISC SDTM controlled terminology codelist TSPARMCD (NCI EVS C66738); values of
# the coded parameters from their codelists (TPHASE C66737, TBLIND C66735, SEXPOP C66732, TINDTP C66736).
_PHASES = {
    "PHASE 0 TRIAL": ["EARLY_PHASE1"],
    "PHASE I TRIAL": ["PHASE1"],
    "PHASE I/II TRIAL": ["PHASE1", "PHASE2"],
    "PHASE II TRIAL": ["PHASE2"],
    "PHASE IIA TRIAL": ["PHASE2"],
    "PHASE IIB TRIAL": ["PHASE2"],
    "PHASE II/III TRIAL": ["PHASE2", "PHASE3"],
    "PHASE III TRIAL": ["PHASE3"],
    "PHASE IIIA TRIAL": ["PHASE3"],
    "PHASE IIIB TRIAL": ["PHASE3"],
    "PHASE IV TRIAL": ["PHASE4"],
    "NOT APPLICABLE": ["NA"],
}
_MASKING = {"OPEN LABEL": "NONE", "SINGLE BLIND": "SINGLE", "DOUBLE BLIND": "DOUBLE"}
_SEX = {"BOTH": "ALL", "F": "FEMALE", "M": "MALE"}
_PURPOSE = {
    "TREATMENT": "TREATMENT",
    "PREVENTION": "PREVENTION",
    "DIAGNOSIS": "DIAGNOSTIC",
    "MITIGATION": "SUPPORTIVE_CARE",
    "CURE": "TREATMENT",
}
_AGE = re.compile(r"\s*([0-9]+(?:\.[0-9]+)?)\s*([A-Za-z]+)\s*")
_NCT = re.compile(r"NCT[0-9]{8}")


def _first(design: TrialDesign, code: str) -> str | None:
    values = [v.strip() for v in design.parameters.get(code, []) if v and v.strip()]
    return values[0] if values else None


def _all(design: TrialDesign, code: str) -> list[str]:
    return [v.strip() for v in design.parameters.get(code, []) if v and v.strip()]


def _age(text: str | None) -> Age | None:
    """TS AGEMIN/AGEMAX ("50 years"; ISO 8601 durations such as P18Y in newer data); else None."""
    if not text:
        return None
    iso = re.fullmatch(r"P([0-9]+)Y", text.strip())
    if iso:
        return Age(float(iso.group(1)), "years", text.strip())
    m = _AGE.fullmatch(text)
    if not m:
        return None  # "No maximum", "NULL": no limit
    return Age(float(m.group(1)), m.group(2).lower(), text.strip())


def study_from_design(design: TrialDesign) -> Study:
    """Build the Study the normal study mapping turns into a ResearchStudy (no invented data: absent
    parameters give absent fields). The study id is the registry id (TS REGID) when it is an NCT ID,
    else STUDYID, which fhirconv.mapping.keys.study_key scopes under fhirconv's own system."""
    regids = [r for r in _all(design, "REGID") if _NCT.fullmatch(r)]
    study_id = regids[0] if regids else design.study_id
    title = _first(design, "TITLE")
    phases: list[str] = []
    for value in _all(design, "TPHASE"):
        phases = _PHASES.get(value.upper(), phases)
    masking = _MASKING.get((_first(design, "TBLIND") or "").upper())
    random = (_first(design, "RANDOM") or "").upper()
    planned = _first(design, "PLANSUB")
    enrollment = Enrollment(int(float(planned)), "ESTIMATED") if planned and _is_number(planned) else None
    purpose = _PURPOSE.get((_first(design, "TINDTP") or "").upper())
    arms: list[ArmGroup] = []
    seen: set[str] = set()
    for _code, name, description in design.arms:
        if name and name not in seen:
            seen.add(name)
            arms.append(ArmGroup(label=name, description=description or None))
    interventions = [Intervention(name=n, type="DRUG") for n in _all(design, "TRT")]
    interventions += [
        Intervention(name=n, type="DRUG") for n in _all(design, "COMPTRT") if n not in _all(design, "TRT")
    ]
    sponsor = _first(design, "SPONSOR")
    conditions = _all(design, "INDIC") or _all(design, "TDIGRP")
    return Study(
        nct_id=study_id,
        source=Source("sdtm-trial-design"),
        brief_title=title,
        official_title=title,
        org_study_id=design.study_id,
        lead_sponsor=Org(sponsor) if sponsor else None,
        conditions=conditions,
        design=Design(
            study_type="INTERVENTIONAL" if interventions or arms else None,
            phases=phases,
            allocation="RANDOMIZED" if random == "Y" else ("NON_RANDOMIZED" if random == "N" else None),
            primary_purpose=purpose,
            masking=masking,
            enrollment=enrollment,
        ),
        arm_groups=arms,
        interventions=interventions,
        eligibility=Eligibility(
            sex=_SEX.get((_first(design, "SEXPOP") or "").upper()),
            minimum_age=_age(_first(design, "AGEMIN")),
            maximum_age=_age(_first(design, "AGEMAX")),
            healthy_volunteers={"Y": True, "N": False}.get((_first(design, "HLTSUBJI") or "").upper()),
        ),
    )


def arms_from_participants(participants: Sequence[Participant]) -> list[ArmGroup]:
    """The arms DM names (ARM, then ACTARM values), first spelling of each kept, SDTM's special
    values (Screen Failure, Not Assigned, ...) left out: they are not arms of the design."""
    arms: dict[str, ArmGroup] = {}
    for p in participants:
        for label in (p.arm, p.actual_arm):
            text = label.strip() if label else ""
            if text and text.upper() not in NON_ARMS:
                arms.setdefault(text.upper(), ArmGroup(label=text))
    return list(arms.values())


def study_from_participants(participants: Sequence[Participant]) -> Study:
    """The least Study the participant data itself gives, when there is neither a registry record nor
    TS/TA: its STUDYID and DM's arms. Nothing else is inferred (no title, phase or design)."""
    ids = sorted({p.study_id.strip() for p in participants if p.study_id and p.study_id.strip()})
    if not ids:
        first = participants[0].source.file if participants else None
        raise InputError(
            "no study record given, no trial-design domains (TS/TA), and no STUDYID in the participant data",
            file=first,
            field="STUDYID",
            hint="name the study's registry record (a file or an NCT ID) before --participants",
        )
    if len(ids) > 1:
        raise InputError(
            f"the participant data names several studies in STUDYID: {', '.join(ids)}",
            file=participants[0].source.file,
            field="STUDYID",
            hint="convert one study at a time",
        )
    return Study(nct_id=ids[0], arm_groups=arms_from_participants(participants), source=Source("participant-data"))


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
