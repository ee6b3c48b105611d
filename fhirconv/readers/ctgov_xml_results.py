"""Legacy ClinicalTrials.gov XML `<clinical_results>` → the version-neutral Results (model.results).

The XML (public.xsd) holds what API v2's `resultsSection` holds, in another shape; this reader fills the same
model, so the mapping does not know which format a study came from:

- Group ids: the XML numbers groups per section "P1", "B1", "O1", "E1"; API v2 numbers the same groups, in the
  same order, "FG000", "BG000", "OG000", "EG000". Ids are written the v2 way, so results read from the XML
  and from the v2 record of a study are equal.
- Participant flow milestones and drop-out reasons: `<participants group_id count>` (its text is the comment).
- Measures (baseline and outcomes): `<analyzed_list>` is v2's `denoms`, `<param>` / `<dispersion>` the
  paramType / dispersionType prose (normalised by readers.results_vocab); measurement attributes are
  value, spread, lower_limit, upper_limit, and the element's text is the comment.
- Outcomes: the outcome's own title, description, time frame and population; an outcome without a `<measure>`
  is one whose results are not posted yet (`<posting_date>` is v2's anticipatedPostingDate).
- Adverse events: the `<category>` title is the organ system; the "Total" category's row ("Total, serious
  adverse events") holds the groups' totals (v2 eventGroups' seriousNumAffected / seriousNumAtRisk, otherNum…);
  an event's vocabulary and assessment default to the table's `default_vocab` / `default_assessment`.
- Agreements: `<pi_employee>` and `<restrictive_agreement>` are sentences; "ARE employed" / "NOT employed" and
  "There is NOT an agreement" are read as booleans; any other agreement sentence is a restrictive agreement
  whose words are `agreement_other_details`.
"""

from __future__ import annotations

import re
import textwrap
from xml.etree.ElementTree import Element

from fhirconv.errors import InputError
from fhirconv.model.results import (
    AdverseEvents,
    Analysis,
    Baseline,
    BaselineMeasure,
    Category,
    Denom,
    DropWithdraw,
    EventGroup,
    EventStats,
    EventTerm,
    FlowCount,
    FlowPeriod,
    GroupCount,
    MeasureClass,
    Measurement,
    Milestone,
    MoreInfo,
    OutcomeMeasure,
    ParticipantFlow,
    PointOfContact,
    ResultGroup,
    Results,
)
from fhirconv.readers.normalize import clean_text, parse_date, parse_int
from fhirconv.readers.results_vocab import result_enum

__all__ = ["read_xml_results", "v2_group_id"]

CR = "clinical_results"
_GROUP_ID = re.compile(r"([PBOE])(\d+)")
_V2_PREFIX = {"P": "FG", "B": "BG", "O": "OG", "E": "EG"}


def v2_group_id(xml_id: str | None, field: str) -> str:
    """'P1' → 'FG000', 'E12' → 'EG011' (API v2 numbers the same groups from 0)."""
    m = _GROUP_ID.fullmatch((xml_id or "").strip())
    if m is None or int(m[2]) < 1:
        raise InputError(f"results group id {xml_id!r} is not P1, B1, O1, E1, …", field=field)
    return f"{_V2_PREFIX[m[1]]}{int(m[2]) - 1:03d}"


def _text(e: Element | None, path: str) -> str | None:
    if e is None:
        return None
    found = e.find(path)
    if found is None or found.text is None:
        return None
    raw = found.text.replace("\r\n", "\n")
    # Long texts are indented and wrapped like textblocks; short ones are plain.
    value = "\n".join(line.rstrip() for line in textwrap.dedent(raw).split("\n")).strip()
    return clean_text(value) if value else None


def _own_text(e: Element) -> str | None:
    return clean_text(e.text.strip()) if e.text and e.text.strip() else None


def _attr(e: Element, name: str) -> str | None:
    value = e.get(name)
    return value.strip() if value is not None and value.strip() else None


def _int_attr(e: Element, name: str, field: str) -> int | None:
    return parse_int(_attr(e, name), field=f"{field}/@{name}")


def read_xml_results(cs: Element) -> Results | None:
    """The `<clinical_results>` of a `<clinical_study>`, or None when it has none."""
    cr = cs.find(CR)
    if cr is None:
        return None
    pf, bl, re_ = cr.find("participant_flow"), cr.find("baseline"), cr.find("reported_events")
    return Results(
        participant_flow=_flow(pf, f"{CR}/participant_flow") if pf is not None else None,
        baseline=_baseline(bl, f"{CR}/baseline") if bl is not None else None,
        outcomes=[_outcome(o, f"{CR}/outcome_list/outcome[{i}]")
                  for i, o in enumerate(cr.findall("outcome_list/outcome"))],
        adverse_events=_adverse_events(re_, f"{CR}/reported_events") if re_ is not None else None,
        more_info=_more_info(cr),
    )


def _groups(parent: Element, f: str) -> list[ResultGroup]:
    return [ResultGroup(v2_group_id(g.get("group_id"), f"{f}/group_list/group[{i}]/@group_id"),
                        _text(g, "title"), _text(g, "description"))
            for i, g in enumerate(parent.findall("group_list/group"))]


def _participants(parent: Element, f: str) -> list[FlowCount]:
    out = []
    for i, p in enumerate(parent.findall("participants_list/participants")):
        g = f"{f}/participants_list/participants[{i}]"
        out.append(FlowCount(v2_group_id(p.get("group_id"), f"{g}/@group_id"), _int_attr(p, "count", g),
                             comment=_own_text(p)))
    return out


def _flow(pf: Element, f: str) -> ParticipantFlow:
    periods = []
    for i, p in enumerate(pf.findall("period_list/period")):
        g = f"{f}/period_list/period[{i}]"
        milestones = [Milestone(_text(m, "title") or "", None, _participants(m, f"{g}/milestone_list/milestone[{j}]"))
                      for j, m in enumerate(p.findall("milestone_list/milestone"))]
        drops = [DropWithdraw(_text(d, "title") or "", None,
                              _participants(d, f"{g}/drop_withdraw_reason_list/drop_withdraw_reason[{j}]"))
                 for j, d in enumerate(p.findall("drop_withdraw_reason_list/drop_withdraw_reason"))]
        periods.append(FlowPeriod(_text(p, "title") or "", milestones, drops))
    return ParticipantFlow(
        pre_assignment_details=_text(pf, "pre_assignment_details"),
        recruitment_details=_text(pf, "recruitment_details"),
        groups=_groups(pf, f),
        periods=periods,
    )


def _denoms(parent: Element, f: str) -> list[Denom]:
    out = []
    for i, a in enumerate(parent.findall("analyzed_list/analyzed")):
        g = f"{f}/analyzed_list/analyzed[{i}]"
        counts = [GroupCount(v2_group_id(c.get("group_id"), f"{g}/count_list/count[{j}]/@group_id"), value)
                  for j, c in enumerate(a.findall("count_list/count")) if (value := _attr(c, "value")) is not None]
        out.append(Denom(_text(a, "units"), counts))
    return out


def _classes(measure: Element, f: str) -> list[MeasureClass]:
    out = []
    for i, c in enumerate(measure.findall("class_list/class")):
        g = f"{f}/class_list/class[{i}]"
        cats = []
        for j, cat in enumerate(c.findall("category_list/category")):
            h = f"{g}/category_list/category[{j}]"
            ms = [Measurement(
                group_id=v2_group_id(m.get("group_id"), f"{h}/measurement_list/measurement[{k}]/@group_id"),
                value=_attr(m, "value"), spread=_attr(m, "spread"), lower_limit=_attr(m, "lower_limit"),
                upper_limit=_attr(m, "upper_limit"), comment=_own_text(m))
                for k, m in enumerate(cat.findall("measurement_list/measurement"))]
            cats.append(Category(_text(cat, "title"), ms))
        out.append(MeasureClass(_text(c, "title"), _denoms(c, g), cats))
    return out


def _baseline(bl: Element, f: str) -> Baseline:
    measures = []
    for i, m in enumerate(bl.findall("measure_list/measure")):
        g = f"{f}/measure_list/measure[{i}]"
        measures.append(BaselineMeasure(
            title=_text(m, "title") or "",
            description=_text(m, "description"),
            population_description=_text(m, "population"),
            param_type=result_enum("param_type", _text(m, "param")),
            dispersion_type=result_enum("dispersion_type", _text(m, "dispersion")),
            unit=_text(m, "units"),
            denoms=_denoms(m, g),
            classes=_classes(m, g),
        ))
    return Baseline(population_description=_text(bl, "population"), groups=_groups(bl, f),
                    denoms=_denoms(bl, f), measures=measures)


def _analysis(a: Element, g: str) -> Analysis:
    return Analysis(
        group_ids=[v2_group_id(e.text, f"{g}/group_id_list/group_id[{i}]")
                   for i, e in enumerate(a.findall("group_id_list/group_id"))],
        group_description=_text(a, "groups_desc"),
        non_inferiority_type=result_enum("non_inferiority", _text(a, "non_inferiority_type")),
        non_inferiority_comment=_text(a, "non_inferiority_desc"),
        p_value=_text(a, "p_value"),
        p_value_comment=_text(a, "p_value_desc"),
        statistical_method=_text(a, "method"),
        statistical_comment=_text(a, "method_desc"),
        param_type=_text(a, "param_type"),
        param_value=_text(a, "param_value"),
        dispersion_type=result_enum("analysis_dispersion", _text(a, "dispersion_type")),
        dispersion_value=_text(a, "dispersion_value"),
        ci_pct_value=_text(a, "ci_percent"),
        ci_num_sides=result_enum("ci_sides", _text(a, "ci_n_sides")),
        ci_lower_limit=_text(a, "ci_lower_limit"),
        ci_upper_limit=_text(a, "ci_upper_limit"),
        ci_lower_limit_comment=_text(a, "ci_lower_limit_na_comment"),
        ci_upper_limit_comment=_text(a, "ci_upper_limit_na_comment"),
        estimate_comment=_text(a, "estimate_desc"),
        other_analysis_description=_text(a, "other_analysis_desc"),
    )


def _outcome(o: Element, g: str) -> OutcomeMeasure:
    measure = o.find("measure")
    out = OutcomeMeasure(
        type=result_enum("outcome_type", _text(o, "type")),
        title=_text(o, "title") or "",
        description=_text(o, "description"),
        population_description=_text(o, "population"),
        reporting_status="POSTED" if measure is not None else "NOT_POSTED",
        anticipated_posting_date=parse_date(_text(o, "posting_date"), field=f"{g}/posting_date"),
        time_frame=_text(o, "time_frame"),
        groups=_groups(o, g),
        analyses=[_analysis(a, f"{g}/analysis_list/analysis[{i}]")
                  for i, a in enumerate(o.findall("analysis_list/analysis"))],
    )
    if measure is not None:
        m = f"{g}/measure"
        out.param_type = result_enum("param_type", _text(measure, "param"))
        out.dispersion_type = result_enum("dispersion_type", _text(measure, "dispersion"))
        out.unit = _text(measure, "units")
        out.type_units_analyzed = _text(measure, "units_analyzed")
        out.denoms = _denoms(measure, m)
        out.classes = _classes(measure, m)
    return out


def _adverse_events(re_: Element, f: str) -> AdverseEvents:
    groups = {gr.id: EventGroup(gr.id, gr.title, gr.description) for gr in _groups(re_, f)}
    events: list[EventTerm] = []
    for table, serious in (("serious_events", True), ("other_events", False)):
        t = re_.find(table)
        if t is None:
            continue
        vocab, assessment = _text(t, "default_vocab"), _text(t, "default_assessment")
        for i, cat in enumerate(t.findall("category_list/category")):
            organ = _text(cat, "title")
            for j, ev in enumerate(cat.findall("event_list/event")):
                g = f"{f}/{table}/category_list/category[{i}]/event_list/event[{j}]"
                stats = [EventStats(v2_group_id(c.get("group_id"), f"{g}/counts[{k}]/@group_id"),
                                    _int_attr(c, "events", f"{g}/counts[{k}]"),
                                    _int_attr(c, "subjects_affected", f"{g}/counts[{k}]"),
                                    _int_attr(c, "subjects_at_risk", f"{g}/counts[{k}]"))
                         for k, c in enumerate(ev.findall("counts"))]
                term = _text(ev, "sub_title")
                if organ == "Total" and term is not None and term.startswith("Total, "):
                    _totals(groups, stats, serious, g)
                    continue
                if term is None:
                    raise InputError("adverse event without a term", field=f"{g}/sub_title")
                sub = ev.find("sub_title")
                events.append(EventTerm(
                    term=term, serious=serious, organ_system=organ,
                    source_vocabulary=(_attr(sub, "vocab") if sub is not None else None) or vocab,
                    assessment_type=result_enum("assessment_type", _text(ev, "assessment") or assessment),
                    notes=_text(ev, "description"), stats=stats))
    return AdverseEvents(
        frequency_threshold=_text(re_, "other_events/frequency_threshold"),
        time_frame=_text(re_, "time_frame"),
        description=_text(re_, "desc"),
        groups=list(groups.values()),
        events=events,
    )


def _totals(groups: dict[str, EventGroup], stats: list[EventStats], serious: bool, field: str) -> None:
    for s in stats:
        group = groups.get(s.group_id)
        if group is None:
            raise InputError(f"adverse event totals for group {s.group_id}, which the group list lacks", field=field)
        if serious:
            group.serious_num_affected, group.serious_num_at_risk = s.num_affected, s.num_at_risk
        else:
            group.other_num_affected, group.other_num_at_risk = s.num_affected, s.num_at_risk


def _more_info(cr: Element) -> MoreInfo | None:
    pi = _text(cr, "certain_agreements/pi_employee")
    agreement = _text(cr, "certain_agreements/restrictive_agreement")
    restrictive: bool | None = None
    details = None
    if agreement is not None:
        restrictive = not agreement.startswith("There is NOT an agreement")
        details = agreement if restrictive else None
    pc = cr.find("point_of_contact")
    poc = None
    if pc is not None:
        poc = PointOfContact(title=_text(pc, "name_or_title"), organization=_text(pc, "organization"),
                             email=_text(pc, "email"), phone=_text(pc, "phone"))
        if not any((poc.title, poc.organization, poc.email, poc.phone)):
            poc = None
    info = MoreInfo(
        limitations=_text(cr, "limitations_and_caveats"),
        pi_sponsor_employee=None if pi is None else "NOT employed" not in pi,
        restrictive_agreement=restrictive,
        agreement_other_details=details,
        point_of_contact=poc,
    )
    if info == MoreInfo():
        return None
    return info
