"""Adverse events: per group the participants affected (deaths, serious, other), and per MedDRA term one
EvidenceVariable with one Evidence per group (events, participants affected, participants at risk)."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.results import ids, stats
from fhirconv.mapping.results.evidence import Section, evidence, variable, warn_unknown_group
from fhirconv.model.results import AdverseEvents, EventGroup, EventTerm
from fhirconv.output.bundle import Keyed

_COUNT = stats.coded(stats.STATISTIC_TYPE, "C25463", "Count")
ASSESSMENT = {"SYSTEMATIC_ASSESSMENT": "Systematic assessment",
              "NON_SYSTEMATIC_ASSESSMENT": "Non-systematic assessment"}
_TOTALS = (("deaths", "All-cause mortality"), ("serious", "Serious adverse events"),
           ("other", "Other (not including serious) adverse events"))


def _count(n: int | None, at_risk: int | None, label: str | None, events: int | None = None) -> dict[str, Any] | None:
    if n is None and at_risk is None and events is None:
        return None
    st: dict[str, Any] = {"statisticType": _COUNT}
    if label:
        st["category"] = {"text": label}
    if n is not None:
        st["quantity"] = {"value": n, "unit": "participants"}
        if stats.unsigned(n) is not None:
            st["numberAffected"] = n
    if stats.unsigned(events) is not None:
        st["numberOfEvents"] = events
    elif events is not None:
        st["note"] = [{"text": f"Events as registered: {events}"}]
    if stats.unsigned(at_risk) is not None:
        st["sampleSize"] = {"numberOfParticipants": at_risk}
    elif at_risk is not None:
        st["sampleSize"] = {"description": f"{at_risk} at risk"}
    return st


def _totals(nct_id: str, groups: list[EventGroup], keyed: dict[str, Keyed]) -> tuple[Keyed, list[Keyed]]:
    var = variable(ids.value(nct_id, "ae", "participants-affected"), "Participants affected by adverse events",
                   handling="polychotomous", categories=[label for _, label in _TOTALS])
    items = []
    for g in groups:  # a repeated id is dropped by build._unique
        sts = [st for kind, label in _TOTALS
               if (st := _count(getattr(g, f"{kind}_num_affected"), getattr(g, f"{kind}_num_at_risk"), label))]
        items.append(evidence(ids.value(nct_id, "ae", "participants-affected", g.id),
                              f"Participants affected by adverse events — {keyed[g.id].resource['name']}",
                              [("population", keyed[g.id]), ("measuredVariable", var)], sts))
    return var, items


def _term(nct_id: str, kind: str, n: int, e: EventTerm, keyed: dict[str, Keyed]) -> tuple[Keyed, list[Keyed]]:
    notes = [
        "Serious adverse event" if e.serious else "Other (not serious) adverse event",
        e.organ_system and f"Organ system: {e.organ_system}",
        e.source_vocabulary and f"Vocabulary: {e.source_vocabulary}",
        e.assessment_type and f"Assessment: {ASSESSMENT.get(e.assessment_type, e.assessment_type)}",
        e.notes,
    ]
    key = ids.value(nct_id, "ae", kind, n)
    var = variable(key, e.term, notes=[x for x in notes if x], handling="dichotomous")
    items = []
    for s in e.stats:
        g = keyed.get(s.group_id)
        if g is None:
            warn_unknown_group(nct_id, f"adverse event '{e.term}'", s.group_id)
            continue
        st = _count(s.num_affected, s.num_at_risk, None, s.num_events)
        items.append(evidence(f"{key}/{s.group_id}", f"{e.term} — {g.resource['name']}",
                              [("population", g), ("measuredVariable", var)], [st] if st else []))
    return var, items


def adverse_events(nct_id: str, ae: AdverseEvents, keyed: dict[str, Keyed]
                   ) -> tuple[list[Keyed], list[Keyed], Section]:
    section = Section("Adverse events", text=[t for t in (
        ae.time_frame and f"Time frame: {ae.time_frame}",
        ae.description and f"Description: {ae.description}",
        ae.frequency_threshold and f"Frequency threshold for reporting other adverse events: {ae.frequency_threshold}%",
        ae.all_cause_mortality_comment and f"All-cause mortality: {ae.all_cause_mortality_comment}") if t])
    section.sections.append(Section("Groups", entries=list(keyed.values())))
    variables: list[Keyed] = []
    items: list[Keyed] = []
    if ae.groups:
        var, evs = _totals(nct_id, ae.groups, keyed)
        variables.append(var)
        items.extend(evs)
        section.sections.append(Section(var.resource["title"], focus=var, entries=evs))
    counters = {"serious": 0, "other": 0}
    tables = {"serious": Section("Serious adverse events"), "other": Section("Other adverse events")}
    for e in ae.events:
        kind = "serious" if e.serious else "other"
        counters[kind] += 1
        var, evs = _term(nct_id, kind, counters[kind], e, keyed)
        variables.append(var)
        items.extend(evs)
        tables[kind].entries.extend(evs)
    section.sections.extend(t for t in tables.values() if t.entries)
    return variables, items, section
