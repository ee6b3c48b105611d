"""The version-neutral posted results of a study (participant flow, baseline, outcomes, adverse events)."""

from __future__ import annotations

from dataclasses import dataclass, field

# Every results reader (API v2 `resultsSection`, legacy XML `clinical_results`, classic JSON
# `ResultsSection`) fills these classes. Conventions, whatever the source:
# - Enumerations are held in API v2 vocabulary where the registry has one (upper snake case:
#   "COUNT_OF_PARTICIPANTS", "STANDARD_DEVIATION", "TWO_SIDED", "SYSTEMATIC_ASSESSMENT"); older formats'
#   prose ("Standard Deviation", "Systematic Assessment") is normalised to it. Where the registry lets the
#   submitter type free text (an analysis' estimate type "Hazard Ratio (HR)", a milestone "Received OL CZP"),
#   the text is kept as typed.
# - Measured values, spreads, limits, p-values and CI bounds are kept as the registry's text ("49.59",
#   "<0.001", "NA"): the registry allows non-numeric entries, explained in a comment, and the mapping decides
#   what is a number. Counts of participants, events and units are whole numbers (None when not given).
# - Group ids are the registry's own ("FG000", "BG000", "OG000", "EG000"): they tie measurements to groups
#   within one results module only, and are stable across record versions.


@dataclass(slots=True)
class ResultGroup:
    id: str  # FG000 / BG000 / OG000 / EG000
    title: str | None = None
    description: str | None = None


@dataclass(slots=True)
class GroupCount:
    group_id: str
    value: str  # a number of participants (or units), as the registry gives it


@dataclass(slots=True)
class Denom:
    units: str | None = None  # "Participants", or the unit analysed ("Eyes", "Clinics")
    counts: list[GroupCount] = field(default_factory=list)


# --- participant flow -------------------------------------------------------------------------


@dataclass(slots=True)
class FlowCount:
    group_id: str
    num_subjects: int | None = None
    num_units: int | None = None  # when the units analysed are not participants
    comment: str | None = None


@dataclass(slots=True)
class Milestone:
    type: str  # STARTED, COMPLETED, NOT COMPLETED, or a submitter's milestone ("Received OL CZP")
    comment: str | None = None
    achievements: list[FlowCount] = field(default_factory=list)


@dataclass(slots=True)
class DropWithdraw:
    type: str  # "Lost to Follow-up", "Withdrawal by Subject", … (prose as registered)
    comment: str | None = None
    reasons: list[FlowCount] = field(default_factory=list)


@dataclass(slots=True)
class FlowPeriod:
    title: str
    milestones: list[Milestone] = field(default_factory=list)
    drop_withdraws: list[DropWithdraw] = field(default_factory=list)


@dataclass(slots=True)
class ParticipantFlow:
    pre_assignment_details: str | None = None
    recruitment_details: str | None = None
    type_units_analyzed: str | None = None
    groups: list[ResultGroup] = field(default_factory=list)
    periods: list[FlowPeriod] = field(default_factory=list)


# --- measures (baseline and outcomes share the table shape) --------------------------------------


@dataclass(slots=True)
class Measurement:
    group_id: str
    value: str | None = None
    spread: str | None = None  # the dispersion value (SD, SE, …) when the dispersion is a single number
    lower_limit: str | None = None  # range / CI / IQR bounds
    upper_limit: str | None = None
    comment: str | None = None  # why a value is "NA"


@dataclass(slots=True)
class Category:
    title: str | None = None  # None: the class has a single, untitled category
    measurements: list[Measurement] = field(default_factory=list)


@dataclass(slots=True)
class MeasureClass:
    title: str | None = None  # None: the measure has a single, untitled class (row)
    denoms: list[Denom] = field(default_factory=list)
    categories: list[Category] = field(default_factory=list)


@dataclass(slots=True)
class BaselineMeasure:
    title: str
    description: str | None = None
    population_description: str | None = None
    param_type: str | None = None  # COUNT_OF_PARTICIPANTS, MEAN, MEDIAN, NUMBER, LEAST_SQUARES_MEAN, …
    dispersion_type: str | None = None  # STANDARD_DEVIATION, FULL_RANGE, INTER_QUARTILE_RANGE, CONFIDENCE_95, …
    unit: str | None = None
    calculate_pct: bool | None = None
    denom_units_selected: str | None = None
    denoms: list[Denom] = field(default_factory=list)
    classes: list[MeasureClass] = field(default_factory=list)


@dataclass(slots=True)
class Baseline:
    population_description: str | None = None
    type_units_analyzed: str | None = None
    groups: list[ResultGroup] = field(default_factory=list)
    denoms: list[Denom] = field(default_factory=list)
    measures: list[BaselineMeasure] = field(default_factory=list)


@dataclass(slots=True)
class Analysis:
    group_ids: list[str] = field(default_factory=list)
    group_description: str | None = None
    tested_non_inferiority: bool | None = None
    non_inferiority_type: str | None = None  # SUPERIORITY, NON_INFERIORITY, EQUIVALENCE, OTHER, …
    non_inferiority_comment: str | None = None
    p_value: str | None = None  # "0.366", "<0.001"
    p_value_comment: str | None = None
    statistical_method: str | None = None  # "ANCOVA", "t-test, 2 sided" (free text)
    statistical_comment: str | None = None
    param_type: str | None = None  # the estimate: "Hazard Ratio (HR)" (free text)
    param_value: str | None = None
    dispersion_type: str | None = None  # STANDARD_DEVIATION, STANDARD_ERROR_OF_MEAN
    dispersion_value: str | None = None
    ci_pct_value: str | None = None  # "95"
    ci_num_sides: str | None = None  # ONE_SIDED, TWO_SIDED
    ci_lower_limit: str | None = None
    ci_upper_limit: str | None = None
    ci_lower_limit_comment: str | None = None
    ci_upper_limit_comment: str | None = None
    estimate_comment: str | None = None
    other_analysis_description: str | None = None


@dataclass(slots=True)
class OutcomeMeasure:
    type: str | None = None  # PRIMARY, SECONDARY, OTHER_PRE_SPECIFIED, POST_HOC
    title: str = ""
    description: str | None = None
    population_description: str | None = None
    reporting_status: str | None = None  # POSTED, NOT_POSTED
    anticipated_posting_date: str | None = None
    param_type: str | None = None
    dispersion_type: str | None = None
    unit: str | None = None
    calculate_pct: bool | None = None
    time_frame: str | None = None
    type_units_analyzed: str | None = None
    denom_units_selected: str | None = None
    groups: list[ResultGroup] = field(default_factory=list)
    denoms: list[Denom] = field(default_factory=list)
    classes: list[MeasureClass] = field(default_factory=list)
    analyses: list[Analysis] = field(default_factory=list)


# --- adverse events ---------------------------------------------------------------------------


@dataclass(slots=True)
class EventGroup:
    id: str
    title: str | None = None
    description: str | None = None
    deaths_num_affected: int | None = None
    deaths_num_at_risk: int | None = None
    serious_num_affected: int | None = None
    serious_num_at_risk: int | None = None
    other_num_affected: int | None = None
    other_num_at_risk: int | None = None


@dataclass(slots=True)
class EventStats:
    group_id: str
    num_events: int | None = None
    num_affected: int | None = None
    num_at_risk: int | None = None


@dataclass(slots=True)
class EventTerm:
    term: str
    serious: bool  # from the serious table (True) or the other (non-serious) table
    organ_system: str | None = None  # MedDRA system organ class as registered ("Gastrointestinal disorders")
    source_vocabulary: str | None = None  # "MedDRA 23.1" (as registered)
    assessment_type: str | None = None  # SYSTEMATIC_ASSESSMENT, NON_SYSTEMATIC_ASSESSMENT
    notes: str | None = None
    stats: list[EventStats] = field(default_factory=list)


@dataclass(slots=True)
class AdverseEvents:
    frequency_threshold: str | None = None  # percent, as registered ("5")
    time_frame: str | None = None
    description: str | None = None
    all_cause_mortality_comment: str | None = None
    groups: list[EventGroup] = field(default_factory=list)
    events: list[EventTerm] = field(default_factory=list)  # serious ones first, each table in record order


# --- more information -------------------------------------------------------------------------


@dataclass(slots=True)
class PointOfContact:
    title: str | None = None
    organization: str | None = None
    email: str | None = None
    phone: str | None = None
    phone_ext: str | None = None


@dataclass(slots=True)
class MoreInfo:
    limitations: str | None = None
    pi_sponsor_employee: bool | None = None
    restrictive_agreement: bool | None = None
    restriction_type: str | None = None  # LTE60, GT60, OTHER
    agreement_other_details: str | None = None
    point_of_contact: PointOfContact | None = None


@dataclass(slots=True)
class Results:
    participant_flow: ParticipantFlow | None = None
    baseline: Baseline | None = None
    outcomes: list[OutcomeMeasure] = field(default_factory=list)
    adverse_events: AdverseEvents | None = None
    more_info: MoreInfo | None = None
