"""CLI: `fhirconv report` — one self-contained HTML page about a converted study: look instead of read."""

from __future__ import annotations

import click

from fhirconv import progress
from fhirconv.cli.params import console_options
from fhirconv.errors import UsageError


@click.command("report")
@click.argument("paths", nargs=-1, metavar="PATH...")
@click.option("-o", "--output", default="report.html", show_default=True, metavar="FILE|-",
              help="Where to write the page (- for stdout).")
@console_options()
def report(paths: tuple[str, ...], output: str) -> None:
    """Write one self-contained HTML page about a converted study.

    PATH is our own output: a Bundle, NDJSON, or a directory of them (study and participants). The page
    needs no network: styles, charts (SVG) and data are inline, and every chart has its data table."""
    if not paths:
        raise UsageError("no PATH given", hint="fhirconv report out/NCT04382547.R4.json -o report.html")
    try:
        import matplotlib  # noqa: F401  # the charts' library is an optional extra
    except ModuleNotFoundError:
        raise UsageError("fhirconv report needs matplotlib", hint='pip install "fhirconv[report]"') from None
    from fhirconv.report import build_report, read_resources, write_report

    source = ", ".join(paths)
    with progress.start("reporting", "resources") as bar:
        html, content = build_report(read_resources(list(paths)), source=source, read=bar.advance)
    write_report(html, output)  # type: ignore[arg-type]
    if not progress.settings.quiet and output != "-":
        click.echo(f"report: {output} ({len(html) // 1024} KiB; {sum(content.counts.values())} resources, "
                   f"{len(content.subjects)} participants, {len(content.events)} adverse events)", err=True)


COMMANDS: list[click.Command] = [report]
