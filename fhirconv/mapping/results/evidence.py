"""The resources every results table is made of, in their R5 (EBM on FHIR) shape: Group, EvidenceVariable, Evidence."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from fhirconv import progress
from fhirconv.mapping.results import ids, stats
from fhirconv.model.results import Denom, ResultGroup
from fhirconv.output.bundle import Keyed, reference


@dataclass(slots=True)
class Section:
    """One section of the results report (a Composition / EvidenceReport section), version-neutral."""

    title: str
    text: list[str] = field(default_factory=list)  # paragraphs of plain text; the writer makes the narrative
    focus: Keyed | None = None
    entries: list[Keyed] = field(default_factory=list)
    sections: list[Section] = field(default_factory=list)


def ref(item: Keyed, display: str | None = None) -> dict[str, Any]:
    return reference(item.resource_type, item.system, item.value, display)


def group(nct_id: str, kind: str, g: ResultGroup, n: int, quantity: int | None = None) -> Keyed:
    """A results group (ExposureGroup / StudyGroup in EBM terms): the participants a column of a table counts.
    `n` > 1 tells apart groups of one id whose title or description differ between outcome measures."""
    value = ids.value(nct_id, f"{kind}-group", g.id if n == 1 else f"{g.id}#{n}")
    res: dict[str, Any] = {"resourceType": "Group", "identifier": [{"system": ids.RESULT_SYSTEM, "value": value}],
                           "type": "person", "membership": "enumerated"}
    res["name"] = g.title or g.id
    if g.description:
        res["description"] = g.description
    if stats.unsigned(quantity) is not None:
        res["quantity"] = quantity
    return Keyed(res, ids.RESULT_SYSTEM, value)


def _artifact(resource_type: str, value: str, title: str, description: str | None,
              notes: list[str] | None) -> dict[str, Any]:
    """The opening both EvidenceVariable and Evidence share: identifier, title, status, description, notes."""
    res: dict[str, Any] = {"resourceType": resource_type,
                           "identifier": [{"system": ids.RESULT_SYSTEM, "value": value}],
                           "title": title, "status": "active"}
    if description:
        res["description"] = description
    kept = [n for n in notes or [] if n]
    if kept:
        res["note"] = [{"text": n} for n in kept]
    return res


def variable(value: str, title: str, *, description: str | None = None, notes: list[str] | None = None,
             handling: str | None = None, categories: list[str] | None = None) -> Keyed:
    res = _artifact("EvidenceVariable", value, title, description, notes)
    if handling:
        res["handling"] = handling
    if categories:
        res["category"] = [{"name": c} for c in categories]
    return Keyed(res, ids.RESULT_SYSTEM, value)


def evidence(value: str, title: str, roles: list[tuple[str, Keyed]], statistics: list[dict[str, Any]], *,
             description: str | None = None, notes: list[str] | None = None) -> Keyed:
    res = _artifact("Evidence", value, title, description, notes)
    res["variableDefinition"] = [
        {"variableRole": stats.role(code), "observed": ref(item, _display(item))} for code, item in roles
    ]
    if statistics:
        res["statistic"] = statistics
    return Keyed(res, ids.RESULT_SYSTEM, value)


def _display(item: Keyed) -> str | None:
    r = item.resource
    return r.get("name") if r["resourceType"] == "Group" else r.get("title")


def sample_size(denoms: list[Denom], group_id: str) -> dict[str, Any] | None:
    """The first denominator that counts `group_id`: participants as numberOfParticipants, other units
    (eyes, clinics) in the description, since they are not participants."""
    for d in denoms:
        for c in d.counts:
            if c.group_id != group_id:
                continue
            n = stats.unsigned(stats.number(c.value))
            units = d.units or "Participants"
            if n is not None and units.lower().startswith("participant"):
                return {"numberOfParticipants": n}
            return {"description": f"{c.value} {units}"}
    return None


def warn_unknown_group(nct_id: str, where: str, group_id: str) -> None:
    progress.warn("results values for a group their table does not list (left out)",
                  f"{nct_id}: {where} names group {group_id}, which the table does not list; its values are left out")
