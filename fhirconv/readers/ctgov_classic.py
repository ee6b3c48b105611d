"""Classic ClinicalTrials.gov API JSON (`{"Study": {"ProtocolSection": ...}}`, FullStudies pages) → Study."""

from __future__ import annotations

from typing import Any

from fhirconv.errors import InputError
from fhirconv.model.study import (
    ArmGroup,
    Contact,
    DateInfo,
    Design,
    Document,
    Eligibility,
    Enrollment,
    ExpandedAccess,
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
from fhirconv.readers.ctgov_classic_results import read_classic_results
from fhirconv.readers.ctgov_v2 import LARGE_DOC_URL
from fhirconv.readers.jsonaccess import JsonObj, obj, objs, strs, text
from fhirconv.readers.normalize import (
    NCT_ID,
    clean_text,
    enum_value,
    enum_values,
    masking,
    mesh_id,
    nct_id,
    parse_age,
    parse_bool,
    parse_date,
    parse_int,
    phases,
)

__all__ = ["classic_nct_id_of", "classic_page_studies", "read_classic_study"]

# The classic API (retired 2024) wraps every list as {"XList": {"X": [...]}}, sends every value as
# text (numbers, booleans) and enums as prose ("Active, not recruiting"). Its text is plain (no
# markdown escapes). Field names in errors are the classic ones, so users can find them in the file.


def _t(parent: JsonObj, key: str, field: str) -> str | None:
    value = text(parent, key, field)
    return clean_text(value) if value else None


def _list(parent: JsonObj, list_key: str, item_key: str, field: str) -> list[JsonObj]:
    return objs(obj(parent, list_key, f"{field}.{list_key}"), item_key, f"{field}.{list_key}.{item_key}")


def _texts(parent: JsonObj, list_key: str, item_key: str, field: str) -> list[str]:
    raw = strs(obj(parent, list_key, f"{field}.{list_key}"), item_key, f"{field}.{list_key}.{item_key}")
    return [t for s in raw if (t := clean_text(s))]


def _study_obj(record: Any) -> JsonObj:
    """Accept the page element {"Rank", "Study"} or the bare {"ProtocolSection", ...} study."""
    if not isinstance(record, dict):
        raise InputError(f"expected a study object, got {type(record).__name__}")
    if "Study" in record:
        return obj(record, "Study", "Study")
    return record


def classic_nct_id_of(record: Any) -> str | None:
    """The NCT ID of a classic study, if it has a well-formed one (for error reports)."""
    try:
        value = _study_obj(record)["ProtocolSection"]["IdentificationModule"]["NCTId"]
    except (KeyError, TypeError, InputError):
        return None
    return value.strip() if isinstance(value, str) and NCT_ID.fullmatch(value.strip()) else None


def classic_page_studies(page: JsonObj) -> list[Any]:
    """The study elements of a `{"FullStudiesResponse": {"FullStudies": [...]}}` page."""
    resp = obj(page, "FullStudiesResponse", "FullStudiesResponse")
    return list(objs(resp, "FullStudies", "FullStudiesResponse.FullStudies"))


def _date(parent: JsonObj, key: str, field: str) -> str | None:
    return parse_date(text(parent, key, f"{field}.{key}"), field=f"{field}.{key}")


def _date_struct(st: JsonObj, name: str) -> DateInfo | None:
    f = f"StatusModule.{name}Struct"
    struct = obj(st, f"{name}Struct", f)
    when = _date(struct, name, f)
    if when is None:
        return None
    return DateInfo(
        when, enum_value("date_type", text(struct, f"{name}Type", f"{f}.{name}Type"), field=f"{f}.{name}Type")
    )


def _org(o: JsonObj, name_key: str, class_key: str, field: str) -> Org | None:
    name = _t(o, name_key, f"{field}.{name_key}")
    if name is None:
        return None
    return Org(name, enum_value("org_class", text(o, class_key, f"{field}.{class_key}"), field=f"{field}.{class_key}"))


def _contact(c: JsonObj, prefix: str, field: str) -> Contact:
    role_key = f"{prefix}Role"
    return Contact(
        name=_t(c, f"{prefix}Name", f"{field}.{prefix}Name"),
        role=enum_value("contact_role", text(c, role_key, f"{field}.{role_key}"), field=f"{field}.{role_key}"),
        phone=_t(c, f"{prefix}Phone", f"{field}.{prefix}Phone"),
        phone_ext=_t(c, f"{prefix}PhoneExt", f"{field}.{prefix}PhoneExt"),
        email=_t(c, f"{prefix}EMail", f"{field}.{prefix}EMail"),
    )


def read_classic_study(record: Any) -> Study:
    """One classic study (page element or bare) → Study. Raises InputError naming the field."""
    study_obj = _study_obj(record)
    ps = obj(study_obj, "ProtocolSection", "ProtocolSection")
    ident = obj(ps, "IdentificationModule", "IdentificationModule")
    nct = nct_id(text(ident, "NCTId", "IdentificationModule.NCTId"), field="IdentificationModule.NCTId")
    study = Study(nct_id=nct)
    _identification(study, ident)
    _status(study, obj(ps, "StatusModule", "StatusModule"))
    _sponsors(study, obj(ps, "SponsorCollaboratorsModule", "SponsorCollaboratorsModule"))
    desc = obj(ps, "DescriptionModule", "DescriptionModule")
    study.brief_summary = _t(desc, "BriefSummary", "DescriptionModule.BriefSummary")
    study.detailed_description = _t(desc, "DetailedDescription", "DescriptionModule.DetailedDescription")
    cond = obj(ps, "ConditionsModule", "ConditionsModule")
    study.conditions = _texts(cond, "ConditionList", "Condition", "ConditionsModule")
    study.keywords = _texts(cond, "KeywordList", "Keyword", "ConditionsModule")
    study.design = _design(obj(ps, "DesignModule", "DesignModule"))
    _arms(study, obj(ps, "ArmsInterventionsModule", "ArmsInterventionsModule"))
    _outcomes(study, obj(ps, "OutcomesModule", "OutcomesModule"))
    study.eligibility = _eligibility(obj(ps, "EligibilityModule", "EligibilityModule"))
    _contacts(study, obj(ps, "ContactsLocationsModule", "ContactsLocationsModule"))
    _references(study, obj(ps, "ReferencesModule", "ReferencesModule"))
    derived = obj(study_obj, "DerivedSection", "DerivedSection")
    study.condition_meshes = _meshes(derived, "Condition")
    study.intervention_meshes = _meshes(derived, "Intervention")
    misc = obj(derived, "MiscInfoModule", "DerivedSection.MiscInfoModule")
    field = "DerivedSection.MiscInfoModule.VersionHolder"
    study.source = Source("ctgov-classic", version=parse_date(text(misc, "VersionHolder", field), field=field))
    # The classic API always returned whole records; results were posted iff ResultsSection is there.
    study.has_results = "ResultsSection" in study_obj
    study.results = read_classic_results(study_obj)
    _registry(study, ps, study_obj)
    return study


def _flag(parent: JsonObj, key: str, field: str) -> bool | None:
    return parse_bool(text(parent, key, f"{field}.{key}"), field=f"{field}.{key}")


def _registry(study: Study, ps: JsonObj, study_obj: JsonObj) -> None:
    """Oversight, data sharing, expanded access, biospecimens, registry dates, documents, unposted results."""
    f = "OversightModule"
    if ps.get(f) is not None:
        om = obj(ps, f, f)
        study.oversight = Oversight()
        for attr, key in (
            ("has_dmc", "OversightHasDMC"), ("fda_regulated_drug", "IsFDARegulatedDrug"),
            ("fda_regulated_device", "IsFDARegulatedDevice"), ("unapproved_device", "IsUnapprovedDevice"),
            ("ppsd", "IsPPSD"), ("us_export", "IsUSExport"), ("fdaaa801_violation", "FDAAA801Violation")):
            setattr(study.oversight, attr, _flag(om, key, f))
    f = "IPDSharingStatementModule"
    if ps.get(f) is not None:
        im = obj(ps, f, f)
        study.ipd_sharing = IpdSharing(
            plan=enum_value("ipd_sharing", text(im, "IPDSharing", f"{f}.IPDSharing"), field=f"{f}.IPDSharing"),
            description=_t(im, "IPDSharingDescription", f"{f}.IPDSharingDescription"),
            info_types=enum_values("ipd_info_type", _texts(im, "IPDSharingInfoTypeList", "IPDSharingInfoType", f),
                                   field=f"{f}.IPDSharingInfoTypeList.IPDSharingInfoType"),
            time_frame=_t(im, "IPDSharingTimeFrame", f"{f}.IPDSharingTimeFrame"),
            access_criteria=_t(im, "IPDSharingAccessCriteria", f"{f}.IPDSharingAccessCriteria"),
            url=_t(im, "IPDSharingURL", f"{f}.IPDSharingURL"),
        )
    st = obj(ps, "StatusModule", "StatusModule")
    f = "StatusModule"
    rd = study.registry_dates
    rd.first_submitted_qc = _date(st, "StudyFirstSubmitQCDate", f)
    rd.last_update_submitted = _date(st, "LastUpdateSubmitDate", f)
    rd.results_first_submitted = _date(st, "ResultsFirstSubmitDate", f)
    rd.results_first_submitted_qc = _date(st, "ResultsFirstSubmitQCDate", f)
    rd.results_first_posted = _date_struct(st, "ResultsFirstPostDate")
    rd.disposition_first_submitted = _date(st, "DispFirstSubmitDate", f)
    rd.disposition_first_submitted_qc = _date(st, "DispFirstSubmitQCDate", f)
    rd.disposition_first_posted = _date_struct(st, "DispFirstPostDate")
    dm = obj(ps, "DesignModule", "DesignModule")
    types = obj(dm, "ExpandedAccessTypes", "DesignModule.ExpandedAccessTypes")
    kinds = [k.upper() for k in ("Individual", "Intermediate", "Treatment")
             if _flag(types, f"ExpAccType{k}", "DesignModule.ExpandedAccessTypes")]
    if st.get("ExpandedAccessInfo") is not None or kinds:
        ea = obj(st, "ExpandedAccessInfo", f"{f}.ExpandedAccessInfo")
        g = f"{f}.ExpandedAccessInfo"
        ea_nct = text(ea, "ExpandedAccessNCTId", f"{g}.ExpandedAccessNCTId")
        study.expanded_access = ExpandedAccess(
            available=_flag(ea, "HasExpandedAccess", g),
            nct_id=nct_id(ea_nct, field=f"{g}.ExpandedAccessNCTId") if ea_nct else None,
            status=enum_value("expanded_access_status", text(ea, "ExpandedAccessStatusForNCTId",
                                                             f"{g}.ExpandedAccessStatusForNCTId"),
                              field=f"{g}.ExpandedAccessStatusForNCTId"),
            types=kinds,
        )
    bio = obj(dm, "BioSpec", "DesignModule.BioSpec")
    study.biospec_retention = enum_value("bio_spec_retention", text(bio, "BioSpecRetention",
                                                                    "DesignModule.BioSpec.BioSpecRetention"),
                                         field="DesignModule.BioSpec.BioSpecRetention")
    study.biospec_description = _t(bio, "BioSpecDescription", "DesignModule.BioSpec.BioSpecDescription")
    f = "DocumentSection.LargeDocumentModule"
    docs = obj(obj(study_obj, "DocumentSection", "DocumentSection"), "LargeDocumentModule", f)
    for i, d in enumerate(_list(docs, "LargeDocList", "LargeDoc", f)):
        g = f"{f}.LargeDocList.LargeDoc[{i}]"
        filename = _t(d, "LargeDocFilename", f"{g}.LargeDocFilename")
        study.documents.append(Document(
            label=_t(d, "LargeDocLabel", f"{g}.LargeDocLabel"),
            has_protocol=_flag(d, "LargeDocHasProtocol", g),
            has_sap=_flag(d, "LargeDocHasSAP", g),
            has_icf=_flag(d, "LargeDocHasICF", g),
            date=_date(d, "LargeDocDate", g),
            upload_date=_t(d, "LargeDocUploadDate", f"{g}.LargeDocUploadDate"),
            filename=filename,
            size=parse_int(text(d, "LargeDocSize", f"{g}.LargeDocSize"), field=f"{g}.LargeDocSize"),
            url=LARGE_DOC_URL.format(tail=study.nct_id[-2:], nct=study.nct_id, filename=filename)
            if filename else None,
        ))
    f = "AnnotationSection.AnnotationModule.UnpostedAnnotation"
    up = obj(obj(obj(study_obj, "AnnotationSection", "AnnotationSection"), "AnnotationModule",
                 "AnnotationSection.AnnotationModule"), "UnpostedAnnotation", f)
    study.unposted_responsible_party = _t(up, "UnpostedResponsibleParty", f"{f}.UnpostedResponsibleParty")
    for i, e in enumerate(_list(up, "UnpostedEventList", "UnpostedEvent", f)):
        g = f"{f}.UnpostedEventList.UnpostedEvent[{i}]"
        kind = enum_value("unposted_event_type", text(e, "UnpostedEventType", f"{g}.UnpostedEventType"),
                          field=f"{g}.UnpostedEventType")
        if kind:
            study.record_events.append(RecordEvent("unposted", kind, date=_date(e, "UnpostedEventDate", g)))


def _identification(study: Study, ident: JsonObj) -> None:
    f = "IdentificationModule"
    study.brief_title = _t(ident, "BriefTitle", f"{f}.BriefTitle")
    study.official_title = _t(ident, "OfficialTitle", f"{f}.OfficialTitle")
    study.acronym = _t(ident, "Acronym", f"{f}.Acronym")
    study.org_study_id = _t(
        obj(ident, "OrgStudyIdInfo", f"{f}.OrgStudyIdInfo"), "OrgStudyId", f"{f}.OrgStudyIdInfo.OrgStudyId"
    )
    study.organization = _org(
        obj(ident, "Organization", f"{f}.Organization"), "OrgFullName", "OrgClass", f"{f}.Organization"
    )
    for i, sid in enumerate(_list(ident, "SecondaryIdInfoList", "SecondaryIdInfo", f)):
        g = f"{f}.SecondaryIdInfoList.SecondaryIdInfo[{i}]"
        value = _t(sid, "SecondaryId", f"{g}.SecondaryId")
        if value is None:
            continue  # an entry without an identifier says nothing
        study.secondary_ids.append(
            SecondaryId(
                id=value,
                type=enum_value(
                    "secondary_id_type",
                    text(sid, "SecondaryIdType", f"{g}.SecondaryIdType"),
                    field=f"{g}.SecondaryIdType",
                ),
                domain=_t(sid, "SecondaryIdDomain", f"{g}.SecondaryIdDomain"),
                link=_t(sid, "SecondaryIdLink", f"{g}.SecondaryIdLink"),
            )
        )
    study.nct_id_aliases = _texts(ident, "NCTIdAliasList", "NCTIdAlias", f)


def _status(study: Study, st: JsonObj) -> None:
    f = "StatusModule"
    study.overall_status = enum_value(
        "overall_status", text(st, "OverallStatus", f"{f}.OverallStatus"), field=f"{f}.OverallStatus"
    )
    study.last_known_status = enum_value(
        "last_known_status", text(st, "LastKnownStatus", f"{f}.LastKnownStatus"), field=f"{f}.LastKnownStatus"
    )
    study.why_stopped = _t(st, "WhyStopped", f"{f}.WhyStopped")
    study.status_verified_date = _date(st, "StatusVerifiedDate", f)
    study.start_date = _date_struct(st, "StartDate")
    study.primary_completion_date = _date_struct(st, "PrimaryCompletionDate")
    study.completion_date = _date_struct(st, "CompletionDate")
    study.first_submitted = _date(st, "StudyFirstSubmitDate", f)
    study.first_posted = _date_struct(st, "StudyFirstPostDate")
    study.last_update_posted = _date_struct(st, "LastUpdatePostDate")


def _sponsors(study: Study, sp: JsonObj) -> None:
    f = "SponsorCollaboratorsModule"
    study.lead_sponsor = _org(
        obj(sp, "LeadSponsor", f"{f}.LeadSponsor"), "LeadSponsorName", "LeadSponsorClass", f"{f}.LeadSponsor"
    )
    for i, c in enumerate(_list(sp, "CollaboratorList", "Collaborator", f)):
        org = _org(c, "CollaboratorName", "CollaboratorClass", f"{f}.CollaboratorList.Collaborator[{i}]")
        if org is not None:
            study.collaborators.append(org)
    if sp.get("ResponsibleParty") is not None:
        rp = obj(sp, "ResponsibleParty", f"{f}.ResponsibleParty")
        g = f"{f}.ResponsibleParty"
        study.responsible_party = ResponsibleParty(
            type=enum_value(
                "responsible_party_type",
                text(rp, "ResponsiblePartyType", f"{g}.ResponsiblePartyType"),
                field=f"{g}.ResponsiblePartyType",
            ),
            investigator_name=_t(
                rp, "ResponsiblePartyInvestigatorFullName", f"{g}.ResponsiblePartyInvestigatorFullName"
            ),
            investigator_title=_t(rp, "ResponsiblePartyInvestigatorTitle", f"{g}.ResponsiblePartyInvestigatorTitle"),
            investigator_affiliation=_t(
                rp, "ResponsiblePartyInvestigatorAffiliation", f"{g}.ResponsiblePartyInvestigatorAffiliation"
            ),
            old_name_title=_t(rp, "ResponsiblePartyOldNameTitle", f"{g}.ResponsiblePartyOldNameTitle"),
            old_organization=_t(rp, "ResponsiblePartyOldOrganization", f"{g}.ResponsiblePartyOldOrganization"),
        )


def _first(values: list[str]) -> str | None:
    # Classic lists observational model and time perspective; the registry allows one of each
    # (every record we have holds at most one), and Design keeps one.
    return values[0] if values else None


def _design(dm: JsonObj) -> Design:
    f = "DesignModule"
    g = f"{f}.DesignInfo"
    info = obj(dm, "DesignInfo", g)
    mask = obj(info, "DesignMaskingInfo", f"{g}.DesignMaskingInfo")
    mask_text = text(mask, "DesignMasking", f"{g}.DesignMaskingInfo.DesignMasking")
    mask_level, who_in_text = masking(mask_text, field=f"{g}.DesignMaskingInfo.DesignMasking")
    who = enum_values(
        "who_masked",
        _texts(mask, "DesignWhoMaskedList", "DesignWhoMasked", f"{g}.DesignMaskingInfo"),
        field=f"{g}.DesignMaskingInfo.DesignWhoMaskedList.DesignWhoMasked",
    )
    enroll = obj(dm, "EnrollmentInfo", f"{f}.EnrollmentInfo")
    count = parse_int(
        text(enroll, "EnrollmentCount", f"{f}.EnrollmentInfo.EnrollmentCount"),
        field=f"{f}.EnrollmentInfo.EnrollmentCount",
    )
    obs = _first(_texts(info, "DesignObservationalModelList", "DesignObservationalModel", g))
    persp = _first(_texts(info, "DesignTimePerspectiveList", "DesignTimePerspective", g))
    return Design(
        study_type=enum_value("study_type", text(dm, "StudyType", f"{f}.StudyType"), field=f"{f}.StudyType"),
        phases=phases(_texts(dm, "PhaseList", "Phase", f), field=f"{f}.PhaseList.Phase"),
        allocation=enum_value(
            "allocation", text(info, "DesignAllocation", f"{g}.DesignAllocation"), field=f"{g}.DesignAllocation"
        ),
        intervention_model=enum_value(
            "intervention_model",
            text(info, "DesignInterventionModel", f"{g}.DesignInterventionModel"),
            field=f"{g}.DesignInterventionModel",
        ),
        intervention_model_description=_t(
            info, "DesignInterventionModelDescription", f"{g}.DesignInterventionModelDescription"
        ),
        primary_purpose=enum_value(
            "primary_purpose",
            text(info, "DesignPrimaryPurpose", f"{g}.DesignPrimaryPurpose"),
            field=f"{g}.DesignPrimaryPurpose",
        ),
        observational_model=enum_value(
            "observational_model", obs, field=f"{g}.DesignObservationalModelList.DesignObservationalModel"
        ),
        time_perspective=enum_value(
            "time_perspective", persp, field=f"{g}.DesignTimePerspectiveList.DesignTimePerspective"
        ),
        masking=mask_level,
        masking_description=_t(mask, "DesignMaskingDescription", f"{g}.DesignMaskingInfo.DesignMaskingDescription"),
        who_masked=who or who_in_text,
        enrollment=None
        if count is None
        else Enrollment(
            count,
            enum_value(
                "enrollment_type",
                text(enroll, "EnrollmentType", f"{f}.EnrollmentInfo.EnrollmentType"),
                field=f"{f}.EnrollmentInfo.EnrollmentType",
            ),
        ),
        target_duration=_t(dm, "TargetDuration", f"{f}.TargetDuration"),
        patient_registry=parse_bool(text(dm, "PatientRegistry", f"{f}.PatientRegistry"), field=f"{f}.PatientRegistry"),
    )


def _arms(study: Study, am: JsonObj) -> None:
    f = "ArmsInterventionsModule"
    for i, a in enumerate(_list(am, "ArmGroupList", "ArmGroup", f)):
        g = f"{f}.ArmGroupList.ArmGroup[{i}]"
        label = _t(a, "ArmGroupLabel", f"{g}.ArmGroupLabel")
        if label is None:
            raise InputError("arm group without a label", field=f"{g}.ArmGroupLabel")
        study.arm_groups.append(
            ArmGroup(
                label=label,
                type=enum_value("arm_type", text(a, "ArmGroupType", f"{g}.ArmGroupType"), field=f"{g}.ArmGroupType"),
                description=_t(a, "ArmGroupDescription", f"{g}.ArmGroupDescription"),
                intervention_names=_texts(a, "ArmGroupInterventionList", "ArmGroupInterventionName", g),
            )
        )
    for i, iv in enumerate(_list(am, "InterventionList", "Intervention", f)):
        g = f"{f}.InterventionList.Intervention[{i}]"
        name = _t(iv, "InterventionName", f"{g}.InterventionName")
        if name is None:
            raise InputError("intervention without a name", field=f"{g}.InterventionName")
        study.interventions.append(
            Intervention(
                name=name,
                type=enum_value(
                    "intervention_type",
                    text(iv, "InterventionType", f"{g}.InterventionType"),
                    field=f"{g}.InterventionType",
                ),
                description=_t(iv, "InterventionDescription", f"{g}.InterventionDescription"),
                arm_group_labels=_texts(iv, "InterventionArmGroupLabelList", "InterventionArmGroupLabel", g),
                other_names=_texts(iv, "InterventionOtherNameList", "InterventionOtherName", g),
            )
        )


def _outcomes(study: Study, om: JsonObj) -> None:
    for kind, name in (("primary", "Primary"), ("secondary", "Secondary"), ("other", "Other")):
        for i, o in enumerate(_list(om, f"{name}OutcomeList", f"{name}Outcome", "OutcomesModule")):
            g = f"OutcomesModule.{name}OutcomeList.{name}Outcome[{i}]"
            measure = _t(o, f"{name}OutcomeMeasure", f"{g}.{name}OutcomeMeasure")
            if measure is None:
                raise InputError("outcome without a measure", field=f"{g}.{name}OutcomeMeasure")
            study.outcomes.append(
                Outcome(
                    kind=kind,
                    measure=measure,
                    description=_t(o, f"{name}OutcomeDescription", f"{g}.{name}OutcomeDescription"),
                    time_frame=_t(o, f"{name}OutcomeTimeFrame", f"{g}.{name}OutcomeTimeFrame"),
                )
            )


def _eligibility(em: JsonObj) -> Eligibility:
    f = "EligibilityModule"
    return Eligibility(
        criteria=_t(em, "EligibilityCriteria", f"{f}.EligibilityCriteria"),
        healthy_volunteers=parse_bool(
            text(em, "HealthyVolunteers", f"{f}.HealthyVolunteers"), field=f"{f}.HealthyVolunteers"
        ),
        sex=enum_value("sex", text(em, "Gender", f"{f}.Gender"), field=f"{f}.Gender"),
        gender_based=parse_bool(text(em, "GenderBased", f"{f}.GenderBased"), field=f"{f}.GenderBased"),
        gender_description=_t(em, "GenderDescription", f"{f}.GenderDescription"),
        minimum_age=parse_age(text(em, "MinimumAge", f"{f}.MinimumAge"), field=f"{f}.MinimumAge"),
        maximum_age=parse_age(text(em, "MaximumAge", f"{f}.MaximumAge"), field=f"{f}.MaximumAge"),
        std_ages=enum_values("std_age", _texts(em, "StdAgeList", "StdAge", f), field=f"{f}.StdAgeList.StdAge"),
        study_population=_t(em, "StudyPopulation", f"{f}.StudyPopulation"),
        sampling_method=enum_value(
            "sampling_method", text(em, "SamplingMethod", f"{f}.SamplingMethod"), field=f"{f}.SamplingMethod"
        ),
    )


def _contacts(study: Study, cm: JsonObj) -> None:
    f = "ContactsLocationsModule"
    for i, o in enumerate(_list(cm, "OverallOfficialList", "OverallOfficial", f)):
        g = f"{f}.OverallOfficialList.OverallOfficial[{i}]"
        name = _t(o, "OverallOfficialName", f"{g}.OverallOfficialName")
        if name is None:
            continue  # an official without a name cannot be shown; nothing else is lost
        study.officials.append(
            Official(
                name=name,
                role=enum_value(
                    "official_role",
                    text(o, "OverallOfficialRole", f"{g}.OverallOfficialRole"),
                    field=f"{g}.OverallOfficialRole",
                ),
                affiliation=_t(o, "OverallOfficialAffiliation", f"{g}.OverallOfficialAffiliation"),
            )
        )
    study.central_contacts = [
        _contact(c, "CentralContact", f"{f}.CentralContactList.CentralContact[{i}]")
        for i, c in enumerate(_list(cm, "CentralContactList", "CentralContact", f))
    ]
    for i, loc in enumerate(_list(cm, "LocationList", "Location", f)):
        g = f"{f}.LocationList.Location[{i}]"
        study.locations.append(
            Location(
                facility=_t(loc, "LocationFacility", f"{g}.LocationFacility"),
                status=enum_value(
                    "recruitment_status",
                    text(loc, "LocationStatus", f"{g}.LocationStatus"),
                    field=f"{g}.LocationStatus",
                ),
                city=_t(loc, "LocationCity", f"{g}.LocationCity"),
                state=_t(loc, "LocationState", f"{g}.LocationState"),
                zip=_t(loc, "LocationZip", f"{g}.LocationZip"),
                country=_t(loc, "LocationCountry", f"{g}.LocationCountry"),
                contacts=[
                    _contact(c, "LocationContact", f"{g}.LocationContactList.LocationContact[{j}]")
                    for j, c in enumerate(_list(loc, "LocationContactList", "LocationContact", g))
                ],
            )
        )


def _references(study: Study, rm: JsonObj) -> None:
    f = "ReferencesModule"
    for i, r in enumerate(_list(rm, "ReferenceList", "Reference", f)):
        g = f"{f}.ReferenceList.Reference[{i}]"
        study.references.append(
            Reference(
                citation=_t(r, "ReferenceCitation", f"{g}.ReferenceCitation"),
                pmid=_t(r, "ReferencePMID", f"{g}.ReferencePMID"),
                type=enum_value(
                    "reference_type", text(r, "ReferenceType", f"{g}.ReferenceType"), field=f"{g}.ReferenceType"
                ),
            )
        )
    for i, link in enumerate(_list(rm, "SeeAlsoLinkList", "SeeAlsoLink", f)):
        g = f"{f}.SeeAlsoLinkList.SeeAlsoLink[{i}]"
        url = _t(link, "SeeAlsoLinkURL", f"{g}.SeeAlsoLinkURL")
        if url is None:
            raise InputError("link without a URL", field=f"{g}.SeeAlsoLinkURL")
        study.links.append(Link(url=url, label=_t(link, "SeeAlsoLinkLabel", f"{g}.SeeAlsoLinkLabel")))


def _meshes(derived: JsonObj, kind: str) -> list[Mesh]:
    f = f"DerivedSection.{kind}BrowseModule"
    out: list[Mesh] = []
    for i, m in enumerate(_list(obj(derived, f"{kind}BrowseModule", f), f"{kind}MeshList", f"{kind}Mesh", f)):
        g = f"{f}.{kind}MeshList.{kind}Mesh[{i}]"
        mid = text(m, f"{kind}MeshId", f"{g}.{kind}MeshId")
        term = text(m, f"{kind}MeshTerm", f"{g}.{kind}MeshTerm")
        if mid and term:
            out.append(Mesh(term=term.strip(), id=mesh_id(mid)))
    return out
