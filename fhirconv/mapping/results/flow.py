"""Participant flow: one EvidenceVariable per milestone and per reason for leaving, one Evidence per group."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.results import ids, stats
from fhirconv.mapping.results.evidence import Section, evidence, variable, warn_unknown_group
from fhirconv.model.results import FlowCount, ParticipantFlow
from fhirconv.output.bundle import Keyed

_COUNT = stats.coded(stats.STATISTIC_TYPE, "C25463", "Count")


def _statistics(c: FlowCount, units: str | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if c.num_subjects is not None:
        st: dict[str, Any] = {"statisticType": _COUNT, "quantity": {"value": c.num_subjects, "unit": "participants"}}
        if stats.unsigned(c.num_subjects) is not None:
            st["numberAffected"] = c.num_subjects
        out.append(st)
    if c.num_units is not None:
        out.append({"statisticType": _COUNT, "quantity": {"value": c.num_units, "unit": (units or "units").lower()}})
    if c.comment:
        if not out:
            out.append({"note": [{"text": c.comment}]})
        else:
            out[0]["note"] = [{"text": c.comment}]
    return out


def _rows(nct_id: str, key: str, title: str, comment: str | None, counts: list[FlowCount], groups: dict[str, Keyed],
          units: str | None) -> tuple[Keyed, list[Keyed]]:
    var = variable(key, title, notes=[comment] if comment else None, handling="dichotomous")
    items = []
    for c in counts:
        g = groups.get(c.group_id)
        if g is None:
            warn_unknown_group(nct_id, f"participant flow '{title}'", c.group_id)
            continue
        items.append(evidence(f"{key}/{c.group_id}", f"{title} — {g.resource['name']}",
                              [("population", g), ("measuredVariable", var)], _statistics(c, units)))
    return var, items


def flow(nct_id: str, pf: ParticipantFlow, groups: dict[str, Keyed]) -> tuple[list[Keyed], list[Keyed], Section]:
    variables: list[Keyed] = []
    items: list[Keyed] = []
    section = Section("Participant flow", text=[t for t in (
        pf.recruitment_details and f"Recruitment details: {pf.recruitment_details}",
        pf.pre_assignment_details and f"Pre-assignment details: {pf.pre_assignment_details}",
        pf.type_units_analyzed and f"Units analysed: {pf.type_units_analyzed}") if t])
    section.sections.append(Section("Groups", entries=list(groups.values())))
    for p, period in enumerate(pf.periods, start=1):
        sub = Section(period.title or f"Period {p}")
        for m, ms in enumerate(period.milestones, start=1):
            title = f"{period.title or f'Period {p}'}: {ms.type or f'Milestone {m}'}"
            var, evs = _rows(nct_id, ids.value(nct_id, "flow", p, "milestone", m), title, ms.comment,
                             ms.achievements, groups, pf.type_units_analyzed)
            variables.append(var)
            items.extend(evs)
            sub.sections.append(Section(title, focus=var, entries=evs))
        for d, dw in enumerate(period.drop_withdraws, start=1):
            title = f"{period.title or f'Period {p}'}: not completed, {dw.type or f'reason {d}'}"
            var, evs = _rows(nct_id, ids.value(nct_id, "flow", p, "reason", d), title, dw.comment, dw.reasons,
                             groups, None)
            variables.append(var)
            items.extend(evs)
            sub.sections.append(Section(title, focus=var, entries=evs))
        if sub.sections:
            section.sections.append(sub)
    return variables, items, section
