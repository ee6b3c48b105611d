"""What the report shows, read from FHIR resources (R4 or R5, our own output): plain dicts and counts, no HTML."""

from __future__ import annotations

import math
import statistics
from array import array
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from fhirconv.report.posted import Measure, Posted

Resource = dict[str, Any]
NO_ARM = "(no arm)"


def text_of(concept: Any) -> str:
    """A CodeableConcept (or a list of them) as words: its text, else the first display or code."""
    if isinstance(concept, list):
        return "; ".join(t for t in (text_of(c) for c in concept) if t)
    if not isinstance(concept, dict):
        return ""
    if concept.get("text"):
        return str(concept["text"])
    for coding in concept.get("coding") or []:
        if coding.get("display") or coding.get("code"):
            return str(coding.get("display") or coding.get("code"))
    return ""


def _ext(resource: Resource, suffix: str) -> Any:
    for e in resource.get("extension") or []:
        if str(e.get("url", "")).endswith(suffix):
            return e
    return None


def _day(text: Any) -> date | None:
    try:
        return date.fromisoformat(str(text)[:10])
    except ValueError:
        return None


@dataclass
class Study:
    title: str = ""
    identifiers: list[tuple[str, str]] = field(default_factory=list)
    status: str = ""
    phase: str = ""
    design: list[str] = field(default_factory=list)
    conditions: list[str] = field(default_factory=list)
    start: str = ""
    end: str = ""
    arms: list[dict[str, str]] = field(default_factory=list)  # name, type, description, interventions
    eligibility: list[tuple[str, str]] = field(default_factory=list)
    outcomes: list[dict[str, str]] = field(default_factory=list)  # kind, name, description
    sponsor: str = ""
    sites: list[dict[str, str]] = field(default_factory=list)  # name, city, country
    arm_by_link: dict[str, str] = field(default_factory=dict)  # R5 comparisonGroup.linkId -> name


@dataclass
class Content:
    """Everything the page needs, gathered once."""

    counts: Counter[str] = field(default_factory=Counter)  # resources per type
    study: Study | None = None
    subjects: list[dict[str, Any]] = field(default_factory=list)  # key, arm, status, reason, start
    events: list[dict[str, Any]] = field(default_factory=list)  # subject, arm, term, soc, grade, serious, related
    # (kind, test) -> the summary `summarise` makes: unit, n, out, reference range, series by arm and visit
    tests: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)
    posted: list[Measure] = field(default_factory=list)  # the registry's posted outcome measures, by number

    def arms(self) -> list[str]:
        names = [a["name"] for a in self.study.arms] if self.study else []
        extra = sorted({s["arm"] for s in self.subjects} - set(names))
        return [n for n in names if any(s["arm"] == n for s in self.subjects)] + extra

    def participants_by_arm(self) -> Counter[str]:
        return Counter(s["arm"] for s in self.subjects)


# Kept whole while reading: the study and what it references (few, and needed together at the end).
_KEPT = frozenset({"ResearchStudy", "Group", "Organization", "Location", "ResearchSubject"})


@dataclass
class _Test:
    """The results of one (kind, test) as columns of numbers, not resources: about 40 bytes per result
    instead of the ~10 KB a parsed Observation takes. Arm and study day need the subject's ResearchSubject,
    which may come later in the input, so they are worked out at the end."""

    unit: str
    subject: array[int] = field(default_factory=lambda: array("i"))  # index into Gatherer._patients
    date: array[int] = field(default_factory=lambda: array("i"))  # proleptic ordinal
    visit: array[int] = field(default_factory=lambda: array("i"))  # index into Gatherer._visits, -1: none
    value: array[float] = field(default_factory=lambda: array("d"))
    low: array[float] = field(default_factory=lambda: array("d"))  # NaN: not given
    high: array[float] = field(default_factory=lambda: array("d"))
    out: array[int] = field(default_factory=lambda: array("b"))


class Gatherer:
    """Reads resources one at a time and keeps only what the page shows, so a report on a large study
    holds its summaries, not its resources: the study's own few resources whole, one row per participant
    and adverse event, and per lab or vital-sign test the numbers of `_Test`."""

    def __init__(self) -> None:
        self.counts: Counter[str] = Counter()
        self._by_url: dict[str, Resource] = {}
        self._studies: list[Resource] = []
        self._subjects: list[Resource] = []
        self._events: list[tuple[str, dict[str, Any]]] = []  # (patient reference, row without arm)
        self._tests: dict[tuple[str, str], _Test] = {}
        self._patients: dict[str, int] = {}
        self._visits: dict[tuple[float, str], int] = {}
        self._posted = Posted()

    def add(self, r: Resource, full_url: str | None = None) -> None:
        rtype = r["resourceType"]
        self.counts[rtype] += 1
        if rtype in _KEPT:
            for key in (full_url, f"{rtype}/{r['id']}" if r.get("id") else None):
                if key:
                    self._by_url[key] = r
            if rtype == "ResearchStudy":
                self._studies.append(r)
            elif rtype == "ResearchSubject":
                self._subjects.append(r)
        elif rtype == "AdverseEvent":
            self._events.append(((r.get("subject") or {}).get("reference", ""), _event(r)))
        elif rtype == "Observation":
            self._observation(r)
        elif rtype in ("Evidence", "EvidenceVariable"):
            self._posted.add(r)

    def _observation(self, r: Resource) -> None:
        quantity = r.get("valueQuantity")
        when = _day(r.get("effectiveDateTime") or (r.get("effectivePeriod") or {}).get("start"))
        patient = (r.get("subject") or {}).get("reference")
        if not quantity or quantity.get("value") is None or when is None or not patient:
            return
        kinds = [c.get("code") for cat in r.get("category") or [] for c in cat.get("coding") or []]
        kind = "vital-signs" if "vital-signs" in kinds else "laboratory" if "laboratory" in kinds else None
        if kind is None:
            return
        key = (kind, text_of(r.get("code")))
        test = self._tests.get(key)
        if test is None:
            test = self._tests[key] = _Test(unit=quantity.get("unit", ""))
        ranges = r.get("referenceRange") or [{}]
        low, high = (ranges[0].get(k, {}).get("value") for k in ("low", "high"))
        value = float(quantity["value"])
        flags = {c.get("code") for i in r.get("interpretation") or [] for c in i.get("coding") or []}
        out = bool(flags & {"H", "L", "HH", "LL", "A", "AA"}) or (low is not None and value < low) or (
            high is not None and value > high)
        where = visit(r)
        test.subject.append(self._patients.setdefault(patient, len(self._patients)))
        test.date.append(when.toordinal())
        test.visit.append(-1 if where is None else self._visits.setdefault(where, len(self._visits)))
        test.value.append(value)
        test.low.append(math.nan if low is None else float(low))
        test.high.append(math.nan if high is None else float(high))
        test.out.append(out)

    def content(self) -> Content:
        content = Content(counts=self.counts, posted=self._posted.result())
        if self._studies:
            content.study = _study(self._studies[0], self._by_url)
        arm_by_link = content.study.arm_by_link if content.study else {}
        subject_of: dict[str, dict[str, Any]] = {}  # Patient reference -> subject row
        for r in self._subjects:
            row = _subject(r, arm_by_link)
            content.subjects.append(row)
            patient = (r.get("individual") or r.get("subject") or {}).get("reference")
            if patient:
                subject_of[patient] = row
        for patient, row in self._events:
            who = subject_of.get(patient)
            content.events.append({**row, "subject": who["key"] if who else "", "arm": who["arm"] if who else NO_ARM})
        # Results count only for participants of the study (a ResearchSubject names them).
        who_of = {i: subject_of.get(p) for p, i in self._patients.items()}
        visits = {i: v for v, i in self._visits.items()}
        for key in sorted(self._tests):
            summary = summarise(self._tests[key], who_of, visits)
            if summary is not None:
                content.tests[key] = summary
        return content


def gather(resources: Iterable[Resource]) -> Content:
    """The page's content from resources (each may carry the `_fullUrl` of its Bundle entry)."""
    gatherer = Gatherer()
    for r in resources:
        gatherer.add(r, r.get("_fullUrl"))
    return gatherer.content()


def _study(r: Resource, by_url: dict[str, Resource]) -> Study:
    s = Study(title=r.get("title", ""), status=r.get("status", ""), phase=text_of(r.get("phase")))
    for i in r.get("identifier") or []:
        nct = "clinicaltrials.gov" in i.get("system", "")
        label = text_of(i.get("type")) or ("NCT ID" if nct else i.get("use", ""))
        s.identifiers.append((label, i.get("value", "")))
    for p in r.get("progressStatus") or []:  # R5: the recruitment state lives here, status is publication
        if p.get("state"):
            s.status = f"{text_of(p['state'])} (record {r.get('status', '')})"
    s.design = [text_of(c) for c in (r.get("category") or []) + (r.get("studyDesign") or [])]
    s.design += [f"Purpose: {text_of(r['primaryPurposeType'])}"] if r.get("primaryPurposeType") else []
    s.conditions = [text_of(c) for c in r.get("condition") or []]
    period = r.get("period") or {}
    s.start, s.end = period.get("start", ""), period.get("end", "")
    contained = {f"#{c.get('id')}": c for c in r.get("contained") or []}
    for arm in r.get("arm") or []:  # R4
        desc, _, links = (arm.get("description") or "").partition("\n\nInterventions: ")
        s.arms.append({"name": arm.get("name", ""), "type": text_of(arm.get("type")), "description": desc,
                       "interventions": links})
    for arm in r.get("comparisonGroup") or []:  # R5
        exposures = [x.get("display") or contained.get(x.get("reference", ""), {}).get("title", "")
                     for x in arm.get("intendedExposure") or []]
        s.arms.append({"name": arm.get("name", ""), "type": text_of(arm.get("type")),
                       "description": arm.get("description", ""), "interventions": "; ".join(exposures)})
        if arm.get("linkId"):
            s.arm_by_link[arm["linkId"]] = arm.get("name", "")
    for o in r.get("objective") or []:  # R4
        s.outcomes.append({"kind": text_of(o.get("type")), "name": o.get("name", ""), "description": ""})
    for o in r.get("outcomeMeasure") or []:  # R5
        s.outcomes.append({"kind": text_of(o.get("type")), "name": o.get("name", ""),
                           "description": o.get("description", "")})
    sponsor = r.get("sponsor") or {}
    s.sponsor = sponsor.get("display", "")
    for party in r.get("associatedParty") or []:  # R5
        if "sponsor" in text_of(party.get("role")).lower() and not s.sponsor:
            s.sponsor = party.get("name") or (party.get("party") or {}).get("display", "")
    for ref in r.get("site") or []:
        loc = by_url.get(ref.get("reference", ""), {})
        address = loc.get("address") or {}
        s.sites.append({"name": loc.get("name") or ref.get("display", ""), "city": address.get("city", ""),
                        "country": address.get("country", "(not given)")})
    eligibility = (r.get("enrollment") or [{}])[0].get("reference") or ((r.get("recruitment") or {}).get(
        "eligibility") or {}).get("reference")
    group = by_url.get(eligibility or "", {})
    for c in group.get("characteristic") or []:
        value = text_of(c.get("valueCodeableConcept"))
        if "valueRange" in c:
            low, high = (c["valueRange"].get(k, {}) for k in ("low", "high"))
            value = f"{low.get('value', '')}–{high.get('value', '')} {low.get('unit') or high.get('unit') or ''}"
        elif "valueBoolean" in c:
            value = "yes" if c["valueBoolean"] else "no"
        s.eligibility.append((text_of(c.get("code")), value + (" (exclusion)" if c.get("exclude") else "")))
    return s


def _subject(r: Resource, arm_by_link: dict[str, str]) -> dict[str, Any]:
    arm = r.get("actualArm") or r.get("assignedArm")
    if arm is None:
        link = r.get("actualComparisonGroup") or r.get("assignedComparisonGroup")
        arm = arm_by_link.get(link, link) if link else None
    status, reason = r.get("status", ""), ""
    progress = r.get("progress") or []
    if progress:  # R5: the last state and its reason (the DS disposition)
        status = text_of(progress[-1].get("subjectState")) or status
        reason = text_of(progress[-1].get("reason"))
    key = next((i.get("value") for i in r.get("identifier") or []), "")
    return {"key": key, "arm": arm or NO_ARM, "status": status or "unknown", "reason": reason,
            "start": _day((r.get("period") or {}).get("start"))}


_GRADE = "ae-grade"


MEDDRA = "http://terminology.hl7.org/CodeSystem/mdr"


def organ_system(r: Resource) -> str:
    """The event's MedDRA system organ class: the category fhirconv writes it as (a MedDRA coding, else the
    class name as text: the CDISC pilot gives names without codes; mappings/README.md, AESOC)."""
    categories = r.get("category") or []
    for concept in categories:
        if any(c.get("system") == MEDDRA for c in concept.get("coding") or []):
            return text_of(concept)
    return next((text_of(c) for c in categories if not c.get("coding") and c.get("text")), "")


def _event(r: Resource) -> dict[str, Any]:
    grade_ext = _ext(r, _GRADE)
    grade = text_of(grade_ext.get("valueCodeableConcept")) if grade_ext else ""
    related = ""
    for suspect in r.get("suspectEntity") or []:
        causality = suspect.get("causality") or []
        for c in causality if isinstance(causality, list) else [causality]:  # R4 a list, R5 one
            related = text_of(c.get("assessment") or c.get("entityRelatedness")) or related
    soc = organ_system(r)
    term = text_of(r.get("event") or r.get("code"))
    return {"term": term or "(no term)",
            "soc": soc or "(not given)", "grade": grade or text_of(r.get("severity")) or "(not given)",
            "serious": text_of(r.get("seriousness")) or "(not given)", "related": related or "(not given)"}


def visit(r: Resource) -> tuple[float, str] | None:
    """The visit an Observation was made at, as fhirconv writes it (mappings/README.md, VISIT/VISITNUM):
    Observation.encounter, identifier `USUBJID/VISITNUM` and display VISIT. (VISITNUM, name) orders the
    visits as the protocol numbers them; a visit with a name and no number sorts last."""
    encounter = r.get("encounter")
    if not isinstance(encounter, dict):
        return None
    number = str((encounter.get("identifier") or {}).get("value", "")).rpartition("/")[2]
    try:
        order = float(number)
    except ValueError:
        order = float("inf")
    name = encounter.get("display") or (f"visit {number}" if order != float("inf") else "")
    return (order, name) if name else None


def week_of(day: int) -> int:
    """Study days grouped into weeks, for results without a visit: day 0, then days 1–7 → 7, 8–14 → 14, …:
    sampling days differ by a day or two between participants, and a median over one participant says nothing."""
    return 0 if day <= 0 else ((day + 6) // 7) * 7


def summarise(test: _Test, who_of: dict[int, dict[str, Any] | None],
              visits: dict[int, tuple[float, str]]) -> dict[str, Any] | None:
    """One test: per arm and visit the n, median, quartiles; the median reference range; the out-of-range
    count. By visit when every result names one (SDTM VISIT/VISITNUM); else by study day, in weeks."""
    rows = [i for i, s in enumerate(test.subject) if who_of.get(s) is not None]
    if not rows:
        return None
    by_visit = all(test.visit[i] >= 0 for i in rows)
    cells: dict[tuple[str, tuple[float, str]], list[float]] = defaultdict(list)
    for i in rows:
        who = who_of[test.subject[i]]
        assert who is not None
        if by_visit:
            when = visits[test.visit[i]]
        else:
            start = who["start"].toordinal() if who["start"] else test.date[i]
            week = week_of(test.date[i] - start)
            when = (float(week), f"day {week}")
        cells[(who["arm"], when)].append(test.value[i])
    order = sorted({v for _, v in cells})
    position = {v: i for i, v in enumerate(order)}
    series = []
    for (arm, when), values in sorted(cells.items()):
        q = statistics.quantiles(values, n=4) if len(values) > 1 else [values[0]] * 3
        series.append({"arm": arm, "visit": when[1], "x": position[when], "n": len(values),
                       "median": statistics.median(values), "q1": q[0], "q3": q[2]})
    lows = [test.low[i] for i in rows if not math.isnan(test.low[i])]
    highs = [test.high[i] for i in rows if not math.isnan(test.high[i])]
    return {"unit": test.unit, "n": len(rows), "series": series, "by_visit": by_visit,
            "visits": [label for _, label in order],
            "low": statistics.median(lows) if lows else None, "high": statistics.median(highs) if highs else None,
            "out": sum(test.out[i] for i in rows)}
