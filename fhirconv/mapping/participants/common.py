"""Shared pieces of the participant mapping: context, identifiers, code tables, dates, values, Patient, Observation."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import cache
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fhirconv.errors import InputError, UnmappedCodeError, cut
from fhirconv.mapping import keys
from fhirconv.mapping.conceptmaps import lookup, translate, translate_all
from fhirconv.model.participants import (
    NON_ARMS,
    AdverseEventRecord,
    Disposition,
    Measurement,
    Participant,
    SourceRef,
)
from fhirconv.model.study import Study
from fhirconv.numbers import parse_number
from fhirconv.output.bundle import Keyed, reference
from fhirconv.timezone import OFFSET, check_timezone

# Identifier namespace for participant-level business identifiers. SDTM identifiers (USUBJID, --SEQ)
# are only unique within one study, so every system is scoped to the study's own key
# (fhirconv.mapping.keys.study_key): <SID_BASE>/<study id>/<kind>. Documented in mappings/README.md.
SID_BASE = f"{keys.SID_BASE}/study"
# CDISC publishes no FHIR code system URI for SDTM submission values; fhirconv uses one per codelist
# variable, as the ConceptMaps in mappings/conceptmaps/sdtm-*.json do (see mappings/README.md).
CDISC_CT = "http://www.cdisc.org/sdtm-ct/"
UCUM = "http://unitsofmeasure.org"
MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"
DATA_ABSENT = "http://terminology.hl7.org/CodeSystem/data-absent-reason"
BODY_POSITION = "http://hl7.org/fhir/StructureDefinition/observation-bodyPosition"
# Links a measurement to the study it was made for: Observation has no element for it (R4 core extension
# workflow-researchStudy; the same URL in R5's extensions pack), AdverseEvent has `study`.
RESEARCH_STUDY = "http://hl7.org/fhir/StructureDefinition/workflow-researchStudy"


# FHIR primitive formats (R5 regexes; R4 additionally wants a zone when a time is given, handled in
# fhir_datetime). SDTM --DTC values are ISO 8601 and may be partial ("2012", "2012-07").
DATE_RE = re.compile(r"([0-9]{4})(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?")
SDTM_DTC_RE = re.compile(
    r"(?P<date>[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01]))?)?)"
    r"(T(?P<hh>[01][0-9]|2[0-3]):(?P<mm>[0-5][0-9])(:(?P<ss>[0-5][0-9](\.[0-9]+)?))?"
    rf"(?P<tz>{OFFSET})?)?"
)
_COMPARATOR_RE = re.compile(r"(<=|>=|<|>)\s*(-?[0-9]+(\.[0-9]+)?)")


@dataclass(frozen=True, slots=True)
class CodeEntry:
    """One source code of a ConceptMap: its display and its targets (empty when the map says noMap)."""

    display: str | None
    targets: tuple[dict[str, Any], ...]


@cache
def code_table(map_id: str) -> dict[str, CodeEntry]:
    """The elements of ConceptMap `map_id` by source code, every target with its dependsOn (a view over
    fhirconv.mapping.conceptmaps.load, which reads and validates the map once)."""
    from fhirconv.mapping.conceptmaps import load

    return {
        code: CodeEntry(entry.display, tuple({"coding": dict(c), "depends": dict(d)} for c, d in entry.targets))
        for code, entry in load(map_id).entries.items()
    }


def source_display(map_id: str, code: str) -> str | None:
    entry = code_table(map_id).get(code)
    return entry.display if entry else None


@dataclass(slots=True)
class Context:
    """What every participant resource of one study shares: the study key, its reference, its arms."""

    study: Study
    study_system: str
    study_value: str
    arm_labels: dict[str, str]  # upper-cased label -> label as the study spells it
    arm_link_ids: dict[str, str]  # label -> R5 comparisonGroup linkId
    tz: str | None = None  # zone for SDTM local times; None: times are dropped (R4 needs a zone)
    # strict: a test code or unit our ConceptMaps do not know refuses the row (--strict); by default it is
    # carried with its CDISC code / as unit text, and counted (ObsPlan.notes) so the summary lists it once.
    strict: bool = False
    _systems: dict[str, str] = field(default_factory=dict)
    _patient_refs: dict[str, dict[str, Any]] = field(default_factory=dict)
    subject_arms: dict[str, str] = field(default_factory=dict)  # USUBJID -> actual (else planned) arm
    plans: dict[tuple[Any, ...], ObsPlan] = field(default_factory=dict)

    @classmethod
    def for_study(cls, study: Study, *, tz: str | None = None, strict: bool = False) -> Context:
        system, value = keys.study_key(study.nct_id)
        labels = {arm.label.upper(): arm.label for arm in study.arm_groups}
        if tz is not None:
            check_timezone(tz)
        return cls(study, system, value, labels, keys.arm_link_ids(study), tz, strict=strict)

    def system(self, kind: str) -> str:
        """The identifier system of `kind` (usubjid, observation, adverse-event) within this study."""
        found = self._systems.get(kind)
        if found is None:
            found = f"{SID_BASE}/{quote(self.study_value, safe='')}/{kind}"
            self._systems[kind] = found
        return found

    def study_ref(self) -> dict[str, Any]:
        return reference("ResearchStudy", self.study_system, self.study_value)

    def patient_ref(self, subject_id: str) -> dict[str, Any]:
        ref = self._patient_refs.get(subject_id)
        if ref is None:  # one shared (never mutated) dict per subject: uuid5 costs more than the lookup
            ref = self._patient_refs[subject_id] = reference("Patient", self.system("usubjid"), subject_id)
        return ref

    def arm(self, label: str | None, src: SourceRef, column: str) -> str | None:
        """The study's arm label for `label`, None for blank or an SDTM non-arm; an unknown arm is an error."""
        if label is None or not label.strip():
            return None
        upper = label.strip().upper()
        if upper in NON_ARMS:
            return None
        found = self.arm_labels.get(upper)
        if found is None:
            known = ", ".join(sorted(self.arm_labels.values())) or "none"
            raise InputError(
                f"arm {cut(label)} is not an arm of study {self.study.nct_id} (arms: {known})",
                file=src.file,
                record=f"row {src.row}",
                field=column,
                hint="the participant data and the study record must describe the same arms",
            )
        return found


def where(src: SourceRef) -> dict[str, str]:
    return {"file": src.file, "record": f"row {src.row}"}


def fhir_date(value: str | None, src: SourceRef, column: str) -> str | None:
    """A FHIR date from an SDTM --DTC (time dropped); unparseable → error naming the column."""
    if value is None or not value.strip():
        return None
    m = SDTM_DTC_RE.fullmatch(value.strip())
    if m is None:
        raise InputError(f"{column} {cut(value)} is not an ISO 8601 date", field=column, **where(src))
    return m.group("date")


def fhir_datetime(value: str | None, src: SourceRef, column: str, tz: str | None) -> str | None:
    """A FHIR dateTime from an SDTM --DTC. SDTM times have no zone, FHIR R4 requires one when a time is
    given: with `tz` the time is kept in that zone (seconds added as :00), without it only the date."""
    if value is None:
        return None
    cache = _DATETIMES.get(tz)
    if cache is None:
        cache = _DATETIMES[tz] = {}
    cached = cache.get(value)  # (blank values are never cached)
    if cached is not None:
        return cached
    if not value.strip():
        return None
    out = _fhir_datetime(value, src, column, tz)
    if len(cache) >= 20_000:  # bounded, so memory stays flat on any input
        cache.clear()
    cache[value] = out
    return out


_DATETIMES: dict[str | None, dict[str, str]] = {}  # by zone, then by --DTC value


def _fhir_datetime(value: str, src: SourceRef, column: str, tz: str | None) -> str:
    m = SDTM_DTC_RE.fullmatch(value.strip())
    if m is None:
        raise InputError(f"{column} {cut(value)} is not an ISO 8601 date/time", field=column, **where(src))
    if m.group("hh") is None:
        return m.group("date")
    zone = m.group("tz") or tz
    if zone is None or len(m.group("date")) != 10:  # no zone known, or a time on a partial date: date only
        return m.group("date")
    if zone != "Z" and zone[0] not in "+-":
        zone = _offset_in(zone, m.group("date"), m.group("hh"), m.group("mm"))
    seconds = m.group("ss") or "00"
    return f"{m.group('date')}T{m.group('hh')}:{m.group('mm')}:{seconds}{zone}"


def _offset_in(zone_name: str, date: str, hh: str, mm: str) -> str:
    """The UTC offset an IANA zone (e.g. Europe/Minsk) had at that local date and time, daylight saving
    included, as FHIR writes it (+03:00). An ambiguous local time (the hour repeated when clocks go back)
    takes the first, summer-time reading."""
    local = datetime.fromisoformat(f"{date}T{hh}:{mm}").replace(tzinfo=ZoneInfo(zone_name))
    offset = local.utcoffset()
    minutes = int(offset.total_seconds() // 60) if offset is not None else 0
    sign = "+" if minutes >= 0 else "-"
    return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def finite(value: float | None, src: SourceRef, column: str) -> float | int | None:
    if value is None:
        return None
    # Integral values are written without ".0": SDTM stores every number as a float.
    if value.is_integer():  # (never true of inf or nan)
        return int(value) if abs(value) < 2**53 else value
    if not math.isfinite(value):
        raise InputError(f"{column} is not a finite number ({value})", field=column, **where(src))
    return value


@dataclass(frozen=True, slots=True)
class _Columns:
    """The SDTM variable names of one findings domain that errors name (LBSTRESN, ...), made once."""

    stresn: str
    stresc: str
    stresu: str
    orresu: str
    dtc: str
    stnrlo: str
    stnrhi: str


@cache
def _columns(domain: str) -> _Columns:
    names = ("STRESN", "STRESC", "STRESU", "ORRESU", "DTC", "STNRLO", "STNRHI")
    return _Columns(*(f"{domain}{n}" for n in names))


def identifier(system: str, value: str) -> dict[str, str]:
    return {"system": system, "value": value}


# DM RACE / ETHNIC (CDISC CT codelists RACE C74457, ETHNIC C66790) as the US Core race and ethnicity
# extensions carry them: OMB category codes of the CDC Race & Ethnicity code set
# (urn:oid:2.16.840.1.113883.6.238, https://www.cdc.gov/phin/resources/vocabulary/) plus the SDTM words as
# `text` (1..1 in US Core). A value with no OMB category (MULTIPLE, OTHER, NOT REPORTED) is text only.
US_CORE = "http://hl7.org/fhir/us/core/StructureDefinition"
CDC_RACE = "urn:oid:2.16.840.1.113883.6.238"
_OMB_RACE = {
    "AMERICAN INDIAN OR ALASKA NATIVE": ("1002-5", "American Indian or Alaska Native"),
    "ASIAN": ("2028-9", "Asian"),
    "BLACK OR AFRICAN AMERICAN": ("2054-5", "Black or African American"),
    "NATIVE HAWAIIAN OR OTHER PACIFIC ISLANDER": ("2076-8", "Native Hawaiian or Other Pacific Islander"),
    "WHITE": ("2106-3", "White"),
}
_OMB_ETHNICITY = {
    "HISPANIC OR LATINO": ("2135-2", "Hispanic or Latino"),
    "NOT HISPANIC OR LATINO": ("2186-5", "Not Hispanic or Latino"),
}


def _omb_extension(kind: str, value: str | None, table: Mapping[str, tuple[str, str]]) -> dict[str, Any] | None:
    if value is None or not value.strip():
        return None
    text = value.strip()
    parts: list[dict[str, Any]] = []
    found = table.get(text.upper())
    if found is not None:
        parts.append({"url": "ombCategory", "valueCoding": {"system": CDC_RACE, "code": found[0], "display": found[1]}})
    parts.append({"url": "text", "valueString": text})
    return {"url": f"{US_CORE}/us-core-{kind}", "extension": parts}


def map_patient(p: Participant, ctx: Context) -> Keyed:
    """Participant (DM) → Patient, identified by USUBJID within the study."""
    system = ctx.system("usubjid")
    res: dict[str, Any] = {"resourceType": "Patient"}
    extensions = [
        e
        for e in (_omb_extension("race", p.race, _OMB_RACE), _omb_extension("ethnicity", p.ethnicity, _OMB_ETHNICITY))
        if e is not None
    ]
    if extensions:
        res["extension"] = extensions
    res["identifier"] = [identifier(system, p.subject_id)]
    if p.sex and p.sex.strip():
        coding = translate("sdtm-sex-gender", p.sex.strip().upper(), field="SEX", source=p.source, optional=True)
        if coding is not None:
            res["gender"] = coding["code"]
    birth = fhir_date(p.birth_date, p.source, "BRTHDTC")
    if birth:
        res["birthDate"] = birth
    death = fhir_datetime(p.death_date, p.source, "DTHDTC", ctx.tz)
    if death:
        res["deceasedDateTime"] = death
    elif p.death_flag:
        res["deceasedBoolean"] = True
    if p.country and p.country.strip():
        res["address"] = [{"country": p.country.strip()}]
    return Keyed(res, system, p.subject_id)


# LOINC 30525-0 Age: the code the study path uses for eligibility ages too (Group.characteristic).
LOINC_AGE = {"system": "http://loinc.org", "code": "30525-0", "display": "Age"}


def map_age(p: Participant, ctx: Context) -> Keyed | None:
    """DM.AGE with AGEU → an Observation of the subject's age (LOINC 30525-0), valued in UCUM (a, mo, wk,
    d, h through sdtm-ageu-ucum; an AGEU outside it is kept as unit text), at RFSTDTC, the date SDTM
    defines AGE at. FHIR's Patient has no age element (only birthDate, often withheld in SDTM); an
    Observation is how FHIR records an age at a time. None without AGE."""
    if p.age is None:
        return None
    quantity: dict[str, Any] = {"value": finite(p.age, p.source, "AGE")}
    unit = (p.age_unit or "").strip()
    if unit:
        quantity["unit"] = unit
        coding = lookup("sdtm-ageu-ucum", unit.upper())
        if coding is not None:
            quantity.update(system=coding["system"], code=coding["code"])
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "extension": [{"url": RESEARCH_STUDY, "valueReference": ctx.study_ref()}],
        "identifier": [identifier(ctx.system("observation"), f"{p.subject_id}/DM/AGE")],
        "status": "final",
        "code": {"coding": [dict(LOINC_AGE)], "text": "Age"},
        "subject": ctx.patient_ref(p.subject_id),
    }
    when = fhir_datetime(p.reference_start, p.source, "RFSTDTC", ctx.tz)
    if when:
        res["effectiveDateTime"] = when
    res["valueQuantity"] = quantity
    return Keyed(res, ctx.system("observation"), f"{p.subject_id}/DM/AGE")


# --- Observation ------------------------------------------------------------------------------

_TEST_MAPS = {
    "LB": "sdtm-lbtestcd-loinc",
    "VS": "sdtm-vstestcd-loinc",
    "MB": "sdtm-mbtestcd-loinc",
    "RE": "sdtm-retestcd-loinc",
}


def test_map(domain: str) -> str | None:
    return _TEST_MAPS.get(domain)


def observation_key(m: Measurement) -> str:
    """Subject + domain + --SEQ; without --SEQ the natural key subject/domain/test/visit/time point/date."""
    if m.seq is not None:
        return f"{m.subject_id}/{m.domain}/{m.seq}"
    parts = [m.subject_id, m.domain, m.test_code, m.visit or "", m.time_point or "", m.date or ""]
    return "/".join(parts)


@dataclass(frozen=True, slots=True)
class ObsPlan:
    """The static part of every Observation of one shape: built, and validated, once per shape.

    Resources of a shape share these fragments (they are never mutated after creation); only the
    per-row values (identifier, subject, date, numbers, free text) are new per row."""

    shape: tuple[Any, ...]
    status: str
    category: list[dict[str, Any]]
    code: dict[str, Any]
    unit: dict[str, Any] | None = None  # unit/system/code of valueQuantity and referenceRange
    value_concept: dict[str, Any] | None = None
    absent: dict[str, Any] | None = None
    interpretation: list[dict[str, Any]] | None = None
    method: dict[str, Any] | None = None
    extension: list[dict[str, Any]] | None = None
    # Why this shape is coded less than fully (a test code without LOINC, a unit without UCUM): one
    # summary line per note, counted per row.
    notes: tuple[str, ...] = ()
    # referenceRange lists by (low, high) as the record holds them: ranges repeat per test and lab,
    # and are shared like the fragments above. Bounded (cleared when full).
    ranges: dict[tuple[float | None, float | None], list[dict[str, Any]]] = field(default_factory=dict, compare=False)


_RANGES_PER_PLAN = 256
_NOT_PERFORMED = {"coding": [{"system": DATA_ABSENT, "code": "not-performed"}]}
_UNKNOWN = {"coding": [{"system": DATA_ABSENT, "code": "unknown"}]}


def _result(m: Measurement) -> tuple[str, Any, str | None, str]:
    """What the row's result is: (kind, value, unit, unit column); kind is one of
    absent | quantity | comparator | concept | string | not-done."""
    cols = _columns(m.domain)
    if m.status and m.status.strip().upper() == "NOT DONE":
        return "not-done", None, None, ""
    number, unit, text, ucol = m.std_value, m.std_unit, m.std_text, cols.stresu
    if number is None and not (text and text.strip()):
        # Simple layouts may give only the original result.
        unit, ucol, text = m.result_unit, cols.orresu, m.result_text
        if text is not None:
            try:
                number = parse_number(text)
            except ValueError:
                number = None
    num = finite(number, m.source, cols.stresn)
    unit = unit.strip() if unit and unit.strip() else None
    if num is not None:
        return "quantity", num, unit, ucol
    if text and text.strip():
        t = text.strip()
        cmp = _COMPARATOR_RE.fullmatch(t)
        if cmp:
            return "comparator", (cmp.group(1), finite(float(cmp.group(2)), m.source, cols.stresc)), unit, ucol
        entry = code_table("sdtm-result-snomed").get(t.upper())
        if entry is not None and entry.targets:
            return "concept", t, unit, ucol
        return "string", t, unit, ucol
    return "absent", None, unit, ucol


def _plan(m: Measurement, kind: str, value: Any, unit: str | None, ucol: str, ctx: Context) -> ObsPlan:
    d = m.domain
    nrind = m.normal_indicator.strip() if m.normal_indicator and m.normal_indicator.strip() else None
    shape = (
        d,
        m.test_code,
        m.test_name,
        (m.category or "").strip(),
        unit,
        kind,
        value[0] if kind == "comparator" else (value.upper() if kind == "concept" else None),
        nrind,
        m.ref_low is not None,
        m.ref_high is not None,
        bool(m.date and m.date.strip()),
        (m.method or "").strip(),
        (m.position or "").strip(),
        bool(m.reason_not_done and m.reason_not_done.strip()),
        bool(m.visit and m.visit.strip()),
        m.visit_number is not None,
    )
    plan = ctx.plans.get(shape)
    if plan is not None:
        return plan
    src = m.source
    tmap = test_map(d)
    if tmap is None:
        raise UnmappedCodeError(
            f"no test-code ConceptMap for domain {d!r}",
            field="DOMAIN",
            hint=f"supported: {', '.join(_TEST_MAPS)}",
            **where(src),
        )
    notes: list[str] = []
    codings: list[dict[str, Any]] = []
    if ctx.strict or m.test_code in code_table(tmap):
        codings = translate_all(tmap, m.test_code, field=f"{d}TESTCD", source=src, depends={"unit": unit})
    else:
        notes.append(f"{d}TESTCD {m.test_code}: not in {tmap}, coded with its CDISC code only")
    source_coding: dict[str, Any] = {"system": f"{CDISC_CT}{d}TESTCD", "code": m.test_code}
    name = m.test_name or source_display(tmap, m.test_code)
    if name:
        source_coding["display"] = name
    codings.append(source_coding)
    category: list[dict[str, Any]] = [{"coding": [translate("sdtm-domain-category", d, field="DOMAIN", source=src)]}]
    if shape[3]:
        category.append({"text": shape[3]})
    unit_part = None
    if unit is not None and (kind in ("quantity", "comparator") or shape[8] or shape[9]):
        if ctx.strict or unit in code_table("sdtm-unit-ucum"):
            coding = translate("sdtm-unit-ucum", unit, field=ucol, source=src, optional=True)
        else:
            coding = None
            notes.append(f"{ucol} {cut(unit)}: not in sdtm-unit-ucum, kept as unit text without a UCUM code")
        unit_part = {"unit": unit, "system": UCUM, "code": coding["code"]} if coding else {"unit": unit}
    concept = None
    if kind == "concept":
        target = code_table("sdtm-result-snomed")[value.upper()].targets[0]
        concept = {"coding": [dict(target["coding"])], "text": value}
    interpretation = None
    if nrind is not None:
        interp = translate("sdtm-nrind-interpretation", nrind, field=f"{d}NRIND", source=src, optional=True)
        if interp is not None:
            interpretation = [{"coding": [interp]}]
    plan = ObsPlan(
        shape=shape,
        status="cancelled" if kind == "not-done" else "final",
        category=category,
        code={"coding": codings, "text": name or m.test_code},
        unit=unit_part,
        value_concept=concept,
        absent=_NOT_PERFORMED if kind == "not-done" else (_UNKNOWN if kind == "absent" else None),
        interpretation=interpretation,
        method={"text": shape[11]} if shape[11] else None,
        extension=[
            {"url": RESEARCH_STUDY, "valueReference": ctx.study_ref()},
            *([{"url": BODY_POSITION, "valueCodeableConcept": {"text": shape[12]}}] if shape[12] else []),
        ],
        notes=tuple(notes),
    )
    ctx.plans[shape] = plan
    return plan


def build_observation(m: Measurement, ctx: Context) -> tuple[Keyed, ObsPlan]:
    """Measurement (LB/VS/MB row) → Observation, with the plan (shape) it was built from."""
    cols = _columns(m.domain)
    kind, value, unit, ucol = _result(m)
    plan = _plan(m, kind, value, unit, ucol, ctx)
    system = ctx.system("observation")
    key = observation_key(m)
    res: dict[str, Any] = {
        "resourceType": "Observation",
        "identifier": [{"system": system, "value": key}],
        "status": plan.status,
        "category": plan.category,
        "code": plan.code,
        "subject": ctx.patient_ref(m.subject_id),
    }
    encounter = visit_reference(m, ctx)
    if encounter is not None:
        res["encounter"] = encounter
    if m.date and m.date.strip():
        effective = fhir_datetime(m.date, m.source, cols.dtc, ctx.tz)
        if effective:
            res["effectiveDateTime"] = effective
    if kind == "quantity":
        res["valueQuantity"] = {"value": value, **plan.unit} if plan.unit else {"value": value}
    elif kind == "comparator":
        q = {"value": value[1], "comparator": value[0]}
        res["valueQuantity"] = {**q, **plan.unit} if plan.unit else q
    elif kind == "concept":
        res["valueCodeableConcept"] = plan.value_concept
    elif kind == "string":
        res["valueString"] = value
    else:
        res["dataAbsentReason"] = plan.absent
    if plan.interpretation is not None:
        res["interpretation"] = plan.interpretation
    if m.ref_low is not None or m.ref_high is not None:
        bounds = (m.ref_low, m.ref_high)
        ranges = plan.ranges.get(bounds)
        if ranges is None:
            rng: dict[str, Any] = {}
            unit_part = plan.unit or {}
            low = finite(m.ref_low, m.source, cols.stnrlo)
            high = finite(m.ref_high, m.source, cols.stnrhi)
            if low is not None:
                rng["low"] = {"value": low, **unit_part}
            if high is not None:
                rng["high"] = {"value": high, **unit_part}
            if len(plan.ranges) >= _RANGES_PER_PLAN:
                plan.ranges.clear()
            ranges = plan.ranges[bounds] = [rng]
        res["referenceRange"] = ranges
    if plan.method is not None:
        res["method"] = plan.method
    if plan.extension is not None:
        res["extension"] = plan.extension
    if m.reason_not_done and m.reason_not_done.strip():
        res["note"] = [{"text": f"Not done: {m.reason_not_done.strip()}"}]
    return Keyed(res, system, key), plan


def visit_reference(m: Measurement, ctx: Context) -> dict[str, Any] | None:
    """VISIT / VISITNUM as Observation.encounter, a logical reference to the subject's visit (the Joint
    Mapping IG: VISITNUM is the Encounter's identifier, VISIT its name): identifier `USUBJID/VISITNUM`
    (one Encounter per subject and visit) in the study's `visit` system, display = VISIT. No Encounter
    resource is made: the reference says which visit without a resource that would say nothing more."""
    name = m.visit.strip() if m.visit and m.visit.strip() else None
    number = finite(m.visit_number, m.source, "VISITNUM")  # 4.0 is written "4", 4.1 "4.1"
    if name is None and number is None:
        return None
    ref: dict[str, Any] = {}
    if number is not None:
        ref["identifier"] = {"system": ctx.system("visit"), "value": f"{m.subject_id}/{number}"}
    if name is not None:
        ref["display"] = name
    return ref


def map_observation(m: Measurement, ctx: Context) -> Keyed:
    """Measurement (LB/VS/MB row) → Observation: LOINC + SDTM code, value, range, interpretation, date."""
    return build_observation(m, ctx)[0]


# --- ResearchSubject state and AdverseEvent pieces shared by both versions ----------------------

STATE_CATEGORIES = frozenset({"DISPOSITION EVENT", "PROTOCOL MILESTONE"})


def subject_states(dispositions: list[Disposition]) -> list[tuple[Disposition, dict[str, Any]]]:
    """The disposition rows that say something about the subject's state, in date/sequence order, each
    with its research-subject-state Coding. OTHER EVENT rows (e.g. FINAL LAB VISIT) have no FHIR home."""
    out = []
    for ds in dispositions:
        if ds.category is not None and ds.category.strip().upper() not in STATE_CATEGORIES:
            continue
        term = ds.term.strip().upper()
        coding = translate("sdtm-dsdecod-subject-state", term, field="DSDECOD", source=ds.source, optional=True)
        if coding is not None:
            out.append((ds, coding))
    out.sort(key=lambda item: (item[0].date or "", item[0].seq or 0))
    return out


def default_state(p: Participant, arm: str | None) -> str:
    """The subject state when DS says nothing: screen failures are ineligible, others on study."""
    raw = (p.arm or "").strip().upper()
    if raw == "SCREEN FAILURE":
        return "ineligible"
    if arm is None and raw in NON_ARMS:
        return "not-registered" if raw == "NOT ASSIGNED" else "off-study"
    return "on-study"


def period(p: Participant, ctx: Context) -> dict[str, str] | None:
    start = fhir_datetime(p.reference_start, p.source, "RFSTDTC", ctx.tz)
    end = fhir_datetime(p.reference_end, p.source, "RFENDTC", ctx.tz)
    if not start and not end:
        return None
    out = {}
    if start:
        out["start"] = start
    if end:
        out["end"] = end
    return out


def ae_key(ae: AdverseEventRecord) -> str:
    """Subject + AESEQ; without AESEQ the natural key subject/term/start date."""
    if ae.seq is not None:
        return f"{ae.subject_id}/{ae.seq}"
    return f"{ae.subject_id}/{ae.term}/{ae.start or ''}"


def ae_event_concept(ae: AdverseEventRecord) -> dict[str, Any]:
    """The event as MedDRA (preferred term, and lowest level term when given) with the verbatim term as text."""
    codings: list[dict[str, Any]] = []
    if ae.pt_code and ae.pt_code.strip():
        c: dict[str, Any] = {"system": MEDDRA, "code": ae.pt_code.strip()}
        if ae.decoded_term:
            c["display"] = ae.decoded_term
        codings.append(c)
    if ae.llt_code and ae.llt_code.strip() and ae.llt_code.strip() != (ae.pt_code or "").strip():
        c = {"system": MEDDRA, "code": ae.llt_code.strip()}
        if ae.llt:
            c["display"] = ae.llt
        codings.append(c)
    concept: dict[str, Any] = {}
    if codings:
        concept["coding"] = codings
    concept["text"] = ae.term
    return concept


def ae_organ_system(ae: AdverseEventRecord) -> dict[str, Any] | None:
    """The MedDRA system organ class (AESOC/AESOCCD, else AEBODSYS/AEBDSYCD) as an AdverseEvent.category:
    a MedDRA coding when the code is given, the class name as text. Not a coding of the event itself: the
    codings of one concept are the same meaning in other words, and a consumer taking any of them for the
    event would take the organ class for the event. See mappings/README.md."""
    name = ae.soc.strip() if ae.soc and ae.soc.strip() else None
    code = ae.soc_code.strip() if ae.soc_code and ae.soc_code.strip() else None
    if name is None and code is None:
        return None
    concept: dict[str, Any] = {}
    if code is not None:
        coding: dict[str, Any] = {"system": MEDDRA, "code": code}
        if name:
            coding["display"] = name
        concept["coding"] = [coding]
    if name:
        concept["text"] = name
    return concept


def ae_seriousness(ae: AdverseEventRecord, version: str) -> dict[str, Any] | None:
    """AESER as the seriousness CodeableConcept, spelt as `version` ("R4" or "R5") spells the codes."""
    if ae.serious is None:
        return None
    display = "Serious" if ae.serious else "Non-serious"
    code = version_code(AE_SERIOUSNESS, display, version)
    return {"coding": [{"system": AE_SERIOUSNESS, "code": code, "display": display}]}


def ae_coded(map_id: str, value: str | None, src: SourceRef, column: str) -> dict[str, Any] | None:
    """A CodeableConcept from a ConceptMap, keeping the source term as text (also when unmapped by noMap)."""
    if value is None or not value.strip():
        return None
    coding = translate(map_id, value.strip().upper(), field=column, source=src, optional=True)
    concept: dict[str, Any] = {"coding": [coding]} if coding else {}
    concept["text"] = value.strip()
    return concept


def ae_grade(ae: AdverseEventRecord) -> dict[str, Any] | None:
    """AETOXGR as a grade CodeableConcept; text is the map's display ("Grade 3"), not the bare number."""
    if ae.grade is None:
        return None
    code = str(ae.grade)
    coding = translate("sdtm-aetoxgr-grade", code, field="AETOXGR", source=ae.source, optional=True)
    concept: dict[str, Any] = {"coding": [coding]} if coding else {}
    concept["text"] = source_display("sdtm-aetoxgr-grade", code) or code
    return concept


def ae_causality(ae: AdverseEventRecord, version: str) -> dict[str, Any] | None:
    concept = ae_coded("sdtm-aerel-causality", ae.relatedness, ae.source, "AEREL")
    if concept and concept.get("coding"):
        concept["coding"] = [
            {**c, "code": version_code(str(c.get("system")), str(c["code"]), version)} for c in concept["coding"]
        ]
    return concept


AE_SERIOUSNESS = "http://terminology.hl7.org/CodeSystem/adverse-event-seriousness"
AE_CAUSALITY = "http://terminology.hl7.org/CodeSystem/adverse-event-causality-assess"

# Code systems whose codes were respelt in lower case when they moved from FHIR 4.0.1 to terminology.hl7.org,
# which R5 binds to (Serious -> serious, Probably-Likely -> probably-likely). HAPI's validator refuses the
# other version's spelling as an unknown code. The ConceptMaps hold the 4.0.1 spelling.
RESPELT_IN_R5 = frozenset({AE_SERIOUSNESS, AE_CAUSALITY})


def version_code(system: str, code: str, version: str) -> str:
    """`code` of `system` as FHIR `version` ("R4" or "R5") spells it."""
    if version == "R5" and system in RESPELT_IN_R5:
        return code.lower()
    if version not in ("R4", "R5"):
        raise KeyError(version)
    return code


def intervention_label(ctx: Context, subject_id: str) -> str:
    """The study intervention(s) an event's relatedness refers to: those of the subject's (actual) arm
    when the pipeline has recorded it and the study links interventions to arms, else all of them."""
    arm = ctx.subject_arms.get(subject_id)
    names = [i.name for i in ctx.study.interventions if i.name and arm in i.arm_group_labels]
    if not names:
        names = [i.name for i in ctx.study.interventions if i.name]
    return "study intervention: " + ", ".join(names) if names else "study intervention"
