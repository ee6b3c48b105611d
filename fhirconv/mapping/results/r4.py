"""Results → R4: the R5 shapes on R4's own Group, EvidenceVariable, Evidence and Composition, with what R4 has
no element for carried by extensions of the cross-version shape (mapping.xver); mappings/README.md says why."""

from __future__ import annotations

from typing import Any

from fhirconv.mapping import xver
from fhirconv.mapping.results.build import build
from fhirconv.mapping.results.evidence import ref
from fhirconv.mapping.results.report import composition_r4
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed

# The R5 backbone elements carried in R4, child by child with its R5 type (a dict: a nested backbone).
_ESTIMATE: dict[str, Any] = {"description": "Markdown", "note": "Annotation", "type": "CodeableConcept",
                             "quantity": "Quantity", "level": "Decimal", "range": "Range"}
_STATISTIC: dict[str, Any] = {
    "description": "Markdown", "note": "Annotation", "statisticType": "CodeableConcept", "category": "CodeableConcept",
    "quantity": "Quantity", "numberOfEvents": "UnsignedInt", "numberAffected": "UnsignedInt",
    "sampleSize": {"description": "Markdown", "note": "Annotation", "numberOfStudies": "UnsignedInt",
                   "numberOfParticipants": "UnsignedInt", "knownDataCount": "UnsignedInt"},
    "attributeEstimate": _ESTIMATE,
    "modelCharacteristic": {"code": "CodeableConcept", "value": "Quantity"},
}
_VARIABLE_DEFINITION: dict[str, Any] = {"description": "Markdown", "note": "Annotation",
                                        "variableRole": "CodeableConcept", "observed": "Reference"}
_CATEGORY: dict[str, Any] = {"name": "String", "valueCodeableConcept": "CodeableConcept"}
# R5 EvidenceVariable.handling → R4 EvidenceVariable.type (dichotomous | continuous | descriptive).
_TYPE = {"continuous": "continuous", "dichotomous": "dichotomous", "ordinal": "descriptive",
         "polychotomous": "descriptive"}


def _children(value: dict[str, Any], types: dict[str, Any]) -> list[dict[str, Any]]:
    unknown = set(value) - set(types)
    if unknown:
        raise ValueError(f"no cross-version shape for {sorted(unknown)}")  # a bug in the R5 builder, not input
    out: list[dict[str, Any]] = []
    for name, kind in types.items():
        if name not in value:
            continue
        items = value[name] if isinstance(value[name], list) else [value[name]]
        for item in items:
            if isinstance(kind, dict):
                out.append({"url": name, "extension": _children(item, kind)})
            else:
                out.append({"url": name, f"value{kind}": item})
    return out


def carried(path: str, value: dict[str, Any], types: dict[str, Any]) -> dict[str, Any]:
    """An R5 backbone element as one extension, a sub-extension per child (nested backbones nest)."""
    return {"url": xver.url(path), "extension": _children(value, types)}


def _group(item: Keyed) -> Keyed:
    r5 = item.resource
    res: dict[str, Any] = {"resourceType": "Group"}
    if "description" in r5:
        res["extension"] = [xver.simple("Group.description", "Markdown", r5["description"])]
    res["identifier"] = r5["identifier"]
    res["type"] = r5["type"]
    res["actual"] = r5["membership"] == "enumerated"
    res["name"] = r5["name"]
    if "quantity" in r5:
        res["quantity"] = r5["quantity"]
    return Keyed(res, item.system, item.value)


def _population(group: Keyed) -> Keyed:
    """R4 Evidence names its population by an EvidenceVariable (exposureBackground), not by a Group: one per
    results group, defined by a reference to the Group."""
    value = f"{group.value}/population"
    res = {"resourceType": "EvidenceVariable", "identifier": [{"system": group.system, "value": value}],
           "title": group.resource["name"], "status": "active",
           "characteristic": [{"definitionReference": ref(group, group.resource["name"])}]}
    return Keyed(res, group.system, value)


def _variable(item: Keyed) -> Keyed:
    r5 = item.resource
    res: dict[str, Any] = {"resourceType": "EvidenceVariable"}
    ext = [carried("EvidenceVariable.category", c, _CATEGORY) for c in r5.get("category", [])]
    if r5.get("handling") in ("ordinal", "polychotomous"):
        ext.insert(0, xver.simple("EvidenceVariable.handling", "Code", r5["handling"]))
    if ext:
        res["extension"] = ext
    for key in ("identifier", "title", "status", "description", "note"):
        if key in r5:
            res[key] = r5[key]
    if r5.get("handling"):
        res["type"] = _TYPE[r5["handling"]]
    res["characteristic"] = [{"definitionCodeableConcept": {"text": r5["title"]}}]
    return Keyed(res, item.system, item.value)


def _evidence(item: Keyed, populations: dict[str, Keyed]) -> Keyed:
    r5 = item.resource
    res: dict[str, Any] = {"resourceType": "Evidence"}
    ext = [carried("Evidence.variableDefinition", v, _VARIABLE_DEFINITION) for v in r5["variableDefinition"]]
    ext += [carried("Evidence.statistic", s, _STATISTIC) for s in r5.get("statistic", [])]
    res["extension"] = ext
    for key in ("identifier", "title", "status", "description", "note"):
        if key in r5:
            res[key] = r5[key]
    groups = [populations[v["observed"]["reference"]] for v in r5["variableDefinition"]
              if v["observed"]["reference"] in populations]
    measured = [v["observed"] for v in r5["variableDefinition"]
                if v["observed"]["reference"] not in populations]
    if groups:
        res["exposureBackground"] = ref(groups[0], groups[0].resource["title"])
        if len(groups) > 1:
            res["exposureVariant"] = [ref(g, g.resource["title"]) for g in groups[1:]]
    if measured:
        res["outcome"] = measured
    return Keyed(res, item.system, item.value)


def map_results_r4(study: Study, author: str) -> tuple[list[Keyed], Keyed | None]:
    """(every results resource, referenced ones first and the Composition last; the Composition), or ([], None)."""
    if study.results is None:
        return [], None
    built = build(study.nct_id, study.results)
    out: list[Keyed] = []
    populations: dict[str, Keyed] = {}
    for item in built.resources:
        kind = item.resource_type
        if kind == "Group":
            group = _group(item)
            population = _population(item)
            populations[ref(item)["reference"]] = population
            out += [group, population]
        elif kind == "EvidenceVariable":
            out.append(_variable(item))
        else:
            out.append(_evidence(item, populations))
    report = composition_r4(study, built.sections, author)
    return [*out, report], report
