"""Layer 2: the official FHIR JSON Schema (R4 4.0.1, R5 5.0.0), shipped gzipped, checked with jsonschema."""

from __future__ import annotations

import dataclasses
import gzip
import re
from functools import cache
from importlib import resources
from typing import Any

import jsonschema_rs
import orjson
from jsonschema import Draft6Validator
from jsonschema.exceptions import ValidationError

from fhirconv.validation.findings import Finding, Layer, Severity, join_path, resource_context
from fhirconv.versions import FhirVersion

SCHEMA_FILES = {FhirVersion.R4: "fhir.schema.R4.json.gz", FhirVersion.R5: "fhir.schema.R5.json.gz"}


@cache
def load_schema(version: FhirVersion) -> dict[str, Any]:
    """The official schema of `version`, unmodified (see data/SOURCES.md for where it comes from)."""
    blob = resources.files("fhirconv.validation").joinpath("data", SCHEMA_FILES[version]).read_bytes()
    schema: dict[str, Any] = orjson.loads(gzip.decompress(blob))
    return schema


def resource_types(version: FhirVersion) -> frozenset[str]:
    """The resource types of `version`, from the schema's resourceType discriminator."""
    return frozenset(load_schema(version)["discriminator"]["mapping"])


class _Checker:
    """One jsonschema validator per (version, resource type), validating against `#/definitions/<Type>`
    instead of the giant root oneOf: much faster, and the errors name the real element."""

    def __init__(self, version: FhirVersion) -> None:
        self.version = version
        schema = load_schema(version)
        self.definitions: dict[str, Any] = schema["definitions"]
        self._root = {k: v for k, v in schema.items() if k not in ("oneOf", "discriminator")}
        self._validators: dict[str, Draft6Validator] = {}
        self._fast: dict[str, Any] = {}
        # The R5 schema's decimal pattern has a stray '}' ("[0-9]{1,9}}"): Python's re reads it as a literal
        # '}', jsonschema-rs refuses the pattern. Escape it for jsonschema-rs only, so both read it alike.
        # ResourceList (any resource) is `false` for jsonschema-rs: every definition reaches it (through
        # contained, whose items are checked one by one below, and a few rarer elements), and with it each
        # resource type's validator compiled all ~700 definitions (~0.2 s per type and process). The resources
        # it stands for are stripped before the fast check (contained here, entry resources by
        # schema_findings), so `false` only ever meets a resource elsewhere, and such content is then judged
        # by jsonschema against the full, unmodified schema: the fast answer stays exact.
        self._fast_root = {
            **self._root,
            "definitions": {**_escape_stray_braces(self.definitions), "ResourceList": False},
        }
        # error.schema is the very dict of a definition: map it back to the definition's name.
        self.names = {id(body): name for name, body in self.definitions.items()}
        self.pattern_types = {body["pattern"]: name for name, body in self.definitions.items() if "pattern" in body}

    def validator(self, resource_type: str) -> Draft6Validator:
        found = self._validators.get(resource_type)
        if found is None:
            # Draft 6 ignores keywords beside $ref, so the root keeps its definitions for resolving.
            schema = {**self._root, "$ref": f"#/definitions/{resource_type}"}
            found = Draft6Validator(schema, format_checker=None)
            self._validators[resource_type] = found
        return found

    def is_valid(self, resource_type: str, instance: Any) -> bool:
        """The fast yes/no answer (jsonschema-rs, ~100x faster): most content is valid, and only invalid
        content pays for jsonschema's detailed, explainable errors."""
        fast = self._fast.get(resource_type)
        if fast is None:
            fast = jsonschema_rs.Draft6Validator({**self._fast_root, "$ref": f"#/definitions/{resource_type}"})
            self._fast[resource_type] = fast
        return bool(fast.is_valid(instance))


_STRAY_BRACE = re.compile(r"(\{\d+(?:,\d*)?\})\}")


def _escape_stray_braces(body: Any) -> Any:
    """A copy of a schema fragment with every pattern's stray '}' escaped (patterns also sit inline)."""
    if isinstance(body, dict):
        out = {k: _escape_stray_braces(v) for k, v in body.items()}
        pattern = body.get("pattern")
        if isinstance(pattern, str):
            out["pattern"] = _STRAY_BRACE.sub(r"\1\\}", pattern)
        return out
    if isinstance(body, list):
        return [_escape_stray_braces(v) for v in body]
    return body


def other_version_hint(resource_type: str, element: str, version: FhirVersion) -> str:
    """' (FHIR R4 has it: is this R4 content?)' when the element exists in the other version, else ''."""
    other = FhirVersion.R5 if version is FhirVersion.R4 else FhirVersion.R4
    definition = load_schema(other)["definitions"].get(resource_type)
    if isinstance(definition, dict) and element in definition.get("properties", {}):
        return f" (FHIR {other} has it: is this {other} content? see --fhir-version)"
    return ""


@cache
def _checker(version: FhirVersion) -> _Checker:
    return _Checker(version)


def schema_findings(resource: Any, version: FhirVersion) -> list[Finding]:
    """Check a Bundle or any resource against the official JSON Schema of `version`.

    Resources inside a Bundle (and contained resources) are checked against their own definition,
    so a defect in entry 7 is reported as e.g. `Observation.status` of entry 7, not as a failed oneOf."""
    checker = _checker(version)
    findings: list[Finding] = []
    if (
        isinstance(resource, dict)
        and resource.get("resourceType") == "Bundle"
        and isinstance(resource.get("entry"), list)
    ):
        entries = resource["entry"]
        shell = {**resource, "entry": [_without(e, "resource") for e in entries]}
        findings.extend(_check_resource(checker, shell))
        for index, entry in enumerate(entries):
            if isinstance(entry, dict) and "resource" in entry:
                context: dict[str, Any] = {"entry": index}
                if isinstance(entry.get("fullUrl"), str):
                    context["full_url"] = entry["fullUrl"]
                findings.extend(f.with_context(**context) for f in _check_resource(checker, entry["resource"]))
        return findings
    return _check_resource(checker, resource)


def _without(obj: Any, key: str) -> Any:
    if isinstance(obj, dict) and key in obj:
        return {k: v for k, v in obj.items() if k != key}
    return obj


def _check_resource(checker: _Checker, resource: Any, base: str | None = None) -> list[Finding]:
    context = resource_context(resource)
    if not isinstance(resource, dict):
        return [Finding(Severity.ERROR, Layer.SCHEMA, base or "", "a resource must be a JSON object", "not-object")]
    rtype = resource.get("resourceType")
    if not isinstance(rtype, str) or rtype not in checker.definitions or rtype not in resource_types(checker.version):
        return [
            Finding(
                Severity.ERROR,
                Layer.SCHEMA,
                f"{base}.resourceType" if base else "resourceType",
                f"unknown resourceType {rtype!r} in FHIR {checker.version}",
                "unknown-resource-type",
                **context,
            )
        ]
    prefix = base or rtype
    contained = resource.get("contained")
    body = _without(resource, "contained") if isinstance(contained, list) else resource
    found = []
    if not checker.is_valid(rtype, body):
        errors = checker.validator(rtype).iter_errors(body)
        found = [f for error in errors for f in _translate(checker, error, prefix, context)]
    if isinstance(contained, list):
        # Contained resources go through the root oneOf in the schema: check each on its own instead.
        # Their findings belong to the containing resource (the path says which contained one).
        for i, inner in enumerate(contained):
            found.extend(
                dataclasses.replace(f, **context) for f in _check_resource(checker, inner, f"{prefix}.contained[{i}]")
            )
    found.sort(key=lambda f: f.path)
    return found


def _translate(checker: _Checker, error: ValidationError, base: str, context: dict[str, Any]) -> list[Finding]:
    """Turn one jsonschema error into findings a person can act on, at the element's own path."""
    path = join_path(base, error.absolute_path)
    version = checker.version

    def make(message: str, code: str, at: str = path) -> Finding:
        return Finding(Severity.ERROR, Layer.SCHEMA, at, message, code, **context)

    validator = error.validator
    schema: Any = error.schema
    value: Any = error.validator_value
    if validator == "additionalProperties" and isinstance(error.instance, dict) and isinstance(schema, dict):
        allowed = schema.get("properties", {})
        owner = checker.names.get(id(schema), "this element")
        return [
            make(
                f"unknown element {key!r}: {owner} has no such element in FHIR {version}"
                + other_version_hint(owner, key, version),
                "unknown-element",
                f"{path}.{key}",
            )
            for key in error.instance
            if key not in allowed
        ]
    if error.instance is None:
        return [make("null is not allowed in FHIR JSON (leave the element out)", "null-value")]
    if validator == "required":
        missing = re.match(r"'([^']+)'", error.message)
        name = missing.group(1) if missing else "?"
        return [make(f"required element {name!r} is missing", "required", f"{path}.{name}")]
    if validator == "pattern":
        kind = checker.pattern_types.get(str(value), "value")
        return [make(f"{error.instance!r} is not a valid FHIR {kind}", "bad-format")]
    if validator == "type":
        expected = value
        label = "a list (JSON array)" if expected == "array" else f"a JSON {expected}"
        return [make(f"wrong type: expected {label}, got {_json_type(error.instance)}", "wrong-type")]
    if validator == "enum":
        allowed_codes = ", ".join(str(v) for v in value)
        return [make(f"{error.instance!r} is not an allowed code here (allowed: {allowed_codes})", "bad-code")]
    if validator == "const" and error.absolute_path and error.absolute_path[-1] == "resourceType":
        return [make(f"resourceType must be {value!r} here", "wrong-resource-type")]
    if validator == "minItems":
        return [make("an empty list is not allowed in FHIR JSON (leave the element out)", "empty-array")]
    return [make(error.message, validator if isinstance(validator, str) else "schema")]


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return f"a number ({value})"
    if isinstance(value, str):
        return f"a string ({value!r})"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return "null"


__all__ = ["load_schema", "resource_types", "schema_findings"]
