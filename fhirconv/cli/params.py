"""Option types shared by the commands, so each option reads and behaves the same everywhere."""

from __future__ import annotations

from typing import Any

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
