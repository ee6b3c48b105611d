"""Convert on all cores: each study is read, mapped, validated and rendered to its output text in a worker
process; the caller takes the results in input order, so the output is the same bytes whatever --jobs is."""

from __future__ import annotations

import itertools
import os
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from fhirconv.errors import FhirconvError
from fhirconv.model.study import StudyRecord
from fhirconv.output.bundle import BundleKind, dumps, entry_text
from fhirconv.output.ndjson import ndjson_lines
from fhirconv.pipeline import study as _study
from fhirconv.pipeline.study import Failed, _record_label, to_bundle
from fhirconv.readers import bulk
from fhirconv.readers.failure import ReadFailure
from fhirconv.versions import FhirVersion


@dataclass(frozen=True, slots=True)
class Task:
    """What each worker is told: a run of input files and how to render them."""

    paths: tuple[str | tuple[str, str], ...]  # a file, or (bulk zip, member)
    version: FhirVersion
    kind: BundleKind
    out_format: str  # json | ndjson
    per_study: bool  # one file per study (its whole text) or entries of a combined output
    allow_invalid: bool


@dataclass(slots=True)
class Rendered:
    """One study's output: per resource its (type, fullUrl) and text (a combined bundle's entry, or an NDJSON
    line); for per-study output, one text, the whole file. `refused`: its output failed validation."""

    source: str
    where: str  # the file, and the record's index in it: tells a study read twice from one read once
    nct_id: str
    label: str | None
    keys: list[tuple[str, str]]
    texts: list[str]
    warning: str | None = None
    refused: FhirconvError | None = None


Outcome = Rendered | Failed


def default_jobs() -> int:
    """All the cores this process may run on."""
    try:
        return max(len(os.sched_getaffinity(0)), 1)
    except AttributeError:  # not Linux
        return max(os.cpu_count() or 1, 1)


def check_output(bundle: dict[str, object], version: FhirVersion, *, allow_invalid: bool,
                 label: str | None) -> str | None:
    """Every offline layer: raises ValidationFailed, or with allow_invalid returns the warning to print."""
    from fhirconv.validation import ensure_valid, text_report, validate_content

    if not allow_invalid:
        ensure_valid(bundle, version, file=label)
        return None
    errors = [f for f in validate_content(bundle, version) if f.is_error]
    if errors:
        return f"writing invalid output (--allow-invalid):\n{text_report(errors).rstrip()}"
    return None


def render_task(task: Task) -> list[Outcome]:
    """Read, map, validate and render every record of the task's files (in a worker, or inline)."""
    out: list[Outcome] = []
    for item in _read(task.paths):
        if isinstance(item, ReadFailure):
            out.append(Failed(item.source, _record_label(item.index, item.nct_id), item.error))
            continue
        study = item.study
        label = _record_label(item.index, study.nct_id)
        where = item.source if item.index is None else f"{item.source} (record {item.index})"
        try:
            # Without --allow-invalid, check_output's structure layer refuses what the mapping check would.
            items = _study.map_study(study, task.version, check=task.allow_invalid)
        except FhirconvError as exc:
            out.append(Failed(item.source, label, exc))
            continue
        kind: BundleKind = "collection" if task.out_format == "ndjson" else task.kind
        bundle = to_bundle(items, task.version, kind)
        done = Rendered(item.source, where, study.nct_id, label, [], [])
        out.append(done)
        try:
            done.warning = check_output(bundle, task.version, allow_invalid=task.allow_invalid, label=item.source)
        except FhirconvError as exc:
            done.refused = exc
            continue
        if task.per_study:
            text = "".join(ndjson_lines(items, task.version)) if task.out_format == "ndjson" else dumps(bundle)
            done.texts.append(text)
            continue
        done.keys = [(i.resource_type, i.full_url) for i in items]
        if task.out_format == "ndjson":
            done.texts = list(ndjson_lines(items, task.version))
        else:
            done.texts = [entry_text(e) for e in bundle["entry"]]
    return out


def _read(paths: Sequence[str | tuple[str, str]]) -> Iterator[StudyRecord | ReadFailure]:
    """The records of files and of bulk-zip members; a run of members of one zip opens it once."""
    from fhirconv.readers import read_sources

    for is_member, group in itertools.groupby(paths, key=lambda p: p[0] if isinstance(p, tuple) else None):
        if is_member is None:
            yield from read_sources([p for p in group if isinstance(p, str)])
        else:
            yield from bulk.read_members(is_member, [p[1] for p in group if isinstance(p, tuple)])


def _files(sources: Sequence[str]) -> list[str | tuple[str, str]]:
    """Each source as the units a worker reads: a directory's record files (sorted, as the readers walk it),
    a bulk zip's study members."""
    from fhirconv.readers import EXTENSIONS

    files: list[str | tuple[str, str]] = []
    for source in sources:
        if bulk.is_bulk(source):
            names = bulk.members(source)
            files += [source] if isinstance(names, ReadFailure) or not names else [(source, n) for n in names]
            continue
        path = Path(source)
        found = sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file()) \
            if source != "-" and path.is_dir() else []
        files += [str(p) for p in found] if found else [source]  # an empty directory: the reader says so
    return files


_INLINE_CHUNK = 16


def render_sources(sources: Sequence[str], template: Task, jobs: int) -> Iterator[Outcome]:
    """Every record's outcome, in input order. jobs > 1: chunks of files go to a pool of worker processes,
    a bounded number ahead of the one being taken (memory stays flat however fast the workers are)."""
    files = _files(sources)
    if "-" in files:  # stdin is this process's alone
        yield from render_task(Task(tuple(files), *_settings(template)))
        return
    if jobs <= 1 or len(files) < 2:
        # A task's outcomes (every record's output text) are held until it ends: in chunks of files, so one
        # process's memory stays flat however many records (one task for all held every text to the end).
        for i in range(0, len(files), _INLINE_CHUNK):
            yield from render_task(Task(tuple(files[i:i + _INLINE_CHUNK]), *_settings(template)))
        return
    # Small chunks keep the workers evenly busy; big enough that sending them costs little.
    size = max(1, min(16, len(files) // (jobs * 4)))
    tasks = (Task(tuple(files[i:i + size]), *_settings(template)) for i in range(0, len(files), size))
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        pending: deque[Future[list[Outcome]]] = deque()
        for task in tasks:
            pending.append(pool.submit(render_task, task))
            if len(pending) >= jobs * 3:
                yield from pending.popleft().result()
        while pending:
            yield from pending.popleft().result()


def _settings(task: Task) -> tuple[FhirVersion, BundleKind, str, bool, bool]:
    return task.version, task.kind, task.out_format, task.per_study, task.allow_invalid
