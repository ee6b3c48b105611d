"""R5 elements carried in R4 as extensions shaped like HL7's cross-version extensions (FHIR R5 "Extensions for
representing elements from other versions": a backbone element is one extension with a sub-extension per
child, named by the child), so R4 output keeps what R5 has an element for instead of dropping it or putting
it where it means something else."""

from __future__ import annotations

from typing import Any

# The official URLs are http://hl7.org/fhir/5.0/StructureDefinition/extension-<Type>.<element>. HAPI 8.8's
# validator recognises that pattern and, offline without the package hl7.fhir.uv.xver-r5.r4 that defines
# them, rejects every such extension as an error ("Extension url ... is not valid (invalid Version '5.0')"),
# so output carrying them cannot pass $validate here. Until the test server loads that package, the same
# shapes live under fhirconv's own base (an unknown extension is information-level for HAPI); switching to
# the official ones is this constant.
OFFICIAL_BASE = "http://hl7.org/fhir/5.0/StructureDefinition/extension-"
R5_BASE = "https://fhirconv.dev/fhir/StructureDefinition/r5-"


def url(path: str) -> str:
    """'ResearchStudy.associatedParty' → its cross-version extension URL."""
    return R5_BASE + path


def simple(path: str, value_type: str, value: Any) -> dict[str, Any]:
    """An extension for an R5 element of a single type: {'url': …, 'value<Type>': value}."""
    return {"url": url(path), f"value{value_type}": value}


def complex_(path: str, parts: list[tuple[str, str, Any]]) -> dict[str, Any]:
    """An extension for an R5 backbone element: one sub-extension per child element present, named by the
    child's element name (the rule of the cross-version definitions), in the order given."""
    return {"url": url(path),
            "extension": [{"url": name, f"value{value_type}": value} for name, value_type, value in parts]}
