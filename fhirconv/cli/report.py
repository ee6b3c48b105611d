"""CLI: `fhirconv report` — one self-contained HTML page about a converted study: look instead of read."""

from __future__ import annotations

from typing import Any

import click
from click.core import ParameterSource

from fhirconv import progress
from fhirconv.cli.params import console_options
from fhirconv.cli.push import pop_server_config, server_options
from fhirconv.errors import UsageError


@click.command("report")
@click.argument("paths", nargs=-1, metavar="[PATH]...")
@click.option("-o", "--output", default="report.html", show_default=True, metavar="FILE|-",
              help="Where to write the page (- for stdout).")
@server_options
@click.option("--identifier", metavar="NCT…|SYSTEM|VALUE",
              help="With --server: the study's identifier (an NCT ID, or system|value).")
@console_options()
@click.pass_context
def report(ctx: click.Context, /, paths: tuple[str, ...], output: str, identifier: str | None, **kwargs: Any) -> None:
    """Write one self-contained HTML page about a converted study.

    PATH is our own output: a Bundle, NDJSON, or a directory of them (study and participants). Or, with
    --server, the study is read back from a FHIR server by its identifier. The page needs no network:
    styles, charts (SVG) and data are inline, and every chart has its data table."""
    # FHIRCONV_SERVER in the environment does not turn a report on files into one on the server.
    from_env = ctx.get_parameter_source("server") == ParameterSource.ENVIRONMENT
    from_server = bool(kwargs.get("server")) and not (paths and from_env)
    if paths and from_server:
        raise UsageError("give PATH or --server, not both", hint="fhirconv report --server URL --identifier NCT…")
    if not paths and not from_server:
        raise UsageError("no PATH given", hint="fhirconv report out/NCT04382547.R4.json -o report.html")
    try:
        import matplotlib  # noqa: F401  # the charts' library is an optional extra
    except ModuleNotFoundError:
        raise UsageError("fhirconv report needs matplotlib", hint='pip install "fhirconv[report]"') from None
    from fhirconv.report import build_report, read_resources, write_report

    with progress.start("reporting", "resources") as bar:
        if from_server:
            from fhirconv.report.server import read_study
            from fhirconv.transport import FhirClient

            config = pop_server_config(kwargs)
            with FhirClient(config) as client:
                source = f"{client.base_url} ({identifier or 'its one ResearchStudy'})"
                html, content = build_report(read_study(client, identifier), source=source, read=bar.advance)
        else:
            source = ", ".join(paths)
            html, content = build_report(read_resources(list(paths)), source=source, read=bar.advance)
    write_report(html, output)  # type: ignore[arg-type]
    if not progress.settings.quiet and output != "-":
        click.echo(f"report: {output} ({len(html) // 1024} KiB; {sum(content.counts.values())} resources, "
                   f"{len(content.subjects)} participants, {len(content.events)} adverse events)", err=True)


COMMANDS: list[click.Command] = [report]
