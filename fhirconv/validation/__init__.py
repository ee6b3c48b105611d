"""Validation of FHIR content in layers: structure, JSON Schema, terminology, invariants, bundle integrity, server."""

from __future__ import annotations

import importlib
from typing import Any

# Public API, imported on first use: `fhirconv.validation.schema` alone should not pay for the
# models and the FHIRPath engine.
_EXPORTS = {
    "Finding": "findings",
    "Layer": "findings",
    "Severity": "findings",
    "OFFLINE_LAYERS": "run",
    "ensure_valid": "run",
    "validate_content": "run",
    "validate_paths": "run",
    "schema_findings": "schema",
    "operation_outcome": "report",
    "text_report": "report",
}
__all__ = [
    "OFFLINE_LAYERS",
    "Finding",
    "Layer",
    "Severity",
    "ensure_valid",
    "operation_outcome",
    "schema_findings",
    "text_report",
    "validate_content",
    "validate_paths",
]


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"fhirconv.validation.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'fhirconv.validation' has no attribute {name!r}")
