"""CLI: `fhirconv validate` — is this FHIR content valid, whoever produced it; and the check `convert` runs."""

from __future__ import annotations

import json
from typing import Any

import click

from fhirconv import progress
from fhirconv.cli.params import FHIR_VERSION, console_options, jobs_option
from fhirconv.errors import ExitCode, UsageError
from fhirconv.validation.findings import Finding
from fhirconv.validation.report import coverage_report, operation_outcome, summary_line, text_report
from fhirconv.validation.run import OFFLINE_LAYERS, ensure_valid, validate_content, validate_paths
from fhirconv.versions import FhirVersion


def offline_findings(bundle_or_resource: dict[str, Any], version: FhirVersion) -> list[Finding]:
    """All offline layers on content about to be written (what `convert` calls before writing)."""
    return validate_content(bundle_or_resource, version, layers=OFFLINE_LAYERS)


__all__ = ["COMMANDS", "ensure_valid", "offline_findings", "validate"]


@click.command("validate")
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option(
    "--fhir-version",
    "version",
    type=FHIR_VERSION,
    default=None,
    help="FHIR version of the content: R4 (4.0.1) or R5 (5.0.0) (default: detected from the content, as push does).",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "json"]),
    default="text",
    show_default=True,
    help="text: grouped by file, resource and element; json: a FHIR OperationOutcome.",
)
@click.option("--server", metavar="URL", help="Also run this FHIR server's $validate and merge its findings.")
@click.option("--token", envvar="FHIRCONV_TOKEN", metavar="TOKEN", help="Bearer token for --server (never printed).")
@click.option("--user", "basic_user", envvar="FHIRCONV_USER", metavar="USER:PASSWORD", help="HTTP basic for --server.")
@click.option("--ca-bundle", type=click.Path(exists=True, dir_okay=False), help="CA certificates for --server's TLS.")
@click.option("--insecure", is_flag=True, help="Do not verify --server's TLS certificate (says so).")
@console_options()
@jobs_option(" (default: all cores); the report is the same for any N.")
@click.option(
    "--show-skipped",
    is_flag=True,
    help="List what the offline layers cannot check (value sets, invariants) and why, then exit.",
)
def validate(
    paths: tuple[str, ...],
    version: FhirVersion | None,
    fmt: str,
    server: str | None,
    token: str | None,
    basic_user: str | None,
    ca_bundle: str | None,
    insecure: bool,
    jobs: int | None,
    show_skipped: bool,
) -> None:
    """Validate FHIR JSON: a Bundle, a resource, NDJSON, or directories of them.

    Layers: structure (fhir.resources models), the official JSON Schema, required-binding terminology,
    FHIRPath invariants, bundle integrity, and optionally the server's $validate.
    Exit status: 0 valid, 1 invalid, 2 unusable input or arguments (or a --server of
    another FHIR version), 3 the server refused $validate, 4 the server cannot be reached."""
    if show_skipped:
        click.echo(coverage_report(version or FhirVersion.R4), nl=False)
        return
    if not paths:
        raise UsageError("no PATH given", hint="fhirconv validate FILE_OR_DIR... (see --help)")
    extra = None
    client = None
    if server is not None:
        from fhirconv.cli.push import server_config
        from fhirconv.transport import FhirClient
        from fhirconv.transport.capability import check_version
        from fhirconv.validation.server import server_findings

        # The same checks and connection settings as push and verify (URL, credentials, TLS).
        config = server_config(server=server, token=token, basic_user=basic_user, ca_bundle=ca_bundle,
                               insecure=insecure, timeout=120.0, retries=2)
        client = FhirClient(config)
        server_client = client
        checked: set[FhirVersion] = set()

        def extra(content: Any, content_version: FhirVersion) -> list[Finding]:
            # A server of another version would judge the content by other rules (hundreds of false errors);
            # asked once the content's version is known (it may be detected from the first documents).
            if content_version not in checked:
                check_version(server_client, content_version)
                checked.add(content_version)
            return server_findings(content, server_client)

    try:
        from fhirconv.pipeline.jobs import default_jobs

        with progress.start("validating", "resources") as bar:
            result = validate_paths(paths, version, extra=extra, jobs=jobs or default_jobs(), on_resources=bar.advance)
    finally:
        if client is not None:
            client.close()
    if fmt == "json":
        click.echo(json.dumps(operation_outcome(result.findings), ensure_ascii=False, indent=2))
    else:
        click.echo(text_report(result.findings), nl=False)
        click.echo(summary_line(result.findings, files=result.files, resources=result.resources,
                                unreadable=len(result.unusable)))
    if version is None and result.version is not None and not progress.settings.quiet:
        how = "detected from the content" if result.detected else "the content fits both or neither; R4 assumed"
        click.echo(f"checked as FHIR {result.version} ({how}; --fhir-version chooses)", err=True)
    for problem in result.unusable:  # unreadable files: named, the others still checked; exit 2 at the end
        click.echo(f"error: {problem}", err=True)
        if problem.hint:
            click.echo(f"hint: {problem.hint}", err=True)
    if result.unusable:
        raise click.exceptions.Exit(int(ExitCode.USAGE))
    if not result.ok:
        raise click.exceptions.Exit(int(ExitCode.INVALID))


COMMANDS: list[click.Command] = [validate]
