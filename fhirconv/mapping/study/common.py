"""Pieces both ResearchStudy mappings share: identifiers, organisations, sites, contacts, eligibility, text."""

from __future__ import annotations

import math
from fractions import Fraction
from typing import Any

from fhirconv.errors import InputError
from fhirconv.mapping import keys, xver
from fhirconv.mapping.conceptmaps import concept, display, translate
from fhirconv.model.study import Age, ArmGroup, Contact, DateInfo, Intervention, Location, Mesh, Org, Study
from fhirconv.output.bundle import Keyed, reference
from fhirconv.versions import FhirVersion

MESH_SYSTEM = "https://www.nlm.nih.gov/mesh"  # HL7 Terminology CodeSystem MeSH (terminology.hl7.org/CodeSystem-MeSH)
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
# R5 ResearchStudy.label.type: extensible binding to ValueSet title-type, whose codes are in the core
# CodeSystem http://hl7.org/fhir/title-type (R5 5.0.0), not in terminology.hl7.org.
TITLE_TYPE = "http://hl7.org/fhir/title-type"
PUBMED_URL = "https://pubmed.ncbi.nlm.nih.gov/"

# Group.characteristic codes: LOINC 46098-0 "Sex" and 30525-0 "Age" (as FHIR's own Group examples and
# eligibility profiles use them); the rest have no standard code and are named in text.
SEX_CODE = {"coding": [{"system": LOINC, "code": "46098-0", "display": "Sex"}], "text": "Sex"}
AGE_CODE = {"coding": [{"system": LOINC, "code": "30525-0", "display": "Age"}], "text": "Age"}


def clean(text: str | None) -> str | None:
    """Stripped text, None for absent or blank (absent fields produce no elements)."""
    if text is None:
        return None
    t = text.strip()
    return t or None


def identifiers(study: Study) -> list[dict[str, Any]]:
    """NCT ID (official), old NCT aliases, the sponsor's own study id and the secondary ids."""
    system, value = keys.study_key(study.nct_id)
    out: list[dict[str, Any]] = [{"use": "official", "system": system, "value": value}]
    for alias in study.nct_id_aliases:
        if clean(alias):
            out.append({"use": "old", "system": keys.CTGOV_SYSTEM, "value": alias.strip()})
    org_id = clean(study.org_study_id)
    if org_id:
        ident: dict[str, Any] = {"use": "secondary", "type": {"text": "Organization's Unique Protocol ID"},
                                 "value": org_id}
        org_name = clean(study.organization.name) if study.organization else None
        if org_name:
            ident["assigner"] = {"display": org_name}
        out.append(ident)
    for sid in study.secondary_ids:
        sid_value = clean(sid.id)
        if not sid_value:
            continue
        ident = {"use": "secondary", "value": sid_value}
        if sid.type:
            ident["type"] = {"text": display("ctgov-secondary-id-type", sid.type, field="secondaryIdInfos.type")}
        domain = clean(sid.domain)
        if domain:
            ident["assigner"] = {"display": domain}
        out.append(ident)
    return out


def markdown(*parts: str | None) -> str | None:
    """Non-empty parts joined as paragraphs (the registry's text fields are markdown already)."""
    kept = [p.strip() for p in parts if p and p.strip()]
    return "\n\n".join(kept) if kept else None


def date_period(study: Study, *, actual_only: bool = False) -> dict[str, str] | None:
    """Start and completion. With `actual_only` (R4, whose Period cannot say a date is only anticipated), an
    ESTIMATED date is left out: it is carried with its flag in the progressStatus extension instead."""
    period: dict[str, str] = {}
    for key, info in (("start", study.start_date), ("end", study.completion_date)):
        if info is None or not clean(info.date) or (actual_only and info.type == "ESTIMATED"):
            continue
        period[key] = info.date.strip()
    return period or None


def progress_status(study: Study, version: FhirVersion) -> list[dict[str, Any]]:
    """The current status, the last known one for 'Unknown status' records, and the study's milestones
    (start, primary completion, completion), each actual or anticipated as the registry says. States are
    coded from the version's own research-study-status (R4's lacks most R5 codes, 'overall-study' too)."""
    out: list[dict[str, Any]] = []
    map_id = "ctgov-overall-status-r4" if version is FhirVersion.R4 else "ctgov-overall-status-r5"
    if study.overall_status:
        out.append({"state": concept(map_id, study.overall_status, field="statusModule.overallStatus")})
    if study.overall_status == "UNKNOWN" and study.last_known_status:
        out.append({"state": concept(map_id, study.last_known_status, field="statusModule.lastKnownStatus",
                                     label="Last known status")})
    milestones = (
        (study.start_date, "Study start", "start", True),
        (study.primary_completion_date, "Primary completion", "end", False),
        (study.completion_date, "Study completion", "end", True),
    )
    for info, text, end, overall in milestones:
        entry = _milestone(info, text, end, overall and version is FhirVersion.R5)
        if entry:
            out.append(entry)
    return out


def _milestone(info: DateInfo | None, text: str, end: str, overall: bool) -> dict[str, Any] | None:
    if info is None or not clean(info.date):
        return None
    state: dict[str, Any] = {"text": text}
    if overall:
        # HL7's ctgov example marks the study's own period with the 'overall-study' state.
        state = {"coding": [{"system": "http://hl7.org/fhir/research-study-status", "code": "overall-study",
                             "display": "Overall study"}], "text": text}
    entry: dict[str, Any] = {"state": state}
    if info.type in ("ACTUAL", "ESTIMATED"):
        entry["actual"] = info.type == "ACTUAL"
    entry["period"] = {end: info.date.strip()}
    return entry


def phase(study: Study) -> dict[str, Any] | None:
    """The phase CodeableConcept; combined phases (PHASE1 + PHASE2) are one code (phase-1-phase-2)."""
    phases = [p for p in study.design.phases if p]
    if not phases:
        return None
    order = ("NA", "EARLY_PHASE1", "PHASE1", "PHASE2", "PHASE3", "PHASE4")
    code = "/".join(sorted(dict.fromkeys(phases), key=lambda p: order.index(p) if p in order else len(order)))
    return {"coding": [translate("ctgov-phase", code, field="designModule.phases")],
            "text": display("ctgov-phase", code, field="designModule.phases")}


def design_concepts(study: Study) -> list[dict[str, Any]]:
    """Study type and design characteristics as CodeableConcepts (SEVCO where it has a code), each with
    the registry's words as text; R4 `category`, R5 `studyDesign`."""
    d = study.design
    out: list[dict[str, Any]] = []
    singles = (
        ("ctgov-study-type", d.study_type, "designModule.studyType", "Study type"),
        ("ctgov-allocation", d.allocation, "designModule.designInfo.allocation", "Allocation"),
        ("ctgov-intervention-model", d.intervention_model, "designModule.designInfo.interventionModel",
         "Intervention model"),
        ("ctgov-observational-model", d.observational_model, "designModule.designInfo.observationalModel",
         "Observational model"),
        ("ctgov-time-perspective", d.time_perspective, "designModule.designInfo.timePerspective",
         "Time perspective"),
        ("ctgov-masking", d.masking, "designModule.designInfo.maskingInfo.masking", "Masking"),
    )
    for map_id, code, field, label in singles:
        if code:
            out.append(concept(map_id, code, field=field, label=label))
    for who in d.who_masked:
        out.append(concept("ctgov-who-masked", who, field="designModule.designInfo.maskingInfo.whoMasked",
                           label="Masked"))
    sampling = study.eligibility.sampling_method
    if sampling:
        out.append(concept("ctgov-sampling-method", sampling, field="eligibilityModule.samplingMethod",
                           label="Sampling method"))
    return out


def notes(study: Study) -> list[dict[str, str]]:
    """Design free text with no element of its own, as Annotations on the study (same in R4 and R5)."""
    d = study.design
    parts = (
        ("Intervention model description", d.intervention_model_description),
        ("Masking description", d.masking_description),
        ("Target duration", d.target_duration),
    )
    out = []
    for label, text in parts:
        value = clean(text)
        if value:
            out.append({"text": f"{label}: {value}"})
    return out


def primary_purpose(study: Study) -> dict[str, Any] | None:
    code = study.design.primary_purpose
    if not code:
        return None
    return concept("ctgov-primary-purpose", code, field="designModule.designInfo.primaryPurpose")


def mesh_concept(mesh_id: str, term: str) -> dict[str, Any]:
    return {"coding": [{"system": MESH_SYSTEM, "code": mesh_id, "display": term}], "text": term}


def _meshes(items: list[Mesh]) -> list[tuple[str | None, str]]:
    """(id, term) of the derived MeSH terms, once each; the id is None where the format gives terms only
    (legacy XML `condition_browse`, page text)."""
    out: dict[str, tuple[str | None, str]] = {}
    for m in items:
        mesh_id, term = clean(m.id), clean(m.term)
        if term and (mesh_id or term.casefold()) not in out:
            out[mesh_id or term.casefold()] = (mesh_id, term)
    return list(out.values())


def _coded(texts: list[tuple[str, dict[str, Any]]], meshes: list[tuple[str | None, str]]
           ) -> list[tuple[str | None, str]]:
    """Give each concept whose text is a derived MeSH term that term's MeSH coding; the MeSH terms that
    name none of the concepts are returned (they index the study: keywords, not more conditions)."""
    by_term = {text.casefold(): c for text, c in texts}
    left: list[tuple[str | None, str]] = []
    for mesh_id, term in meshes:
        target = by_term.get(term.casefold())
        if target is None:
            left.append((mesh_id, term))
        elif mesh_id and "coding" not in target:
            target["coding"] = mesh_concept(mesh_id, term)["coding"]
    return left


def _with_text_last(c: dict[str, Any]) -> dict[str, Any]:
    """coding before text, as every other CodeableConcept is written."""
    return {k: c[k] for k in ("coding", "text") if k in c}


def conditions(study: Study) -> list[dict[str, Any]]:
    """Conditions as the record names them, MeSH-coded where the derived section has the same term. The
    other derived MeSH terms are the registry's index codes of these conditions (often their broader
    headings: "Breast Neoplasms" for "Breast Cancer"), not conditions of their own: see keywords()."""
    texts = [(t, {"text": t}) for cond in study.conditions if (t := clean(cond))]
    _coded(texts, _meshes(study.condition_meshes))
    return [_with_text_last(c) for _, c in texts]


def keywords(study: Study) -> list[dict[str, Any]]:
    """The submitter's keywords, then the derived MeSH terms that name no stated condition or intervention
    (MeSH-coded where the format gives the descriptor UI; the words alone where it gives terms only). A
    keyword that is itself a MeSH term gets the coding rather than a second entry."""
    out = [(t, {"text": t}) for k in study.keywords if (t := clean(k))]
    conds = {t.casefold() for c in study.conditions if (t := clean(c))}
    ivs = {t.casefold() for iv in study.interventions if (t := clean(iv.name))}
    for names, meshes in ((conds, study.condition_meshes), (ivs, study.intervention_meshes)):
        left = _coded(out, [(i, t) for i, t in _meshes(meshes) if t.casefold() not in names])
        for mesh_id, term in left:
            c = mesh_concept(mesh_id, term) if mesh_id else {"text": term}
            out.append((term, c))
    return [_with_text_last(c) for _, c in out]


def intervention_label(kind: str | None, name: str) -> str:
    """'Drug: Aspirin', as the registry labels an arm's interventions."""
    if not kind:
        return name
    return f"{display('ctgov-intervention-type', kind, field='armsInterventionsModule.interventions.type')}: {name}"


def arm_uses(arm: ArmGroup, iv: Intervention) -> bool:
    """Arm ↔ intervention, as either side of the record states it."""
    if arm.label in iv.arm_group_labels:
        return True
    label = intervention_label(iv.type, iv.name.strip()).lower()
    return any(n.strip().lower() == label for n in arm.intervention_names)


def focus_concepts(study: Study) -> list[dict[str, Any]]:
    """Interventions under study (type and name as text), MeSH-coded where the derived intervention terms
    name the intervention itself (the others are keywords)."""
    texts = [(name, {"text": intervention_label(iv.type, name)}) for iv in study.interventions
             if (name := clean(iv.name))]
    _coded(texts, _meshes(study.intervention_meshes))
    return [_with_text_last(c) for _, c in texts]


def related_artifacts(study: Study, version: FhirVersion) -> list[dict[str, Any]]:
    """References (citation, PubMed link) and links (documentation URL)."""
    out: list[dict[str, Any]] = []
    for ref in study.references:
        citation, pmid = clean(ref.citation), clean(ref.pmid)
        if not citation and not pmid:
            continue
        art: dict[str, Any] = {"type": "citation"}
        if ref.type:
            field = "referencesModule.references.type"
            art["type"] = translate("ctgov-reference-type", ref.type, field=field)["code"]
            # The kind of reference (background, result, derived) classifies the citation; `label` is a short
            # citation label ("[1]"), so it goes to R5 `classifier`, carried in R4 by its cross-version extension.
            kind = {"text": display("ctgov-reference-type", ref.type, field=field)}
            if version is FhirVersion.R4:
                art["extension"] = [xver.simple("RelatedArtifact.classifier", "CodeableConcept", kind)]
            else:
                art["classifier"] = [kind]
        if citation:
            art["citation"] = citation
        if pmid:
            url = PUBMED_URL + pmid + "/"
            if version is FhirVersion.R4:
                art["url"] = url
            else:
                art["document"] = {"url": url}
        out.append(art)
    for link in study.links:
        link_url = clean(link.url)
        if not link_url:
            continue
        art = {"type": "documentation"}
        label = clean(link.label)
        if label:
            art["display"] = label
        out.append(with_url(art, link_url, version))
    return out


def with_url(art: dict[str, Any], url: str, version: FhirVersion) -> dict[str, Any]:
    """A RelatedArtifact's address: R4 `url`; R5 has none, the document's `url` says it."""
    if version is FhirVersion.R4:
        art["url"] = url
    else:
        art["document"] = {"url": url}
    return art


def responsible_party(study: Study) -> tuple[str, dict[str, Any], str | None] | None:
    """(name, role, affiliation) of the party responsible for the record: the lead sponsor (type SPONSOR: a
    party of its own, so the role is stated), or the investigator with title; records before 2017 give a
    name-and-title line and an organisation instead."""
    rp = study.responsible_party
    if rp is None:
        return None
    field = "sponsorCollaboratorsModule.responsibleParty.type"
    role = concept("ctgov-responsible-party-type", rp.type, field=field, label="Responsible party") \
        if rp.type else {"text": "Responsible party"}
    if rp.type == "SPONSOR":
        name = clean(study.lead_sponsor.name) if study.lead_sponsor else None
        return (name, role, None) if name else None
    name = clean(rp.investigator_name)
    title = clean(rp.investigator_title)
    if name:
        name += f", {title}" if title else ""
    else:
        name = clean(rp.old_name_title)
    if not name:
        return None
    return name, role, clean(rp.investigator_affiliation) or clean(rp.old_organization)


# --- organisations ------------------------------------------------------------------------------------------


def organization(org: Org) -> Keyed | None:
    """An Organization keyed on its name; None for an organisation without a name."""
    name = clean(org.name)
    if not name:
        return None
    system, value = keys.organization_key(name)
    res: dict[str, Any] = {"resourceType": "Organization", "identifier": [{"system": system, "value": value}]}
    if org.cls:
        res["type"] = [concept("ctgov-agency-class-org-type", org.cls, field="sponsorCollaboratorsModule.class")]
    res["name"] = name
    return Keyed(res, system, value)


def org_reference(item: Keyed) -> dict[str, Any]:
    return reference("Organization", item.system, item.value, item.resource.get("name"))


# --- contacts and sites -------------------------------------------------------------------------------------


def telecom(contact: Contact) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    phone = clean(contact.phone)
    if phone:
        ext = clean(contact.phone_ext)
        out.append({"system": "phone", "value": f"{phone} ext. {ext}" if ext else phone})
    email = clean(contact.email)
    if email:
        out.append({"system": "email", "value": email})
    return out


def contact_purpose(contact: Contact) -> dict[str, Any] | None:
    """A site contact's role (site contact, principal investigator, sub-investigator) as R5 ExtendedContactDetail
    `purpose`. In words only: its extensible binding (contactentity-type: billing, administrative, ...) has no
    code for a study role, and the research-study-party-role codes are for ResearchStudy.associatedParty."""
    if not contact.role:
        return None
    field = "contactsLocationsModule.locations.contacts.role"
    return {"text": display("ctgov-contact-role", contact.role, field=field)}


def location(study: Study, loc: Location, key: tuple[str, str], version: FhirVersion) -> Keyed:
    """A study site: facility name, address, recruitment status, contacts, geo point."""
    system, value = key
    res: dict[str, Any] = {"resourceType": "Location", "identifier": [{"system": system, "value": value}]}
    if loc.status:
        # Location.status says whether the place itself is in use (active | suspended | inactive), not whether
        # the study still recruits there: a COMPLETED site is not a closed hospital. The site's recruitment
        # status has no element of its own, so it is kept in words (display() still rejects unknown codes).
        field = "contactsLocationsModule.locations.status"
        res["description"] = "Recruitment status: " + display("ctgov-recruitment-status-location", loc.status,
                                                              field=field)
    name = clean(loc.facility)
    if name:
        res["name"] = name
    if version is FhirVersion.R4:
        tel = [t for c in loc.contacts for t in telecom(c)]
        if tel:
            res["telecom"] = tel
        # R4 Location has no contact names: each named contact is R5 Location.contact (name, telecom).
        named = []
        for c in loc.contacts:
            cname = clean(c.name)
            if cname:
                parts: list[tuple[str, str, Any]] = []
                purpose = contact_purpose(c)
                if purpose:
                    parts.append(("purpose", "CodeableConcept", purpose))
                parts.append(("name", "HumanName", {"text": cname}))
                parts += [("telecom", "ContactPoint", t) for t in telecom(c)]
                named.append(xver.complex_("Location.contact", parts))
        if named:
            rest = {k: v for k, v in res.items() if k != "resourceType"}
            res = {"resourceType": "Location", "extension": named} | rest
    else:
        contacts = []
        for c in loc.contacts:
            detail: dict[str, Any] = {}
            cname = clean(c.name)
            purpose = contact_purpose(c)
            if purpose and (cname or telecom(c)):
                detail["purpose"] = purpose
            if cname:
                detail["name"] = [{"text": cname}]
            tel = telecom(c)
            if tel:
                detail["telecom"] = tel
            if detail:
                contacts.append(detail)
        if contacts:
            res["contact"] = contacts
    address = {k: v for k, v in (("city", clean(loc.city)), ("state", clean(loc.state)),
                                 ("postalCode", clean(loc.zip)), ("country", clean(loc.country))) if v}
    if address:
        res["address"] = address
    if loc.geo is not None:
        lat, lon = loc.geo.lat, loc.geo.lon
        if not (math.isfinite(lat) and math.isfinite(lon) and -90 <= lat <= 90 and -180 <= lon <= 180):
            raise InputError(f"site geo point ({lat}, {lon}) is not a latitude/longitude",
                             record=study.nct_id, field="contactsLocationsModule.locations.geoPoint")
        res["position"] = {"longitude": lon, "latitude": lat}
    return Keyed(res, system, value)


def sites(study: Study, version: FhirVersion) -> list[Keyed]:
    return [location(study, loc, key, version) for loc, key in zip(study.locations, keys.site_keys(study),
                                                                   strict=True)]


# --- eligibility --------------------------------------------------------------------------------------------


def age_quantity(age: Age, field: str) -> dict[str, Any]:
    if not math.isfinite(age.value) or age.value < 0:
        raise InputError(f"age {age.text!r} is not a usable number", field=field)
    unit = translate("ctgov-age-unit", age.unit.strip().lower(), field=field)
    value: float | int = int(age.value) if float(age.value).is_integer() else age.value
    return {"value": value, "unit": unit["display"], "system": UCUM, "code": unit["code"]}


# UCUM's definitions of the age units, in minutes (a = 365.25 d, mo = a/12, as UCUM defines them), with the
# displays of the ctgov-age-unit ConceptMap; finest first.
_AGE_UNITS: dict[str, tuple[int, str]] = {
    "min": (1, "minute"), "h": (60, "hour"), "d": (1440, "day"), "wk": (10080, "week"),
    "mo": (43830, "month"), "a": (525960, "year"),
}


def _finite_decimal(x: Fraction) -> bool:
    d = x.denominator
    for p in (2, 5):
        while d % p == 0:
            d //= p
    return d == 1


def _in_unit(q: dict[str, Any], code: str) -> dict[str, Any]:
    value = Fraction(str(q["value"])) * _AGE_UNITS[q["code"]][0] / _AGE_UNITS[code][0]
    number: int | float = int(value) if value.denominator == 1 else float(value)
    return {"value": number, "unit": _AGE_UNITS[code][1], "system": UCUM, "code": code}


def age_range(low: dict[str, Any] | None, high: dict[str, Any] | None) -> dict[str, Any]:
    """The eligible ages as one Range. Bounds in different units ("3 Months" to "17 Years") are written in the
    finer one (3 to 204 months), converted exactly by UCUM's definitions: validators without a UCUM service,
    HAPI FHIR's among them, compare the numbers of rng-2 ('low SHALL have a lower value than high') only when
    the units agree, and refuse the study otherwise. Weeks that would need a recurring fraction become days."""
    rng: dict[str, Any] = {}
    if low is not None and high is not None and low["code"] != high["code"] \
            and low["code"] in _AGE_UNITS and high["code"] in _AGE_UNITS:
        code = min(low["code"], high["code"], key=lambda c: _AGE_UNITS[c][0])
        coarse = max(low, high, key=lambda q: _AGE_UNITS[q["code"]][0])
        ratio = Fraction(_AGE_UNITS[coarse["code"]][0], _AGE_UNITS[code][0]) * Fraction(str(coarse["value"]))
        if not _finite_decimal(ratio):
            code = "d"
        low, high = _in_unit(low, code), _in_unit(high, code)
    if low is not None:
        rng["low"] = low
    if high is not None:
        rng["high"] = high
    return rng


def eligibility_characteristics(study: Study) -> list[dict[str, Any]]:
    """Sex, age range, healthy volunteers and (observational) study population as Group characteristics."""
    e = study.eligibility
    out: list[dict[str, Any]] = []
    if e.sex:
        value = concept("ctgov-sex", e.sex, field="eligibilityModule.sex")
        out.append({"code": SEX_CODE, "valueCodeableConcept": value, "exclude": False})
    gender_text = clean(e.gender_description)
    if gender_text:
        # Group characteristics have no description element (R4 or R5): the registry's words are the value.
        out.append({"code": {"text": "Gender eligibility"}, "valueCodeableConcept": {"text": gender_text},
                    "exclude": False})
    if e.minimum_age is not None or e.maximum_age is not None:
        low = None if e.minimum_age is None else age_quantity(e.minimum_age, "eligibilityModule.minimumAge")
        high = None if e.maximum_age is None else age_quantity(e.maximum_age, "eligibilityModule.maximumAge")
        rng = age_range(low, high)
        out.append({"code": AGE_CODE, "valueRange": rng, "exclude": False})
    if e.healthy_volunteers is not None:
        out.append({"code": {"text": "Accepts healthy volunteers"}, "valueBoolean": e.healthy_volunteers,
                    "exclude": False})
    population = clean(e.study_population)
    if population:
        out.append({"code": {"text": "Study population"}, "valueCodeableConcept": {"text": population},
                    "exclude": False})
    return out


def group_name(study: Study) -> str:
    return f"Eligible participants of {study.nct_id}"
