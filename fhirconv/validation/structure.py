"""Layer 1: structure (types, cardinality, required and choice elements, unknown elements, FHIR JSON rules).

The compiled check (fhirconv.validation.compiled) decides; only content it does not pass is explained by the
fhir.resources models (R5; R4B for R4), so the findings and their wording are the models' own."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from fhirconv.errors import ValidationFailed
from fhirconv.validation.compiled import problems
from fhirconv.validation.findings import Finding, Layer, Severity, join_path, resource_context
from fhirconv.validation.schema import other_version_hint
from fhirconv.versions import FhirVersion, ModelCrash, has_model, model_class, validate_model

if TYPE_CHECKING:
    from fhirconv.output.bundle import Keyed


CRASH = "wrong JSON type here"  # the start of a finding where the models crashed (versions.ModelCrash)


def structure_findings(resource: Any, version: FhirVersion) -> list[Finding]:
    """Check one resource (its contained resources included) against its fhir.resources model.

    A Bundle's entry resources are not descended into here: the caller checks each as its own resource."""
    if isinstance(resource, dict) and not has_model(version, str(resource.get("resourceType"))):
        return model_findings(resource, version)  # the JSON rules only; the SCHEMA layer checks it (NO_MODEL)
    if not problems(resource, version):
        return []  # exact: the compiled rules are no looser than the models' and the JSON rules below
    return model_findings(resource, version)


def model_findings(resource: Any, version: FhirVersion) -> list[Finding]:
    """What the models (and the FHIR JSON rules) find in one resource: the explanation of a compiled-check
    failure, and the oracle of tests/test_validate_compiled.py."""
    import pydantic  # only content the compiled check does not pass pays for the models

    context = resource_context(resource)
    if not isinstance(resource, dict):
        return [Finding(Severity.ERROR, Layer.STRUCTURE, "", "a resource must be a JSON object", "not-object")]
    rtype = resource.get("resourceType")
    try:
        model = model_class(version, rtype) if isinstance(rtype, str) and rtype.isidentifier() else None
    except (ImportError, AttributeError):
        model = None
    if model is None:
        return [
            Finding(
                Severity.ERROR,
                Layer.STRUCTURE,
                "resourceType",
                f"unknown resourceType {rtype!r} in FHIR {version}",
                "unknown-resource-type",
                **context,
            )
        ]
    body = resource
    if rtype == "Bundle" and isinstance(resource.get("entry"), list):
        body = {**resource, "entry": [_shell(e) for e in resource["entry"]]}
    found = [
        Finding(Severity.ERROR, Layer.STRUCTURE, path, message, code, **context)
        for path, message, code in _json_rules(body, str(rtype))
    ]
    if not has_model(version, str(rtype)):
        return found  # no faithful model: the SCHEMA layer checks it (versions.NO_MODEL)
    try:
        validate_model(version, str(rtype), body)
    except ModelCrash:
        # The models could not say where: the compiled check's paths (this resource's own, entries apart) do.
        where = [p for p in problems(body, version) if p not in {f.path for f in found}]
        where = where or ([] if found else [str(rtype)])
        text = f"{CRASH} (the FHIR {version} model cannot read it)"
        found += [Finding(Severity.ERROR, Layer.STRUCTURE, p, text, "wrong-type", **context) for p in where]
    except pydantic.ValidationError as exc:
        # Where a JSON rule already spoke, the model's complaint about the same value adds nothing.
        seen = {f.path for f in found}
        found += [f for f in (_translate(e, str(rtype), version, context) for e in exc.errors()) if f.path not in seen]
    return found


def _json_rules(value: Any, path: str) -> list[tuple[str, str, str]]:
    """FHIR JSON rules the models and the schema let through: no empty strings, no empty arrays, no nulls
    (except as placeholders in the arrays of a repeating primitive and its `_element` extensions)."""
    out: list[tuple[str, str, str]] = []
    if isinstance(value, dict):
        for key, item in value.items():
            at = f"{path}.{key}"
            if item is None:
                out.append((at, "null is not allowed in FHIR JSON (leave the element out)", "null-value"))
            elif item == "":
                out.append((at, "an empty string is not allowed in FHIR JSON (leave the element out)", "empty-string"))
            elif isinstance(item, list):
                if not item:
                    out.append((at, "an empty list is not allowed in FHIR JSON (leave the element out)", "empty-array"))
                # A null in a primitive array is allowed when the parallel `_key` array carries its extensions.
                paired = key.startswith("_") or isinstance(value.get(f"_{key}"), list)
                for i, element in enumerate(item):
                    if element is None and not paired:
                        out.append((f"{at}[{i}]", "null is not allowed in a FHIR JSON list", "null-value"))
                    elif element is not None:
                        out += _json_rules_item(element, f"{at}[{i}]")
            else:
                out += _json_rules_item(item, at)
    return out


def _json_rules_item(item: Any, at: str) -> list[tuple[str, str, str]]:
    if isinstance(item, dict):
        return _json_rules(item, at)
    if item == "":
        return [(at, "an empty string is not allowed in FHIR JSON (leave the element out)", "empty-string")]
    return []


def _shell(entry: Any) -> Any:
    return {k: v for k, v in entry.items() if k != "resource"} if isinstance(entry, dict) else entry


def _translate(error: Any, rtype: str, version: FhirVersion, context: dict[str, Any]) -> Finding:
    loc = [part for part in error["loc"] if isinstance(part, int | str)]
    path = join_path(rtype, loc)
    kind, msg = error["type"], error["msg"]
    if kind == "extra_forbidden":
        owner = join_path(rtype, loc[:-1]) if len(loc) > 1 else rtype
        hint = other_version_hint(rtype, str(loc[-1]), version) if len(loc) == 1 else ""
        text, code = (
            f"unknown element {loc[-1]!r}: {owner} has no such element in FHIR {version}{hint}",
            "unknown-element",
        )
    elif kind == "missing" or kind.endswith(".missing"):
        text, code = f"required element {loc[-1]!r} is missing", "required"
    elif kind == "string_pattern_mismatch" or "does not match spec regex" in msg:
        text, code = (
            f"{error.get('input')!r} is not a valid value here ({msg.removeprefix('Value error, ')})",
            "bad-format",
        )
    elif kind.endswith("_type") or kind in ("int_from_float", "json_invalid"):
        text, code = f"wrong type: {msg} (got {error.get('input')!r})", "wrong-type"
    else:
        text, code = msg.removeprefix("Value error, "), kind
    return Finding(Severity.ERROR, Layer.STRUCTURE, path, text, code, **context)


def check_models(items: Iterable[Keyed], version: FhirVersion) -> None:
    """The mapping-time check of freshly mapped resources: the first resource the compiled check does not pass
    and the models refuse raises ValidationFailed naming resource type, key and element path (a mapping defect)."""
    from pydantic import ValidationError

    for item in items:
        if not has_model(version, item.resource_type):
            continue  # checked by the official JSON Schema of the version instead (versions.NO_MODEL)
        if not problems(item.resource, version):
            continue
        try:
            validate_model(version, item.resource_type, item.resource)
        except ModelCrash as exc:
            path = problems(item.resource, version)[0]
            raise ValidationFailed(
                f"{version.value} {item.resource_type} {item.system}|{item.value} is not valid FHIR: {path}: {exc}",
                field=path,
                hint="this is a fhirconv mapping defect if the input is well formed; please report it",
            ) from exc
        except ValidationError as exc:
            # The error nearest the resource root first (a bad start date is named at `period.start`, not inside
            # the extension that repeats it), then in the resource's element order; the models list theirs in
            # field order.
            order = {key: i for i, key in enumerate(item.resource)}
            errors = sorted(
                exc.errors(), key=lambda e: (len(e["loc"]), order.get(str(e["loc"][0]) if e["loc"] else "", -1))
            )
            error = errors[0]
            path = ".".join(str(p) for p in error["loc"]) or "(resource)"
            more = len(errors) - 1
            suffix = f" (and {more} more)" if more else ""
            raise ValidationFailed(
                f"{version.value} {item.resource_type} {item.system}|{item.value} is not valid FHIR: {path}: "
                f"{error['msg']}{suffix}",
                field=path,
                hint="this is a fhirconv mapping defect if the input is well formed; please report it",
            ) from exc
