"""Baseline characteristics and outcome measures: one EvidenceVariable per measure, one Evidence per group."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping.results import ids, stats
from fhirconv.mapping.results.evidence import Section, evidence, sample_size, variable, warn_unknown_group
from fhirconv.model.results import Baseline, BaselineMeasure, Denom, MeasureClass, OutcomeMeasure
from fhirconv.output.bundle import Keyed

_CONTINUOUS = {"MEAN", "MEDIAN", "GEOMETRIC_MEAN", "GEOMETRIC_LEAST_SQUARES_MEAN", "LEAST_SQUARES_MEAN", "LOG_MEAN"}
_COUNTS = {"COUNT_OF_PARTICIPANTS", "COUNT_OF_UNITS"}
OUTCOME_TYPE = {"PRIMARY": "Primary", "SECONDARY": "Secondary", "OTHER_PRE_SPECIFIED": "Other pre-specified",
                "POST_HOC": "Post-hoc"}


def _category_labels(classes: list[MeasureClass]) -> list[str]:
    out: list[str] = []
    for c in classes:
        for cat in c.categories:
            label = _label(c.title, cat.title)
            if label and label not in out:
                out.append(label)
    return out


def _label(class_title: str | None, category_title: str | None) -> str | None:
    """A row of the table: class ("Week 12", "Race") and category ("Female") as the registry titles them."""
    parts = [p for p in (class_title, category_title) if p]
    return ": ".join(parts) if parts else None


def _handling(param: str | None, labels: list[str]) -> str | None:
    if param in _CONTINUOUS:
        return "continuous"
    if param in _COUNTS:
        return "polychotomous" if len(labels) > 1 else "dichotomous"
    return None


def _statistics(m: BaselineMeasure | OutcomeMeasure, group_id: str, denoms: list[Denom]) -> list[dict[str, Any]]:
    """One statistic per row (class × category) of the measure for one group."""
    out: list[dict[str, Any]] = []
    for c in m.classes:
        for cat in c.categories:
            for x in cat.measurements:
                if x.group_id != group_id:
                    continue
                st: dict[str, Any] = {}
                label = _label(c.title, cat.title)
                if label:
                    st["category"] = {"text": label}
                kind = stats.param_type(m.param_type)
                if kind:
                    st["statisticType"] = kind
                q = stats.quantity(x.value, m.unit)
                if q is not None:
                    st["quantity"] = q
                    affected = stats.unsigned(q["value"]) if "comparator" not in q else None
                    if m.param_type == "COUNT_OF_PARTICIPANTS" and affected is not None:
                        st["numberAffected"] = affected
                notes = []
                if x.value is not None and q is None:
                    notes.append(f"Value as registered: {x.value}")
                if x.comment:
                    notes.append(x.comment)
                if notes:
                    st["note"] = [{"text": n} for n in notes]
                size = sample_size(c.denoms + denoms, group_id)
                if size:
                    st["sampleSize"] = size
                estimates = stats.dispersion(m.dispersion_type, x.spread, x.lower_limit, x.upper_limit, m.unit)
                if estimates:
                    st["attributeEstimate"] = estimates
                out.append(st)
    return out


def _measured_group_ids(m: BaselineMeasure | OutcomeMeasure) -> list[str]:
    seen: list[str] = []
    for c in m.classes:
        for cat in c.categories:
            for x in cat.measurements:
                if x.group_id not in seen:
                    seen.append(x.group_id)
    return seen


def table(nct_id: str, kind: str, index: int, m: BaselineMeasure | OutcomeMeasure, groups: dict[str, Keyed],
          module_denoms: list[Denom], notes: list[str]) -> tuple[Keyed, list[Keyed]]:
    """The measure's EvidenceVariable and its Evidence per group (groups in table order)."""
    labels = _category_labels(m.classes)
    var = variable(ids.value(nct_id, kind, index), m.title or f"{kind} measure {index}", description=m.description,
                   notes=notes, handling=_handling(m.param_type, labels),
                   categories=labels if len(labels) > 1 else None)
    out: list[Keyed] = []
    for gid in _measured_group_ids(m):
        g = groups.get(gid)
        if g is None:
            warn_unknown_group(nct_id, f"{kind} measure {index}", gid)
            continue
        st = _statistics(m, gid, m.denoms + module_denoms)
        title = f"{var.resource['title']} — {g.resource['name']}"
        out.append(evidence(ids.value(nct_id, kind, index, gid), title,
                            [("population", g), ("measuredVariable", var)], st))
    return var, out


def baseline(nct_id: str, b: Baseline, groups: dict[str, Keyed]) -> tuple[list[Keyed], list[Keyed], Section]:
    variables: list[Keyed] = []
    evidence_items: list[Keyed] = []
    section = Section("Baseline characteristics", text=[t for t in (
        b.population_description and f"Population: {b.population_description}",
        b.type_units_analyzed and f"Units analysed: {b.type_units_analyzed}") if t])
    section.sections.append(Section("Groups", entries=list(groups.values())))
    for i, m in enumerate(b.measures, start=1):
        notes = [
            m.population_description and f"Population: {m.population_description}",
            m.unit and f"Unit of measure: {m.unit}",
            m.dispersion_type and m.dispersion_type != "NA" and f"Dispersion: {m.dispersion_type}",
            m.param_type and f"Measure type: {stats.PARAM_TEXT.get(m.param_type, m.param_type)}",
            stats.yes_no("Percentages calculated by the registry", m.calculate_pct),
            m.denom_units_selected and f"Units analysed: {m.denom_units_selected}",
        ]
        var, items = table(nct_id, "baseline", i, m, groups, b.denoms, [n for n in notes if isinstance(n, str)])
        variables.append(var)
        evidence_items.extend(items)
        section.sections.append(Section(var.resource["title"], focus=var, entries=items))
    return variables, evidence_items, section
