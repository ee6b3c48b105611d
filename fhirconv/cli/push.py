"""CLI: `fhirconv push` and `fhirconv verify` — deliver bundles to a FHIR server and check they arrived."""

from __future__ import annotations

import warnings
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import unquote, urlsplit, urlunsplit

import click

from fhirconv import progress
from fhirconv.cli.params import FHIR_VERSION, console_options
from fhirconv.errors import ExitCode, UsageError
from fhirconv.transport import ServerConfig
from fhirconv.versions import FhirVersion

if TYPE_CHECKING:
    from fhirconv.push import PushOptions

F = TypeVar("F", bound=Callable[..., Any])

PUSH_EPILOG = """\b
Examples:
  fhirconv push out/ --server https://hapi.fhir.org/baseR4
  FHIRCONV_TOKEN=... fhirconv push bundle.json --server https://fhir.example.org/r4
  fhirconv push out/*.json --server http://localhost:8080/fhir --batch-size 500 --workers 4

\b
Every entry is a conditional update on its business identifier (or a PUT to a
deterministic id), so running the same push again creates no duplicates: an
interrupted push is resumed by running it again.

\b
Exit status: 0 all pushed; 1 invalid input or content; 2 bad arguments, or a server that
cannot take the content (FHIR version, no transactions, a redirect to another origin); 3 rejected by the server;
4 server unreachable; 5 partly failed (some transactions landed, some did not)."""

VERIFY_EPILOG = """\b
Exit status: 0 every resource is on the server once with the same content (id and
meta ignored); 5 something is missing, duplicated or different; 1 unusable input
file; 2 bad arguments, or a server that is not FHIR of the content's version;
3 the server refused a read; 4 server unreachable."""


def server_options(func: F) -> F:
    """The options that say where a FHIR server is and how to reach it (shared with `convert --push`).
    The decorated command receives them as keyword arguments; build the config with `server_config(**kw)`."""
    options = [
        click.option(
            "--server",
            envvar="FHIRCONV_SERVER",
            metavar="URL",
            show_envvar=True,
            help="FHIR base URL, e.g. https://hapi.fhir.org/baseR4.",
        ),
        click.option(
            "--token",
            envvar="FHIRCONV_TOKEN",
            metavar="TOKEN",
            show_envvar=True,
            show_default=False,
            help="Bearer token (prefer the environment variable: arguments show up in process lists).",
        ),
        click.option(
            "--user",
            "basic_user",
            envvar="FHIRCONV_USER",
            metavar="USER:PASSWORD",
            show_envvar=True,
            help="HTTP basic authentication.",
        ),
        click.option(
            "--ca-bundle",
            type=click.Path(exists=True, dir_okay=False),
            metavar="FILE",
            help="CA certificates (PEM) to verify the server's TLS certificate.",
        ),
        click.option("--insecure", is_flag=True, help="Do not verify TLS certificates (test servers only)."),
        click.option(
            "--timeout",
            type=click.FloatRange(min=1),
            default=120.0,
            show_default=True,
            help="Seconds to wait for each answer.",
        ),
        click.option(
            "--retries",
            type=click.IntRange(min=0),
            default=6,
            show_default=True,
            help="Retries of 429/502/503/504 and connection errors, with exponential backoff.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


def server_config(
    *,
    server: str | None,
    token: str | None,
    basic_user: str | None,
    ca_bundle: str | None,
    insecure: bool,
    timeout: float,
    retries: int,
) -> ServerConfig:
    if not server:
        raise UsageError("no FHIR server given", hint="pass --server URL or set FHIRCONV_SERVER")
    try:
        host = urlsplit(server).hostname
    except ValueError:  # e.g. an unclosed IPv6 bracket
        host = None
    shown = _shown(server)
    if not host:
        raise UsageError(f"--server {shown!r} has no host", hint="e.g. --server https://hapi.fhir.org/baseR4")
    if not server.startswith(("http://", "https://")):
        raise UsageError(
            f"--server {shown!r} is not an http(s) URL", hint="e.g. --server https://hapi.fhir.org/baseR4"
        )
    basic = None
    parts = urlsplit(server)
    if parts.query or parts.fragment:
        # A FHIR base URL has neither, and a query string is where people put API keys: refused, never echoed.
        raise UsageError(
            f"--server {shown!r} has a query string or fragment (not shown); a FHIR base URL has none",
            hint="give a token with --token or FHIRCONV_TOKEN",
        )
    if parts.username is not None:
        # user:password@ in the URL: take it as HTTP basic and keep it out of the URL, which messages print.
        if basic_user:
            raise UsageError("give credentials either in --server or with --user, not both")
        basic_user = f"{unquote(parts.username)}:{unquote(parts.password or '')}"
        netloc = parts.netloc.rpartition("@")[2]
        server = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
    if basic_user:
        user, sep, password = basic_user.partition(":")
        if not sep:
            raise UsageError("--user must be USER:PASSWORD")
        basic = (user, password)
    if token and basic:
        raise UsageError("give either --token or --user, not both")
    if insecure:
        progress.warn("--insecure", "--insecure: the server's TLS certificate is not verified")
        import urllib3

        # We said it once, plainly; urllib3 would repeat it for every request.
        warnings.filterwarnings("ignore", category=urllib3.exceptions.InsecureRequestWarning)
    return ServerConfig(
        server,
        token=token or None,
        basic=basic,
        ca_bundle=ca_bundle,
        insecure=insecure,
        timeout=timeout,
        retries=retries,
    )


def push_options(func: F) -> F:
    """Chunking options of a push (shared with `convert --push`)."""
    options = [
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=200,
            show_default=True,
            help="Most entries per transaction.",
        ),
        click.option(
            "--workers",
            type=click.IntRange(min=1, max=32),
            default=1,
            show_default=True,
            help="Transactions sent at the same time.",
        ),
    ]
    for option in reversed(options):
        func = option(func)
    return func


SERVER_KEYS = ("server", "token", "basic_user", "ca_bundle", "insecure", "timeout", "retries")


def pop_server_config(kwargs: dict[str, Any]) -> ServerConfig:
    """Take the `server_options` values out of a command's keyword arguments and check them."""
    return server_config(**{k: kwargs.pop(k) for k in SERVER_KEYS})


def pop_push_options(kwargs: dict[str, Any]) -> PushOptions:
    """Take the `push_options` values out of a command's keyword arguments."""
    from fhirconv.push import PushOptions

    return PushOptions(batch_size=kwargs.pop("batch_size"), workers=kwargs.pop("workers"))


def _format_option(func: F) -> F:
    return click.option(
        "--format",
        "out_format",
        type=click.Choice(["text", "json"]),
        default="text",
        show_default=True,
        help="Report format (json goes to stdout).",
    )(func)


@click.command(epilog=PUSH_EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@server_options
@push_options
@click.option(
    "--fhir-version",
    type=FHIR_VERSION,
    help="FHIR version of the bundles (default: detected from the content).",
)
@click.option(
    "--no-validate",
    "no_validate",
    is_flag=True,
    help="Send the content without checking it first with the offline validation layers.",
)
@_format_option
@console_options()
def push(
    paths: tuple[str, ...], fhir_version: FhirVersion | None, no_validate: bool, out_format: str, **kwargs: Any
) -> None:
    """Push transaction bundles (files or directories of *.json) to a FHIR server.

    The content is validated first (as `fhirconv validate` does, offline): invalid content is refused
    with the report, and nothing is sent."""
    from dataclasses import replace

    from fhirconv.push import push_files

    config = pop_server_config(kwargs)
    with progress.start("pushing", "resources") as bar:
        options = replace(pop_push_options(kwargs), validate=not no_validate, on_chunk=bar.step)
        report = push_files(paths, config, options=options, version=fhir_version)
    _emit(report.dumps() if out_format == "json" else report.to_text(), out_format)
    _exit(report.exit_code)


@click.command(epilog=VERIFY_EPILOG)
@click.argument("paths", nargs=-1, required=True, type=click.Path())
@server_options
@click.option(
    "--batch-size", type=click.IntRange(min=1), default=100, show_default=True, help="Reads per batch request."
)
@_format_option
@console_options()
def verify(paths: tuple[str, ...], batch_size: int, out_format: str, **kwargs: Any) -> None:
    """Check that every resource of the bundles is on the server, once, with the same content."""
    from fhirconv.push import verify_files

    config = pop_server_config(kwargs)
    with progress.start("verifying", "resources") as bar:
        report = verify_files(paths, config, batch_size=batch_size, on_batch=bar.step)
    _emit(report.dumps() if out_format == "json" else report.to_text(), out_format)
    _exit(report.exit_code)


def _emit(text: str, out_format: str) -> None:
    # A JSON report is data (stdout); a text report is a message to the person at the terminal (stderr),
    # like convert's summary line.
    click.echo(text, err=out_format != "json")


def _exit(code: ExitCode) -> None:
    if code != ExitCode.OK:
        raise click.exceptions.Exit(int(code))


COMMANDS: list[click.Command] = [push, verify]


def _shown(server: str) -> str:
    """The --server URL as messages may print it: without user:password and without query or fragment."""
    try:
        parts = urlsplit(server)
        netloc = parts.netloc.rpartition("@")[2]
        return urlunsplit((parts.scheme, netloc, parts.path, "", ""))
    except ValueError:
        return "(unparsable URL)"
