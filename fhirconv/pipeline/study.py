"""The convert pipeline: read records → map to FHIR → check → assemble bundles (no CLI, no printing)."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fhirconv.errors import FhirconvError, InputError
from fhirconv.model.study import Study, StudyRecord
from fhirconv.output.bundle import BundleKind, Keyed, build_bundle
from fhirconv.readers.failure import ReadFailure
from fhirconv.versions import FhirVersion


@dataclass(slots=True)
class Converted:
    """One study record and the resources it became, referenced resources first."""

    record: StudyRecord
    items: list[Keyed]

    @property
    def key(self) -> str:
        return self.record.study.nct_id


@dataclass(slots=True)
class Failed:
    """A record (or a whole source) that could not be converted, with where and why."""

    source: str
    record: str | None
    error: FhirconvError

    def describe(self) -> str:
        return str(self.error.located(file=self.source, record=self.record))


@dataclass(slots=True)
class Duplicate:
    """A study read a second time (same NCT ID, e.g. the same record in two formats): the first wins."""

    nct_id: str
    first: str
    again: str

    def describe(self) -> str:
        return f"{self.nct_id} was read from {self.first} already; the record in {self.again} is skipped"


@dataclass(slots=True)
class Summary:
    """Every record accounted for: read = converted + duplicates skipped + failed."""

    read: int = 0
    converted: int = 0
    failures: list[Failed] = field(default_factory=list)
    duplicates: list[Duplicate] = field(default_factory=list)

    @property
    def failed(self) -> int:
        return len(self.failures)

    def line(self) -> str:
        skipped = f", duplicates skipped: {len(self.duplicates)}" if self.duplicates else ""
        return f"records read: {self.read}, converted: {self.converted}{skipped}, failed: {self.failed}"


def map_study(study: Study, version: FhirVersion, *, check: bool = True) -> list[Keyed]:
    """Map one study to FHIR resources of `version` and check each with the structure check (a mapping defect
    raises ValidationFailed). `check=False` is for callers that run every validation layer on the result next
    (the structure layer applies the same check): checking twice would only cost time."""
    from fhirconv.mapping import map_study as _map
    from fhirconv.validation.structure import check_models

    items = _map(study, version)
    if check:
        check_models(items, version)
    return items


def convert_records(
    sources: Iterable[str], version: FhirVersion, summary: Summary
) -> Iterator[Converted | Failed | Duplicate]:
    """Read every source and map each record; failures are yielded (and counted), never raised, so one
    bad record does not stop the others. A study read again (same NCT ID) is yielded as a Duplicate."""
    from fhirconv.readers import read_sources

    yield from _convert_records(read_sources(sources), version, summary)


def _convert_records(
    records: Iterable[StudyRecord | ReadFailure], version: FhirVersion, summary: Summary
) -> Iterator[Converted | Failed | Duplicate]:
    seen: dict[str, str] = {}  # NCT ID -> where it was first read
    for item in records:
        summary.read += 1
        if not isinstance(item, StudyRecord):
            failed = Failed(item.source, _record_label(item.index, item.nct_id), item.error)
            summary.failures.append(failed)
            yield failed
            continue
        label = _record_label(item.index, item.study.nct_id)
        where = item.source if item.index is None else f"{item.source} (record {item.index})"
        first = seen.setdefault(item.study.nct_id, where)
        if first != where:
            duplicate = Duplicate(item.study.nct_id, first, where)
            summary.duplicates.append(duplicate)
            yield duplicate
            continue
        try:
            items = map_study(item.study, version)
        except FhirconvError as exc:
            failed = Failed(item.source, label, exc)
            summary.failures.append(failed)
            yield failed
            continue
        summary.converted += 1
        yield Converted(item, items)


def _record_label(index: int | None, nct_id: str | None) -> str | None:
    if nct_id and index is not None:
        return f"{index} ({nct_id})"
    if nct_id:
        return nct_id
    return None if index is None else str(index)


# Resources that different studies share: an Organization is keyed on the sponsor's name. Every other
# resource is keyed on its own study's ID (the study, its sites, its Group), and a study read twice is skipped,
# so those never repeat between studies. Remembering only these fullUrls keeps a run's memory flat.
SHARED_TYPES = frozenset({"Organization"})


class Merger:
    """Streams studies into one combined output: each study's resources, less the shared resources an
    earlier study already gave (the first is kept), so fullUrls stay unique in a combined bundle."""

    def __init__(self) -> None:
        self._shared: set[str] = set()

    def fresh(self, keys: Iterable[tuple[str, str]]) -> list[bool]:
        """Per (resource type, fullUrl) of a study's resources: whether it goes into the output (False for a
        shared resource given before). Within one study every item is kept: its mapping never repeats a key."""
        keep = []
        for rtype, url in keys:
            if rtype in SHARED_TYPES:
                if url in self._shared:
                    keep.append(False)
                    continue
                self._shared.add(url)
            keep.append(True)
        return keep


def merge(groups: Iterable[list[Keyed]]) -> list[Keyed]:
    """Concatenate resource lists, keeping the first of resources shared between studies (e.g. a sponsor
    Organization), so fullUrls stay unique in a combined bundle."""
    merger = Merger()
    merged: list[Keyed] = []
    for items in groups:
        keys = [(item.resource_type, item.full_url) for item in items]
        merged += [item for item, keep in zip(items, merger.fresh(keys), strict=True) if keep]
    return merged


def to_bundle(items: list[Keyed], version: FhirVersion, kind: BundleKind = "transaction") -> dict[str, Any]:
    return build_bundle(items, kind=kind, version=version)


def convert_study(
    study: Study, version: FhirVersion | str = FhirVersion.R4, *, kind: BundleKind = "transaction"
) -> dict[str, Any]:
    """Public API: one Study → a checked FHIR Bundle (as a dict) of the chosen version and kind."""
    v = version if isinstance(version, FhirVersion) else FhirVersion.parse(version)
    return to_bundle(map_study(study, v), v, kind)


@dataclass(slots=True)
class ParticipantRun:
    """The result of a study + participant-data conversion: the study-level resources, then the participant
    resources streaming from `rows`; `summary` is complete once `rows` has been consumed (and `rows` raises
    at its end if any row was rejected)."""

    study: Study
    study_items: list[Keyed]
    rows: Iterator[Keyed]
    summary: Any  # fhirconv.pipeline.participants.ParticipantSummary
    ignored_files: list[str] = field(default_factory=list)  # input tables no spec table reads (e.g. CM, EX)

    @property
    def items(self) -> Iterator[Keyed]:
        return itertools.chain(self.study_items, self.rows)


def convert_with_participants(
    study: Study | None,
    participants: Sequence[str | Path],
    version: FhirVersion,
    *,
    spec: str | Path | None = None,
    tz: str | None = None,
    strict: bool = False,
) -> ParticipantRun:
    """Study (or, with none, the study the SDTM trial-design domains describe) + participant data →
    resources. Every bad row is collected; once the stream is consumed, `check_participant_summary`
    raises naming each of them, so callers write nothing (output is atomic) when any row failed."""
    from fhirconv.pipeline.participants import ParticipantSummary, convert_participants
    from fhirconv.readers.participants import read_participants
    from fhirconv.readers.trial_design import arms_from_participants, study_from_design, study_from_participants

    data = read_participants(list(participants), spec=spec, on_error="collect")
    summary = ParticipantSummary()
    if study is None:
        if data.design is None:
            study = study_from_participants(data.participants)
            summary.warnings.append(
                f"no registry record and no trial-design domains (TS/TA): ResearchStudy {study.nct_id} is built "
                f"from DM's STUDYID and arms only (no title, status, phase or design)"
            )
        else:
            study = study_from_design(data.design)
            if not study.arm_groups:
                study.arm_groups = arms_from_participants(data.participants)
                if study.arm_groups:
                    summary.warnings.append("no trial arms (TA): the ResearchStudy's arms are DM's ARM values")
    study_items = map_study(study, version)

    def rows() -> Iterator[Keyed]:
        yield from convert_participants(data, study, version, tz=tz, strict=strict, summary=summary, on_error="collect")
        check_participant_summary(summary)

    return ParticipantRun(study, study_items, rows(), summary, list(getattr(data, "ignored_files", [])))


def check_participant_summary(summary: Any) -> None:
    """Refuse the output when any row was rejected or a file's rows do not add up."""
    if summary.rejections:
        first = summary.rejections[0]
        others = max(summary.rejected_total, len(summary.rejections)) - 1
        listed = len(summary.rejections) - 1
        more = f" (and {others} more rows, listed above)" if others else ""
        if others > listed:
            more = f" (and {others:,} more rows; the first {listed} are listed above)"
        raise InputError(
            f"{first.reason}{more}; nothing was written",
            file=first.file,
            record=f"row {first.row}",
            field=first.column,
            hint=getattr(first, "hint", None) or "fix the rows named, or map them with a column spec (--spec)",
        )
    unbalanced = summary.unbalanced()
    if unbalanced:
        raise InputError(
            f"rows read do not equal rows converted + merged + rejected in {', '.join(unbalanced)}",
            hint="this is a bug in fhirconv; run again with --traceback and report it",
        )
