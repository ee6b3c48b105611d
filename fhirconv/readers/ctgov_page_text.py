"""Reader for a ClinicalTrials.gov study page copied as text (the classic `ct2/show/NCT…` page layout).

The copy keeps the page's text and table rows ("Label: | value |") but loses its headings ("Brief
Summary", "Primary Outcome Measures", "Keywords provided by …", "Additional relevant MeSH terms",
"Sponsor:") and the separators between list items inside a table cell. What is recovered, and how:

- Labelled rows ("Study Type : | Interventional (Clinical Trial) |", "Allocation: | …", "Last Verified: |
  …", "Plan to Share IPD: | No |", FDA-regulated flags, ...) are read by label, so their order and the
  presence of optional rows do not matter. Enum prose is mapped with the shared normalisation.
- Conditions, keywords and MeSH terms arrive as one run of words ("COVID Covid-19 Coronavirus Pneumonia
  Pneumonia, Viral Pneumonia, Interstitial Sars-CoV2"). They are re-split by a least-cost segmentation:
  a known MeSH heading (the list in page_text_mesh.txt, plus headings found on the same page) is one
  item; "Head, Qualifier" (MeSH's inverted form, e.g. "Pneumonia, Interstitial") with a known or
  one-word head and a one-word qualifier is one item; an unknown
  phrase ending in a disease head noun ("Breast Cancer") is one item unless its tail is a known heading;
  every other word is an item of its own. Limits: an unknown multi-word condition without such a head
  noun (e.g. "Healthy Volunteers", "Post Covid Condition") comes out word by word.
- The lines after the last labelled row are, in page order, the keywords line and the one or two
  columns of "Additional relevant MeSH terms". With a single such line it is taken as MeSH terms.
  That MeSH list mixes the study's own terms with their ancestors, and condition terms with
  intervention terms, and the page does not say which is which: all of them become `condition_meshes`
  (without MeSH IDs, which the page does not show; the mapping makes the ones that name no condition
  keywords, as for legacy XML's browse terms), and are also kept in `PageExtras.mesh_terms`.
- "Plan to Share IPD" / "Plan Description" become the Study's IPD sharing plan, the FDA-regulated
  drug / device rows its oversight flags ("No Results Posted" / "Results First Posted": `has_results`).
- Interventions come from the "Intervention/treatment" cell, split at their type prefixes ("Drug:",
  "Other:", ...); a type prefix inside a name or description would split it wrongly. Their
  descriptions and arm links come from the arms table, where each known "Type: Name" is looked up.
- The text between the conditions table and the design rows is the study description. Without its
  heading the page cannot tell a brief summary from a detailed description: it becomes
  `brief_summary` (for NCT04382547 the registry holds this text as its detailed description and the
  copy does not show the brief summary at all).
- Outcome lists lose their "Primary/Secondary/Other Outcome Measures" headings: the first list (up to a
  blank line) is primary, a second secondary, a third other. Consecutive lists with no blank line
  between them therefore all count as primary.
- Sponsor: the header's "Sponsor:" line is used when the copy has it; otherwise the "Responsible
  Party" row stands in, when it names an organisation (no "Name, Title, Affiliation" commas): on the
  registry such a responsible party is the sponsor.
- For observational pages, text between the eligibility rows and "Inclusion Criteria" is the study
  population.
- Location blocks are "Country[, State] | |" headers, "Facility | |" lines and "City, [State,]
  Country[, ZIP] |" address lines; role rows after the last address whose run ends the section are
  the study officials, other role rows belong to the location above them.
Missing essentials (title, NCT ID, recruitment status, conditions table, study type) raise an
InputError naming the missing field; so do unreadable values (dates, enums, ages).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib.resources import files

from fhirconv.errors import FhirconvError, InputError, cut
from fhirconv.model.study import (
    ArmGroup,
    Contact,
    DateInfo,
    Enrollment,
    Intervention,
    IpdSharing,
    Location,
    Mesh,
    Official,
    Org,
    Outcome,
    Oversight,
    ResponsibleParty,
    SecondaryId,
    Source,
    Study,
    StudyRecord,
)
from fhirconv.readers import normalize as nz

__all__ = ["PageExtras", "parse_page_text", "read_page_text", "split_terms"]

FORMAT = "ctgov-page-text"
_HINT = "expected a ClinicalTrials.gov study page (classic layout) copied as text"


@dataclass(slots=True)
class PageExtras:
    """Fields the page shows that the Study model has no place for (yet)."""

    ipd_sharing: str | None = None  # YES | NO | UNDECIDED
    ipd_description: str | None = None
    fda_regulated_drug: bool | None = None
    fda_regulated_device: bool | None = None
    mesh_terms: list[str] = field(default_factory=list)  # all "Additional relevant MeSH terms", in order


def read_page_text(text: str, source: str) -> StudyRecord:
    """The dispatcher's entry point: page text → StudyRecord (raises InputError naming file and field)."""
    study, _ = parse_page_text(text, source)
    return StudyRecord(study=study, source=source, index=None, format=FORMAT)


def parse_page_text(text: str, source: str) -> tuple[Study, PageExtras]:
    page = _Page(text)
    nct_id = None
    try:
        nct_id = page.nct_id()
        return page.study(nct_id)
    except FhirconvError as exc:
        raise exc.located(file=source, record=nct_id) from None


def _outcome_parts(line: str) -> tuple[str, str, str] | None:
    """'- measure [Time Frame: tf] description' → (measure, tf, description), each stripped; else None."""
    if not line.startswith("-"):
        return None
    body = line[1:]
    opening = _TIME_FRAME.search(body)
    if opening is None:
        return None
    rest = body[opening.end() :]
    close = rest.find("]")
    if close < 0:
        return None
    return body[: opening.start()].strip(), rest[:close].strip(), rest[close + 1 :].strip()


# --- lines, cells and rows -----------------------------------------------------------------------


def _cells(line: str) -> list[str]:
    parts = [p.strip() for p in line.split("|")]
    while parts and not parts[-1]:
        parts.pop()
    return parts


@dataclass(slots=True)
class _Row:
    index: int  # line number
    label: str
    values: list[str]

    @property
    def value(self) -> str:
        return " ".join(v for v in self.values if v).strip()


def _row(index: int, line: str) -> _Row | None:
    if "|" not in line:
        return None
    first, _, rest = line.partition("|")
    first = first.strip()
    if not first.endswith(":") or len(first) < 2:
        return None
    return _Row(index, first[:-1].strip(), _cells(rest))


_ARM_TYPES = "Experimental|Active Comparator|Placebo Comparator|Sham Comparator|No Intervention|Other"
_IV_TYPES = (
    "Behavioral|Biological|Combination Product|Device|Diagnostic Test|Dietary Supplement|Drug|Genetic|"
    "Procedure|Radiation|Other"
)
_IV_PREFIX = re.compile(rf"(?:(?<=\s)|^)({_IV_TYPES}):\s+")
_ARM_LINE = re.compile(rf"^({_ARM_TYPES}):\s*(.+)$")
_ROLE_LABELS = {"Study Director", "Study Chair", "Principal Investigator", "Sub-Investigator"}
# An outcome line "- measure [Time Frame: tf] description" is cut at its literals by _outcome_parts:
# one regex with lazy groups next to \s* backtracks quadratically on a long run of spaces.
_TIME_FRAME = re.compile(r"\[\s*Time Frame:")
_DATE_ROW = re.compile(
    r"^(?:(Actual|Estimated|Anticipated)\s+)?(Study Start|Primary Completion|Study Completion) Date$"
)
_ENROLLMENT_ROW = re.compile(r"^(?:(Actual|Estimated|Anticipated)\s+)?Enrollment$")
_AGES = re.compile(
    r"^(?:(?P<min>\d+\s+\w+)\s+to\s+(?P<max>\d+\s+\w+)|(?P<min2>\d+\s+\w+)\s+and\s+older|"
    r"up\s+to\s+(?P<max2>\d+\s+\w+))?\s*(?:\((?P<std>[^()]*)\))?$"
)
_PHASE = re.compile(r"Early Phase 1|Phase [0-4]|Not Applicable|N/A")
_NCT = re.compile(r"ClinicalTrials\.gov Identifier:\s*(?:\|\s*)?(NCT\d{8})\b")  # not \s*\|?\s*: quadratic
_STATUS_END = re.compile(r"(?<=\s)(?:Verified\b|\(see\b)")
_OTHER_NAMES = re.compile(r"Other Names?:")
_OTHER_NAME_SEP = re.compile(r"(?:^|(?<=\s))-\s|;")  # "- name" items or "a; b"; parts are stripped
_OUTCOME_HEADING = re.compile(r"(Primary|Secondary|Other) Outcome Measures?\s*:?")
_LOCATIONS_END = {
    "Responsible Party",
    "ClinicalTrials.gov Identifier",
    "Other Study ID Numbers",
    "Publications",
    "Publications of Results",
    "Publications automatically indexed to this study by ClinicalTrials.gov Identifier (NCT Number)",
}


class _Page:
    def __init__(self, text: str) -> None:
        self.lines = [line.rstrip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n")]
        self.rows = [r for i, line in enumerate(self.lines) if (r := _row(i, line))]
        self.extras = PageExtras()

    # --- lookups ---

    def row(self, label: str) -> _Row | None:
        return next((r for r in self.rows if r.label == label), None)

    def rows_matching(self, pattern: re.Pattern[str]) -> list[tuple[_Row, re.Match[str]]]:
        return [(r, m) for r in self.rows if (m := pattern.match(r.label))]

    def value(self, label: str) -> str | None:
        r = self.row(label)
        return (r.value or None) if r else None

    def find(self, pattern: str, start: int = 0) -> int | None:
        rx = re.compile(pattern)
        return next((i for i in range(start, len(self.lines)) if rx.search(self.lines[i])), None)

    def header_value(self, pattern: str) -> str | None:
        """'Label : value' on one line, or 'Label :' with the value on the next non-empty line."""
        i = self.find(pattern)
        if i is None:
            return None
        m = re.search(pattern, self.lines[i])
        assert m is not None
        rest = self.lines[i][m.end() :].strip()
        if rest:
            return rest
        nxt = self._next_nonempty(i + 1)
        return self.lines[nxt].strip() if nxt is not None else None

    def _next_nonempty(self, i: int) -> int | None:
        return next((j for j in range(i, len(self.lines)) if self.lines[j].strip()), None)

    @staticmethod
    def missing(what: str) -> InputError:
        return InputError(f"page text has no {what}", field=what, hint=_HINT)

    # --- the study ---

    def nct_id(self) -> str:
        m = _NCT.search("\n".join(self.lines))
        if m is None:
            raise self.missing("ClinicalTrials.gov Identifier")
        return m.group(1)

    def study(self, nct_id: str) -> tuple[Study, PageExtras]:
        study = Study(nct_id=nct_id, source=Source(FORMAT))  # the page shows no data version
        first = self._next_nonempty(0)
        if first is None or _row(first, self.lines[first]) or "|" in self.lines[first]:
            raise self.missing("title")
        study.brief_title = self.lines[first].strip()
        self._status(study)
        self._sponsor_header(study)
        table_end = self._conditions_table(study)
        self._design(study, table_end)
        self._arms_and_outcomes(study)
        self._eligibility(study)
        self._locations(study)
        self._more_information(study)
        self._terms(study)
        return study, self.extras

    def _status(self, study: Study) -> None:
        status = self.header_value(r"^Recruitment Status\s*:")
        if status is None:
            raise self.missing("Recruitment Status")
        end = _STATUS_END.search(status)
        status = (status[: end.start()] if end else status).strip()
        study.overall_status = nz.enum_value("overall_status", status, field="Recruitment Status")
        was = self.header_value(r"^Recruitment status was\s*:")
        study.last_known_status = nz.enum_value("overall_status", was, field="Recruitment status was")
        posted = self.header_value(r"^First Posted\s+:")
        if posted:
            study.first_posted = DateInfo(nz.parse_date(posted, field="First Posted") or "")
        updated = self.header_value(r"^Last Update Posted\s+:")
        if updated:
            study.last_update_posted = DateInfo(nz.parse_date(updated, field="Last Update Posted") or "")
        if self.find(r"^Results First Posted\s*:") is not None:
            study.has_results = True
        elif self.find(r"^- No Results Posted\s*$") is not None:
            study.has_results = False

    def _sponsor_header(self, study: Study) -> None:
        # Full copies of the page show "Sponsor:" and "Collaborators:" under the header dates.
        sponsor = self.header_value(r"^Sponsor\s*:")
        if sponsor:
            study.lead_sponsor = Org(name=sponsor)
        i = self.find(r"^Collaborators?\s*:\s*$")
        if i is not None:
            for line in self.lines[i + 1 :]:
                if not line.strip() or ":" in line or "|" in line:
                    break
                study.collaborators.append(Org(name=line.strip()))

    def _conditions_table(self, study: Study) -> int:
        h = self.find(r"^Condition or disease\s*\|")
        if h is None:
            raise self.missing("Condition or disease")
        header = _cells(self.lines[h])
        i = h + 1
        if i < len(self.lines) and re.fullmatch(r"[-|\s]+", self.lines[i]):
            i += 1
        buf: list[str] = []
        while i < len(self.lines):
            buf.append(self.lines[i])
            i += 1
            if self.lines[i - 1].endswith("|") and len(_cells(" ".join(buf))) >= len(header):
                break
        cells = dict(zip(header, _cells(" ".join(buf)), strict=False))
        self._condition_cell = cells.get("Condition or disease", "")
        self._interventions_cell(study, cells.get("Intervention/treatment", ""))
        phase = cells.get("Phase")
        if phase:
            found = _PHASE.findall(phase)
            if not found:
                raise InputError(f"cannot read phase {cut(phase)}", field="Phase", hint="e.g. 'Phase 1 Phase 2'")
            study.design.phases = nz.phases(found, field="Phase")
        return i

    def _interventions_cell(self, study: Study, cell: str) -> None:
        parts = _IV_PREFIX.split(cell)
        # split() with one group gives ["", type, name, type, name, ...]
        for kind, name in zip(parts[1::2], parts[2::2], strict=True):
            if name.strip():
                study.interventions.append(
                    Intervention(
                        name=name.strip(),
                        type=nz.enum_value("intervention_type", kind, field="Intervention/treatment"),
                    )
                )
        self._iv_prose = {iv.name: prose for iv, prose in zip(study.interventions, parts[1::2], strict=False)}

    def _design(self, study: Study, start: int) -> None:
        st = self.row("Study Type")
        if st is None:
            raise self.missing("Study Type")
        block = list(self.lines[start : st.index])
        self._description(study, block)
        kind = st.value.rstrip()
        if kind.endswith("(Clinical Trial)"):
            kind = kind[: -len("(Clinical Trial)")].rstrip()
        base, registry, _ = kind.partition("[Patient Registry]")
        d = study.design
        if registry:
            d.patient_registry = True
        d.study_type = nz.enum_value("study_type", base.strip(), field="Study Type")
        for r, m in self.rows_matching(_ENROLLMENT_ROW):
            count = nz.parse_int(r.value.split()[0] if r.value else None, field=r.label)
            if count is not None:
                d.enrollment = Enrollment(count, nz.enum_value("enrollment_type", m.group(1), field=r.label))
        for label, kind_ in (
            ("Allocation", "allocation"),
            ("Intervention Model", "intervention_model"),
            ("Primary Purpose", "primary_purpose"),
            ("Observational Model", "observational_model"),
            ("Time Perspective", "time_perspective"),
        ):
            setattr(d, kind_, nz.enum_value(kind_, self.value(label), field=label))
        d.intervention_model_description = self.value("Intervention Model Description")
        d.masking, d.who_masked = nz.masking(self.value("Masking"), field="Masking")
        d.masking_description = self.value("Masking Description")
        d.target_duration = self.value("Target Follow-Up Duration")
        study.official_title = self.value("Official Title")
        study.acronym = self.value("Acronym")
        for r, m in self.rows_matching(_DATE_ROW):
            date = nz.parse_date(r.value, field=r.label)
            if date is None:
                continue
            info = DateInfo(date, nz.enum_value("date_type", m.group(1), field=r.label))
            slot = {"Study Start": "start_date", "Primary Completion": "primary_completion_date"}
            setattr(study, slot.get(m.group(2), "completion_date"), info)

    def _description(self, study: Study, block: list[str]) -> None:
        text = "\n".join(block).strip("\n")
        # Copies that kept the headings: split on them.
        m = re.search(r"^Detailed Description:\s*$", text, re.MULTILINE)
        if m:
            study.detailed_description = nz.clean_text(text[m.end() :])
            text = text[: m.start()]
        text = re.sub(r"^Brief Summary:\s*$", "", text, flags=re.MULTILINE)
        study.brief_summary = nz.clean_text(text)

    # --- arms and outcomes ---

    def _arms_and_outcomes(self, study: Study) -> None:
        h = self.find(r"^(?:Arm|Group/Cohort)\s*\|\s*Intervention/treatment\s*\|")
        i = h + 1 if h is not None else (self.row("Study Type") or _Row(0, "", [])).index
        if h is not None:
            if i < len(self.lines) and re.fullmatch(r"[-|\s]+", self.lines[i]):
                i += 1
            # Interventional pages head the table "Arm" and every arm starts "Type: Label";
            # observational "Group/Cohort" rows are bare labels.
            i = self._arm_rows(study, i, typed=self.lines[h].startswith("Arm"))
        self._outcomes(study, i)

    def _arm_rows(self, study: Study, i: int, *, typed: bool) -> int:
        while i < len(self.lines):
            line = self.lines[i].strip()
            if not line or line.startswith("- ") or _row(i, line):
                break
            arm_lines: list[str] = []
            iv_lines: list[str] = []
            while i < len(self.lines) and self.lines[i].strip() != "|":
                if self.lines[i].rstrip().endswith("|"):  # "label | interventions |" on one line
                    cells = _cells(self.lines[i])
                    arm_lines.append(cells[0] if cells else "")
                    iv_lines.extend(cells[1:])
                    break
                arm_lines.append(self.lines[i].strip())
                i += 1
            if i >= len(self.lines):
                raise InputError("unterminated arms table row", field="Arm", hint=_HINT)
            if self.lines[i].strip() == "|":
                i += 1
                while i < len(self.lines):
                    iv_lines.append(self.lines[i].strip())
                    i += 1
                    if iv_lines[-1].endswith("|"):
                        iv_lines[-1] = iv_lines[-1][:-1].rstrip()
                        break
            else:
                i += 1
            self._arm(study, arm_lines, "\n".join(iv_lines), typed=typed)
        return i

    def _arm(self, study: Study, arm_lines: list[str], iv_text: str, *, typed: bool) -> None:
        if not arm_lines or not arm_lines[0].strip():
            # A row that opens with its "|" separator: the arm's label and description were cut off.
            raise InputError("arms table row without an arm label", field="Arm", hint=_HINT)
        first, rest = arm_lines[0], arm_lines[1:]
        m = _ARM_LINE.match(first)
        if typed and m is None:
            raise InputError(
                f"arm {cut(first)} does not start with a known arm type",
                field="Arm",
                hint="arms read 'Experimental: label', 'Active Comparator: label', 'Placebo Comparator: label', ...",
            )
        label, prose = (m.group(2).strip(), m.group(1)) if m else (first.strip(), None)
        arm = ArmGroup(
            label=label,
            type=nz.enum_value("arm_type", prose, field=f"Arm {cut(label)}") if prose else None,
            description=nz.clean_text("\n".join(rest)),
        )
        study.arm_groups.append(arm)
        parts = _IV_PREFIX.split(iv_text)
        for kind, chunk in zip(parts[1::2], parts[2::2], strict=True):
            iv = self._match_intervention(study, kind, chunk)
            arm.intervention_names.append(f"{kind}: {iv.name}")
            if label not in iv.arm_group_labels:
                iv.arm_group_labels.append(label)

    def _match_intervention(self, study: Study, kind: str, chunk: str) -> Intervention:
        """'Name\\nDescription Other Names: ...' → the known intervention (or a new one), with details."""
        type_ = nz.enum_value("intervention_type", kind, field="Intervention/treatment")
        flat = " ".join(chunk.split())
        known = sorted(
            (iv for iv in study.interventions if iv.type == type_ and flat.startswith(iv.name)),
            key=lambda iv: -len(iv.name),
        )
        if known:
            iv, rest = known[0], flat[len(known[0].name) :]
        else:
            name, _, rest = chunk.strip().partition("\n")
            iv = Intervention(name=name.strip(), type=type_)
            study.interventions.append(iv)
        m = _OTHER_NAMES.search(rest)
        desc, other = (rest[: m.start()], rest[m.end() :]) if m else (rest, "")
        if desc.strip() and iv.description is None:
            iv.description = desc.strip()
        for name in _OTHER_NAME_SEP.split(other):
            if name.strip() and name.strip() not in iv.other_names:
                iv.other_names.append(name.strip())
        return iv

    def _outcomes(self, study: Study, i: int) -> None:
        stop = self.find(r"^(?:Choosing to participate|Ages Eligible for Study\s*:)", i)
        kinds = ["primary", "secondary", "other"]
        group = 0
        seen_any = False
        for line in self.lines[i : stop if stop is not None else len(self.lines)]:
            s = line.strip()
            heading = _OUTCOME_HEADING.fullmatch(s)
            if heading:
                group, seen_any = kinds.index(heading.group(1).lower()), False
                continue
            if not s:
                if seen_any:
                    group, seen_any = min(group + 1, 2), False
                continue
            parts = _outcome_parts(s)
            if parts:
                measure, time_frame, desc = parts
                study.outcomes.append(
                    Outcome(kind=kinds[group], measure=measure, time_frame=time_frame or None, description=desc or None)
                )
                seen_any = True
            elif s.startswith("- "):
                study.outcomes.append(Outcome(kind=kinds[group], measure=s[2:].strip()))
                seen_any = True
            elif study.outcomes and seen_any:
                last = study.outcomes[-1]
                last.description = f"{last.description}\n{s}" if last.description else s

    # --- eligibility ---

    def _eligibility(self, study: Study) -> None:
        el = study.eligibility
        ages = self.row("Ages Eligible for Study")
        if ages is not None:
            self._ages(study, ages.value)
        el.sex = nz.enum_value("sex", self.value("Sexes Eligible for Study"), field="Sexes Eligible for Study")
        el.gender_based = nz.parse_bool(self.value("Gender Based Eligibility"), field="Gender Based Eligibility")
        el.gender_description = self.value("Gender Eligibility Description")
        el.healthy_volunteers = nz.parse_bool(
            self.value("Accepts Healthy Volunteers"), field="Accepts Healthy Volunteers"
        )
        el.sampling_method = nz.enum_value("sampling_method", self.value("Sampling Method"), field="Sampling Method")
        labels = (
            "Ages Eligible for Study",
            "Sexes Eligible for Study",
            "Gender Based Eligibility",
            "Gender Eligibility Description",
            "Accepts Healthy Volunteers",
            "Sampling Method",
        )
        last = max((r.index for r in self.rows if r.label in labels), default=None)
        if last is None:
            return
        end = self.find(r"^(?:To learn more about this study|Please refer to this study|Contacts and Locations)", last)
        block = self.lines[last + 1 : end if end is not None else len(self.lines)]
        text = "\n".join(block).strip("\n")
        m = re.search(r"^Inclusion Criteria", text, re.MULTILINE)
        if el.sampling_method and m and m.start() > 0:
            el.study_population = nz.clean_text(text[: m.start()])
            text = text[m.start() :]
        el.criteria = nz.clean_text(text)

    def _ages(self, study: Study, text: str) -> None:
        el = study.eligibility
        m = _AGES.match(text.strip())
        if m is None or not (m["min"] or m["min2"] or m["max2"] or m["std"]):
            raise InputError(
                f"cannot read ages {cut(text)}",
                field="Ages Eligible for Study",
                hint="expected e.g. '18 Years to 70 Years (Adult, Older Adult)' or '18 Years and older (Adult)'",
            )
        el.minimum_age = nz.parse_age(m["min"] or m["min2"], field="Ages Eligible for Study")
        el.maximum_age = nz.parse_age(m["max"] or m["max2"], field="Ages Eligible for Study")
        std = [s for s in (m["std"] or "").split(",") if s.strip()]
        el.std_ages = nz.enum_values("std_age", std, field="Ages Eligible for Study")

    # --- contacts and locations ---

    def _locations(self, study: Study) -> None:
        start = self.find(r"^Please refer to this study by its ClinicalTrials\.gov identifier")
        if start is None:
            return
        end_row = next((r for r in self.rows if r.index > start and r.label in _LOCATIONS_END), None)
        end = end_row.index if end_row else len(self.lines)
        lines = [(i, self.lines[i].strip()) for i in range(start + 1, end) if self.lines[i].strip()]

        # The run of role rows that closes the section lists the study officials.
        k = len(lines)
        while k > 0 and (r := _row(*lines[k - 1])) and r.label in _ROLE_LABELS:
            k -= 1
        for i, line in lines[k:]:
            r = _row(i, line)
            assert r is not None
            vals = [v for v in r.values if v]
            if not vals:
                raise InputError("official without a name", field=r.label, hint=_HINT)
            study.officials.append(
                Official(
                    name=vals[0],
                    role=nz.enum_value("official_role", r.label, field=r.label),
                    affiliation=", ".join(vals[1:]) or None,
                )
            )

        country: str | None = None
        state: str | None = None
        pending: str | None = None
        for n, (i, line) in enumerate(lines[:k]):
            r = _row(i, line)
            if r is not None and (r.label in _ROLE_LABELS or r.label == "Contact"):
                contact = _contact(r)
                if study.locations:
                    study.locations[-1].contacts.append(contact)
                else:
                    study.central_contacts.append(contact)
                continue
            if line.endswith("| |") or line.endswith("||"):
                name = _cells(line)[0] if _cells(line) else ""
                nxt = lines[n + 1][1] if n + 1 < k else ""
                if _is_address(nxt):
                    pending = name
                else:  # a "Country[, State]" header above its sites
                    country, _, st = name.partition(",")
                    country, state, pending = country.strip(), st.strip() or None, None
                continue
            if _is_address(line):
                study.locations.append(_address(_cells(line)[0], pending, country, state))
                pending = None

    # --- more information ---

    def _more_information(self, study: Study) -> None:
        rp = self.value("Responsible Party")
        if rp:
            study.responsible_party, sponsor = _responsible_party(rp, study.lead_sponsor)
            if study.lead_sponsor is None and sponsor is not None:
                study.lead_sponsor = sponsor
        ids = self.row("Other Study ID Numbers")
        if ids is not None:
            values = [v for v in ids.values if v]
            for line in self.lines[ids.index + 1 :]:
                if not line.strip() or _row(0, line):
                    break
                values.extend(v for v in _cells(line) if v)
            if values:
                study.org_study_id = values[0]
                study.secondary_ids = [SecondaryId(id=v) for v in values[1:]]
        if study.first_posted is None and (posted := self.value("First Posted")):
            date = nz.parse_date(posted.replace("Key Record Dates", "").strip(), field="First Posted")
            study.first_posted = DateInfo(date) if date else None
        if study.last_update_posted is None and (updated := self.value("Last Update Posted")):
            date = nz.parse_date(updated, field="Last Update Posted")
            study.last_update_posted = DateInfo(date) if date else None
        study.status_verified_date = nz.parse_date(self.value("Last Verified"), field="Last Verified")
        ipd = self.value("Plan to Share IPD")
        if ipd is not None:
            self.extras.ipd_sharing = _IPD.get(ipd.lower())
            if self.extras.ipd_sharing is None:
                raise InputError(
                    f"unknown IPD sharing plan {cut(ipd)}", field="Plan to Share IPD", hint="Yes, No or Undecided"
                )
        self.extras.ipd_description = self.value("Plan Description")
        if ipd is not None or self.extras.ipd_description:
            study.ipd_sharing = IpdSharing(plan=self.extras.ipd_sharing, description=self.extras.ipd_description)
        self.extras.fda_regulated_drug = nz.parse_bool(
            self.value("Studies a U.S. FDA-regulated Drug Product"), field="Studies a U.S. FDA-regulated Drug Product"
        )
        self.extras.fda_regulated_device = nz.parse_bool(
            self.value("Studies a U.S. FDA-regulated Device Product"),
            field="Studies a U.S. FDA-regulated Device Product",
        )
        if self.extras.fda_regulated_drug is not None or self.extras.fda_regulated_device is not None:
            study.oversight = Oversight(fda_regulated_drug=self.extras.fda_regulated_drug,
                                        fda_regulated_device=self.extras.fda_regulated_device)

    # --- conditions, keywords, MeSH terms ---

    def _terms(self, study: Study) -> None:
        last = max((r.index for r in self.rows), default=0)
        tail = [_cells(line)[0] if _cells(line) else "" for line in self.lines[last + 1 :] if line.strip()]
        tail = [t for t in tail if t]
        keyword_line, mesh_lines = (tail[0], tail[1:]) if len(tail) >= 2 else (None, tail)
        mesh: list[str] = []
        for line in mesh_lines:
            mesh.extend(split_terms(line))
        lexicon = frozenset(t.casefold() for t in mesh)
        study.conditions = split_terms(self._condition_cell, lexicon)
        study.keywords = split_terms(keyword_line, lexicon) if keyword_line else []
        study.condition_meshes = [Mesh(term=t) for t in mesh]
        self.extras.mesh_terms = mesh


def _is_address(line: str) -> bool:
    cells = _cells(line)
    return line.endswith("|") and not line.endswith("| |") and len(cells) == 1 and "," in cells[0] and not _row(0, line)


def _address(text: str, facility: str | None, country: str | None, state: str | None) -> Location:
    parts = [p.strip() for p in text.split(",")]
    loc = Location(facility=facility, country=country, state=state)
    k = parts.index(country) if country in parts else None
    if k is None:
        # No header: "City, [State,] Country[, ZIP]" — a trailing part with digits is the ZIP.
        k = len(parts) - 2 if len(parts) >= 3 and any(ch.isdigit() for ch in parts[-1]) else len(parts) - 1
        loc.country = parts[k]
    head = parts[:k]
    if state and head and head[-1] == state:
        head = head[:-1]
    elif len(head) >= 2:
        loc.state = head[-1]
        head = head[:-1]
    loc.city = ", ".join(head) or None
    loc.zip = ", ".join(parts[k + 1 :]) or None
    return loc


_IPD = {"yes": "YES", "no": "NO", "undecided": "UNDECIDED"}
# No \s* before "ext": the class already takes spaces, and the overlap backtracked quadratically.
_PHONE = re.compile(r"^\+?[\d\s().-]{6,}(?:(?:ext\.?|x)\s*\d+)?$")


def _contact(r: _Row) -> Contact:
    vals = [v for v in r.values if v]
    contact = Contact(role=nz.enum_value("contact_role", r.label, field=r.label))
    for v in vals:
        if "@" in v and contact.email is None:
            contact.email = v
        elif _PHONE.match(v) and contact.phone is None:
            contact.phone = v
        elif contact.name is None:
            contact.name = v
    return contact


_ORG_SUFFIX = re.compile(r",\s*(?:LLC|L\.L\.C|Inc|Ltd|Limited|GmbH|AG|S\.A|SA|S\.p\.A|Co|Corp|B\.V|N\.V|plc)\.?$", re.I)


def _responsible_party(text: str, sponsor: Org | None) -> tuple[ResponsibleParty, Org | None]:
    """'Org name' (the sponsor) or 'Name, [Title,] Affiliation' (an investigator)."""
    if (sponsor is not None and text == sponsor.name) or "," not in text or _ORG_SUFFIX.search(text):
        return ResponsibleParty(type="SPONSOR"), Org(name=text)
    parts = [p.strip() for p in text.split(",")]
    title = ", ".join(parts[1:-1]) or None
    return (
        ResponsibleParty(
            type="PRINCIPAL_INVESTIGATOR",
            investigator_name=parts[0],
            investigator_title=title,
            investigator_affiliation=parts[-1],
        ),
        None,
    )


# --- re-splitting runs of terms ------------------------------------------------------------------


@cache
def _mesh_lexicon() -> frozenset[str]:
    data = files("fhirconv.readers").joinpath("page_text_mesh.txt").read_text(encoding="utf-8")
    return frozenset(line.strip().casefold() for line in data.splitlines() if line.strip() and not line.startswith("#"))


# Head nouns that end a multi-word condition name ("Breast Cancer", "Sickle Cell Disease").
_HEADS = frozenset(
    [
        "cancer",
        "cancers",
        "carcinoma",
        "carcinomas",
        "tumor",
        "tumors",
        "tumour",
        "tumours",
        "neoplasm",
        "neoplasms",
        "disease",
        "diseases",
        "disorder",
        "disorders",
        "syndrome",
        "syndromes",
        "infection",
        "infections",
        "failure",
        "injury",
        "injuries",
        "deficiency",
        "insufficiency",
        "lymphoma",
        "leukemia",
        "leukaemia",
        "sarcoma",
        "melanoma",
        "myeloma",
        "fibrosis",
        "arthritis",
    ]
)
_MAX_TERM_WORDS = 8


def split_terms(text: str | None, extra: frozenset[str] = frozenset()) -> list[str]:
    """Re-split a run of terms whose separators were lost, by least-cost segmentation (see module doc)."""
    if not text:
        return []
    lexicon = _mesh_lexicon() | extra
    words = text.split()
    n = len(words)
    inf = float("inf")
    best: list[tuple[float, int]] = [(0.0, 0)] + [(inf, 0)] * n  # (cost, start of last item)
    for j in range(1, n + 1):
        for i in range(max(0, j - _MAX_TERM_WORDS), j):
            if best[i][0] == inf:
                continue
            cost = _item_cost(words[i:j], lexicon)
            if best[i][0] + cost < best[j][0]:
                best[j] = (best[i][0] + cost, i)
    if best[n][0] == inf:  # e.g. a trailing "Word," that nothing can complete: keep words as they are
        return words
    out: list[str] = []
    j = n
    while j > 0:
        i = best[j][1]
        out.append(" ".join(words[i:j]))
        j = i
    return out[::-1]


def _item_cost(words: list[str], lexicon: frozenset[str]) -> float:
    if words[-1].endswith(","):
        return float("inf")  # "Pneumonia," always continues: MeSH's inverted "Head, Qualifier"
    phrase = " ".join(words)
    if phrase.casefold() in lexicon:
        return 1.0
    if len(words) == 1:
        return 2.0
    head, sep, qualifier = phrase.rpartition(", ")
    # An unknown inverted heading takes one qualifier word: "Pneumonia, Interstitial Sars-CoV2" is two items.
    if sep and len(qualifier.split()) == 1 and (head.casefold() in lexicon or " " not in head) and "," not in head:
        return 1.5
    if (
        "," not in phrase
        and len(words) <= 5
        and words[-1].casefold() in _HEADS
        and not any(w.casefold() in _HEADS for w in words[:-1])  # "Breast Cancer Lung Cancer" is two
        and not any(" ".join(words[k:]).casefold() in lexicon for k in range(1, len(words)))
    ):
        return 1.8
    return float("inf")
