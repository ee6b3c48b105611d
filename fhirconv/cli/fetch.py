"""CLI: `fhirconv fetch` — study records from the ClinicalTrials.gov API v2, by NCT ID or by search."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager, nullcontext
from itertools import chain
from pathlib import Path
from typing import TextIO

import click

from fhirconv import progress
from fhirconv.cli.params import console_options
from fhirconv.ctgov.cache import render, study_nct_id
from fhirconv.ctgov.ids import normalize_all
from fhirconv.ctgov.options import CACHE_HELP, ctgov_options
from fhirconv.ctgov.settings import CtgovSettings
from fhirconv.ctgov.studies import StudySearch, get_study
from fhirconv.errors import UsageError
from fhirconv.output.files import atomic_writer, study_path, write_text

EPILOG = f"""\b
Output:
  -o DIR (default .)   one file per study: DIR/<NCT ID>.json (API v2 JSON, as convert reads it)
  -o - (one NCT ID)    that study's JSON on stdout
  --ndjson [-o FILE]   one study per line, to FILE or stdout (default)
Files are written atomically; an error never leaves a partial file.

{CACHE_HELP}

\b
Examples:
  fhirconv fetch NCT04382547 NCT02513394 -o records/
  fhirconv fetch --query 'query.cond=COVID-19&filter.overallStatus=COMPLETED' --max 200 -o covid/
  fhirconv fetch --query 'query.cond=asthma' --ndjson | fhirconv convert - -o bundles/

\b
Exit status: 0 fetched; 2 bad arguments or malformed NCT ID; 6 unknown NCT ID;
4 ClinicalTrials.gov unreachable after retries, or its answer unusable."""


@click.command(epilog=EPILOG)
@click.argument("nct_ids", nargs=-1, metavar="[NCT_ID]...")
@click.option(
    "--query",
    metavar="PARAMS",
    help="An API v2 search, e.g. 'query.cond=COVID-19&filter.overallStatus=COMPLETED'.",
)
@click.option(
    "--max",
    "max_studies",
    type=click.IntRange(min=0),
    default=1000,
    show_default=True,
    help="With --query: stop after this many studies (0: all of them).",
)
@click.option("-o", "--output", metavar="DIR|FILE|-", help="Output directory (or file with --ndjson, - for stdout).")
@click.option("--ndjson", is_flag=True, help="Write one study per line instead of one file per study.")
@console_options(expose_quiet=True)
@ctgov_options
def fetch(
    nct_ids: tuple[str, ...],
    query: str | None,
    max_studies: int,
    output: str | None,
    ndjson: bool,
    quiet: bool,
    ctgov: CtgovSettings,
) -> None:
    """Download study records from ClinicalTrials.gov (API v2 JSON).

    Name studies by NCT ID, or give --query to fetch every study a search matches
    (following the API's pages).
    """
    if bool(nct_ids) == bool(query):
        raise UsageError(
            "name NCT IDs or give --query (one of the two)",
            hint="e.g. fhirconv fetch NCT04382547, or fhirconv fetch --query 'query.cond=asthma'",
        )
    if nct_ids:
        ids = normalize_all(list(nct_ids))  # every ID checked before the first request
        if output == "-" and not ndjson and len(ids) > 1:
            raise UsageError("-o - writes a single study", hint="add --ndjson for several studies on stdout")
        studies, counts = _by_id(ids, ctgov)
        _write(studies, output, ndjson)
        line = (
            f"studies fetched: {counts['total']} (downloaded: {counts['downloaded']}, from cache: {counts['cached']})"
        )
    else:
        assert query is not None
        if output == "-" and not ndjson:
            raise UsageError("-o - writes a single study", hint="add --ndjson to write the search results to stdout")
        found = StudySearch(query, ctgov, max_studies)
        total = _write(_with_progress(found), output, ndjson)
        line = f"studies fetched: {total} (search pages: {found.pages})"
        if found.truncated:
            of = f" of {found.total}" if found.total is not None else ""
            line += f"; stopped at --max {max_studies}{of} (use --max 0 for all)"
    if not quiet:
        click.echo(line, err=True)


def _by_id(ids: list[str], ctgov: CtgovSettings) -> tuple[Iterator[tuple[str, str]], dict[str, int]]:
    counts = {"total": 0, "downloaded": 0, "cached": 0}

    def items() -> Iterator[tuple[str, str]]:
        with progress.start("fetching studies", "studies", len(ids)) as bar:
            for nct_id in ids:
                result = get_study(nct_id, settings=ctgov)
                counts["total"] += 1
                counts["cached" if result.from_cache else "downloaded"] += 1
                yield nct_id, result.path.read_text(encoding="utf-8")
                bar.advance()

    return items(), counts


def _with_progress(found: StudySearch) -> Iterator[tuple[str, str]]:
    iterator = iter(found)
    first = next(iterator, None)
    if first is None:
        return
    # The API's count of matches is known only once the first page is in; the bar starts then.
    length = found.total if found.total is not None else found.max
    if found.max and length:
        length = min(length, found.max)
    with progress.start("fetching studies", "studies", length or None) as bar:
        for study in chain([first], iterator):
            yield study_nct_id(study), render(study)
            bar.advance()


def _write(studies: Iterator[tuple[str, str]], output: str | None, ndjson: bool) -> int:
    """Write each study as it arrives; returns how many were written."""
    count = 0
    if ndjson:
        target = output or "-"
        with _ndjson_target(target) as handle:
            for _, text in studies:
                handle.write(json.dumps(json.loads(text), ensure_ascii=False) + "\n")
                count += 1
        return count
    if output == "-":
        for _, text in studies:
            write_text("-", text)
            count += 1
        return count
    folder = Path(output or ".")
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"-o {output}: not a directory", hint="one file per study needs a directory; or use --ndjson")
    for nct_id, text in studies:
        write_text(study_path(folder, nct_id, ".json"), text)
        count += 1
    return count


def _ndjson_target(target: str) -> AbstractContextManager[TextIO]:
    if target == "-":
        return nullcontext(sys.stdout)
    return atomic_writer(target)


COMMANDS: list[click.Command] = [fetch]
