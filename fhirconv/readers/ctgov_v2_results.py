"""API v2 `resultsSection` → the version-neutral Results (participant flow, baseline, outcomes, AEs, more info)."""

from __future__ import annotations

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
from fhirconv.readers.jsonaccess import JsonObj, obj, objs, strs, text
from fhirconv.readers.normalize import clean_text, parse_bool, parse_date, parse_int, unescape_markdown
from fhirconv.readers.results_vocab import result_enum

__all__ = ["read_v2_results"]

RS = "resultsSection"


def _tx(parent: JsonObj, key: str, field: str) -> str | None:
    # Same rule as the protocol section (readers.ctgov_v2): v2 text is markdown with escapes removed.
    value = text(parent, key, field)
    return clean_text(unescape_markdown(value)) if value else None


def _num(parent: JsonObj, key: str, field: str) -> str | None:
    """A measured value as the registry's text; numbers given as JSON numbers become their text."""
    return clean_text(text(parent, key, field))


def _enum(kind: str, parent: JsonObj, key: str, field: str) -> str | None:
    return result_enum(kind, text(parent, key, field))


def _int(parent: JsonObj, key: str, field: str) -> int | None:
    return parse_int(parent.get(key), field=field)


def _group_id(parent: JsonObj, field: str) -> str:
    gid = clean_text(text(parent, "groupId", f"{field}.groupId"))
    if gid is None:
        raise InputError("results value without a group id", field=f"{field}.groupId",
                         hint="each count and measurement names the group (FG000, BG000, OG000, EG000) it is for")
    return gid


def read_v2_results(record: JsonObj) -> Results | None:
    """The record's results, or None when it has no `resultsSection`."""
    if record.get(RS) is None:
        return None
    rs = obj(record, RS, RS)
    pf = obj(rs, "participantFlowModule", f"{RS}.participantFlowModule")
    bl = obj(rs, "baselineCharacteristicsModule", f"{RS}.baselineCharacteristicsModule")
    om = obj(rs, "outcomeMeasuresModule", f"{RS}.outcomeMeasuresModule")
    ae = obj(rs, "adverseEventsModule", f"{RS}.adverseEventsModule")
    mi = obj(rs, "moreInfoModule", f"{RS}.moreInfoModule")
    return Results(
        participant_flow=_flow(pf, f"{RS}.participantFlowModule") if pf else None,
        baseline=_baseline(bl, f"{RS}.baselineCharacteristicsModule") if bl else None,
        outcomes=[_outcome(o, f"{RS}.outcomeMeasuresModule.outcomeMeasures[{i}]")
                  for i, o in enumerate(objs(om, "outcomeMeasures", f"{RS}.outcomeMeasuresModule.outcomeMeasures"))],
        adverse_events=_adverse_events(ae, f"{RS}.adverseEventsModule") if ae else None,
        more_info=_more_info(mi, f"{RS}.moreInfoModule") if mi else None,
    )


def _groups(parent: JsonObj, f: str) -> list[ResultGroup]:
    out = []
    for i, g in enumerate(objs(parent, "groups", f"{f}.groups")):
        gid = clean_text(text(g, "id", f"{f}.groups[{i}].id"))
        if gid is None:
            raise InputError("results group without an id", field=f"{f}.groups[{i}].id")
        out.append(ResultGroup(gid, _tx(g, "title", f"{f}.groups[{i}].title"),
                               _tx(g, "description", f"{f}.groups[{i}].description")))
    return out


def _denoms(parent: JsonObj, f: str) -> list[Denom]:
    out = []
    for i, d in enumerate(objs(parent, "denoms", f"{f}.denoms")):
        g = f"{f}.denoms[{i}]"
        counts = []
        for j, c in enumerate(objs(d, "counts", f"{g}.counts")):
            value = _num(c, "value", f"{g}.counts[{j}].value")
            if value is not None:
                counts.append(GroupCount(_group_id(c, f"{g}.counts[{j}]"), value))
        out.append(Denom(_tx(d, "units", f"{g}.units"), counts))
    return out


def _flow_counts(parent: JsonObj, key: str, f: str) -> list[FlowCount]:
    out = []
    for i, a in enumerate(objs(parent, key, f"{f}.{key}")):
        g = f"{f}.{key}[{i}]"
        out.append(FlowCount(_group_id(a, g), _int(a, "numSubjects", f"{g}.numSubjects"),
                             _int(a, "numUnits", f"{g}.numUnits"), _tx(a, "comment", f"{g}.comment")))
    return out


def _flow(pf: JsonObj, f: str) -> ParticipantFlow:
    periods = []
    for i, p in enumerate(objs(pf, "periods", f"{f}.periods")):
        g = f"{f}.periods[{i}]"
        milestones = [
            Milestone(_tx(m, "type", f"{g}.milestones[{j}].type") or "",
                      _tx(m, "comment", f"{g}.milestones[{j}].comment"),
                      _flow_counts(m, "achievements", f"{g}.milestones[{j}]"))
            for j, m in enumerate(objs(p, "milestones", f"{g}.milestones"))
        ]
        drops = [
            DropWithdraw(_tx(d, "type", f"{g}.dropWithdraws[{j}].type") or "",
                         _tx(d, "comment", f"{g}.dropWithdraws[{j}].comment"),
                         _flow_counts(d, "reasons", f"{g}.dropWithdraws[{j}]"))
            for j, d in enumerate(objs(p, "dropWithdraws", f"{g}.dropWithdraws"))
        ]
        periods.append(FlowPeriod(_tx(p, "title", f"{g}.title") or "", milestones, drops))
    return ParticipantFlow(
        pre_assignment_details=_tx(pf, "preAssignmentDetails", f"{f}.preAssignmentDetails"),
        recruitment_details=_tx(pf, "recruitmentDetails", f"{f}.recruitmentDetails"),
        type_units_analyzed=_tx(pf, "typeUnitsAnalyzed", f"{f}.typeUnitsAnalyzed"),
        groups=_groups(pf, f),
        periods=periods,
    )


def _classes(parent: JsonObj, f: str) -> list[MeasureClass]:
    out = []
    for i, c in enumerate(objs(parent, "classes", f"{f}.classes")):
        g = f"{f}.classes[{i}]"
        cats = []
        for j, cat in enumerate(objs(c, "categories", f"{g}.categories")):
            h = f"{g}.categories[{j}]"
            ms = []
            for k, m in enumerate(objs(cat, "measurements", f"{h}.measurements")):
                e = f"{h}.measurements[{k}]"
                ms.append(Measurement(
                    group_id=_group_id(m, e),
                    value=_num(m, "value", f"{e}.value"),
                    spread=_num(m, "spread", f"{e}.spread"),
                    lower_limit=_num(m, "lowerLimit", f"{e}.lowerLimit"),
                    upper_limit=_num(m, "upperLimit", f"{e}.upperLimit"),
                    comment=_tx(m, "comment", f"{e}.comment"),
                ))
            cats.append(Category(_tx(cat, "title", f"{h}.title"), ms))
        out.append(MeasureClass(_tx(c, "title", f"{g}.title"), _denoms(c, g), cats))
    return out


def _baseline(bl: JsonObj, f: str) -> Baseline:
    measures = []
    for i, m in enumerate(objs(bl, "measures", f"{f}.measures")):
        g = f"{f}.measures[{i}]"
        measures.append(BaselineMeasure(
            title=_tx(m, "title", f"{g}.title") or "",
            description=_tx(m, "description", f"{g}.description"),
            population_description=_tx(m, "populationDescription", f"{g}.populationDescription"),
            param_type=_enum("param_type", m, "paramType", f"{g}.paramType"),
            dispersion_type=_enum("dispersion_type", m, "dispersionType", f"{g}.dispersionType"),
            unit=_tx(m, "unitOfMeasure", f"{g}.unitOfMeasure"),
            calculate_pct=parse_bool(m.get("calculatePct"), field=f"{g}.calculatePct"),
            denom_units_selected=_tx(m, "denomUnitsSelected", f"{g}.denomUnitsSelected"),
            denoms=_denoms(m, g),
            classes=_classes(m, g),
        ))
    return Baseline(
        population_description=_tx(bl, "populationDescription", f"{f}.populationDescription"),
        type_units_analyzed=_tx(bl, "typeUnitsAnalyzed", f"{f}.typeUnitsAnalyzed"),
        groups=_groups(bl, f),
        denoms=_denoms(bl, f),
        measures=measures,
    )


def _analysis(a: JsonObj, g: str) -> Analysis:
    return Analysis(
        group_ids=[s.strip() for s in strs(a, "groupIds", f"{g}.groupIds") if s.strip()],
        group_description=_tx(a, "groupDescription", f"{g}.groupDescription"),
        tested_non_inferiority=parse_bool(a.get("testedNonInferiority"), field=f"{g}.testedNonInferiority"),
        non_inferiority_type=_enum("non_inferiority", a, "nonInferiorityType", f"{g}.nonInferiorityType"),
        non_inferiority_comment=_tx(a, "nonInferiorityComment", f"{g}.nonInferiorityComment"),
        p_value=_num(a, "pValue", f"{g}.pValue"),
        p_value_comment=_tx(a, "pValueComment", f"{g}.pValueComment"),
        statistical_method=_tx(a, "statisticalMethod", f"{g}.statisticalMethod"),
        statistical_comment=_tx(a, "statisticalComment", f"{g}.statisticalComment"),
        param_type=_tx(a, "paramType", f"{g}.paramType"),
        param_value=_num(a, "paramValue", f"{g}.paramValue"),
        dispersion_type=_enum("analysis_dispersion", a, "dispersionType", f"{g}.dispersionType"),
        dispersion_value=_num(a, "dispersionValue", f"{g}.dispersionValue"),
        ci_pct_value=_num(a, "ciPctValue", f"{g}.ciPctValue"),
        ci_num_sides=_enum("ci_sides", a, "ciNumSides", f"{g}.ciNumSides"),
        ci_lower_limit=_num(a, "ciLowerLimit", f"{g}.ciLowerLimit"),
        ci_upper_limit=_num(a, "ciUpperLimit", f"{g}.ciUpperLimit"),
        ci_lower_limit_comment=_tx(a, "ciLowerLimitComment", f"{g}.ciLowerLimitComment"),
        ci_upper_limit_comment=_tx(a, "ciUpperLimitComment", f"{g}.ciUpperLimitComment"),
        estimate_comment=_tx(a, "estimateComment", f"{g}.estimateComment"),
        other_analysis_description=_tx(a, "otherAnalysisDescription", f"{g}.otherAnalysisDescription"),
    )


def _outcome(o: JsonObj, g: str) -> OutcomeMeasure:
    return OutcomeMeasure(
        type=_enum("outcome_type", o, "type", f"{g}.type"),
        title=_tx(o, "title", f"{g}.title") or "",
        description=_tx(o, "description", f"{g}.description"),
        population_description=_tx(o, "populationDescription", f"{g}.populationDescription"),
        reporting_status=_enum("reporting_status", o, "reportingStatus", f"{g}.reportingStatus"),
        anticipated_posting_date=parse_date(text(o, "anticipatedPostingDate", f"{g}.anticipatedPostingDate"),
                                            field=f"{g}.anticipatedPostingDate"),
        param_type=_enum("param_type", o, "paramType", f"{g}.paramType"),
        dispersion_type=_enum("dispersion_type", o, "dispersionType", f"{g}.dispersionType"),
        unit=_tx(o, "unitOfMeasure", f"{g}.unitOfMeasure"),
        calculate_pct=parse_bool(o.get("calculatePct"), field=f"{g}.calculatePct"),
        time_frame=_tx(o, "timeFrame", f"{g}.timeFrame"),
        type_units_analyzed=_tx(o, "typeUnitsAnalyzed", f"{g}.typeUnitsAnalyzed"),
        denom_units_selected=_tx(o, "denomUnitsSelected", f"{g}.denomUnitsSelected"),
        groups=_groups(o, g),
        denoms=_denoms(o, g),
        classes=_classes(o, g),
        analyses=[_analysis(a, f"{g}.analyses[{i}]") for i, a in enumerate(objs(o, "analyses", f"{g}.analyses"))],
    )


def _event_terms(ae: JsonObj, key: str, f: str, serious: bool) -> list[EventTerm]:
    out = []
    for i, e in enumerate(objs(ae, key, f"{f}.{key}")):
        g = f"{f}.{key}[{i}]"
        term = _tx(e, "term", f"{g}.term")
        if term is None:
            raise InputError("adverse event without a term", field=f"{g}.term")
        stats = [
            EventStats(_group_id(s, f"{g}.stats[{j}]"), _int(s, "numEvents", f"{g}.stats[{j}].numEvents"),
                       _int(s, "numAffected", f"{g}.stats[{j}].numAffected"),
                       _int(s, "numAtRisk", f"{g}.stats[{j}].numAtRisk"))
            for j, s in enumerate(objs(e, "stats", f"{g}.stats"))
        ]
        out.append(EventTerm(
            term=term, serious=serious,
            organ_system=_tx(e, "organSystem", f"{g}.organSystem"),
            source_vocabulary=_tx(e, "sourceVocabulary", f"{g}.sourceVocabulary"),
            assessment_type=_enum("assessment_type", e, "assessmentType", f"{g}.assessmentType"),
            notes=_tx(e, "notes", f"{g}.notes"),
            stats=stats,
        ))
    return out


def _adverse_events(ae: JsonObj, f: str) -> AdverseEvents:
    groups = []
    for i, g in enumerate(objs(ae, "eventGroups", f"{f}.eventGroups")):
        h = f"{f}.eventGroups[{i}]"
        gid = clean_text(text(g, "id", f"{h}.id"))
        if gid is None:
            raise InputError("adverse event group without an id", field=f"{h}.id")
        groups.append(EventGroup(
            id=gid, title=_tx(g, "title", f"{h}.title"), description=_tx(g, "description", f"{h}.description"),
            deaths_num_affected=_int(g, "deathsNumAffected", f"{h}.deathsNumAffected"),
            deaths_num_at_risk=_int(g, "deathsNumAtRisk", f"{h}.deathsNumAtRisk"),
            serious_num_affected=_int(g, "seriousNumAffected", f"{h}.seriousNumAffected"),
            serious_num_at_risk=_int(g, "seriousNumAtRisk", f"{h}.seriousNumAtRisk"),
            other_num_affected=_int(g, "otherNumAffected", f"{h}.otherNumAffected"),
            other_num_at_risk=_int(g, "otherNumAtRisk", f"{h}.otherNumAtRisk"),
        ))
    return AdverseEvents(
        frequency_threshold=_num(ae, "frequencyThreshold", f"{f}.frequencyThreshold"),
        time_frame=_tx(ae, "timeFrame", f"{f}.timeFrame"),
        description=_tx(ae, "description", f"{f}.description"),
        all_cause_mortality_comment=_tx(ae, "allCauseMortalityComment", f"{f}.allCauseMortalityComment"),
        groups=groups,
        events=_event_terms(ae, "seriousEvents", f, True) + _event_terms(ae, "otherEvents", f, False),
    )


def _more_info(mi: JsonObj, f: str) -> MoreInfo:
    ca = obj(mi, "certainAgreement", f"{f}.certainAgreement")
    g = f"{f}.certainAgreement"
    pc = obj(mi, "pointOfContact", f"{f}.pointOfContact")
    h = f"{f}.pointOfContact"
    poc = PointOfContact(
        title=_tx(pc, "title", f"{h}.title"), organization=_tx(pc, "organization", f"{h}.organization"),
        email=_tx(pc, "email", f"{h}.email"), phone=_tx(pc, "phone", f"{h}.phone"),
        phone_ext=_tx(pc, "phoneExt", f"{h}.phoneExt"),
    )
    lim = obj(mi, "limitationsAndCaveats", f"{f}.limitationsAndCaveats")
    return MoreInfo(
        limitations=_tx(lim, "description", f"{f}.limitationsAndCaveats.description"),
        pi_sponsor_employee=parse_bool(ca.get("piSponsorEmployee"), field=f"{g}.piSponsorEmployee"),
        restrictive_agreement=parse_bool(ca.get("restrictiveAgreement"), field=f"{g}.restrictiveAgreement"),
        restriction_type=_enum("restriction_type", ca, "restrictionType", f"{g}.restrictionType"),
        agreement_other_details=_tx(ca, "otherDetails", f"{g}.otherDetails"),
        point_of_contact=poc if any((poc.title, poc.organization, poc.email, poc.phone)) else None,
    )
