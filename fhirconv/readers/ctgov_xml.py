"""Reader for legacy ClinicalTrials.gov `<clinical_study>` XML (public.xsd), old and new tag generations.

Safety: parsed with defusedxml, which refuses entity declarations (billion laughs / quadratic blow-up)
and external entities or DTDs (XXE); such input is reported as an InputError, never expanded.

Generations handled (see public.xsd change history):
  - before 2017: `<study_design>` as one comma-delimited "Key: Value" string, masking in the old
    vocabulary ("Double Blind (Subject, Caregiver)"), gender "Both", dates without a type attribute,
    `firstreceived_date` (= study_first_submitted); `lastchanged_date` is the *submitted* date of the
    last update, not its posting date, so it is not used as `last_update_posted`.
  - 2017 on: `<study_design_info>`, `study_first_posted` / `last_update_posted` with type attributes.
A file holds one `<clinical_study>`, or a wrapper element whose children are `<clinical_study>`
(then records are numbered from 0).

What the XML does not carry, and so stays empty: MeSH IDs (terms only; Mesh.id is ""), standard age
groups, secondary ID types, organisation class of `source`, intervention links of arm groups (rebuilt
from each intervention's `arm_group_label`s as "Type: Name").
"""

from __future__ import annotations

import re
import textwrap
from collections.abc import Iterator
from xml.etree.ElementTree import XML, Element, ParseError

import defusedxml
from defusedxml.ElementTree import fromstring

from fhirconv.errors import FhirconvError, InputError, cut
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
    StudyRecord,
)
from fhirconv.readers import normalize as nz
from fhirconv.readers.ctgov_xml_results import read_xml_results
from fhirconv.readers.failure import ReadFailure

FORMAT = "ctgov-xml"
def read_xml(data: bytes, source: str) -> Iterator[StudyRecord | ReadFailure]:
    """Yield one StudyRecord per `<clinical_study>` in `data`, or a ReadFailure per record that cannot
    be read (a file that is not well-formed XML, or unsafe, is one ReadFailure for the whole file)."""
    try:
        root = _parse(data, source)
    except FhirconvError as exc:
        yield ReadFailure(source=source, index=None, nct_id=None, error=exc)
        return
    if root.tag == "clinical_study":
        studies, indexed = [root], False
    else:
        studies, indexed = [c for c in root if c.tag == "clinical_study"], True
        if not studies:
            err = InputError(
                f"no <clinical_study> element (root element is <{root.tag}>)",
                hint="expected legacy ClinicalTrials.gov XML (public.xsd)",
                file=source,
            )
            yield ReadFailure(source=source, index=None, nct_id=None, error=err)
            return
    for i, element in enumerate(studies):
        index = i if indexed else None
        nct_id = _text(element, "id_info/nct_id")
        try:
            study = study_from_element(element)
        except FhirconvError as exc:
            record = nct_id or (str(index) if index is not None else None)
            yield ReadFailure(source=source, index=index, nct_id=nct_id, error=exc.located(file=source, record=record))
            continue
        yield StudyRecord(study=study, source=source, index=index, format=FORMAT)


# The XML declaration's encoding, if any (the declaration itself is always ASCII-compatible for expat).
_DECL_ENCODING = re.compile(rb"<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")
_PLAIN_ENCODINGS = frozenset({b"utf-8", b"utf8", b"us-ascii", b"ascii"})


def _has_no_dtd(data: bytes) -> bool:
    """True when `data` provably holds no DOCTYPE: UTF-8/ASCII bytes (no NULs, as UTF-16/32 would have; no
    other declared encoding, in which "<!DOCTYPE" could be spelt in other bytes) without "<!DOCTYPE"."""
    if b"<!DOCTYPE" in data or b"\x00" in data:
        return False
    if data.startswith(b"<?xml"):
        end = data.find(b"?>", 0, 512)
        if end < 0:
            return False
        found = _DECL_ENCODING.match(data, 0, end)
        if found is not None and found.group(1).lower() not in _PLAIN_ENCODINGS:
            return False
    return True


def _parse(data: bytes, source: str) -> Element:
    try:
        if _has_no_dtd(data):
            # Why not always defusedxml: it parses through ElementTree's pure-Python parser (a third of
            # reading time for large site lists). Without a DTD there is nothing for it to refuse (no entity
            # declarations, no external references; undefined entities are expat errors either way), so
            # the C parser gives the same tree and the same errors.
            return XML(data)
        # forbid_dtd: registry XML never has a DOCTYPE; refusing it outright also closes every
        # DTD-based attack (entity bombs, external DTD fetches) before any expansion happens.
        root: Element = fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except defusedxml.DefusedXmlException as exc:
        raise InputError(
            f"unsafe XML refused ({type(exc).__name__}: {exc})",
            hint="DTDs, entity declarations and external references are not accepted in registry XML",
            file=source,
        ) from exc
    except ParseError as exc:
        raise InputError(
            f"malformed XML: {exc}",
            hint="the file is not well-formed XML; check it was downloaded completely",
            file=source,
        ) from exc
    except LookupError as exc:  # the declaration names an encoding Python does not know (fuzzing found it)
        raise InputError(
            f"malformed XML: the declaration names an unknown encoding ({cut(str(exc))})",
            hint="registry XML is UTF-8",
            file=source,
        ) from exc
    return root


# --- element helpers -----------------------------------------------------------------------------


def _text(element: Element, path: str) -> str | None:
    found = element.find(path)
    if found is None or found.text is None:
        return None
    value = found.text.strip()
    return value or None


def _texts(element: Element, path: str) -> list[str]:
    return [t for e in element.findall(path) if (t := (e.text or "").strip())]


def _block(element: Element, path: str) -> str | None:
    """A `<textblock>`: the XML indents and hard-wraps it; remove the common indent, keep the lines."""
    found = element.find(f"{path}/textblock")
    if found is None or found.text is None:
        return None
    lines = [line.rstrip() for line in textwrap.dedent(found.text.replace("\r\n", "\n")).split("\n")]
    value = "\n".join(lines).strip("\n")
    return value or None


def _date(element: Element, path: str) -> str | None:
    return nz.parse_date(_text(element, path), field=path)


def _download_date(cs: Element) -> str | None:
    """The date the registry wrote the file: "ClinicalTrials.gov processed this data on August 18, 2020"."""
    path = "required_header/download_date"
    words = _text(cs, path)
    if words is None:
        return None
    return nz.parse_date(words.rpartition(" on ")[2], field=path)


def _date_info(element: Element, path: str) -> DateInfo | None:
    found = element.find(path)
    date = _date(element, path)
    if found is None or date is None:
        return None
    kind = found.get("type")
    return DateInfo(date=date, type=nz.enum_value("date_type", kind, field=f"{path}/@type") if kind else None)


def _enum(kind: str, element: Element, path: str) -> str | None:
    return nz.enum_value(kind, _text(element, path), field=path)


def _yes_no(element: Element, path: str) -> bool | None:
    return nz.parse_bool(_text(element, path), field=path)


# --- the study -----------------------------------------------------------------------------------


def study_from_element(cs: Element) -> Study:
    """One `<clinical_study>` element → Study (raises InputError naming the field on bad values)."""
    nct = nz.nct_id(
        _text(cs, "id_info/nct_id"),
        field="id_info/nct_id",
        hint="every <clinical_study> needs <id_info><nct_id>NCT########</nct_id></id_info>",
    )
    try:
        return _study(cs, nct)
    except FhirconvError as exc:
        raise exc.located(record=nct) from None


def _study(cs: Element, nct_id: str) -> Study:
    study = Study(nct_id=nct_id)
    study.nct_id_aliases = _texts(cs, "id_info/nct_alias")
    study.org_study_id = _text(cs, "id_info/org_study_id")
    study.secondary_ids = [SecondaryId(id=s) for s in _texts(cs, "id_info/secondary_id")]
    study.brief_title = _text(cs, "brief_title")
    study.official_title = _text(cs, "official_title")
    study.acronym = _text(cs, "acronym")
    source = _text(cs, "source")
    study.organization = Org(name=source) if source else None

    study.overall_status = _enum("overall_status", cs, "overall_status")
    study.last_known_status = _enum("overall_status", cs, "last_known_status")
    study.why_stopped = _text(cs, "why_stopped")
    study.status_verified_date = _date(cs, "verification_date")
    study.start_date = _date_info(cs, "start_date")
    study.primary_completion_date = _date_info(cs, "primary_completion_date")
    study.completion_date = _date_info(cs, "completion_date")
    study.first_submitted = _date(cs, "study_first_submitted") or _date(cs, "firstreceived_date")
    study.first_posted = _date_info(cs, "study_first_posted")
    study.last_update_posted = _date_info(cs, "last_update_posted")
    study.source = Source(FORMAT, version=_download_date(cs))

    study.lead_sponsor = _org(cs, "sponsors/lead_sponsor")
    study.collaborators = [o for e in cs.findall("sponsors/collaborator") if (o := _org(e, "."))]
    study.responsible_party = _responsible_party(cs)

    study.brief_summary = _block(cs, "brief_summary")
    study.detailed_description = _block(cs, "detailed_description")

    study.conditions = _texts(cs, "condition")
    study.keywords = _texts(cs, "keyword")
    study.condition_meshes = [Mesh(term=t) for t in _texts(cs, "condition_browse/mesh_term")]
    study.intervention_meshes = [Mesh(term=t) for t in _texts(cs, "intervention_browse/mesh_term")]

    study.design = _design(cs)
    study.interventions = [_intervention(e, i) for i, e in enumerate(cs.findall("intervention"))]
    study.arm_groups = [_arm_group(e, i, study.interventions) for i, e in enumerate(cs.findall("arm_group"))]
    study.outcomes = [
        _outcome(e, kind, f"{kind}_outcome[{i}]")
        for kind in ("primary", "secondary", "other")
        for i, e in enumerate(cs.findall(f"{kind}_outcome"))
    ]
    study.eligibility = _eligibility(cs)

    study.officials = [_official(e, f"overall_official[{i}]") for i, e in enumerate(cs.findall("overall_official"))]
    study.central_contacts = [
        c for tag in ("overall_contact", "overall_contact_backup") for e in cs.findall(tag) if (c := _contact(e))
    ]
    study.locations = [_location(e, f"location[{i}]") for i, e in enumerate(cs.findall("location"))]

    study.references = [
        _reference(e, kind)
        for tag, kind in (("reference", "BACKGROUND"), ("results_reference", "RESULT"))
        for e in cs.findall(tag)
    ]
    study.links = [Link(url=url, label=_text(e, "description")) for e in cs.findall("link") if (url := _text(e, "url"))]
    study.has_results = cs.find("clinical_results") is not None
    study.results = read_xml_results(cs)
    _registry(study, cs)
    return study


def _registry(study: Study, cs: Element) -> None:
    """Oversight, data sharing, expanded access, biospecimens, registry dates, documents, unposted results."""
    ov = cs.find("oversight_info")
    if ov is not None:
        study.oversight = Oversight(authorities=_texts(ov, "authority"))
        for attr, tag in (
            ("has_dmc", "has_dmc"), ("fda_regulated_drug", "is_fda_regulated_drug"),
            ("fda_regulated_device", "is_fda_regulated_device"), ("unapproved_device", "is_unapproved_device"),
            ("ppsd", "is_ppsd"), ("us_export", "is_us_export")):
            setattr(study.oversight, attr, _yes_no(ov, tag))
    pd = cs.find("patient_data")
    if pd is not None:
        study.ipd_sharing = IpdSharing(
            plan=nz.enum_value("ipd_sharing", _text(pd, "sharing_ipd"), field="patient_data/sharing_ipd"),
            description=_text(pd, "ipd_description"),
            info_types=nz.enum_values("ipd_info_type", _texts(pd, "ipd_info_type"), field="patient_data/ipd_info_type"),
            time_frame=_text(pd, "ipd_time_frame"),
            access_criteria=_text(pd, "ipd_access_criteria"),
            url=_text(pd, "ipd_url"),
        )
    available = _yes_no(cs, "has_expanded_access")
    kinds = [k.upper() for k in ("individual", "intermediate", "treatment")
             if _yes_no(cs, f"expanded_access_info/expanded_access_type_{k}")]
    if available is not None or kinds:
        study.expanded_access = ExpandedAccess(available=available, types=kinds)
    study.biospec_retention = _enum("bio_spec_retention", cs, "biospec_retention")
    study.biospec_description = _block(cs, "biospec_descr")
    rd = study.registry_dates
    rd.first_submitted_qc = _date(cs, "study_first_submitted_qc")
    rd.last_update_submitted = _date(cs, "last_update_submitted")
    rd.results_first_submitted = _date(cs, "results_first_submitted")
    rd.results_first_submitted_qc = _date(cs, "results_first_submitted_qc")
    rd.results_first_posted = _date_info(cs, "results_first_posted")
    rd.disposition_first_submitted = _date(cs, "disposition_first_submitted")
    rd.disposition_first_submitted_qc = _date(cs, "disposition_first_submitted_qc")
    rd.disposition_first_posted = _date_info(cs, "disposition_first_posted")
    for i, doc in enumerate(cs.findall("provided_document_section/provided_document")):
        path = f"provided_document_section/provided_document[{i}]"
        url = _text(doc, "document_url")
        study.documents.append(Document(
            label=_text(doc, "document_type"),
            has_protocol=nz.parse_bool(_text(doc, "document_has_protocol"), field=f"{path}/document_has_protocol"),
            has_sap=nz.parse_bool(_text(doc, "document_has_sap"), field=f"{path}/document_has_sap"),
            has_icf=nz.parse_bool(_text(doc, "document_has_icf"), field=f"{path}/document_has_icf"),
            date=nz.parse_date(_text(doc, "document_date"), field=f"{path}/document_date"),
            filename=url.rsplit("/", 1)[-1] if url else None,
            url=url,
        ))
    # <pending_results>: results submitted (v2 RELEASE), returned after QC review (RESET) or the submission
    # cancelled (UNRELEASE), each dated ("Unknown" when the registry does not know when).
    pending = cs.find("pending_results")
    for i, event in enumerate(pending if pending is not None else ()):
        kind = {"submitted": "RELEASE", "returned": "RESET", "submission_canceled": "UNRELEASE"}.get(event.tag)
        if kind is None:
            continue
        when = (event.text or "").strip()
        date = None if when.lower() == "unknown" else nz.parse_date(when, field=f"pending_results/{event.tag}[{i}]")
        study.record_events.append(RecordEvent("unposted", kind, date=date))


def _org(element: Element, path: str) -> Org | None:
    name = _text(element, f"{path}/agency")
    if name is None:
        return None
    return Org(name=name, cls=_enum("org_class", element, f"{path}/agency_class"))


def _responsible_party(cs: Element) -> ResponsibleParty | None:
    rp = cs.find("responsible_party")
    if rp is None:
        return None
    return ResponsibleParty(
        type=nz.enum_value(
            "responsible_party_type",
            _text(rp, "responsible_party_type"),
            field="responsible_party/responsible_party_type",
        ),
        investigator_name=_text(rp, "investigator_full_name"),
        investigator_title=_text(rp, "investigator_title"),
        investigator_affiliation=_text(rp, "investigator_affiliation"),
        old_name_title=_text(rp, "name_title"),
        old_organization=_text(rp, "organization"),
    )


# --- design --------------------------------------------------------------------------------------


def _design(cs: Element) -> Design:
    design = Design()
    study_type = _text(cs, "study_type")
    if study_type is not None:
        # "Observational [Patient Registry]" is the old way to flag a registry study.
        base, registry, _ = study_type.partition("[Patient Registry]")
        if registry:
            design.patient_registry = True
        design.study_type = nz.enum_value("study_type", base.strip(), field="study_type")
    phase = _text(cs, "phase")
    design.phases = nz.phases(phase, field="phase") if phase else []
    enrollment = cs.find("enrollment")
    count = nz.parse_int(_text(cs, "enrollment"), field="enrollment")
    if enrollment is not None and count is not None:
        kind = enrollment.get("type")
        design.enrollment = Enrollment(
            count=count, type=nz.enum_value("enrollment_type", kind, field="enrollment/@type") if kind else None
        )
    design.target_duration = _text(cs, "target_duration")

    info = cs.find("study_design_info")
    if info is not None:
        values = {child.tag: (child.text or "").strip() for child in info}
        paths = {tag: f"study_design_info/{tag}" for tag in values}
    else:
        values = _old_study_design(_text(cs, "study_design"))
        paths = dict.fromkeys(values, "study_design")
    for kind in ("allocation", "intervention_model", "primary_purpose", "observational_model", "time_perspective"):
        if values.get(kind):
            setattr(design, kind, nz.enum_value(kind, values[kind], field=paths[kind]))
    design.intervention_model_description = values.get("intervention_model_description") or None
    design.masking_description = values.get("masking_description") or None
    if values.get("masking"):
        design.masking, design.who_masked = nz.masking(values["masking"], field=paths["masking"])
    return design


# Keys of the pre-2017 `<study_design>` string, e.g. "Allocation: Randomized, Endpoint Classification:
# Safety/Efficacy Study, Intervention Model: Parallel Assignment, Masking: Double Blind (Subject,
# Investigator), Primary Purpose: Treatment". Endpoint classification was abandoned (public.xsd 2017).
_OLD_DESIGN_KEYS = {
    "Allocation": "allocation",
    "Intervention Model": "intervention_model",
    "Masking": "masking",
    "Primary Purpose": "primary_purpose",
    "Observational Model": "observational_model",
    "Time Perspective": "time_perspective",
    "Endpoint Classification": "",
}
_OLD_DESIGN_RE = re.compile(r"(?:^|,\s*)(" + "|".join(map(re.escape, _OLD_DESIGN_KEYS)) + r"):\s*")


def _old_study_design(text: str | None) -> dict[str, str]:
    """Split the old comma-delimited design string on its known keys (values contain commas too)."""
    if not text or text == "N/A":
        return {}
    parts = _OLD_DESIGN_RE.split(text)
    if parts[0].strip():
        raise InputError(
            f"unreadable study design {cut(text)}",
            hint="expected 'Key: Value' pairs such as 'Allocation: Randomized, Primary Purpose: Treatment'",
            field="study_design",
        )
    values: dict[str, str] = {}
    for key, value in zip(parts[1::2], parts[2::2], strict=True):
        if tag := _OLD_DESIGN_KEYS[key]:
            values[tag] = value.strip().rstrip(",").strip()
    return values


# --- arms, interventions, outcomes ---------------------------------------------------------------


def _intervention(e: Element, i: int) -> Intervention:
    path = f"intervention[{i}]"
    name = _text(e, "intervention_name")
    if name is None:
        raise InputError("intervention has no name", field=f"{path}/intervention_name")
    return Intervention(
        name=name,
        type=nz.enum_value("intervention_type", _text(e, "intervention_type"), field=f"{path}/intervention_type"),
        description=_text(e, "description"),
        arm_group_labels=_texts(e, "arm_group_label"),
        other_names=_texts(e, "other_name"),
    )


def _arm_group(e: Element, i: int, interventions: list[Intervention]) -> ArmGroup:
    path = f"arm_group[{i}]"
    label = _text(e, "arm_group_label")
    if label is None:
        raise InputError("arm group has no label", field=f"{path}/arm_group_label")
    return ArmGroup(
        label=label,
        type=nz.enum_value("arm_type", _text(e, "arm_group_type"), field=f"{path}/arm_group_type"),
        description=_text(e, "description"),
        intervention_names=[
            f"{_type_prose(iv.type)}: {iv.name}" for iv in interventions if label in iv.arm_group_labels
        ],
    )


def _type_prose(v2_type: str | None) -> str:
    """DIETARY_SUPPLEMENT → 'Dietary Supplement', the prefix v2 uses in arm intervention names."""
    return (v2_type or "OTHER").replace("_", " ").title()


def _outcome(e: Element, kind: str, path: str) -> Outcome:
    measure = _text(e, "measure")
    if measure is None:
        raise InputError("outcome has no measure", field=f"{path}/measure")
    return Outcome(kind=kind, measure=measure, description=_text(e, "description"), time_frame=_text(e, "time_frame"))


# --- eligibility, people, places -----------------------------------------------------------------


def _eligibility(cs: Element) -> Eligibility:
    el = cs.find("eligibility")
    if el is None:
        return Eligibility()
    return Eligibility(
        criteria=_block(el, "criteria"),
        healthy_volunteers=nz.parse_bool(_text(el, "healthy_volunteers"), field="eligibility/healthy_volunteers"),
        sex=nz.enum_value("sex", _text(el, "gender"), field="eligibility/gender"),
        gender_based=nz.parse_bool(_text(el, "gender_based"), field="eligibility/gender_based"),
        gender_description=_text(el, "gender_description"),
        minimum_age=nz.parse_age(_text(el, "minimum_age"), field="eligibility/minimum_age"),
        maximum_age=nz.parse_age(_text(el, "maximum_age"), field="eligibility/maximum_age"),
        study_population=_block(el, "study_pop"),
        sampling_method=nz.enum_value(
            "sampling_method", _text(el, "sampling_method"), field="eligibility/sampling_method"
        ),
    )


def _person_name(e: Element) -> str | None:
    # Registry XML mostly puts the whole name ("Jane A Doe, MD") into last_name; join what is there.
    name = " ".join(p for p in (_text(e, "first_name"), _text(e, "middle_name"), _text(e, "last_name")) if p)
    degrees = _text(e, "degrees")
    if name and degrees:
        name = f"{name}, {degrees}"
    return name or None


def _official(e: Element, path: str) -> Official:
    name = _person_name(e)
    if name is None:
        raise InputError("overall official has no name", field=f"{path}/last_name")
    return Official(
        name=name,
        role=nz.enum_value("official_role", _text(e, "role"), field=f"{path}/role"),
        affiliation=_text(e, "affiliation"),
    )


def _contact(e: Element, role: str | None = "CONTACT") -> Contact | None:
    contact = Contact(
        name=_person_name(e),
        role=role,
        phone=_text(e, "phone"),
        phone_ext=_text(e, "phone_ext"),
        email=_text(e, "email"),
    )
    if contact.name is None and contact.phone is None and contact.email is None:
        return None
    return contact


def _only(element: Element, tag: str) -> Element | None:
    """The one `tag` child, or None when there are none or several (then callers use the full path)."""
    found = element.findall(tag)
    return found[0] if len(found) == 1 else None


def _location(e: Element, path: str) -> Location:
    # Sites are most of a large record: with the usual one <facility> and one <address>, one-step finds
    # (C speed) give what the "facility/address/..." paths (ElementPath, Python) give; else the paths.
    facility = _only(e, "facility")
    address = _only(facility, "address") if facility is not None else None
    if address is not None and facility is not None:
        name, city, state, zip_, country = (_text(facility, "name"), _text(address, "city"),
                                            _text(address, "state"), _text(address, "zip"), _text(address, "country"))
    else:
        name, city, state, zip_, country = (_text(e, "facility/name"), _text(e, "facility/address/city"),
                                            _text(e, "facility/address/state"), _text(e, "facility/address/zip"),
                                            _text(e, "facility/address/country"))
    location = Location(
        facility=name,
        status=nz.enum_value("recruitment_status", _text(e, "status"), field=f"{path}/status"),
        city=city,
        state=state,
        zip=zip_,
        country=country,
    )
    location.contacts = [c for tag in ("contact", "contact_backup") for x in e.findall(tag) if (c := _contact(x))]
    for j, inv in enumerate(e.findall("investigator")):
        role = nz.enum_value("contact_role", _text(inv, "role"), field=f"{path}/investigator[{j}]/role")
        if contact := _contact(inv, role):
            location.contacts.append(contact)
    return location


def _reference(e: Element, kind: str) -> Reference:
    return Reference(citation=_text(e, "citation"), pmid=_text(e, "PMID"), type=kind)
