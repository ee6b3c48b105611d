"""ClinicalTrials.gov API v2 study objects (`{"protocolSection": ...}`) → the version-neutral Study."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import InputError
from fhirconv.model.study import (
    Age,
    ArmGroup,
    Contact,
    DateInfo,
    Design,
    Document,
    Eligibility,
    Enrollment,
    ExpandedAccess,
    Geo,
    Intervention,
    IpdSharing,
    Link,
    Location,
    Mesh,
    Official,
    Org,
    Outcome,
    Oversight,
    RecordEvent,
    Reference,
    ResponsibleParty,
    SecondaryId,
    Source,
    Study,
)
from fhirconv.readers.ctgov_v2_results import read_v2_results
from fhirconv.readers.jsonaccess import JsonObj, obj, objs, strs, text
from fhirconv.readers.normalize import (
    NCT_ID,
    clean_text,
    enum_value,
    enum_values,
    mesh_id,
    nct_id,
    parse_age,
    parse_bool,
    parse_date,
    parse_float,
    parse_int,
    phases,
    unescape_markdown,
)

__all__ = ["NCT_ID", "nct_id_of", "read_v2_study"]


# All text is handed on as plain text: API v2 stores the submitter's text as markdown and
# backslash-escapes markdown characters ("\\>= 18"); the other formats (XML, classic, page text)
# carry the same text unescaped. Removing the escapes makes the Study the same whatever the source;
# the plain text is still valid markdown for FHIR `markdown` elements (list bullets survive).


def _t(value: str | None) -> str | None:
    return clean_text(unescape_markdown(value)) if value else None


def _tx(parent: JsonObj, key: str, field: str) -> str | None:
    return _t(text(parent, key, field))


def nct_id_of(record: Any) -> str | None:
    """The NCT ID of a v2 study object, if it has a well-formed one (for error reports)."""
    try:
        value = record["protocolSection"]["identificationModule"]["nctId"]
    except (KeyError, TypeError):
        return None
    return value.strip() if isinstance(value, str) and NCT_ID.fullmatch(value.strip()) else None


def _date_struct(parent: JsonObj, key: str, field: str) -> DateInfo | None:
    struct = obj(parent, key, field)
    when = parse_date(text(struct, "date", f"{field}.date"), field=f"{field}.date")
    if when is None:
        return None
    return DateInfo(when, enum_value("date_type", text(struct, "type", f"{field}.type"), field=f"{field}.type"))


def _org(o: JsonObj, name_key: str, field: str) -> Org | None:
    name = _tx(o, name_key, f"{field}.{name_key}")
    if name is None:
        return None
    return Org(name, enum_value("org_class", text(o, "class", f"{field}.class"), field=f"{field}.class"))


def _contact(c: JsonObj, field: str) -> Contact:
    return Contact(
        name=_tx(c, "name", f"{field}.name"),
        role=enum_value("contact_role", text(c, "role", f"{field}.role"), field=f"{field}.role"),
        phone=_tx(c, "phone", f"{field}.phone"),
        phone_ext=_tx(c, "phoneExt", f"{field}.phoneExt"),
        email=_tx(c, "email", f"{field}.email"),
        affiliation=_tx(c, "affiliation", f"{field}.affiliation"),
    )


def _age(e: JsonObj, key: str) -> Age | None:
    field = f"eligibilityModule.{key}"
    return parse_age(text(e, key, field), field=field)


def read_v2_study(record: Any) -> Study:
    """One API v2 study object → Study. Raises InputError naming the field on bad content."""
    if not isinstance(record, dict):
        raise InputError(f"expected a study object, got {type(record).__name__}")
    ps = obj(record, "protocolSection", "protocolSection")
    ident = obj(ps, "identificationModule", "identificationModule")
    nct = nct_id(text(ident, "nctId", "identificationModule.nctId"), field="identificationModule.nctId")

    study = Study(nct_id=nct)
    _identification(study, ident)
    _status(study, obj(ps, "statusModule", "statusModule"))
    _sponsors(study, obj(ps, "sponsorCollaboratorsModule", "sponsorCollaboratorsModule"))
    desc = obj(ps, "descriptionModule", "descriptionModule")
    study.brief_summary = _tx(desc, "briefSummary", "descriptionModule.briefSummary")
    study.detailed_description = _tx(desc, "detailedDescription", "descriptionModule.detailedDescription")
    cond = obj(ps, "conditionsModule", "conditionsModule")
    study.conditions = _texts(cond, "conditions", "conditionsModule.conditions")
    study.keywords = _texts(cond, "keywords", "conditionsModule.keywords")
    study.design = _design(obj(ps, "designModule", "designModule"))
    _design_extras(study, obj(ps, "designModule", "designModule"))
    _arms(study, obj(ps, "armsInterventionsModule", "armsInterventionsModule"))
    _outcomes(study, obj(ps, "outcomesModule", "outcomesModule"))
    study.eligibility = _eligibility(obj(ps, "eligibilityModule", "eligibilityModule"))
    _contacts(study, obj(ps, "contactsLocationsModule", "contactsLocationsModule"))
    _references(study, obj(ps, "referencesModule", "referencesModule"))
    _oversight(study, ps)
    _ipd(study, ps)
    _documents(study, obj(record, "documentSection", "documentSection"))
    _annotations(study, obj(record, "annotationSection", "annotationSection"))

    derived = obj(record, "derivedSection", "derivedSection")
    study.condition_meshes = _meshes(derived, "conditionBrowseModule")
    study.intervention_meshes = _meshes(derived, "interventionBrowseModule")
    misc = obj(derived, "miscInfoModule", "derivedSection.miscInfoModule")
    field = "derivedSection.miscInfoModule.versionHolder"
    study.source = Source("ctgov-v2", version=parse_date(text(misc, "versionHolder", field), field=field))
    has_results = record.get("hasResults")
    study.has_results = parse_bool(has_results, field="hasResults")
    study.results = read_v2_results(record)
    # A complete API record always carries hasResults and derivedSection; without them it was
    # restricted with `fields=` and absent modules mean "not asked for".
    study.partial = "hasResults" not in record or "derivedSection" not in record
    return study


def _texts(parent: JsonObj, key: str, field: str) -> list[str]:
    return [t for s in strs(parent, key, field) if (t := _t(s))]


def _identification(study: Study, ident: JsonObj) -> None:
    f = "identificationModule"
    study.brief_title = _tx(ident, "briefTitle", f"{f}.briefTitle")
    study.official_title = _tx(ident, "officialTitle", f"{f}.officialTitle")
    study.acronym = _tx(ident, "acronym", f"{f}.acronym")
    study.org_study_id = _tx(obj(ident, "orgStudyIdInfo", f"{f}.orgStudyIdInfo"), "id", f"{f}.orgStudyIdInfo.id")
    study.organization = _org(obj(ident, "organization", f"{f}.organization"), "fullName", f"{f}.organization")
    for i, sid in enumerate(objs(ident, "secondaryIdInfos", f"{f}.secondaryIdInfos")):
        field = f"{f}.secondaryIdInfos[{i}]"
        value = _tx(sid, "id", f"{field}.id")
        if value is None:
            continue  # an entry without an identifier says nothing
        study.secondary_ids.append(
            SecondaryId(
                id=value,
                type=enum_value("secondary_id_type", text(sid, "type", f"{field}.type"), field=f"{field}.type"),
                domain=_tx(sid, "domain", f"{field}.domain"),
                link=_tx(sid, "link", f"{field}.link"),
            )
        )
    study.nct_id_aliases = [a.strip() for a in strs(ident, "nctIdAliases", f"{f}.nctIdAliases") if a.strip()]


def _status(study: Study, st: JsonObj) -> None:
    f = "statusModule"
    study.overall_status = enum_value(
        "overall_status", text(st, "overallStatus", f"{f}.overallStatus"), field=f"{f}.overallStatus"
    )
    study.last_known_status = enum_value(
        "last_known_status", text(st, "lastKnownStatus", f"{f}.lastKnownStatus"), field=f"{f}.lastKnownStatus"
    )
    study.why_stopped = _tx(st, "whyStopped", f"{f}.whyStopped")
    study.status_verified_date = parse_date(
        text(st, "statusVerifiedDate", f"{f}.statusVerifiedDate"), field=f"{f}.statusVerifiedDate"
    )
    study.start_date = _date_struct(st, "startDateStruct", f"{f}.startDateStruct")
    study.primary_completion_date = _date_struct(st, "primaryCompletionDateStruct", f"{f}.primaryCompletionDateStruct")
    study.completion_date = _date_struct(st, "completionDateStruct", f"{f}.completionDateStruct")
    study.first_submitted = parse_date(
        text(st, "studyFirstSubmitDate", f"{f}.studyFirstSubmitDate"), field=f"{f}.studyFirstSubmitDate"
    )
    study.first_posted = _date_struct(st, "studyFirstPostDateStruct", f"{f}.studyFirstPostDateStruct")
    study.last_update_posted = _date_struct(st, "lastUpdatePostDateStruct", f"{f}.lastUpdatePostDateStruct")
    rd = study.registry_dates
    for attr, key in (("first_submitted_qc", "studyFirstSubmitQcDate"),
                      ("last_update_submitted", "lastUpdateSubmitDate"),
                      ("results_first_submitted", "resultsFirstSubmitDate"),
                      ("results_first_submitted_qc", "resultsFirstSubmitQcDate"),
                      ("disposition_first_submitted", "dispFirstSubmitDate"),
                      ("disposition_first_submitted_qc", "dispFirstSubmitQcDate")):
        setattr(rd, attr, parse_date(text(st, key, f"{f}.{key}"), field=f"{f}.{key}"))
    rd.results_first_posted = _date_struct(st, "resultsFirstPostDateStruct", f"{f}.resultsFirstPostDateStruct")
    rd.disposition_first_posted = _date_struct(st, "dispFirstPostDateStruct", f"{f}.dispFirstPostDateStruct")
    if st.get("expandedAccessInfo") is not None:
        ea = obj(st, "expandedAccessInfo", f"{f}.expandedAccessInfo")
        g = f"{f}.expandedAccessInfo"
        ea_nct = text(ea, "nctId", f"{g}.nctId")
        study.expanded_access = ExpandedAccess(
            available=parse_bool(ea.get("hasExpandedAccess"), field=f"{g}.hasExpandedAccess"),
            nct_id=nct_id(ea_nct, field=f"{g}.nctId") if ea_nct else None,
            status=enum_value("expanded_access_status", text(ea, "statusForNctId", f"{g}.statusForNctId"),
                              field=f"{g}.statusForNctId"),
        )


def _oversight(study: Study, ps: JsonObj) -> None:
    f = "oversightModule"
    om = ps.get(f)
    if om is None:
        return
    om = obj(ps, f, f)
    study.oversight = Oversight()
    for attr, key in (
        ("has_dmc", "oversightHasDmc"), ("fda_regulated_drug", "isFdaRegulatedDrug"),
        ("fda_regulated_device", "isFdaRegulatedDevice"), ("unapproved_device", "isUnapprovedDevice"),
        ("ppsd", "isPpsd"), ("us_export", "isUsExport"), ("fdaaa801_violation", "fdaaa801Violation")):
        setattr(study.oversight, attr, parse_bool(om.get(key), field=f"{f}.{key}"))


def _ipd(study: Study, ps: JsonObj) -> None:
    f = "ipdSharingStatementModule"
    if ps.get(f) is None:
        return
    im = obj(ps, f, f)
    study.ipd_sharing = IpdSharing(
        plan=enum_value("ipd_sharing", text(im, "ipdSharing", f"{f}.ipdSharing"), field=f"{f}.ipdSharing"),
        description=_tx(im, "description", f"{f}.description"),
        info_types=enum_values("ipd_info_type", strs(im, "infoTypes", f"{f}.infoTypes"), field=f"{f}.infoTypes"),
        time_frame=_tx(im, "timeFrame", f"{f}.timeFrame"),
        access_criteria=_tx(im, "accessCriteria", f"{f}.accessCriteria"),
        url=_tx(im, "url", f"{f}.url"),
    )


# The registry serves a record's large documents at this address (the study page links them so).
LARGE_DOC_URL = "https://cdn.clinicaltrials.gov/large-docs/{tail}/{nct}/{filename}"


def _documents(study: Study, ds: JsonObj) -> None:
    f = "documentSection.largeDocumentModule"
    for i, d in enumerate(objs(obj(ds, "largeDocumentModule", f), "largeDocs", f"{f}.largeDocs")):
        g = f"{f}.largeDocs[{i}]"
        filename = _tx(d, "filename", f"{g}.filename")
        study.documents.append(Document(
            label=_tx(d, "label", f"{g}.label"),
            has_protocol=parse_bool(d.get("hasProtocol"), field=f"{g}.hasProtocol"),
            has_sap=parse_bool(d.get("hasSap"), field=f"{g}.hasSap"),
            has_icf=parse_bool(d.get("hasIcf"), field=f"{g}.hasIcf"),
            date=parse_date(text(d, "date", f"{g}.date"), field=f"{g}.date"),
            upload_date=_tx(d, "uploadDate", f"{g}.uploadDate"),
            filename=filename,
            size=parse_int(d.get("size"), field=f"{g}.size"),
            url=LARGE_DOC_URL.format(tail=study.nct_id[-2:], nct=study.nct_id, filename=filename)
            if filename else None,
        ))


def _annotations(study: Study, an: JsonObj) -> None:
    f = "annotationSection.annotationModule"
    am = obj(an, "annotationModule", f)
    up = obj(am, "unpostedAnnotation", f"{f}.unpostedAnnotation")
    study.unposted_responsible_party = _tx(up, "unpostedResponsibleParty",
                                           f"{f}.unpostedAnnotation.unpostedResponsibleParty")
    for i, e in enumerate(objs(up, "unpostedEvents", f"{f}.unpostedAnnotation.unpostedEvents")):
        g = f"{f}.unpostedAnnotation.unpostedEvents[{i}]"
        kind = enum_value("unposted_event_type", text(e, "type", f"{g}.type"), field=f"{g}.type")
        if kind:
            study.record_events.append(RecordEvent(
                "unposted", kind, date=parse_date(text(e, "date", f"{g}.date"), field=f"{g}.date")))
    va = obj(am, "violationAnnotation", f"{f}.violationAnnotation")
    for i, e in enumerate(objs(va, "violationEvents", f"{f}.violationAnnotation.violationEvents")):
        g = f"{f}.violationAnnotation.violationEvents[{i}]"
        kind = enum_value("violation_event_type", text(e, "type", f"{g}.type"), field=f"{g}.type")
        if not kind:
            continue
        dates = {name: d for name, key in (("issued", "issuedDate"), ("release", "releaseDate"),
                                           ("posted", "postedDate"), ("creation", "creationDate"))
                 if (d := parse_date(text(e, key, f"{g}.{key}"), field=f"{g}.{key}"))}
        study.record_events.append(RecordEvent(
            "violation", kind, date=dates.get("posted"), description=_tx(e, "description", f"{g}.description"),
            dates=dates))


def _sponsors(study: Study, sp: JsonObj) -> None:
    f = "sponsorCollaboratorsModule"
    study.lead_sponsor = _org(obj(sp, "leadSponsor", f"{f}.leadSponsor"), "name", f"{f}.leadSponsor")
    for i, c in enumerate(objs(sp, "collaborators", f"{f}.collaborators")):
        org = _org(c, "name", f"{f}.collaborators[{i}]")
        if org is not None:
            study.collaborators.append(org)
    rp = sp.get("responsibleParty")
    if rp is not None:
        rp = obj(sp, "responsibleParty", f"{f}.responsibleParty")
        g = f"{f}.responsibleParty"
        study.responsible_party = ResponsibleParty(
            type=enum_value("responsible_party_type", text(rp, "type", f"{g}.type"), field=f"{g}.type"),
            investigator_name=_tx(rp, "investigatorFullName", f"{g}.investigatorFullName"),
            investigator_title=_tx(rp, "investigatorTitle", f"{g}.investigatorTitle"),
            investigator_affiliation=_tx(rp, "investigatorAffiliation", f"{g}.investigatorAffiliation"),
            old_name_title=_tx(rp, "oldNameTitle", f"{g}.oldNameTitle"),
            old_organization=_tx(rp, "oldOrganization", f"{g}.oldOrganization"),
        )


def _design(dm: JsonObj) -> Design:
    f = "designModule"
    info = obj(dm, "designInfo", f"{f}.designInfo")
    g = f"{f}.designInfo"
    mask = obj(info, "maskingInfo", f"{g}.maskingInfo")
    enroll = obj(dm, "enrollmentInfo", f"{f}.enrollmentInfo")
    count = parse_int(enroll.get("count"), field=f"{f}.enrollmentInfo.count")
    return Design(
        study_type=enum_value("study_type", text(dm, "studyType", f"{f}.studyType"), field=f"{f}.studyType"),
        phases=phases(strs(dm, "phases", f"{f}.phases"), field=f"{f}.phases"),
        allocation=enum_value("allocation", text(info, "allocation", f"{g}.allocation"), field=f"{g}.allocation"),
        intervention_model=enum_value(
            "intervention_model",
            text(info, "interventionModel", f"{g}.interventionModel"),
            field=f"{g}.interventionModel",
        ),
        intervention_model_description=_tx(info, "interventionModelDescription", f"{g}.interventionModelDescription"),
        primary_purpose=enum_value(
            "primary_purpose", text(info, "primaryPurpose", f"{g}.primaryPurpose"), field=f"{g}.primaryPurpose"
        ),
        observational_model=enum_value(
            "observational_model",
            text(info, "observationalModel", f"{g}.observationalModel"),
            field=f"{g}.observationalModel",
        ),
        time_perspective=enum_value(
            "time_perspective",
            text(info, "timePerspective", f"{g}.timePerspective"),
            field=f"{g}.timePerspective",
        ),
        masking=enum_value(
            "masking", text(mask, "masking", f"{g}.maskingInfo.masking"), field=f"{g}.maskingInfo.masking"
        ),
        masking_description=_tx(mask, "maskingDescription", f"{g}.maskingInfo.maskingDescription"),
        who_masked=enum_values(
            "who_masked",
            strs(mask, "whoMasked", f"{g}.maskingInfo.whoMasked"),
            field=f"{g}.maskingInfo.whoMasked",
        ),
        enrollment=None
        if count is None
        else Enrollment(
            count,
            enum_value(
                "enrollment_type",
                text(enroll, "type", f"{f}.enrollmentInfo.type"),
                field=f"{f}.enrollmentInfo.type",
            ),
        ),
        target_duration=_tx(dm, "targetDuration", f"{f}.targetDuration"),
        patient_registry=parse_bool(dm.get("patientRegistry"), field=f"{f}.patientRegistry"),
    )


def _design_extras(study: Study, dm: JsonObj) -> None:
    """Biospecimens and the kinds of expanded access (of an expanded-access record)."""
    f = "designModule"
    bio = obj(dm, "bioSpec", f"{f}.bioSpec")
    study.biospec_retention = enum_value("bio_spec_retention", text(bio, "retention", f"{f}.bioSpec.retention"),
                                         field=f"{f}.bioSpec.retention")
    study.biospec_description = _tx(bio, "description", f"{f}.bioSpec.description")
    types = obj(dm, "expandedAccessTypes", f"{f}.expandedAccessTypes")
    kinds = [k.upper() for k in ("individual", "intermediate", "treatment")
             if parse_bool(types.get(k), field=f"{f}.expandedAccessTypes.{k}")]
    if kinds:
        if study.expanded_access is None:
            study.expanded_access = ExpandedAccess()
        study.expanded_access.types = kinds


def _arms(study: Study, am: JsonObj) -> None:
    f = "armsInterventionsModule"
    for i, a in enumerate(objs(am, "armGroups", f"{f}.armGroups")):
        g = f"{f}.armGroups[{i}]"
        label = _tx(a, "label", f"{g}.label")
        if label is None:
            raise InputError("arm group without a label", field=f"{g}.label")
        study.arm_groups.append(
            ArmGroup(
                label=label,
                type=enum_value("arm_type", text(a, "type", f"{g}.type"), field=f"{g}.type"),
                description=_tx(a, "description", f"{g}.description"),
                intervention_names=_texts(a, "interventionNames", f"{g}.interventionNames"),
            )
        )
    for i, iv in enumerate(objs(am, "interventions", f"{f}.interventions")):
        g = f"{f}.interventions[{i}]"
        name = _tx(iv, "name", f"{g}.name")
        if name is None:
            raise InputError("intervention without a name", field=f"{g}.name")
        study.interventions.append(
            Intervention(
                name=name,
                type=enum_value("intervention_type", text(iv, "type", f"{g}.type"), field=f"{g}.type"),
                description=_tx(iv, "description", f"{g}.description"),
                arm_group_labels=_texts(iv, "armGroupLabels", f"{g}.armGroupLabels"),
                other_names=_texts(iv, "otherNames", f"{g}.otherNames"),
            )
        )


def _outcomes(study: Study, om: JsonObj) -> None:
    for kind, key in (("primary", "primaryOutcomes"), ("secondary", "secondaryOutcomes"), ("other", "otherOutcomes")):
        for i, o in enumerate(objs(om, key, f"outcomesModule.{key}")):
            g = f"outcomesModule.{key}[{i}]"
            measure = _tx(o, "measure", f"{g}.measure")
            if measure is None:
                raise InputError("outcome without a measure", field=f"{g}.measure")
            study.outcomes.append(
                Outcome(
                    kind=kind,
                    measure=measure,
                    description=_tx(o, "description", f"{g}.description"),
                    time_frame=_tx(o, "timeFrame", f"{g}.timeFrame"),
                )
            )


def _eligibility(em: JsonObj) -> Eligibility:
    f = "eligibilityModule"
    return Eligibility(
        criteria=_tx(em, "eligibilityCriteria", f"{f}.eligibilityCriteria"),
        healthy_volunteers=parse_bool(em.get("healthyVolunteers"), field=f"{f}.healthyVolunteers"),
        sex=enum_value("sex", text(em, "sex", f"{f}.sex"), field=f"{f}.sex"),
        gender_based=parse_bool(em.get("genderBased"), field=f"{f}.genderBased"),
        gender_description=_tx(em, "genderDescription", f"{f}.genderDescription"),
        minimum_age=_age(em, "minimumAge"),
        maximum_age=_age(em, "maximumAge"),
        std_ages=enum_values("std_age", strs(em, "stdAges", f"{f}.stdAges"), field=f"{f}.stdAges"),
        study_population=_tx(em, "studyPopulation", f"{f}.studyPopulation"),
        sampling_method=enum_value(
            "sampling_method", text(em, "samplingMethod", f"{f}.samplingMethod"), field=f"{f}.samplingMethod"
        ),
    )


def _contacts(study: Study, cm: JsonObj) -> None:
    f = "contactsLocationsModule"
    for i, o in enumerate(objs(cm, "overallOfficials", f"{f}.overallOfficials")):
        g = f"{f}.overallOfficials[{i}]"
        name = _tx(o, "name", f"{g}.name")
        if name is None:
            continue  # an official without a name cannot be shown; nothing else is lost
        study.officials.append(
            Official(
                name=name,
                role=enum_value("official_role", text(o, "role", f"{g}.role"), field=f"{g}.role"),
                affiliation=_tx(o, "affiliation", f"{g}.affiliation"),
            )
        )
    central = objs(cm, "centralContacts", f"{f}.centralContacts")
    study.central_contacts = [_contact(c, f"{f}.centralContacts[{i}]") for i, c in enumerate(central)]
    # Only `locations` is API v2; some saved records also carry a copy under other names.
    for i, loc in enumerate(objs(cm, "locations", f"{f}.locations")):
        g = f"{f}.locations[{i}]"
        geo_obj = loc.get("geoPoint")
        geo = None
        if geo_obj is not None:
            gp = obj(loc, "geoPoint", f"{g}.geoPoint")
            lat = parse_float(gp.get("lat"), field=f"{g}.geoPoint.lat")
            lon = parse_float(gp.get("lon"), field=f"{g}.geoPoint.lon")
            if lat is not None and lon is not None:
                geo = Geo(lat, lon)
        study.locations.append(
            Location(
                facility=_tx(loc, "facility", f"{g}.facility"),
                status=enum_value("recruitment_status", text(loc, "status", f"{g}.status"), field=f"{g}.status"),
                city=_tx(loc, "city", f"{g}.city"),
                state=_tx(loc, "state", f"{g}.state"),
                zip=_tx(loc, "zip", f"{g}.zip"),
                country=_tx(loc, "country", f"{g}.country"),
                contacts=[
                    _contact(c, f"{g}.contacts[{j}]") for j, c in enumerate(objs(loc, "contacts", f"{g}.contacts"))
                ],
                geo=geo,
            )
        )


def _references(study: Study, rm: JsonObj) -> None:
    f = "referencesModule"
    for i, r in enumerate(objs(rm, "references", f"{f}.references")):
        g = f"{f}.references[{i}]"
        study.references.append(
            Reference(
                citation=_tx(r, "citation", f"{g}.citation"),
                pmid=_tx(r, "pmid", f"{g}.pmid"),
                type=enum_value("reference_type", text(r, "type", f"{g}.type"), field=f"{g}.type"),
            )
        )
    for i, link in enumerate(objs(rm, "seeAlsoLinks", f"{f}.seeAlsoLinks")):
        g = f"{f}.seeAlsoLinks[{i}]"
        url = _tx(link, "url", f"{g}.url")
        if url is None:
            raise InputError("link without a URL", field=f"{g}.url")
        study.links.append(Link(url=url, label=_tx(link, "label", f"{g}.label")))


def _meshes(derived: JsonObj, module: str) -> list[Mesh]:
    f = f"derivedSection.{module}"
    out: list[Mesh] = []
    for i, m in enumerate(objs(obj(derived, module, f), "meshes", f"{f}.meshes")):
        mid = text(m, "id", f"{f}.meshes[{i}].id")
        term = text(m, "term", f"{f}.meshes[{i}].term")
        if mid and term:
            out.append(Mesh(term=term.strip(), id=mesh_id(mid)))
    return out
