"""Outcome measures (one EvidenceVariable, one Evidence per group) and their analyses (comparative Evidence)."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.results import ids, stats
from fhirconv.mapping.results.evidence import Section, evidence, warn_unknown_group
from fhirconv.mapping.results.measures import OUTCOME_TYPE, table
from fhirconv.model.results import Analysis, OutcomeMeasure
from fhirconv.output.bundle import Keyed

NON_INFERIORITY = {"SUPERIORITY": "Superiority", "NON_INFERIORITY": "Non-inferiority", "EQUIVALENCE": "Equivalence",
                   "OTHER": "Other", "NON_INFERIORITY_OR_EQUIVALENCE": "Non-inferiority or equivalence",
                   "SUPERIORITY_OR_OTHER": "Superiority or other",
                   "NON_INFERIORITY_OR_EQUIVALENCE_LEGACY": "Non-inferiority or equivalence",
                   "SUPERIORITY_OR_OTHER_LEGACY": "Superiority or other"}
SIDES = {"ONE_SIDED": "one-sided", "TWO_SIDED": "two-sided"}


def _notes(m: OutcomeMeasure) -> list[str]:
    notes = [
        m.type and f"Outcome type: {OUTCOME_TYPE.get(m.type, m.type)}",
        m.time_frame and f"Time frame: {m.time_frame}",
        m.population_description and f"Population: {m.population_description}",
        m.unit and f"Unit of measure: {m.unit}",
        m.param_type and f"Measure type: {stats.PARAM_TEXT.get(m.param_type, m.param_type)}",
        m.dispersion_type and m.dispersion_type != "NA" and f"Dispersion: {m.dispersion_type}",
        m.reporting_status and m.reporting_status != "POSTED" and f"Reporting status: {m.reporting_status}",
        m.anticipated_posting_date and f"Anticipated posting date: {m.anticipated_posting_date}",
        stats.yes_no("Percentages calculated by the registry", m.calculate_pct),
        m.type_units_analyzed and f"Units analysed: {m.type_units_analyzed}",
        m.denom_units_selected and f"Denominator units: {m.denom_units_selected}",
    ]
    return [n for n in notes if isinstance(n, str)]


def _analysis_statistic(a: Analysis) -> dict[str, Any]:
    st: dict[str, Any] = {}
    kind = stats.estimate_type(a.param_type)
    if kind:
        st["statisticType"] = kind
    q = stats.quantity(a.param_value)
    if q is not None:
        st["quantity"] = q
    notes = [
        a.param_value and q is None and f"Estimate as registered: {a.param_value}",
        a.estimate_comment,
        a.non_inferiority_type and f"Hypothesis: {NON_INFERIORITY.get(a.non_inferiority_type, a.non_inferiority_type)}",
        stats.yes_no("Non-inferiority tested", a.tested_non_inferiority),
        a.non_inferiority_comment,
        a.p_value_comment and f"P-value: {a.p_value_comment}",
        a.statistical_comment,
    ]
    kept = [n for n in notes if isinstance(n, str) and n]
    if kept:
        st["note"] = [{"text": n} for n in kept]
    estimates = stats.dispersion(a.dispersion_type, a.dispersion_value, None, None, None) if a.dispersion_value else []
    ci = stats.dispersion("CONFIDENCE_OTHER", None, a.ci_lower_limit, a.ci_upper_limit, None)
    level = stats.ci_level(a.ci_pct_value)
    for e in ci:
        if "range" in e:
            if level is not None:
                e["level"] = level
            sides = SIDES.get(a.ci_num_sides or "", a.ci_num_sides)
            comments = [c for c in (a.ci_lower_limit_comment, a.ci_upper_limit_comment) if c]
            described = ", ".join(x for x in (sides, *comments) if x)
            if described:
                e["description"] = described
    estimates += ci
    p = stats.p_value(a.p_value)
    if p:
        estimates.append(p)
    if estimates:
        st["attributeEstimate"] = estimates
    if a.statistical_method:
        st["modelCharacteristic"] = [{"code": {"text": a.statistical_method}}]
    return st


def analysis(nct_id: str, index: int, j: int, a: Analysis, var: Keyed, groups: dict[str, Keyed]) -> Keyed:
    """The comparison the registry posts: the groups compared (the registry does not say which is the reference,
    so the first listed is the exposure and the others the reference exposures), the estimate with its CI and
    dispersion, the p-value and the method."""
    compared = []
    for gid in a.group_ids:
        g = groups.get(gid)
        if g is None:
            warn_unknown_group(nct_id, f"outcome measure {index} analysis {j}", gid)
            continue
        compared.append(g)
    roles = [("exposure" if k == 0 else "referenceExposure", g) for k, g in enumerate(compared)]
    title = f"{var.resource['title']}: " + " vs ".join(g.resource["name"] for g in compared) if compared \
        else f"{var.resource['title']}: analysis {j}"
    notes = [a.other_analysis_description] if a.other_analysis_description else []
    return evidence(ids.value(nct_id, "outcome", index, "analysis", j), title, [*roles, ("measuredVariable", var)],
                    [_analysis_statistic(a)], description=a.group_description, notes=notes)


def outcomes(nct_id: str, measures: list[OutcomeMeasure], group_maps: list[dict[str, Keyed]]
             ) -> tuple[list[Keyed], list[Keyed], Section]:
    variables: list[Keyed] = []
    items: list[Keyed] = []
    section = Section("Outcome measures")
    for i, (m, groups) in enumerate(zip(measures, group_maps, strict=True), start=1):
        var, per_group = table(nct_id, "outcome", i, m, groups, [], _notes(m))
        analyses = [analysis(nct_id, i, j, a, var, groups) for j, a in enumerate(m.analyses, start=1)]
        variables.append(var)
        items.extend(per_group + analyses)
        section.sections.append(Section(var.resource["title"], focus=var, entries=per_group + analyses))
    return variables, items, section
