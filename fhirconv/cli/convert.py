"""CLI: `fhirconv convert` — registry records (and participant data) to FHIR bundles."""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import click
import orjson

from fhirconv import progress
from fhirconv.cli.params import FHIR_VERSION, console_options, jobs_option
from fhirconv.cli.push import pop_push_options, pop_server_config, push_options, server_options
from fhirconv.ctgov import CtgovSettings, resolve_sources
from fhirconv.ctgov.options import CACHE_HELP, ctgov_options
from fhirconv.errors import ExitCode, FhirconvError, InputError, UsageError
from fhirconv.gc_tuning import fewer_collections
from fhirconv.output.bundle import BundleKind, Keyed, bundle_text, dumps
from fhirconv.output.files import study_path, write_lines, write_text
from fhirconv.output.ndjson import ndjson_lines
from fhirconv.pipeline.jobs import Task, check_output, default_jobs, render_sources
from fhirconv.pipeline.study import (
    Converted,
    Duplicate,
    Failed,
    Merger,
    Summary,
    convert_records,
    convert_with_participants,
    to_bundle,
)
from fhirconv.versions import FhirVersion

EPILOG = """\b
Output:
  no -o, or -o -     one bundle with every study, to stdout
  -o FILE            one bundle with every study, to FILE
  -o DIR/            one bundle per study: DIR/<NCT ID>.<R4|R5>.json (DIR is created;
                     an existing directory works without the trailing slash)
  --format ndjson    one resource per line instead of a Bundle (bulk loading)

\b
Examples:
  fhirconv convert examples/NCT04382547/NCT04382547.txt
  fhirconv convert study.json --fhir-version R5 -o out/
  fhirconv convert NCT04382547 --participants data/sdtm/ -o bundle.json
  curl ... | fhirconv convert - --bundle collection

Exit status: 0 all converted; 1 some record or row failed, or the output is invalid
(nothing invalid is written); 2 bad arguments or unusable input; 4 ClinicalTrials.gov
or the FHIR server unreachable; 6 unknown NCT ID; with --push also 3 rejected by the
server, 5 partly pushed."""


def _is_dir_target(output: str | None) -> bool:
    if output is None or output == "-":
        return False
    return output.endswith(("/", "\\")) or Path(output).is_dir()


@click.command(epilog=EPILOG + "\n\n" + CACHE_HELP)
@click.argument("sources", nargs=-1)
@click.option(
    "--fhir-version",
    "fhir_version",
    type=FHIR_VERSION,
    default="R4",
    show_default=True,
    help="FHIR version of the output (R4 = 4.0.1, R5 = 5.0.0).",
)
@click.option(
    "--bundle",
    "bundle_kind",
    type=click.Choice(["transaction", "batch", "collection"]),
    default="transaction",
    show_default=True,
    help="Bundle type; transaction entries are conditional updates, safe to post again.",
)
@click.option(
    "--format",
    "out_format",
    type=click.Choice(["json", "ndjson"]),
    default="json",
    show_default=True,
    help="json: a Bundle; ndjson: one resource per line.",
)
@click.option("-o", "--output", metavar="FILE|DIR", help="Where to write (default: stdout).")
@click.option(
    "--participants",
    multiple=True,
    type=click.Path(exists=True),
    metavar="PATH",
    help="Participant data (a directory or files; repeatable): CDISC SDTM domains (.xpt, .xpt.gz, .csv) "
    "or the simple CSV layout. Adds Patient, ResearchSubject, Observation, AdverseEvent, "
    "MedicationAdministration, MedicationStatement and Condition resources.",
)
@click.option(
    "--spec",
    metavar="FILE|NAME",
    help="Column-mapping spec for --participants (YAML or JSON), or a built-in layout: sdtm, simple-csv. "
    "Default: detected from the files.",
)
@click.option(
    "--timezone",
    "tz",
    metavar="ZONE",
    callback=lambda _ctx, _param, value: _check_tz(value),
    help="Zone of participant date-times (SDTM times have none; FHIR needs one): a fixed offset (+03:00, Z) "
    "or a time zone name (Europe/Minsk: the offset in force at each date, daylight saving included). "
    "Without it, times are cut to the date.",
)
@click.option(
    "--strict",
    is_flag=True,
    help="Refuse participant rows whose test code or unit fhirconv's code tables do not know (by default "
    "they are carried with their CDISC code / as unit text, and counted in the summary).",
)
@click.option(
    "--allow-invalid",
    is_flag=True,
    help="Write the output even if the offline validation layers find errors (they are still reported).",
)
@console_options(expose_quiet=True)
@jobs_option(" for registry records (default: all cores). The output is the same bytes for any N.")
@click.option(
    "--push",
    "do_push",
    is_flag=True,
    help="After writing, push the bundles to --server (see `fhirconv push --help`; needs --format json).",
)
@server_options
@push_options
@ctgov_options
def convert(
    sources: tuple[str, ...],
    fhir_version: FhirVersion,
    bundle_kind: BundleKind,
    out_format: str,
    output: str | None,
    participants: tuple[str, ...],
    spec: str | None,
    tz: str | None,
    strict: bool,
    allow_invalid: bool,
    quiet: bool,
    jobs: int | None,
    do_push: bool,
    ctgov: CtgovSettings,
    **server_and_push: Any,
) -> None:
    """Convert ClinicalTrials.gov study records to FHIR.

    SOURCES are files (API v2 JSON, v2 pages, NDJSON, classic JSON, legacy XML, or a
    study page saved as text), directories of them, - for stdin, or NCT IDs (fetched
    from ClinicalTrials.gov, see fetch). Before anything is written the output passes
    the offline validation layers (models, JSON Schema, terminology, invariants, bundle
    integrity); invalid output is refused with the report, unless --allow-invalid.
    """
    if not sources and not participants:
        raise UsageError("no SOURCE given", hint="name a study record file, a directory, or - for stdin")
    if output == "":
        raise UsageError("-o is empty", hint="give a file, a directory ending in /, or - for stdout")
    if not participants and (spec or tz or strict):
        raise UsageError(
            f"{'--spec' if spec else '--timezone' if tz else '--strict'} applies to participant data only",
            hint="add --participants PATH, or drop the option",
        )
    # Server settings are checked before any work, so a missing --server fails at once, not after conversion.
    pushing: list[tuple[str, dict[str, Any]]] | None = None
    if do_push:
        if out_format != "json" or bundle_kind == "collection":
            raise UsageError(
                "--push sends transaction bundles",
                hint="drop --format ndjson / --bundle collection (the defaults, json and transaction, push)",
            )
        config, push_opts = pop_server_config(server_and_push), pop_push_options(server_and_push)
        pushing = []
    if participants:
        sources = tuple(resolve_sources(list(sources), settings=ctgov))
        _convert_participants(
            sources, participants, fhir_version, bundle_kind, out_format, output,
            spec=spec, tz=tz, strict=strict, allow_invalid=allow_invalid, quiet=quiet, sink=pushing,
        )
    else:
        _convert_records(sources, fhir_version, bundle_kind, out_format, output, allow_invalid=allow_invalid,
                         quiet=quiet, sink=pushing, ctgov=ctgov, jobs=jobs or default_jobs())
    if pushing:
        from dataclasses import replace

        from fhirconv.push import push_bundles

        # Already validated as it was written (or --allow-invalid said to send it regardless).
        report = push_bundles(pushing, config, options=replace(push_opts, validate=False), version=fhir_version)
        click.echo(report.to_text(), err=True)
        if report.exit_code != ExitCode.OK:
            raise click.exceptions.Exit(int(report.exit_code))


def _convert_records(
    sources: tuple[str, ...],
    version: FhirVersion,
    bundle_kind: BundleKind,
    out_format: str,
    output: str | None,
    *,
    allow_invalid: bool,
    quiet: bool,
    sink: list[tuple[str, dict[str, Any]]] | None,
    ctgov: CtgovSettings,
    jobs: int,
) -> None:
    summary = Summary()
    # An NCT ID that cannot be fetched is a failed record like a bad file: the other sources still convert.
    unfetched: list[tuple[str, FhirconvError]] = []
    sources = tuple(resolve_sources(list(sources), settings=ctgov, failures=unfetched))
    for nct_id, exc in unfetched:
        summary.read += 1
        summary.failures.append(Failed(nct_id, None, exc))
        click.echo(f"error: {nct_id}: {exc}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
    per_study = _is_dir_target(output)
    merger = Merger()
    seen: dict[str, str] = {}  # NCT ID -> where it was first read: a duplicate check needs the ID only
    pushed: list[dict[str, Any]] = []  # with --push, the combined bundle's entries are kept to be sent
    template = Task((), version, bundle_kind, out_format, per_study, allow_invalid)

    def combined() -> Iterator[str]:
        """One study at a time, in input order: the entries (or NDJSON lines) of the combined output.
        Nothing but the IDs and the shared resources' fullUrls is kept between studies: memory stays flat."""
        for result in render_sources(sources, template, jobs):
            summary.read += 1
            bar.advance()
            if isinstance(result, Failed):
                summary.failures.append(result)
                click.echo(f"error: {result.describe()}", err=True)
                if result.error.hint:
                    click.echo(f"hint: {result.error.hint}", err=True)
                continue
            first = seen.setdefault(result.nct_id, result.where)
            if first != result.where:
                duplicate = Duplicate(result.nct_id, first, result.where)
                summary.duplicates.append(duplicate)
                progress.warn("studies read twice (the first copy kept)", duplicate.describe())
                continue
            if result.warning:
                progress.warn("invalid output written (--allow-invalid)", result.warning)
            if result.refused is not None:  # this study's output; the others still convert
                summary.failures.append(Failed(result.source, result.label, result.refused))
                click.echo(f"error: {result.refused}", err=True)
                continue
            summary.converted += 1
            if per_study:
                assert output is not None
                suffix = "ndjson" if out_format == "ndjson" else "json"
                try:
                    write_text(study_path(output, result.nct_id, f".{version.value}.{suffix}"), result.texts[0])
                except FhirconvError as exc:  # this study's file cannot be written; the others still are
                    summary.converted -= 1
                    summary.failures.append(Failed(result.source, result.label, exc))
                    click.echo(f"error: {exc}", err=True)
                    continue
                if sink is not None:
                    sink.append((result.source, orjson.loads(result.texts[0])))
                continue
            # What another study already gave (a shared sponsor) is left out of the combined output.
            for text, kept in zip(result.texts, merger.fresh(result.keys), strict=True):
                if kept:
                    if sink is not None:
                        pushed.append(orjson.loads(text))
                    yield text

    with fewer_collections(), progress.start("converting", "records") as bar:
        pieces = combined()
        first = next(pieces, None)  # drives the whole run when the output is per study
        if first is not None:  # nothing converted: nothing written
            rest = itertools.chain([first], pieces)
            write_lines(output, rest if out_format == "ndjson" else bundle_text(bundle_kind, rest))
    if sink is not None and pushed:
        sink.append(("convert", {"resourceType": "Bundle", "type": bundle_kind, "entry": pushed}))

    if not quiet:
        click.echo(summary.line(), err=True)
    if summary.failed:
        if sink is not None:
            click.echo(f"push skipped: {summary.failed} record(s) failed; fix them and run again", err=True)
        # One kind of failure (e.g. every source missing: usage) gives its own code; a mix is "invalid".
        codes = {f.error.exit_code for f in summary.failures}
        raise click.exceptions.Exit(int(codes.pop() if len(codes) == 1 else ExitCode.INVALID))


def _check_tz(value: str | None) -> str | None:
    from fhirconv.timezone import check_timezone

    try:
        return None if value is None else check_timezone(value)
    except InputError as exc:
        raise click.BadParameter(exc.message) from None


def _convert_participants(
    sources: tuple[str, ...],
    participants: tuple[str, ...],
    version: FhirVersion,
    kind: BundleKind,
    out_format: str,
    output: str | None,
    *,
    spec: str | None,
    tz: str | None,
    strict: bool,
    allow_invalid: bool,
    quiet: bool,
    sink: list[tuple[str, dict[str, Any]]] | None,
) -> None:
    """One study (a registry record, or the SDTM trial-design domains) + its participants → one output."""
    study = None
    if sources:
        summary = Summary()
        results = list(convert_records(sources, version, summary))
        if summary.failures:
            raise summary.failures[0].error.located(file=summary.failures[0].source, record=summary.failures[0].record)
        studies = [r for r in results if isinstance(r, Converted)]
        if len(results) != 1 or len(studies) != 1:
            raise UsageError(
                f"--participants needs exactly one study record, got {summary.read}",
                hint="convert the studies one at a time, each with its own participant data",
            )
        study = studies[0].record.study
    run = convert_with_participants(study, participants, version, spec=spec, tz=tz, strict=strict)
    target = output
    if _is_dir_target(output):
        assert output is not None
        suffix = "ndjson" if out_format == "ndjson" else "json"
        target = str(study_path(output, run.study.nct_id, f".{version.value}.{suffix}"))
    try:
        if out_format == "ndjson":
            # Streaming: rows are mapped, checked (models, on the fast path) and written one by one; the
            # study-level resources pass every offline layer first. A bad row anywhere discards the file.
            head = to_bundle(run.study_items, version, "collection")
            _validate(head, version, allow_invalid=allow_invalid, label=None)
            with progress.start("converting", "resources") as bar:
                write_lines(target, ndjson_lines(_counted(run.items, bar), version))
        else:
            with progress.start("converting", "resources") as bar:
                items = list(_counted(run.items, bar))
            text = _render(items, version, kind, "json", allow_invalid=allow_invalid, label=None, sink=sink)
            write_text(target, text)
    finally:
        if not quiet:
            for line in run.summary.lines():
                click.echo(line, err=True)
            if run.ignored_files:
                click.echo(f"not read (no mapping for these tables): {', '.join(run.ignored_files)}", err=True)


def _counted(items: Iterable[Keyed], bar: progress.Progress) -> Iterator[Keyed]:
    for item in items:
        bar.advance()
        yield item


def _render(
    items: list[Keyed],
    version: FhirVersion,
    kind: BundleKind,
    out_format: str,
    *,
    allow_invalid: bool,
    label: str | None,
    sink: list[tuple[str, dict[str, Any]]] | None = None,
) -> str:
    """Build the output text, after the offline validation layers have passed (or --allow-invalid).
    With a sink (convert --push) the bundle is also kept, to be pushed once everything is written."""
    bundle: dict[str, Any] = to_bundle(items, version, "collection" if out_format == "ndjson" else kind)
    _validate(bundle, version, allow_invalid=allow_invalid, label=label)
    if sink is not None:
        sink.append((label or "convert", bundle))
    if out_format == "ndjson":
        return "".join(ndjson_lines(items, version))
    return dumps(bundle)


def _validate(bundle: dict[str, Any], version: FhirVersion, *, allow_invalid: bool, label: str | None) -> None:
    warning = check_output(bundle, version, allow_invalid=allow_invalid, label=label)
    if warning:
        click.echo(f"warning: {warning}", err=True)


COMMANDS: list[click.Command] = [convert]
