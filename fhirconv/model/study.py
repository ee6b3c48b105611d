"""The version-neutral study model that every registry reader produces and the mapping consumes."""

from __future__ import annotations

from dataclasses import dataclass, field

from fhirconv.model.results import Results

# Enumerated values are held in ClinicalTrials.gov API v2 vocabulary (upper snake case, e.g.
# "ACTIVE_NOT_RECRUITING", "PHASE1"), whatever the source format; readers of older formats
# normalise prose ("Active, not recruiting") to it. Dates are FHIR-shaped partial dates:
# "YYYY", "YYYY-MM" or "YYYY-MM-DD".


@dataclass(slots=True)
class DateInfo:
    date: str
    type: str | None = None  # ACTUAL | ESTIMATED (v2); "Anticipated" in old formats is ESTIMATED


@dataclass(slots=True)
class SecondaryId:
    id: str
    type: str | None = None  # NIH, FDA, VA, CDC, AHRQ, SAMHSA, OTHER_GRANT, EUDRACT_NUMBER, CTIS, REGISTRY, OTHER
    domain: str | None = None
    link: str | None = None


@dataclass(slots=True)
class Org:
    name: str
    cls: str | None = None  # NIH, FED, OTHER_GOV, INDIV, INDUSTRY, NETWORK, AMBIG, OTHER, UNKNOWN


@dataclass(slots=True)
class Contact:
    name: str | None = None
    role: str | None = None  # CONTACT, PRINCIPAL_INVESTIGATOR, SUB_INVESTIGATOR, STUDY_CHAIR, STUDY_DIRECTOR
    phone: str | None = None
    phone_ext: str | None = None
    email: str | None = None
    affiliation: str | None = None


@dataclass(slots=True)
class Official:
    name: str
    role: str | None = None  # STUDY_CHAIR, STUDY_DIRECTOR, PRINCIPAL_INVESTIGATOR
    affiliation: str | None = None


@dataclass(slots=True)
class ResponsibleParty:
    type: str | None = None  # SPONSOR, PRINCIPAL_INVESTIGATOR, SPONSOR_INVESTIGATOR
    investigator_name: str | None = None
    investigator_title: str | None = None
    investigator_affiliation: str | None = None
    old_name_title: str | None = None
    old_organization: str | None = None


@dataclass(slots=True)
class ArmGroup:
    label: str
    # EXPERIMENTAL, ACTIVE_COMPARATOR, PLACEBO_COMPARATOR, SHAM_COMPARATOR, NO_INTERVENTION, OTHER
    type: str | None = None
    description: str | None = None
    intervention_names: list[str] = field(default_factory=list)  # "Drug: Aspirin" (type prose + name)


@dataclass(slots=True)
class Intervention:
    name: str
    # DRUG, DEVICE, BIOLOGICAL, PROCEDURE, RADIATION, BEHAVIORAL, GENETIC, DIETARY_SUPPLEMENT,
    # COMBINATION_PRODUCT, DIAGNOSTIC_TEST, OTHER
    type: str | None = None
    description: str | None = None
    arm_group_labels: list[str] = field(default_factory=list)
    other_names: list[str] = field(default_factory=list)


@dataclass(slots=True)
class Outcome:
    kind: str  # primary | secondary | other
    measure: str
    description: str | None = None
    time_frame: str | None = None


@dataclass(slots=True)
class Age:
    value: float
    unit: str  # years, months, weeks, days, hours, minutes (lower case, singular or plural as in source)
    text: str  # as the record gives it, e.g. "18 Years"


@dataclass(slots=True)
class Eligibility:
    criteria: str | None = None
    healthy_volunteers: bool | None = None
    sex: str | None = None  # ALL, FEMALE, MALE
    gender_based: bool | None = None
    gender_description: str | None = None
    minimum_age: Age | None = None
    maximum_age: Age | None = None
    std_ages: list[str] = field(default_factory=list)  # CHILD, ADULT, OLDER_ADULT
    study_population: str | None = None
    sampling_method: str | None = None  # PROBABILITY_SAMPLE, NON_PROBABILITY_SAMPLE


@dataclass(slots=True)
class Enrollment:
    count: int
    type: str | None = None  # ACTUAL | ESTIMATED


@dataclass(slots=True)
class Design:
    study_type: str | None = None  # INTERVENTIONAL, OBSERVATIONAL, EXPANDED_ACCESS
    phases: list[str] = field(default_factory=list)  # EARLY_PHASE1, PHASE1, PHASE2, PHASE3, PHASE4, NA
    allocation: str | None = None  # RANDOMIZED, NON_RANDOMIZED, NA
    intervention_model: str | None = None  # SINGLE_GROUP, PARALLEL, CROSSOVER, FACTORIAL, SEQUENTIAL
    intervention_model_description: str | None = None
    primary_purpose: str | None = None  # TREATMENT, PREVENTION, DIAGNOSTIC, ... OTHER
    observational_model: str | None = None  # COHORT, CASE_CONTROL, CASE_ONLY, ...
    time_perspective: str | None = None  # PROSPECTIVE, RETROSPECTIVE, CROSS_SECTIONAL, OTHER
    masking: str | None = None  # NONE, SINGLE, DOUBLE, TRIPLE, QUADRUPLE
    masking_description: str | None = None
    who_masked: list[str] = field(default_factory=list)  # PARTICIPANT, CARE_PROVIDER, INVESTIGATOR, OUTCOMES_ASSESSOR
    enrollment: Enrollment | None = None
    target_duration: str | None = None
    patient_registry: bool | None = None


@dataclass(slots=True)
class Geo:
    lat: float
    lon: float


@dataclass(slots=True)
class Location:
    facility: str | None = None
    status: str | None = None  # RECRUITING, NOT_YET_RECRUITING, COMPLETED, WITHDRAWN, ... (v2 recruitment status)
    city: str | None = None
    state: str | None = None
    zip: str | None = None
    country: str | None = None
    contacts: list[Contact] = field(default_factory=list)
    geo: Geo | None = None


@dataclass(slots=True)
class Mesh:
    term: str
    id: str | None = None  # MeSH unique ID (D000001943); legacy XML and page text give terms only


@dataclass(slots=True)
class Reference:
    citation: str | None = None
    pmid: str | None = None
    type: str | None = None  # BACKGROUND, RESULT, DERIVED


@dataclass(slots=True)
class Link:
    url: str
    label: str | None = None


@dataclass(slots=True)
class Source:
    """Where a Study was read from: what its Provenance says (mapping/provenance.py)."""

    format: str  # a key of mapping.provenance.SOURCE_FORMATS: "ctgov-v2", "ctgov-xml", ..., "sdtm-trial-design"
    # The registry's own version of the record's data: API v2 / classic `versionHolder` (the date the data was
    # current), the legacy XML download date ("ClinicalTrials.gov processed this data on ..."), as YYYY-MM-DD.
    version: str | None = None


@dataclass(slots=True)
class Oversight:
    """Regulatory oversight flags (v2 oversightModule; XML oversight_info). None = not stated."""

    has_dmc: bool | None = None
    fda_regulated_drug: bool | None = None
    fda_regulated_device: bool | None = None
    unapproved_device: bool | None = None
    ppsd: bool | None = None  # pediatric postmarket surveillance of a device
    us_export: bool | None = None
    fdaaa801_violation: bool | None = None
    authorities: list[str] = field(default_factory=list)  # pre-2017 XML `<authority>` lines


@dataclass(slots=True)
class IpdSharing:
    """The plan to share individual participant data (v2 ipdSharingStatementModule)."""

    plan: str | None = None  # YES, NO, UNDECIDED
    description: str | None = None
    info_types: list[str] = field(default_factory=list)  # STUDY_PROTOCOL, SAP, ICF, CSR, ANALYTIC_CODE
    time_frame: str | None = None
    access_criteria: str | None = None
    url: str | None = None


@dataclass(slots=True)
class ExpandedAccess:
    available: bool | None = None  # the drug is also available by expanded access
    nct_id: str | None = None  # the expanded-access record
    status: str | None = None  # that record's status (AVAILABLE, NO_LONGER_AVAILABLE, ...)
    types: list[str] = field(default_factory=list)  # of an expanded-access record: INDIVIDUAL, INTERMEDIATE, TREATMENT


@dataclass(slots=True)
class RegistryDates:
    """The record's own milestones at the registry (not the study's)."""

    first_submitted_qc: str | None = None
    last_update_submitted: str | None = None
    results_first_submitted: str | None = None
    results_first_submitted_qc: str | None = None
    results_first_posted: DateInfo | None = None
    disposition_first_submitted: str | None = None
    disposition_first_submitted_qc: str | None = None
    disposition_first_posted: DateInfo | None = None


@dataclass(slots=True)
class Document:
    """A protocol, statistical analysis plan or consent form posted with the record."""

    label: str | None = None  # "Study Protocol and Statistical Analysis Plan"
    has_protocol: bool | None = None
    has_sap: bool | None = None
    has_icf: bool | None = None
    date: str | None = None
    upload_date: str | None = None  # FHIR dateTime shape "2021-11-10T11:05:00"
    filename: str | None = None
    size: int | None = None
    url: str | None = None


@dataclass(slots=True)
class RecordEvent:
    """A registry annotation: results submitted but not posted (unposted), or an FDAAA 801 violation event."""

    kind: str  # "unposted" | "violation"
    type: str  # v2 event type (RESET, RELEASE, UNRELEASE, CANCELLED, VIOLATION_IDENTIFIED, ...)
    date: str | None = None
    description: str | None = None
    dates: dict[str, str] = field(default_factory=dict)  # violation events: issued, release, posted, creation


@dataclass(slots=True)
class Study:
    nct_id: str
    brief_title: str | None = None
    official_title: str | None = None
    acronym: str | None = None
    org_study_id: str | None = None
    organization: Org | None = None  # the organisation that registered the record
    secondary_ids: list[SecondaryId] = field(default_factory=list)
    nct_id_aliases: list[str] = field(default_factory=list)

    overall_status: str | None = None  # v2 OverallStatus
    last_known_status: str | None = None
    why_stopped: str | None = None
    status_verified_date: str | None = None
    start_date: DateInfo | None = None
    primary_completion_date: DateInfo | None = None
    completion_date: DateInfo | None = None
    first_submitted: str | None = None
    first_posted: DateInfo | None = None
    last_update_posted: DateInfo | None = None

    lead_sponsor: Org | None = None
    collaborators: list[Org] = field(default_factory=list)
    responsible_party: ResponsibleParty | None = None

    brief_summary: str | None = None
    detailed_description: str | None = None

    conditions: list[str] = field(default_factory=list)
    keywords: list[str] = field(default_factory=list)
    condition_meshes: list[Mesh] = field(default_factory=list)
    intervention_meshes: list[Mesh] = field(default_factory=list)

    design: Design = field(default_factory=Design)
    arm_groups: list[ArmGroup] = field(default_factory=list)
    interventions: list[Intervention] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)
    eligibility: Eligibility = field(default_factory=Eligibility)

    officials: list[Official] = field(default_factory=list)
    central_contacts: list[Contact] = field(default_factory=list)
    locations: list[Location] = field(default_factory=list)

    references: list[Reference] = field(default_factory=list)
    links: list[Link] = field(default_factory=list)

    oversight: Oversight | None = None
    ipd_sharing: IpdSharing | None = None
    expanded_access: ExpandedAccess | None = None
    registry_dates: RegistryDates = field(default_factory=RegistryDates)
    biospec_retention: str | None = None  # NONE_RETAINED, SAMPLES_WITH_DNA, SAMPLES_WITHOUT_DNA
    biospec_description: str | None = None
    documents: list[Document] = field(default_factory=list)
    record_events: list[RecordEvent] = field(default_factory=list)
    unposted_responsible_party: str | None = None

    has_results: bool | None = None
    results: Results | None = None  # the posted results, when the source carries them (model.results)
    source: Source | None = None  # None: built in code (the Python API), not read from a file
    # True when the source was restricted (API v2 `fields=` filter): absent modules mean "not
    # asked for", not "none", and the mapping must not claim otherwise.
    partial: bool = False


@dataclass(slots=True)
class StudyRecord:
    """A study as read, with where it came from, so errors can point at file and record."""

    study: Study
    source: str  # file path, or "<stdin>"
    index: int | None = None  # position within a multi-study source (page, NDJSON line), 0-based
    format: str = ""  # "ctgov-v2" | "ctgov-xml" | "ctgov-classic" | "ctgov-page-text"
