"""Run the validation layers over content, files, NDJSON and directories, and merge what they find."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from fhirconv.errors import UsageError, ValidationFailed
from fhirconv.validation.definitions import Walks
from fhirconv.validation.findings import Finding, Layer
from fhirconv.validation.integrity import integrity_findings
from fhirconv.validation.invariants import invariant_findings
from fhirconv.validation.schema import schema_findings
from fhirconv.validation.structure import structure_findings
from fhirconv.validation.terminology import terminology_findings
from fhirconv.versions import FhirVersion, detect_version, resources_of

OFFLINE_LAYERS: tuple[Layer, ...] = (
    Layer.STRUCTURE,
    Layer.SCHEMA,
    Layer.TERMINOLOGY,
    Layer.INVARIANT,
    Layer.INTEGRITY,
)
# When two layers report the same problem at the same element, the more specific one speaks for both
# (e.g. a bad status code in R4 is both a schema enum and a required-binding failure: terminology).
_PRIORITY = (
    Layer.SERVER,
    Layer.TERMINOLOGY,
    Layer.INVARIANT,
    Layer.INTEGRITY,
    Layer.STRUCTURE,
    Layer.SCHEMA,
    Layer.INPUT,
)

# Per-resource layers: run on each resource; Bundle entries are split off and run one by one. Those that walk
# the resource's elements share one walk per resource (`walks`).
_PER_RESOURCE: dict[Layer, Callable[..., list[Finding]]] = {
    Layer.STRUCTURE: structure_findings,
    Layer.TERMINOLOGY: terminology_findings,
    Layer.INVARIANT: invariant_findings,
}
_WALKING = frozenset({Layer.TERMINOLOGY, Layer.INVARIANT})


def validate_content(content: Any, version: FhirVersion, *, layers: Iterable[Layer] = OFFLINE_LAYERS) -> list[Finding]:
    """Validate a Bundle or a single resource (a parsed JSON object) with the chosen offline layers."""
    chosen = set(layers)
    findings: list[Finding] = []
    if Layer.SCHEMA in chosen:
        findings += schema_findings(content, version)
    if not isinstance(content, dict):
        return merge(findings)
    walks: Walks = {}  # content is not changed while it is validated, so each resource is walked once
    per_resource = [
        (lambda r, v, fn=fn: fn(r, v, walks)) if layer in _WALKING else fn
        for layer, fn in _PER_RESOURCE.items()
        if layer in chosen
    ]
    for fn in per_resource:
        findings += fn(content, version)
    if content.get("resourceType") == "Bundle" and isinstance(content.get("entry"), list):
        for index, entry in enumerate(content["entry"]):
            if not isinstance(entry, dict) or not isinstance(entry.get("resource"), dict):
                continue
            where: dict[str, Any] = {"entry": index}
            if isinstance(entry.get("fullUrl"), str):
                where["full_url"] = entry["fullUrl"]
            for fn in per_resource:
                findings += [f.with_context(**where) for f in fn(entry["resource"], version)]
    if Layer.INTEGRITY in chosen:
        findings += integrity_findings(content, version, walks)
    return merge(findings)


def ensure_valid(content: Any, version: FhirVersion, *, file: str | None = None) -> list[Finding]:
    """Run the offline layers; raise ValidationFailed (exit 1) carrying the text report if any error is found.
    Returns the non-error findings (warnings, notes) for the caller to show."""
    from fhirconv.validation.report import text_report

    findings = (
        [f.with_context(file=file) for f in validate_content(content, version)]
        if file
        else validate_content(content, version)
    )
    errors = [f for f in findings if f.is_error]
    if errors:
        raise ValidationFailed(
            f"the FHIR {version} output fails validation ({len(errors)} error(s)); nothing was written:\n"
            + text_report(errors).rstrip(),
            hint="fix the input or the mapping; --allow-invalid writes it anyway",
            file=file,
        )
    return findings


def merge(findings: list[Finding]) -> list[Finding]:
    """One finding per problem: errors at the same place from different layers become one finding of the
    most specific layer, naming the others in `also`. Output order: entry, then path."""
    groups: dict[tuple[Any, ...], list[Finding]] = {}
    singles: list[Finding] = []
    for f in findings:
        if f.is_error:
            groups.setdefault((f.file, f.line, f.entry, f.path), []).append(f)
        else:
            singles.append(f)
    merged: list[Finding] = []
    for group in groups.values():
        by_layer: dict[Layer, list[Finding]] = {}
        for f in group:
            by_layer.setdefault(f.layer, []).append(f)
        if len(by_layer) == 1:
            merged += group
            continue
        primary_layer = min(by_layer, key=_PRIORITY.index)
        # A finding merged before (e.g. structure+schema, then the server) keeps the layers it already had.
        agreeing = {layer for f in group for layer in (f.layer, *f.also)} - {primary_layer}
        others = tuple(sorted(agreeing, key=_PRIORITY.index))
        merged += [replace(f, also=others) for f in by_layer[primary_layer]]
    out = merged + singles
    out.sort(key=lambda f: (f.file or "", f.line or 0, -1 if f.entry is None else f.entry, f.path, f.layer))
    return out


@dataclass(slots=True)
class Document:
    """One thing to validate, read from a file: a resource or Bundle (or one NDJSON line)."""

    file: str
    content: Any
    line: int | None = None


@dataclass(slots=True)
class Result:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    documents: int = 0
    resources: int = 0
    unusable: list[UsageError] = field(default_factory=list)  # files that could not be read as FHIR JSON
    version: FhirVersion | None = None  # the version the content was checked as
    detected: FhirVersion | None = None  # what detection decided (None: not asked, or content fits both/neither)

    @property
    def errors(self) -> int:
        return sum(1 for f in self.findings if f.is_error)

    @property
    def ok(self) -> bool:
        return self.errors == 0


def iter_documents(
    paths: Iterable[str | Path], *, unusable: list[UsageError] | None = None
) -> Iterator[Document]:
    """Every resource or Bundle in the given files and directories (.json, .ndjson), in a stable order;
    "-" reads stdin (JSON, or NDJSON when it holds several lines of JSON). A file that is not JSON at all
    is unusable input (UsageError, exit 2): raised, or with `unusable` given, collected so that the
    other files are still checked."""
    for raw in paths:
        if str(raw) == "-":
            yield from _read_stdin()
            continue
        files = _files(raw)
        for file in files:
            if unusable is None:
                yield from _read(file)
                continue
            try:
                docs = list(_read(file))
            except UsageError as exc:
                unusable.append(exc)
                continue
            yield from docs


def _files(raw: str | Path) -> list[Path]:
    """The files a path names: itself, or a directory's .json and .ndjson files (sorted)."""
    path = Path(raw)
    if path.is_dir():
        files = sorted(p for p in path.rglob("*") if p.suffix in (".json", ".ndjson") and p.is_file())
        if not files:
            raise UsageError(f"no .json or .ndjson files in {path}", hint="give FHIR JSON or NDJSON files")
        return files
    if path.is_file():
        return [path]
    raise UsageError(f"no such file or directory: {path}", hint="check the path")


def _read_stdin() -> Iterator[Document]:
    text = sys.stdin.read()
    try:
        yield Document("<stdin>", _parse(text, Path("<stdin>"), None))
    except UsageError:
        lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
        if len(lines) < 2:
            raise
        for number, line in lines:
            yield Document("<stdin>", _parse(line, Path("<stdin>"), number), number)


def _read(file: Path) -> Iterator[Document]:
    try:
        if file.suffix == ".ndjson":
            # Line by line, never the whole file as text: an NDJSON file may be far larger than memory wants.
            with file.open(encoding="utf-8-sig", newline="") as handle:
                for number, line in enumerate(handle, start=1):
                    if line.strip():
                        yield Document(str(file), _parse(line, file, number), number)
            return
        text = file.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read: {exc}", file=str(file), hint="give UTF-8 FHIR JSON or NDJSON") from exc
    yield Document(str(file), _parse(text, file, None))


def _parse(text: str, file: Path, line: int | None) -> Any:
    try:
        value = json.loads(text)
    except RecursionError as exc:
        raise UsageError("JSON nested too deeply to be FHIR", file=str(file), hint="give FHIR JSON") from exc
    except json.JSONDecodeError as exc:
        where = f"line {line}" if line else f"line {exc.lineno} column {exc.colno}"
        raise UsageError(
            f"not valid JSON ({exc.msg}, {where})",
            file=str(file),
            hint="validate reads FHIR JSON (.json) or NDJSON (.ndjson, one resource per line)",
        ) from exc
    if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
        raise UsageError(
            "not a FHIR resource: a JSON object with a resourceType is expected",
            file=str(file),
            record=f"line {line}" if line else None,
            hint="give a FHIR resource, a Bundle, or NDJSON of resources",
        )
    return value


def count_resources(content: Any) -> int:
    if isinstance(content, dict) and content.get("resourceType") == "Bundle" and isinstance(content.get("entry"), list):
        return 1 + sum(1 for e in content["entry"] if isinstance(e, dict) and isinstance(e.get("resource"), dict))
    return 1


# How many documents (NDJSON lines, files) validate reads ahead to tell R4 from R5 before it falls back to R4.
_DETECT_AHEAD = 50


def _with_version(
    docs: Iterator[Document], version: FhirVersion | None, result: Result
) -> Iterator[tuple[Document, FhirVersion]]:
    """Each document with the version to check it as: `version`, or the one the content validates as (held
    documents are buffered until one decides; content that fits both or neither is checked as R4, and
    `result.detected` stays None to say so)."""
    if version is not None:
        for doc in docs:
            yield doc, version
        return
    held: list[Document] = []
    for doc in docs:
        held.append(doc)
        found = detect_version(resources_of(doc.content))
        if found is not None or len(held) >= _DETECT_AHEAD:
            break
    else:
        found = None
    result.detected = found
    chosen = found or FhirVersion.R4
    for doc in held:
        yield doc, chosen
    for doc in docs:
        yield doc, chosen


def validate_paths(
    paths: Sequence[str | Path],
    version: FhirVersion | None,
    *,
    layers: Iterable[Layer] = OFFLINE_LAYERS,
    extra: Callable[[Any, FhirVersion], list[Finding]] | None = None,
    jobs: int = 1,
    on_resources: Callable[[int], None] | None = None,
) -> Result:
    """Validate every document found under `paths` as `version` (None: detected from the content, as push
    does); `extra` adds findings per document (the server layer); `on_resources` is told how many resources
    were checked as they are (progress). jobs > 1: chunks of files are validated in worker processes and
    their results joined in input order, so the report is the same as with one job (the server layer and
    stdin stay in this process)."""
    chosen = tuple(layers)
    if jobs > 1 and extra is None and all(str(p) != "-" for p in paths):
        files = [str(f) for p in paths for f in _files(p)]
        if len(files) > 1:
            detected = None
            if version is None:  # decided here, once, so that every worker checks as the same version
                probe = Result()
                for _ in _with_version(iter_documents(files, unusable=[]), None, probe):
                    break
                detected = probe.detected
            result = _validate_parallel(files, version or detected or FhirVersion.R4, chosen, jobs, on_resources)
            result.detected = detected
            return result
    result = Result()
    seen_files: set[str] = set()
    docs = iter_documents(paths, unusable=result.unusable)
    for doc, doc_version in _with_version(docs, version, result):
        result.version = doc_version
        seen_files.add(doc.file)
        result.documents += 1
        count = count_resources(doc.content)
        result.resources += count
        found = validate_content(doc.content, doc_version, layers=chosen)
        if extra is not None:
            found = merge(found + extra(doc.content, doc_version))
        result.findings += [f.with_context(file=doc.file, line=doc.line) for f in found]
        if on_resources is not None:
            on_resources(count)
    result.files = len(seen_files)
    return result


def _validate_chunk(task: tuple[list[str], FhirVersion, tuple[Layer, ...]]) -> Result:
    files, version, layers = task
    return validate_paths(files, version, layers=layers)


def _validate_parallel(
    files: list[str],
    version: FhirVersion,
    layers: tuple[Layer, ...],
    jobs: int,
    on_resources: Callable[[int], None] | None = None,
) -> Result:
    from concurrent.futures import ProcessPoolExecutor

    size = max(1, min(16, len(files) // (jobs * 4)))
    tasks = [(files[i:i + size], version, layers) for i in range(0, len(files), size)]
    result = Result(version=version)
    with ProcessPoolExecutor(max_workers=jobs) as pool:
        for part in pool.map(_validate_chunk, tasks):  # in input order
            if on_resources is not None:
                on_resources(part.resources)
            result.findings += part.findings
            result.files += part.files
            result.documents += part.documents
            result.resources += part.resources
            result.unusable += part.unusable
    return result
