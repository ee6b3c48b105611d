"""The `fhirconv` command line: one click group, its sub-commands, and the error → exit-code funnel."""

from __future__ import annotations

import traceback
from typing import Any

import click

from fhirconv import __version__
from fhirconv.errors import ExitCode, FhirconvError


class _Group(click.Group):
    """Turns fhirconv errors into a message, a hint and an exit code instead of a traceback."""

    def invoke(self, ctx: click.Context) -> Any:
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


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="fhirconv")
@click.option("--traceback", is_flag=True, help="Show the full Python traceback on errors.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> None:
    """Convert clinical-trial data to FHIR R4/R5, validate it, and deliver it to FHIR servers."""
    ctx.ensure_object(dict)
    ctx.obj["traceback"] = traceback


def _register() -> None:
    # Explicit, sorted registry of sub-commands (habit 2): each module lists its commands.
    from fhirconv.cli import convert, fetch, push, validate

    commands = [*convert.COMMANDS, *fetch.COMMANDS, *push.COMMANDS, *validate.COMMANDS]
    for command in sorted(commands, key=lambda c: c.name or ""):
        main.add_command(command)


_register()


def run() -> None:
    """Console-script entry point."""
    main(prog_name="fhirconv")


if __name__ == "__main__":  # pragma: no cover
    run()
