"""CLI: `fhirconv push` (not yet built)."""

from __future__ import annotations

import click

COMMANDS: list[click.Command] = []
