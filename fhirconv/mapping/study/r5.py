"""Study → FHIR R5 (5.0.0) ResearchStudy with its Organizations, Locations and eligibility Group."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import InputError
from fhirconv.mapping import keys
from fhirconv.mapping.conceptmaps import concept, translate
from fhirconv.mapping.results.r5 import map_results_r5
from fhirconv.mapping.study import common, registry
from fhirconv.model.study import Intervention, Study
from fhirconv.output.bundle import Keyed, reference
from fhirconv.versions import FhirVersion

V = FhirVersion.R5
PARTY_ROLE = "http://hl7.org/fhir/research-study-party-role"


def publication_status(study: Study) -> str:
    if not study.overall_status:
        return "unknown"  # a record read without its status module
    return translate("ctgov-overall-status-publication", study.overall_status,
                     field="statusModule.overallStatus")["code"]


def eligibility_group(study: Study) -> Keyed | None:
    """The eligibility Group (definitional): criteria text as its description, sex/age/healthy volunteers
    and study population as characteristics."""
    chars = common.eligibility_characteristics(study)
    criteria = common.clean(study.eligibility.criteria)
    if not chars and not criteria:
        return None
    system, value = keys.group_key(study.nct_id)
    res: dict[str, Any] = {
        "resourceType": "Group",
        "identifier": [{"system": system, "value": value}],
        "type": "person",
        "membership": "definitional",
        "name": common.group_name(study),
    }
    if criteria:
        res["description"] = criteria
    if chars:
        res["characteristic"] = chars
    return Keyed(res, system, value)


def comparison_groups(study: Study) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """comparisonGroup entries, and the contained EvidenceVariables (one per intervention an arm uses) that
    their intendedExposure references point to, as HL7's ctgov example does."""
    link_ids = keys.arm_link_ids(study)
    contained: dict[int, dict[str, Any]] = {}
    groups: list[dict[str, Any]] = []
    for arm in study.arm_groups:
        entry: dict[str, Any] = {"linkId": link_ids[arm.label], "name": arm.label}
        if arm.type:
            entry["type"] = concept("ctgov-arm-type", arm.type, field="armsInterventionsModule.armGroups.type")
        desc = common.clean(arm.description)
        if desc:
            entry["description"] = desc
        exposures = []
        for i, iv in enumerate(study.interventions, start=1):
            if not common.clean(iv.name) or not common.arm_uses(arm, iv):
                continue
            label = common.intervention_label(iv.type, iv.name.strip())
            if i not in contained:
                contained[i] = _evidence_variable(f"intervention-{i}", label, iv)
            exposures.append({"reference": f"#intervention-{i}", "type": "EvidenceVariable", "display": label})
        if exposures:
            entry["intendedExposure"] = exposures
        groups.append(entry)
    return groups, [contained[i] for i in sorted(contained)]


def _evidence_variable(local_id: str, label: str, iv: Intervention) -> dict[str, Any]:
    ev: dict[str, Any] = {"resourceType": "EvidenceVariable", "id": local_id, "title": label}
    others = [n.strip() for n in iv.other_names if n and n.strip()]
    if others:
        ev["note"] = [{"text": "Other names: " + "; ".join(others)}]
    ev["status"] = "active"
    desc = common.clean(iv.description)
    if desc:
        ev["description"] = desc
    return ev


def associated_parties(study: Study, orgs: dict[str, Keyed]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Lead sponsor, collaborators, officials, the responsible investigator and central contacts; plus the
    contained Practitioners that hold central contacts' phone and e-mail (R5 ResearchStudy has no contact)."""
    parties: list[dict[str, Any]] = []
    contained: list[dict[str, Any]] = []
    sponsors = [(study.lead_sponsor, "lead-sponsor", "Lead Sponsor")] if study.lead_sponsor else []
    sponsors += [(c, "collaborator", "Collaborator") for c in study.collaborators]
    for org, code, text in sponsors:
        name = common.clean(org.name) if org else None
        if not org or not name:
            continue
        party: dict[str, Any] = {"name": name,
                                 "role": {"coding": [{"system": PARTY_ROLE, "code": code}], "text": text}}
        if org.cls:
            party["classifier"] = [concept("ctgov-agency-class", org.cls, field="sponsorCollaboratorsModule.class")]
        item = orgs.get(keys.organization_key(name)[1])
        if item is not None:
            party["party"] = common.org_reference(item)
        parties.append(party)
    for off in study.officials:
        name = common.clean(off.name)
        if not name:
            continue
        party = {"name": name}
        if off.role:
            party["role"] = concept("ctgov-official-role", off.role,
                                    field="contactsLocationsModule.overallOfficials.role")
        else:
            party["role"] = {"text": "Overall official"}
        affiliation = common.clean(off.affiliation)
        if affiliation:
            party["party"] = {"display": affiliation}
        parties.append(party)
    responsible = common.responsible_party(study)
    if responsible is not None:
        rp_name, role, affiliation = responsible
        party = {"name": rp_name, "role": role}
        sponsor = orgs.get(keys.organization_key(rp_name)[1]) if affiliation is None else None
        if sponsor is not None and study.responsible_party and study.responsible_party.type == "SPONSOR":
            party["party"] = common.org_reference(sponsor)
        elif affiliation:
            party["party"] = {"display": affiliation}
        parties.append(party)
    for n, c in enumerate(study.central_contacts, start=1):
        name = common.clean(c.name)
        tel = common.telecom(c)
        if not name and not tel:
            continue
        party = {"role": concept("ctgov-contact-role", c.role or "CONTACT",
                                 field="contactsLocationsModule.centralContacts.role")}
        if name:
            party["name"] = name
        if tel:
            local_id = f"contact-{n}"
            practitioner: dict[str, Any] = {"resourceType": "Practitioner", "id": local_id}
            if name:
                practitioner["name"] = [{"text": name}]
            practitioner["telecom"] = tel
            contained.append(practitioner)
            party["party"] = {"reference": f"#{local_id}", "type": "Practitioner"}
        parties.append(party)
    return parties, contained


def map_study_r5(study: Study) -> list[Keyed]:
    """The R5 ResearchStudy and the resources it references, referenced ones first."""
    items: list[Keyed] = []
    orgs: dict[str, Keyed] = {}
    for org in ([study.lead_sponsor] if study.lead_sponsor else []) + list(study.collaborators):
        item = common.organization(org)
        if item is not None and item.value not in orgs:
            orgs[item.value] = item
            items.append(item)
    group = eligibility_group(study)
    if group is not None:
        items.append(group)
    sites = common.sites(study, V)
    items.extend(sites)

    rs: dict[str, Any] = {"resourceType": "ResearchStudy"}
    parties, contacts = associated_parties(study, orgs)
    arms, interventions = comparison_groups(study)
    if contacts or interventions:
        rs["contained"] = contacts + interventions
    extensions = registry.extensions(study, V)
    if extensions:
        rs["extension"] = extensions
    rs["identifier"] = common.identifiers(study)
    title = common.clean(study.brief_title) or common.clean(study.official_title)
    if title:
        rs["title"] = title
    labels = []
    official = common.clean(study.official_title)
    if official and official != title:
        labels.append(_label("official", "Official title", official))
    acronym = common.clean(study.acronym)
    if acronym:
        labels.append(_label("acronym", "Acronym", acronym))
    if labels:
        rs["label"] = labels
    artifacts = common.related_artifacts(study, V) + registry.related_artifacts(study, V)
    if artifacts:
        rs["relatedArtifact"] = artifacts
    if study.last_update_posted and common.clean(study.last_update_posted.date):
        rs["date"] = study.last_update_posted.date.strip()
    rs["status"] = publication_status(study)
    if study.design.primary_purpose:
        rs["primaryPurposeType"] = common.primary_purpose(study)
    phase = common.phase(study)
    if phase:
        rs["phase"] = phase
    design = common.design_concepts(study) + registry.design_concepts(study)
    if design:
        rs["studyDesign"] = design
    focus = common.focus_concepts(study)
    if focus:
        rs["focus"] = [{"concept": c} for c in focus]
    conditions = common.conditions(study)
    if conditions:
        rs["condition"] = conditions
    keywords = common.keywords(study)
    if keywords:
        rs["keyword"] = keywords
    summary = common.clean(study.brief_summary)
    if summary:
        rs["descriptionSummary"] = summary
    detail = common.clean(study.detailed_description)
    if detail:
        rs["description"] = detail
    period = common.date_period(study)
    if period:
        rs["period"] = period
    if sites:
        rs["site"] = [reference("Location", s.system, s.value, s.resource.get("name")) for s in sites]
    notes = common.notes(study) + registry.notes(study)
    if notes:
        rs["note"] = notes
    classifiers = [{"text": "Patient registry"}] if study.design.patient_registry else []
    classifiers += registry.classifiers(study)
    if classifiers:
        rs["classifier"] = classifiers
    if parties:
        rs["associatedParty"] = parties
    progress = common.progress_status(study, V)
    if progress:
        rs["progressStatus"] = progress
    why = common.clean(study.why_stopped)
    if why:
        rs["whyStopped"] = {"text": why}
    recruitment = _recruitment(study, group)
    if recruitment:
        rs["recruitment"] = recruitment
    if arms:
        rs["comparisonGroup"] = arms
    measures = []
    for out in study.outcomes:
        measure = common.clean(out.measure)
        if not measure:
            continue
        entry: dict[str, Any] = {"name": measure,
                                 "type": [concept("ctgov-outcome-kind", out.kind, field="outcomesModule")]}
        frame = common.clean(out.time_frame)
        desc = common.markdown(out.description, f"Time frame: {frame}" if frame else None)
        if desc:
            entry["description"] = desc
        measures.append(entry)
    if measures:
        rs["outcomeMeasure"] = measures
    results, report = map_results_r5(study)
    items.extend(results)
    if report is not None:
        rs["result"] = [reference("EvidenceReport", report.system, report.value, "Posted results")]

    system, value = keys.study_key(study.nct_id)
    items.append(Keyed(rs, system, value))
    return items


def _label(code: str, display: str, value: str) -> dict[str, Any]:
    return {"type": {"coding": [{"system": common.TITLE_TYPE, "code": code, "display": display}]}, "value": value}


def _recruitment(study: Study, group: Keyed | None) -> dict[str, Any]:
    out: dict[str, Any] = {}
    enrollment = study.design.enrollment
    if enrollment is not None:
        if enrollment.count < 0:
            raise InputError(f"enrollment count {enrollment.count} is negative", record=study.nct_id,
                             field="designModule.enrollmentInfo.count")
        # An enrolment without a type is the registry's target (older records said 'Anticipated' or nothing).
        out["actualNumber" if enrollment.type == "ACTUAL" else "targetNumber"] = enrollment.count
    if group is not None:
        out["eligibility"] = reference("Group", group.system, group.value)
    return out
