"""Participant data → validated FHIR resources (streamed), NDJSON bulk output, and the row-accounting summary."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from fhirconv.errors import FhirconvError, InputError, cut
from fhirconv.mapping.participants.common import Context, build_observation
from fhirconv.model.participants import (
    AdverseEventRecord,
    Disposition,
    Measurement,
    Participant,
    RowRejected,
    SourceRef,
    TrialDesign,
)
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed
from fhirconv.output.ndjson import write_ndjson
from fhirconv.pipeline.domains import EVENT_DOMAINS, subject_mappers
from fhirconv.validation.fast import FastValidator, full_validate
from fhirconv.versions import FhirVersion

__all__ = ["ParticipantSource", "ParticipantSummary", "convert_participants", "write_ndjson"]


class ParticipantSource(Protocol):
    """What the participant readers hand over (fhirconv.readers.participants.ParticipantData fits it).

    `measurements` and `adverse_events` are iterated once, streaming; rows a reader could not read
    come as RowRejected in those streams or in `rejected`. `row_counts` (rows read per file) is read
    after the streams are exhausted, so a reader may fill it while streaming."""

    # Read-only properties: a reader's mutable list attributes satisfy them (plain attributes would not).
    @property
    def participants(self) -> Sequence[Participant]: ...
    @property
    def dispositions(self) -> Sequence[Disposition]: ...
    @property
    def measurements(self) -> Iterable[Measurement | RowRejected]: ...
    @property
    def adverse_events(self) -> Iterable[AdverseEventRecord | RowRejected]: ...
    @property
    def rejected(self) -> Sequence[RowRejected]: ...
    @property
    def row_counts(self) -> Mapping[str, int]: ...
    @property
    def design(self) -> TrialDesign | None: ...


@dataclass(slots=True)
class FileCount:
    read: int = 0  # as the reader counted them (0 if it did not)
    converted: int = 0  # rows that became a resource of their own
    merged: int = 0  # rows folded into another resource (DS → ResearchSubject)
    rejected: int = 0


@dataclass(slots=True)
class Rejection:
    file: str
    row: int
    column: str | None
    reason: str
    hint: str | None = None


# Rejected rows kept (and printed) per run: enough to show every kind of problem, while a file of a million
# bad rows costs neither a million objects nor a million lines. The rest are counted, per file and in total.
MAX_LISTED_REJECTIONS = 100


@dataclass(slots=True)
class ParticipantSummary:
    """Every input row accounted for: rows read = converted + merged + rejected, per file."""

    files: dict[str, FileCount] = field(default_factory=dict)
    resources: Counter[str] = field(default_factory=Counter)
    rejections: list[Rejection] = field(default_factory=list)  # the first MAX_LISTED_REJECTIONS
    rejected_total: int = 0
    notes: Counter[str] = field(default_factory=Counter)  # e.g. DS rows whose category has no FHIR home
    warnings: list[str] = field(default_factory=list)  # about the run as a whole (e.g. what the study lacks)
    full_validations: int = 0
    fast_validations: int = 0
    shapes: int = 0

    def file(self, name: str) -> FileCount:
        found = self.files.get(name)
        if found is None:
            found = self.files[name] = FileCount()
        return found

    def reject(self, src: SourceRef, column: str | None, reason: str, hint: str | None = None) -> None:
        self.file(src.file).rejected += 1
        self.rejected_total += 1
        if len(self.rejections) < MAX_LISTED_REJECTIONS:
            self.rejections.append(Rejection(src.file, src.row, column, reason, hint))

    def unbalanced(self) -> list[str]:
        """Files whose reader-side row count does not match what the mapping accounted for."""
        return [
            name for name, c in sorted(self.files.items()) if c.read and c.read != c.converted + c.merged + c.rejected
        ]

    def lines(self) -> list[str]:
        out = [f"warning: {w}" for w in self.warnings]
        for name, c in sorted(self.files.items()):
            out.append(
                f"{name}: rows read {c.read or c.converted + c.merged + c.rejected}, "
                f"converted {c.converted}, merged {c.merged}, rejected {c.rejected}"
            )
        written = ", ".join(f"{t} {n}" for t, n in sorted(self.resources.items()))
        out.append(f"participant resources made: {written or 'none'}")
        for note, n in sorted(self.notes.items()):
            out.append(f"note: {n} × {note}")
        for r in self.rejections:
            col = f", column {r.column}" if r.column else ""
            hint = f" (hint: {r.hint})" if r.hint else ""
            out.append(f"rejected: {r.file} row {r.row}{col}: {r.reason}{hint}")
        unlisted = self.rejected_total - len(self.rejections)
        if unlisted:
            out.append(f"rejected: {unlisted} more rows, not listed (each file's count is above)")
        return out


def convert_participants(
    data: ParticipantSource,
    study: Study,
    version: FhirVersion,
    *,
    tz: str | None = None,
    strict: bool = False,
    summary: ParticipantSummary | None = None,
    on_error: Literal["raise", "collect"] = "raise",
) -> Iterator[Keyed]:
    """Map and validate participant records: Patients and ResearchSubjects first, then Observations and
    AdverseEvents streamed row by row. The study's own resources (ResearchStudy, ...) are not included:
    the caller puts them first. With on_error="raise" the first bad row raises (naming file, row, column);
    with "collect" bad rows are recorded in `summary` and skipped, so a caller can report all of them
    before refusing to write anything."""
    summary = summary if summary is not None else ParticipantSummary()
    ctx = Context.for_study(study, tz=tz, strict=strict)
    mappers = subject_mappers(version)
    domains = [(d, d.mapper(version)) for d in EVENT_DOMAINS]  # an unknown version fails here, at once
    validator = FastValidator(version)

    # The mapping names SDTM variables (ARM, LBSTRESU, ...); a reader that knows the file's own column
    # for each (read.ParticipantData) lets errors name the column as it is in the user's file.
    source_column: Callable[[str, str | None], str | None] | None = getattr(data, "source_column", None)

    def fail(exc: FhirconvError, src: SourceRef) -> None:
        if source_column is not None and exc.field is not None:
            own = source_column(src.file, exc.field)
            if own != exc.field:
                if exc.message.startswith(f"{exc.field} "):
                    exc.message = f"{own}{exc.message[len(exc.field) :]}"
                exc.field = own
        if on_error == "raise":
            raise exc.located(file=src.file, record=f"row {src.row}")
        summary.reject(src, exc.field, exc.message, exc.hint)

    def reader_rejections(rejected: Sequence[RowRejected]) -> None:
        for rej in rejected:
            hint = getattr(rej, "hint", None)
            if on_error == "raise":
                raise InputError(
                    rej.reason, file=rej.source.file, record=f"row {rej.source.row}", field=rej.column, hint=hint
                )
            summary.reject(rej.source, rej.column, rej.reason, hint)

    participant_files = ", ".join(sorted({p.source.file for p in data.participants})) or "the participant data"
    rejected_subjects: dict[str, SourceRef] = {}

    def subject_problem(subject_id: str) -> InputError:
        own = rejected_subjects.get(subject_id)
        if own is not None:
            return InputError(f"its subject {cut(subject_id)} was rejected ({own.file} row {own.row})", field="USUBJID")
        return InputError(f"unknown subject {cut(subject_id)} (not in {participant_files})", field="USUBJID")

    reader_rejections(data.rejected)
    early = len(data.rejected)

    subjects: dict[str, Participant] = {}
    for p in data.participants:
        first = subjects.get(p.subject_id)
        if first is not None:
            where = f"first at {first.source.file} row {first.source.row}"
            fail(InputError(f"duplicate subject {cut(p.subject_id)} ({where})", field="USUBJID"), p.source)
            continue
        subjects[p.subject_id] = p
    by_subject: dict[str, list[Disposition]] = {}
    for ds in data.dispositions:
        if ds.subject_id not in subjects:
            fail(subject_problem(ds.subject_id), ds.source)
            continue
        by_subject.setdefault(ds.subject_id, []).append(ds)

    def emit(item: Keyed, shape: Any = None) -> Keyed:
        validator.validate(item, shape)
        summary.resources[item.resource_type] += 1
        return item

    for p in subjects.values():
        dispositions = by_subject.get(p.subject_id, [])
        try:
            items = [mappers.map_patient(p, ctx), mappers.map_research_subject(p, dispositions, ctx)]
            age = mappers.map_age(p, ctx)
            if age is not None:
                items.append(age)
            for item in items:
                validator.validate(item)
        except FhirconvError as exc:
            fail(exc, p.source)
            rejected_subjects[p.subject_id] = p.source
            for ds in dispositions:
                reason = f"its subject {cut(p.subject_id)} was rejected ({p.source.file} row {p.source.row})"
                summary.reject(ds.source, None, reason)
            continue
        for item in items:
            summary.resources[item.resource_type] += 1
            yield item
        summary.file(p.source.file).converted += 1
        arm = ctx.arm(p.actual_arm, p.source, "ACTARM") or ctx.arm(p.arm, p.source, "ARM")
        if arm:  # which intervention an adverse event's relatedness refers to
            ctx.subject_arms[p.subject_id] = arm
        for ds in dispositions:
            summary.file(ds.source.file).merged += 1
            cat = (ds.category or "").strip().upper()
            if cat and cat not in ("DISPOSITION EVENT", "PROTOCOL MILESTONE"):
                summary.notes[f"DS {cat} row kept only in the summary (no FHIR element)"] += 1

    for subject_id in rejected_subjects:
        del subjects[subject_id]  # its observations and adverse events are rejected, naming its row

    # The hot loop (one pass per findings row): counts are kept in locals and handed to the summary
    # when a file's run of rows ends, and also if the loop stops early (finally).
    validated: set[int] = set()  # plans (by identity: ctx keeps them) whose shape was fully validated
    observations, run_file, run_count = 0, "", 0
    try:
        for m in data.measurements:
            if isinstance(m, RowRejected):
                fail(InputError(m.reason, field=m.column), m.source)
                continue
            try:
                if m.subject_id not in subjects:
                    raise subject_problem(m.subject_id)
                item, plan = build_observation(m, ctx)
                if plan.notes:
                    for note in plan.notes:
                        summary.notes[note] += 1
                if id(plan) in validated:
                    validator.validate_values(item)
                else:
                    validator.validate(item, plan.shape)
                    validated.add(id(plan))
            except FhirconvError as exc:
                fail(exc, m.source)
                continue
            file = m.source.file
            if file is not run_file:
                if run_count:
                    summary.file(run_file).converted += run_count
                run_file, run_count = file, 0
            run_count += 1
            observations += 1
            yield item
    finally:
        if run_count:
            summary.file(run_file).converted += run_count
        if observations:
            summary.resources["Observation"] += observations

    # Every registered domain that streams: AE, EX, CM, MH. A reader without `events` (a plain
    # ParticipantSource) has adverse events only.
    events: Mapping[str, Iterable[Any]] = getattr(data, "events", None) or {"adverse_event": data.adverse_events}
    for domain, map_one in domains:
        for record in events.get(domain.record, ()):
            if isinstance(record, RowRejected):
                fail(InputError(record.reason, field=record.column), record.source)
                continue
            try:
                if record.subject_id not in subjects:
                    raise subject_problem(record.subject_id)
                out = map_one(record, ctx)
                validator.validate_generic(out)
                summary.resources[out.resource_type] += 1
            except FhirconvError as exc:
                fail(exc, record.source)
                continue
            summary.file(record.source.file).converted += 1
            yield out

    # Rows a reader rejects while its streams run: SUPP-- qualifiers (loaded when the parent domain
    # starts streaming; orphans are known once it ends).
    reader_rejections(data.rejected[early:])
    for name, n in data.row_counts.items():
        summary.file(name).read = n
    # Rows a reader folded into other records (SUPP-- qualifiers, TS/TA), when it reports them. Its
    # count is of rows read: the rejected ones among them were not folded in.
    merged: Mapping[str, int] = getattr(data, "merged_counts", {})
    for name, n in merged.items():
        count = summary.file(name)
        count.merged += n - count.rejected
        count.read = count.read or n
    summary.full_validations = validator.full
    summary.fast_validations = validator.fast
    summary.shapes = validator.shapes


def validate_sample(items: Iterable[Keyed], version: FhirVersion, *, every: int = 100) -> int:
    """Fully validate every `every`-th item (a check of the fast path); returns how many were checked."""
    checked = 0
    for i, item in enumerate(items):
        if i % every == 0:
            full_validate(item, version)
            checked += 1
    return checked
