"""Study → FHIR R4 (4.0.1) ResearchStudy with its Organizations, Locations and enrolment Group."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import InputError
from fhirconv.mapping import keys, xver
from fhirconv.mapping.conceptmaps import concept, display, lookup
from fhirconv.mapping.results.r4 import map_results_r4
from fhirconv.mapping.study import common, registry
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed, reference
from fhirconv.versions import FhirVersion

V = FhirVersion.R4


DATA_ABSENT_REASON = "http://hl7.org/fhir/StructureDefinition/data-absent-reason"


def status(study: Study) -> dict[str, Any]:
    """R4 status (required binding, 1..1), as the element(s) to put on the ResearchStudy. An 'Unknown status'
    record is not given its last known status as the current one (the registry says it is no longer known):
    the status says 'unknown', and the last known status is a progressStatus extension."""
    code = study.overall_status
    field = "statusModule.overallStatus"
    if not code:
        # No status at all: a record restricted by the API's fields= filter, or a study described only by
        # SDTM trial-design domains (TS has no status parameter). Said so, not guessed.
        return {"_status": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": "unknown"}]}}
    coding = lookup("ctgov-overall-status-r4", code)
    if coding is None:
        # WITHHELD (details of an unapproved device trial kept private) and UNKNOWN without a last known
        # status: R4's required status binding has no honest code. Rather than guess one, the element is
        # present without a value and says why (FHIR allows a required primitive to carry only extensions):
        # "masked" for withheld information, "unknown" otherwise. display() still rejects codes no map knows.
        display("ctgov-overall-status-r4", code, field=field)
        reason = "masked" if code == "WITHHELD" else "unknown"
        return {"_status": {"extension": [{"url": DATA_ABSENT_REASON, "valueCode": reason}]}}
    return {"status": coding["code"]}


def enrollment_group(study: Study) -> Keyed | None:
    """The enrolment Group: eligibility as characteristics, enrolment count as quantity. `actual` is true
    when the count is the actual enrolment (real people), false for an anticipated one."""
    chars = common.eligibility_characteristics(study)
    criteria = common.clean(study.eligibility.criteria)
    if criteria:
        # R4 Group has no description: the criteria text is a characteristic in words.
        chars.insert(0, {"code": {"text": "Eligibility criteria"}, "valueCodeableConcept": {"text": criteria},
                         "exclude": False})
    enrollment = study.design.enrollment
    if not chars and enrollment is None:
        return None
    system, value = keys.group_key(study.nct_id)
    res: dict[str, Any] = {
        "resourceType": "Group",
        "identifier": [{"system": system, "value": value}],
        "type": "person",
        "actual": bool(enrollment is not None and enrollment.type == "ACTUAL"),
        "name": common.group_name(study),
    }
    if enrollment is not None:
        if enrollment.count < 0:
            raise InputError(f"enrollment count {enrollment.count} is negative", record=study.nct_id,
                             field="designModule.enrollmentInfo.count")
        res["quantity"] = enrollment.count
    if chars:
        res["characteristic"] = chars
    return Keyed(res, system, value)


def map_study_r4(study: Study) -> list[Keyed]:
    """The R4 ResearchStudy and the resources it references, referenced ones first."""
    items: list[Keyed] = []
    rs: dict[str, Any] = {"resourceType": "ResearchStudy", "identifier": common.identifiers(study)}
    title = common.clean(study.brief_title) or common.clean(study.official_title)
    if title:
        rs["title"] = title
    rs.update(status(study))
    if study.design.primary_purpose:
        rs["primaryPurposeType"] = common.primary_purpose(study)
    phase = common.phase(study)
    if phase:
        rs["phase"] = phase
    category = common.design_concepts(study) + registry.design_concepts(study) + registry.classifiers(study)
    if category:
        rs["category"] = category
    focus = common.focus_concepts(study)
    if focus:
        rs["focus"] = focus
    conditions = common.conditions(study)
    if conditions:
        rs["condition"] = conditions

    contacts = []
    for c in study.central_contacts:
        detail: dict[str, Any] = {}
        name = common.clean(c.name)
        if name:
            detail["name"] = name
        tel = common.telecom(c)
        if tel:
            detail["telecom"] = tel
        if detail:
            contacts.append(detail)
    pi_name, parties = _officials(study)
    if contacts:
        rs["contact"] = contacts
    keywords = common.keywords(study)
    if keywords:
        rs["keyword"] = keywords
    description = common.markdown(study.brief_summary, study.detailed_description)
    if description:
        rs["description"] = description
    artifacts = common.related_artifacts(study, V) + registry.related_artifacts(study, V)
    if artifacts:
        rs["relatedArtifact"] = artifacts

    group = enrollment_group(study)
    if group is not None:
        items.append(group)
        rs["enrollment"] = [reference("Group", group.system, group.value)]
    period = common.date_period(study, actual_only=True)
    if period:
        rs["period"] = period

    if study.lead_sponsor is not None:
        sponsor = common.organization(study.lead_sponsor)
        if sponsor is not None:
            items.append(sponsor)
            rs["sponsor"] = common.org_reference(sponsor)
    if pi_name:
        rs["principalInvestigator"] = {"display": pi_name}
    sites = common.sites(study, V)
    if sites:
        items.extend(sites)
        rs["site"] = [reference("Location", s.system, s.value, s.resource.get("name")) for s in sites]
    why = common.clean(study.why_stopped)
    if why:
        rs["reasonStopped"] = {"text": why}
    notes = common.notes(study) + registry.notes(study)
    if notes:
        rs["note"] = notes

    arms = []
    exposures, variables = _intervention_variables(study)
    if variables:
        rs["contained"] = variables
    for arm in study.arm_groups:
        entry: dict[str, Any] = {"extension": exposures[arm.label]} if exposures.get(arm.label) else {}
        entry["name"] = arm.label
        if arm.type:
            entry["type"] = concept("ctgov-arm-type", arm.type, field="armsInterventionsModule.armGroups.type")
        # R4 arms cannot reference interventions: the arm's interventions are listed in its description.
        desc = common.markdown(arm.description, _interventions_line(study, arm.label, arm.intervention_names))
        if desc:
            entry["description"] = desc
        arms.append(entry)
    if arms:
        rs["arm"] = arms
    objectives = []
    for out in study.outcomes:
        measure = common.clean(out.measure)
        if not measure:
            continue
        objectives.append({"name": measure,
                           "type": concept("ctgov-outcome-kind", out.kind, field="outcomesModule")})
    if objectives:
        rs["objective"] = objectives

    extensions = (_labels(study, title) + parties + _sponsor_parties(study, items)
                  + [_progress_extension(p) for p in common.progress_status(study, V)] + _outcome_measures(study)
                  + registry.extensions(study, V))
    results, report = map_results_r4(study, _results_author(study))
    items.extend(results)
    if report is not None:
        extensions.append(xver.simple("ResearchStudy.result", "Reference",
                                      reference("Composition", report.system, report.value, "Posted results")))
    if extensions:
        rs["extension"] = extensions
    system, value = keys.study_key(study.nct_id)
    items.append(Keyed(_ordered(rs), system, value))
    return items


def _officials(study: Study) -> tuple[str | None, list[dict[str, Any]]]:
    """The first principal investigator (R4 `principalInvestigator`, a display: R4 has no element for an
    affiliation) and every other official as R5 `associatedParty`, carried by its cross-version extension:
    study chairs and directors are parties to the study, not contact points (R4 `contact`)."""
    pi_name: str | None = None
    parties: list[dict[str, Any]] = []
    for off in study.officials:
        name = common.clean(off.name)
        if not name:
            continue
        affiliation = common.clean(off.affiliation)
        if off.role == "PRINCIPAL_INVESTIGATOR" and pi_name is None:
            pi_name = name + (f", {affiliation}" if affiliation else "")
            continue
        role = concept("ctgov-official-role", off.role, field="contactsLocationsModule.overallOfficials.role") \
            if off.role else {"text": "Overall official"}
        parts: list[tuple[str, str, Any]] = [("name", "String", name), ("role", "CodeableConcept", role)]
        if affiliation:
            parts.append(("party", "Reference", {"display": affiliation}))
        parties.append(xver.complex_("ResearchStudy.associatedParty", parts))
    return pi_name, parties


def _labels(study: Study, title: str | None) -> list[dict[str, Any]]:
    """R5 `label` (official title when it is not the title, acronym). R4 has no title-type code system, so
    the kind of title is in words."""
    out = []
    official, acronym = common.clean(study.official_title), common.clean(study.acronym)
    for kind, value in (("Official title", official if official != title else None), ("Acronym", acronym)):
        if value:
            out.append(xver.complex_("ResearchStudy.label", [("type", "CodeableConcept", {"text": kind}),
                                                              ("value", "String", value)]))
    return out


def _sponsor_parties(study: Study, items: list[Keyed]) -> list[dict[str, Any]]:
    """Collaborators (with their Organizations, added to `items`) and the responsible investigator, as R5
    `associatedParty`: R4 has one `sponsor` only."""
    out = []
    for org in study.collaborators:
        item = common.organization(org)
        if item is None:
            continue
        if all(i.value != item.value or i.system != item.system for i in items):
            items.append(item)
        parts: list[tuple[str, str, Any]] = [("name", "String", item.resource["name"]),
                                             ("role", "CodeableConcept", {"text": "Collaborator"})]
        if org.cls:
            parts.append(("classifier", "CodeableConcept",
                          concept("ctgov-agency-class", org.cls, field="sponsorCollaboratorsModule.class")))
        parts.append(("party", "Reference", common.org_reference(item)))
        out.append(xver.complex_("ResearchStudy.associatedParty", parts))
    responsible = common.responsible_party(study)
    if responsible is not None:
        rp_name, role, affiliation = responsible
        parts = [("name", "String", rp_name), ("role", "CodeableConcept", role)]
        if study.responsible_party and study.responsible_party.type == "SPONSOR":
            sponsor = next((i for i in items if i.resource.get("resourceType") == "Organization"
                            and i.resource.get("name") == rp_name), None)
            if sponsor is not None:
                parts.append(("party", "Reference", common.org_reference(sponsor)))
        elif affiliation:
            parts.append(("party", "Reference", {"display": affiliation}))
        out.append(xver.complex_("ResearchStudy.associatedParty", parts))
    return out


def _outcome_measures(study: Study) -> list[dict[str, Any]]:
    """R5 `outcomeMeasure` (name, type, description with the time frame): R4 `objective` has no description."""
    out = []
    for o in study.outcomes:
        measure = common.clean(o.measure)
        if not measure:
            continue
        parts: list[tuple[str, str, Any]] = [
            ("name", "String", measure),
            ("type", "CodeableConcept", concept("ctgov-outcome-kind", o.kind, field="outcomesModule"))]
        frame = common.clean(o.time_frame)
        desc = common.markdown(o.description, f"Time frame: {frame}" if frame else None)
        if desc:
            parts.append(("description", "Markdown", desc))
        out.append(xver.complex_("ResearchStudy.outcomeMeasure", parts))
    return out


def _progress_extension(entry: dict[str, Any]) -> dict[str, Any]:
    """One R5 progressStatus entry (state, actual, period) as its cross-version extension."""
    parts: list[tuple[str, str, Any]] = [("state", "CodeableConcept", entry["state"])]
    if "actual" in entry:
        parts.append(("actual", "Boolean", entry["actual"]))
    if "period" in entry:
        parts.append(("period", "Period", entry["period"]))
    return xver.complex_("ResearchStudy.progressStatus", parts)


def _intervention_variables(study: Study) -> tuple[dict[str, list[dict[str, Any]]], list[dict[str, Any]]]:
    """R5's comparisonGroup.intendedExposure in R4: each arm's interventions as cross-version extensions
    referencing contained R4 EvidenceVariables (title "Type: Name", description, other names as note; R4
    requires a characteristic, which names the intervention), numbered as in R5."""
    per_arm: dict[str, list[dict[str, Any]]] = {}
    contained: dict[int, dict[str, Any]] = {}
    for arm in study.arm_groups:
        for i, iv in enumerate(study.interventions, start=1):
            if not common.clean(iv.name) or not common.arm_uses(arm, iv):
                continue
            label = common.intervention_label(iv.type, iv.name.strip())
            if i not in contained:
                ev: dict[str, Any] = {"resourceType": "EvidenceVariable", "id": f"intervention-{i}", "title": label}
                others = [n.strip() for n in iv.other_names if n and n.strip()]
                if others:
                    ev["note"] = [{"text": "Other names: " + "; ".join(others)}]
                ev["status"] = "active"
                desc = common.clean(iv.description)
                if desc:
                    ev["description"] = desc
                ev["characteristic"] = [{"definitionCodeableConcept": {"text": label}}]
                contained[i] = ev
            ref = {"reference": f"#intervention-{i}", "type": "EvidenceVariable", "display": label}
            per_arm.setdefault(arm.label, []).append(
                xver.simple("ResearchStudy.comparisonGroup.intendedExposure", "Reference", ref))
    return per_arm, [contained[i] for i in sorted(contained)]


def _interventions_line(study: Study, label: str, names: list[str]) -> str | None:
    """'Interventions: Drug: A; Other: Placebo' for one arm, from the arm's own list or the interventions'
    arm labels."""
    found = [n.strip() for n in names if n and n.strip()]
    if not found:
        found = [common.intervention_label(iv.type, iv.name.strip()) for iv in study.interventions
                 if label in iv.arm_group_labels and iv.name.strip()]
    return "Interventions: " + "; ".join(found) if found else None


def _results_author(study: Study) -> str:
    """Who posted the results (R4 Composition.author is required): the results point of contact's organisation,
    else the lead sponsor, else the registry."""
    poc = study.results.more_info.point_of_contact if study.results and study.results.more_info else None
    return (poc.organization if poc and poc.organization else None) or (
        study.lead_sponsor.name if study.lead_sponsor else None) or "ClinicalTrials.gov"


# R4 ResearchStudy element order (the JSON is easier to read, and to diff, in the specification's order).
_ORDER = ("resourceType", "contained", "extension", "identifier", "title", "protocol", "partOf", "status", "_status",
          "primaryPurposeType", "phase", "category", "focus", "condition", "contact", "relatedArtifact", "keyword",
          "location", "description", "enrollment", "period", "sponsor", "principalInvestigator", "site",
          "reasonStopped", "note", "arm", "objective")


def _ordered(res: dict[str, Any]) -> dict[str, Any]:
    return {k: res[k] for k in _ORDER if k in res}
