"""Inputs the fuzz campaign found, kept as regression tests through the same targets the campaign uses
(the registry readers' findings are in tests/test_hostile_registry.py, through the CLI)."""

from __future__ import annotations

import pytest
from fuzz_targets import TARGETS, outcome

FINDINGS = [
    # campaign --seed 2: a spec nested thousands deep raised RecursionError (exit 70) in the YAML loader.
    ("spec-yaml", b"tables: " + b"[" * 5000),
    ("spec-yaml", b"tables: " + b"{a: " * 3000),
    # campaign --seed 1: an XML declaration naming an unknown encoding raised LookupError.
    ("xml", b'<?xml version="1.0" encoding="UXF-8"?><clinical_study/>'),
    ("xml", b'<?xml version="1.0" encoding="x-no-such"?>\n<!DOCTYPE a>\n<clinical_study/>'),
]


@pytest.mark.parametrize(("name", "data"), FINDINGS, ids=[f"{n}-{i}" for i, (n, _) in enumerate(FINDINGS)])
def test_finding_is_a_clean_error(name: str, data: bytes) -> None:
    assert outcome(TARGETS[name], data) == "error"
