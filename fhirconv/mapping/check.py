"""Check mapped resources against the fhir.resources models of their FHIR version before anything is written."""

from __future__ import annotations

from collections.abc import Iterable

from pydantic import ValidationError

from fhirconv.bundle import Keyed
from fhirconv.errors import ValidationFailed
from fhirconv.versions import FhirVersion, model_class


def check_models(items: Iterable[Keyed], version: FhirVersion) -> None:
    """Validate each resource dict (no dump or re-serialisation: validating the dict is the cost that
    matters); the first failure raises ValidationFailed naming resource type, key and element path."""
    for item in items:
        rtype = item.resource_type
        try:
            model_class(version, rtype).model_validate(item.resource)
        except ValidationError as exc:
            error = exc.errors()[0]
            path = ".".join(str(p) for p in error["loc"]) or "(resource)"
            more = len(exc.errors()) - 1
            suffix = f" (and {more} more)" if more else ""
            raise ValidationFailed(
                f"{version.value} {rtype} {item.system}|{item.value} is not valid FHIR: {path}: {error['msg']}{suffix}",
                field=path,
                hint="this is a fhirconv mapping defect if the input is well formed; please report it",
            ) from exc
