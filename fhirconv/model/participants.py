"""Typed, source-neutral participant records that every participant reader yields and the mapping consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

# Codes are kept in CDISC SDTM controlled terminology whatever the source layout (SEX "M"/"F"/"U",
# AESEV "MILD", AEOUT "RECOVERED/RESOLVED", LBNRIND "HIGH", ...); readers of other layouts translate
# to it through their column spec. Dates are ISO 8601 partial dates/datetimes as SDTM --DTC holds them.

# SDTM "special" ARM values (SDTM IG 3.x, DM assumptions): not arms of the design, so no arm reference.
NON_ARMS = frozenset({"SCREEN FAILURE", "NOT ASSIGNED", "NOT TREATED", "UNPLANNED TREATMENT", "ASSIGNED, NOT TREATED"})


@dataclass(frozen=True, slots=True)
class SourceRef:
    """Where a record came from, for error messages and the row accounting summary."""

    file: str
    row: int  # 1-based data row number (header excluded)


@dataclass(slots=True)
class Participant:
    subject_id: str  # USUBJID
    source: SourceRef
    study_id: str | None = None  # STUDYID
    site_id: str | None = None
    sex: str | None = None  # SDTM SEX: M, F, U, UNDIFFERENTIATED
    birth_date: str | None = None  # BRTHDTC
    age: float | None = None
    age_unit: str | None = None  # AGEU: YEARS, MONTHS, ...
    race: str | None = None
    ethnicity: str | None = None
    country: str | None = None
    arm: str | None = None  # planned arm name (ARM)
    arm_code: str | None = None  # ARMCD
    actual_arm: str | None = None  # ACTARM
    actual_arm_code: str | None = None
    reference_start: str | None = None  # RFSTDTC (first study treatment / reference start)
    reference_end: str | None = None  # RFENDTC
    informed_consent: str | None = None  # RFICDTC
    death_date: str | None = None  # DTHDTC
    death_flag: bool | None = None  # DTHFL


@dataclass(slots=True)
class Disposition:
    """A DS record: drives ResearchSubject status (R4) / progress (R5)."""

    subject_id: str
    source: SourceRef
    term: str  # DSDECOD, e.g. COMPLETED, ADVERSE EVENT, SCREEN FAILURE, RANDOMIZED
    category: str | None = None  # DSCAT: DISPOSITION EVENT, PROTOCOL MILESTONE, OTHER EVENT
    date: str | None = None  # DSSTDTC
    epoch: str | None = None
    seq: int | None = None


@dataclass(slots=True)
class Measurement:
    """One result row of a findings domain (LB, VS, MB, or a simple-CSV observation)."""

    subject_id: str
    source: SourceRef
    domain: str  # LB, VS, MB, ... (simple CSV: the `category` column decides)
    test_code: str  # --TESTCD
    test_name: str | None = None  # --TEST
    category: str | None = None  # --CAT (e.g. HEMATOLOGY) / simple CSV category
    seq: int | None = None  # --SEQ: with subject and domain, the record's business key
    result_text: str | None = None  # --ORRES (original result as text)
    result_unit: str | None = None  # --ORRESU
    std_text: str | None = None  # --STRESC
    std_value: float | None = None  # --STRESN
    std_unit: str | None = None  # --STRESU
    ref_low: float | None = None  # --STNRLO
    ref_high: float | None = None  # --STNRHI
    ref_text_low: str | None = None  # --ORNRLO (original units)
    ref_text_high: str | None = None
    normal_indicator: str | None = None  # --NRIND: NORMAL, HIGH, LOW, ABNORMAL
    status: str | None = None  # --STAT: NOT DONE
    reason_not_done: str | None = None  # --REASND
    date: str | None = None  # --DTC
    visit: str | None = None
    visit_number: float | None = None
    study_day: int | None = None  # --DY
    position: str | None = None  # VSPOS
    time_point: str | None = None  # --TPT
    specimen: str | None = None  # --SPEC
    method: str | None = None  # --METHOD
    baseline: bool | None = None  # --BLFL
    extra: dict[str, str] = field(default_factory=dict)  # supplemental qualifiers (SUPP--), by QNAM


@dataclass(slots=True)
class AdverseEventRecord:
    subject_id: str
    source: SourceRef
    term: str  # AETERM (verbatim)
    seq: int | None = None
    decoded_term: str | None = None  # AEDECOD (MedDRA preferred term)
    pt_code: str | None = None  # AEPTCD
    llt: str | None = None  # AELLT
    llt_code: str | None = None  # AELLTCD
    soc: str | None = None  # AESOC, else AEBODSYS (MedDRA system organ class)
    soc_code: str | None = None  # AESOCCD, else AEBDSYCD
    start: str | None = None  # AESTDTC
    end: str | None = None  # AEENDTC
    serious: bool | None = None  # AESER
    seriousness: list[str] = field(default_factory=list)  # AESDTH, AESLIFE, AESHOSP, ... flags that are Y
    severity: str | None = None  # AESEV: MILD, MODERATE, SEVERE
    grade: int | None = None  # AETOXGR (CTCAE grade 1-5)
    relatedness: str | None = None  # AEREL: NONE, REMOTE, POSSIBLE, PROBABLE, RELATED, NOT RELATED, ...
    outcome: str | None = None  # AEOUT
    action_taken: str | None = None  # AEACN
    treatment_emergent: bool | None = None  # SUPPAE.AETRTEM
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class Exposure:
    """EX row: a study treatment as given (protocol-specified dose, route, period)."""

    subject_id: str
    source: SourceRef
    treatment: str  # EXTRT
    seq: int | None = None
    dose: float | None = None  # EXDOSE
    dose_text: str | None = None  # EXDOSTXT (a dose range or a non-numeric dose)
    dose_unit: str | None = None  # EXDOSU
    dose_form: str | None = None  # EXDOSFRM
    frequency: str | None = None  # EXDOSFRQ
    route: str | None = None  # EXROUTE
    start: str | None = None  # EXSTDTC
    end: str | None = None  # EXENDTC
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class ConcomitantMedication:
    """CM row: a medication the subject took besides the study treatment."""

    subject_id: str
    source: SourceRef
    term: str  # CMTRT (verbatim)
    seq: int | None = None
    decoded_term: str | None = None  # CMDECOD (WHO Drug preferred name)
    drug_code: str | None = None  # CMDECDCD / sponsor WHO Drug code where given
    atc_code: str | None = None  # CMCLASCD (ATC class code)
    drug_class: str | None = None  # CMCLAS
    indication: str | None = None  # CMINDC
    dose: float | None = None  # CMDOSE
    dose_unit: str | None = None  # CMDOSU
    frequency: str | None = None  # CMDOSFRQ
    route: str | None = None  # CMROUTE
    start: str | None = None  # CMSTDTC
    end: str | None = None  # CMENDTC
    ongoing: str | None = None  # CMENRF / CMENRTPT (e.g. ONGOING, AFTER)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class MedicalHistory:
    """MH row: a condition the subject had before the study."""

    subject_id: str
    source: SourceRef
    term: str  # MHTERM (verbatim)
    seq: int | None = None
    decoded_term: str | None = None  # MHDECOD (MedDRA preferred term)
    pt_code: str | None = None  # MHPTCD
    llt: str | None = None  # MHLLT
    llt_code: str | None = None  # MHLLTCD
    category: str | None = None  # MHCAT
    body_system: str | None = None  # MHBODSYS
    start: str | None = None  # MHSTDTC
    end: str | None = None  # MHENDTC
    ongoing: str | None = None  # MHENRF / MHENRTPT (ONGOING, DURING/AFTER, ...)
    extra: dict[str, str] = field(default_factory=dict)


@dataclass(slots=True)
class TrialDesign:
    """What the trial-design domains (TS, TA, TE) say of the study, when no registry record is given."""

    study_id: str
    source: SourceRef
    parameters: dict[str, list[str]] = field(default_factory=dict)  # TS: TSPARMCD -> values in TSSEQ order
    arms: list[tuple[str, str, str | None]] = field(default_factory=list)  # TA: (ARMCD, ARM, description)


@dataclass(slots=True)
class RowRejected:
    """A row the reader could not turn into a record: counted and reported, never dropped silently."""

    source: SourceRef
    column: str | None
    reason: str
    hint: str | None = None  # what the user can do about it
