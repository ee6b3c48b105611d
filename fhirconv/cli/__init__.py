"""The `fhirconv` command line: one click group, its sub-commands, and the error → exit-code funnel."""

from __future__ import annotations

import importlib
import traceback
from typing import Any

import click

from fhirconv import __version__, progress
from fhirconv.errors import ExitCode, FhirconvError

# The sub-commands: name -> (module, the one-line help `fhirconv --help` lists). Modules are imported only
# when their command runs, so that `--help` and `--version` do not load pydantic, the FHIR models and the
# mapping tables (1.3 s before; tests/test_cli_start.py keeps the lines here equal to the commands' own).
COMMANDS: dict[str, tuple[str, str]] = {
    "convert": ("fhirconv.cli.convert", "Convert ClinicalTrials.gov study records to FHIR."),
    "fetch": ("fhirconv.cli.fetch", "Download study records from ClinicalTrials.gov (API v2 JSON)."),
    "push": ("fhirconv.cli.push", "Push transaction bundles (files or directories of *.json) to a FHIR server."),
    "report": ("fhirconv.cli.report", "Write one self-contained HTML page about a converted study."),
    "validate": ("fhirconv.cli.validate", "Validate FHIR JSON: a Bundle, a resource, NDJSON, or directories of them."),
    "verify": (
        "fhirconv.cli.push",
        "Check that every resource of the bundles is on the server, once, with the same content.",
    ),
}


class _Group(click.Group):
    """Turns fhirconv errors into a message, a hint and an exit code instead of a traceback; loads each
    sub-command's module on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:  # noqa: ARG002
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:  # noqa: ARG002
        if cmd_name not in COMMANDS:
            return None
        module = importlib.import_module(COMMANDS[cmd_name][0])
        found: click.Command = next(c for c in module.COMMANDS if c.name == cmd_name)
        return found

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:  # noqa: ARG002
        # From the table, not from the commands: listing them must not import them.
        with formatter.section("Commands"):
            formatter.write_dl([(name, COMMANDS[name][1]) for name in sorted(COMMANDS)])

    def invoke(self, ctx: click.Context) -> Any:
        progress.reset()
        try:
            return super().invoke(ctx)
        except FhirconvError as exc:
            if ctx.obj and ctx.obj.get("traceback"):
                # Show where it came from, but keep the documented exit status: scripts must not see a
                # different code because someone is debugging.
                traceback.print_exc()
            click.echo(f"error: {exc}", err=True)
            if exc.hint:
                click.echo(f"hint: {exc.hint}", err=True)
            ctx.exit(int(exc.exit_code))
        except (click.exceptions.Exit, click.exceptions.Abort, click.ClickException):
            raise
        except KeyboardInterrupt:
            click.echo(
                "interrupted: no partial output file is left; run the same command again to finish "
                "(a push resumes without creating duplicates)",
                err=True,
            )
            ctx.exit(130)
        except Exception as exc:  # a bug: say so plainly, keep the traceback behind a flag
            if ctx.obj and ctx.obj.get("traceback"):
                traceback.print_exc()
            click.echo(f"internal error: {type(exc).__name__}: {exc}", err=True)
            click.echo("hint: this is a bug in fhirconv; run again with --traceback and report it", err=True)
            ctx.exit(int(ExitCode.INTERNAL))
        finally:
            progress.notices.flush()  # one line per repeated cause: "N more like it"


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fhirconv")
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Convert clinical-trial data to FHIR R4/R5, validate it, and deliver it to FHIR servers."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def run() -> None:
    """Console-script entry point (kept for callers of fhirconv.cli:run; the script uses fhirconv.entry)."""
    from fhirconv.entry import run as guarded

    guarded()


if __name__ == "__main__":  # pragma: no cover
    run()
