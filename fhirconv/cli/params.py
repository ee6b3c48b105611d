"""Option types shared by the commands, so each option reads and behaves the same everywhere."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import click

from fhirconv.versions import FhirVersion


class FhirVersionType(click.ParamType):  # type: ignore[type-arg]  # generic only in newer click stubs
    """R4 or R5 (also 4.0.1, 5.0.0, r4, ...), given to the command as a FhirVersion."""

    name = "R4|R5"

    def get_metavar(self, param: click.Parameter, ctx: click.Context | None = None) -> str:  # noqa: ARG002
        return "[R4|R5]"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> FhirVersion:
        if isinstance(value, FhirVersion):
            return value
        try:
            return FhirVersion.parse(str(value))
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


FHIR_VERSION = FhirVersionType()


def _set_progress(_ctx: click.Context, _param: click.Parameter, value: bool | None) -> bool | None:
    from fhirconv import progress

    progress.configure(progress=value)
    return value


def _set_quiet(_ctx: click.Context, _param: click.Parameter, value: bool) -> bool:
    from fhirconv import progress

    progress.configure(quiet=value)
    return value


F = TypeVar("F", bound=Callable[..., Any])


def console_options(*, expose_quiet: bool = False) -> Callable[[F], F]:
    """--progress/--no-progress and -q, the same on every long command (see fhirconv/progress.py)."""

    def decorate(f: F) -> F:
        f = click.option(
            "--progress/--no-progress",
            default=None,
            expose_value=False,
            callback=_set_progress,
            is_eager=True,
            help="Show progress on stderr (count, rate, ETA): a bar on a terminal, lines otherwise "
            "[default: a bar when stderr is a terminal].",
        )(f)
        return click.option(
            "-q",
            "--quiet",
            is_flag=True,
            expose_value=expose_quiet,
            callback=_set_quiet,
            is_eager=True,
            help="Print no progress, warnings or summary line on stderr (errors still are).",
        )(f)

    return decorate


def jobs_option(what: str) -> Callable[[F], F]:
    """-j/--jobs N, the same on every command that fans out to worker processes; `what` says what stays the same
    for any N (default None: the command takes all cores)."""
    return click.option(
        "-j",
        "--jobs",
        type=click.IntRange(min=1),
        default=None,
        metavar="N",
        help=f"Worker processes{what}",
    )
