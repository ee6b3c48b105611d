"""Results → the version-neutral list of results resources (R5 shapes) and the report's sections."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhirconv import progress
from fhirconv.mapping.results import stats
from fhirconv.mapping.results.adverse import adverse_events
from fhirconv.mapping.results.evidence import Section, group
from fhirconv.mapping.results.flow import flow
from fhirconv.mapping.results.measures import baseline
from fhirconv.mapping.results.outcomes import outcomes
from fhirconv.model.results import Denom, MoreInfo, ResultGroup, Results
from fhirconv.output.bundle import Keyed

RESTRICTION = {"LTE60": "embargo of 60 days or less", "GT60": "embargo of more than 60 days", "OTHER": "other"}


@dataclass(slots=True)
class Built:
    resources: list[Keyed] = field(default_factory=list)  # Groups, EvidenceVariables, Evidence: referenced first
    sections: list[Section] = field(default_factory=list)


def _total(denoms: list[Denom], gid: str) -> int | None:
    for d in denoms[:1]:
        for c in d.counts:
            n = stats.number(c.value)
            if c.group_id == gid and isinstance(n, int) and (d.units or "Participants").lower().startswith("particip"):
                return n
    return None


def _groups(nct_id: str, kind: str, groups: list[ResultGroup], denoms: list[Denom] | None = None) -> dict[str, Keyed]:
    out: dict[str, Keyed] = {}
    for g in groups:
        if g.id not in out:  # a repeated id: the first is the one values refer to
            out[g.id] = group(nct_id, kind, g, 1, _total(denoms or [], g.id))
    return out


def _outcome_groups(nct_id: str, r: Results) -> tuple[list[dict[str, Keyed]], list[Keyed]]:
    """Outcome groups are listed per measure under ids (OG000, …) that mostly, not always, mean the same arm in
    every measure: one Group per distinct (id, title, description), '#2', '#3' for a later different one."""
    seen: dict[tuple[str, str | None, str | None], Keyed] = {}
    per_id: dict[str, int] = {}
    maps: list[dict[str, Keyed]] = []
    for m in r.outcomes:
        current: dict[str, Keyed] = {}
        for g in m.groups:
            content = (g.id, g.title, g.description)
            if content not in seen:
                per_id[g.id] = per_id.get(g.id, 0) + 1
                seen[content] = group(nct_id, "outcome", g, per_id[g.id])
            current.setdefault(g.id, seen[content])
        maps.append(current)
    return maps, list(seen.values())


def _more_info(mi: MoreInfo) -> Section | None:
    text = []
    if mi.limitations:
        text.append(f"Limitations and caveats: {mi.limitations}")
    text += [t for t in (
        stats.yes_no("Principal investigators are employed by the sponsor", mi.pi_sponsor_employee),
        stats.yes_no("Agreement restricting the PI's rights to discuss or publish results", mi.restrictive_agreement),
    ) if t]
    if mi.restriction_type:
        text.append(f"Restriction: {RESTRICTION.get(mi.restriction_type, mi.restriction_type)}")
    if mi.agreement_other_details:
        text.append(f"Agreement details: {mi.agreement_other_details}")
    poc = mi.point_of_contact
    if poc:
        parts = [p for p in (poc.title, poc.organization, poc.email,
                             poc.phone and (poc.phone + (f" ext. {poc.phone_ext}" if poc.phone_ext else ""))) if p]
        text.append("Results point of contact: " + ", ".join(parts))
    return Section("More information", text=text) if text else None


def build(nct_id: str, r: Results) -> Built:
    out = Built()
    # Per results module: its Groups and what its mapper made of it (variables, Evidence, the section).
    parts: list[tuple[list[Keyed], tuple[list[Keyed], list[Keyed], Section]]] = []
    if r.participant_flow:
        keyed = _groups(nct_id, "flow", r.participant_flow.groups)
        parts.append((list(keyed.values()), flow(nct_id, r.participant_flow, keyed)))
    if r.baseline:
        keyed = _groups(nct_id, "baseline", r.baseline.groups, r.baseline.denoms)
        parts.append((list(keyed.values()), baseline(nct_id, r.baseline, keyed)))
    if r.outcomes:
        maps, outcome_groups = _outcome_groups(nct_id, r)
        made = outcomes(nct_id, r.outcomes, maps)
        made[2].sections.insert(0, Section("Groups", entries=outcome_groups))
        parts.append((outcome_groups, made))
    if r.adverse_events:
        keyed = _groups(nct_id, "ae", [ResultGroup(g.id, g.title, g.description) for g in r.adverse_events.groups])
        parts.append((list(keyed.values()), adverse_events(nct_id, r.adverse_events, keyed)))
    groups: list[Keyed] = []
    variables: list[Keyed] = []
    evidence: list[Keyed] = []
    for part_groups, (v, e, section) in parts:
        groups += part_groups
        variables += v
        evidence += e
        out.sections.append(section)
    more = _more_info(r.more_info) if r.more_info else None
    if more:
        out.sections.append(more)
    out.resources = _unique(nct_id, groups + variables + evidence)
    return out


def _unique(nct_id: str, items: list[Keyed]) -> list[Keyed]:
    """One resource per business identifier: a value the registry lists twice for the same place (a group's
    count given twice in one milestone) would make two entries with one key; the first is kept."""
    seen: set[tuple[str, str]] = set()
    out = []
    for item in items:
        key = (item.resource_type, item.value)
        if key in seen:
            progress.warn("results values given twice for one place (the first kept)",
                          f"{nct_id}: {item.value} is given twice; the first is kept")
            continue
        seen.add(key)
        out.append(item)
    return out
