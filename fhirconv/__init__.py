"""fhirconv: clinical-trial data to FHIR R4/R5, validated and delivered to FHIR servers."""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # type checkers see the real, typed names; at run time they load on first use
    from fhirconv.ctgov import fetch_study
    from fhirconv.errors import ExitCode, FhirconvError
    from fhirconv.model.study import Study, StudyRecord
    from fhirconv.output.bundle import Keyed, build_bundle
    from fhirconv.pipeline.study import convert_study, convert_with_participants, map_study
    from fhirconv.push import push_bundles, push_files, verify_files
    from fhirconv.readers import read_sources, read_study
    from fhirconv.readers.participants import read_participants
    from fhirconv.validation import ensure_valid, validate_content
    from fhirconv.versions import FhirVersion

__version__ = "0.1.0"

# The typed public API, imported on first use so `import fhirconv` (and the CLI's start-up) stays cheap.
_EXPORTS = {
    "FhirVersion": "fhirconv.versions",
    "Keyed": "fhirconv.output.bundle",
    "build_bundle": "fhirconv.output.bundle",
    "Study": "fhirconv.model.study",
    "StudyRecord": "fhirconv.model.study",
    "read_sources": "fhirconv.readers",
    "read_study": "fhirconv.readers",
    "map_study": "fhirconv.pipeline.study",
    "convert_study": "fhirconv.pipeline.study",
    "convert_with_participants": "fhirconv.pipeline.study",
    "read_participants": "fhirconv.readers.participants",
    "validate_content": "fhirconv.validation",
    "ensure_valid": "fhirconv.validation",
    "fetch_study": "fhirconv.ctgov",
    "push_bundles": "fhirconv.push",
    "push_files": "fhirconv.push",
    "verify_files": "fhirconv.push",
    "FhirconvError": "fhirconv.errors",
    "ExitCode": "fhirconv.errors",
}

__all__ = [
    "ExitCode",
    "FhirVersion",
    "FhirconvError",
    "Keyed",
    "Study",
    "StudyRecord",
    "__version__",
    "build_bundle",
    "convert_study",
    "convert_with_participants",
    "ensure_valid",
    "fetch_study",
    "map_study",
    "push_bundles",
    "push_files",
    "read_participants",
    "read_sources",
    "read_study",
    "validate_content",
    "verify_files",
]


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'fhirconv' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
