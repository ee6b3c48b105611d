"""The fast validated path: each resource shape is validated once by the full model, then only per-row values."""

from __future__ import annotations

import math
import re
from collections.abc import Hashable
from datetime import date
from typing import Any

from pydantic import ValidationError

from fhirconv.errors import ValidationFailed
from fhirconv.output.bundle import Keyed
from fhirconv.versions import FhirVersion, ModelCrash, has_model, validate_model

# Why this is sound: an Observation of one plan (fhirconv.mapping.participants.common.ObsPlan) has the
# same elements, the same codes and the same static fragments as every other Observation of that plan;
# the first one is validated by the fhir.resources model. What differs per row are a few primitive
# values, checked here with the FHIR primitive rules (regexes as in the spec's JSON Schema). A test
# validates a sample (every Nth row and every shape) with the full model to confirm the two agree.

# FHIR string: at least one non-whitespace character; no control characters except tab, CR, LF.
_STRING = re.compile(r"[ \r\n\t\S]*\S[ \r\n\t\S]*")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
# The same two rules as one search (checked per row, so it matters): a character neither allowed
# blank nor non-blank, or a control character; plus "not blank only", which str.isspace answers.
_NOT_STRING = re.compile(r"[^ \r\n\t\S]|[\x00-\x08\x0b\x0c\x0e-\x1f]")


def is_fhir_string(value: Any) -> bool:
    """Whether `value` is a valid FHIR string (the _STRING and _CONTROL rules above, in one pass)."""
    return isinstance(value, str) and value != "" and not value.isspace() and _NOT_STRING.search(value) is None


_DATETIME = {
    # R4 4.0.1: a time needs seconds and a zone.
    FhirVersion.R4: re.compile(
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
        r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]+)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)))?)?)?"
    ),
    # R5 5.0.0
    FhirVersion.R5: re.compile(
        r"([0-9]([0-9]([0-9][1-9]|[1-9]0)|[1-9]00)|[1-9]000)(-(0[1-9]|1[0-2])(-(0[1-9]|[1-2][0-9]|3[0-1])"
        r"(T([01][0-9]|2[0-3]):[0-5][0-9]:([0-5][0-9]|60)(\.[0-9]{1,9})?)?)?(Z|(\+|-)((0[0-9]|1[0-3]):[0-5][0-9]|14:00)?)?)?"
    ),
}
_RANGE_ENDS = (("low", "referenceRange[0].low.value"), ("high", "referenceRange[0].high.value"))
_MEMO_LIMIT = 20_000  # distinct values remembered per check; cleared when full, so memory stays flat
_SHAPE_LIMIT = 10_000  # generic shapes remembered; cleared when full (more full validations, flat memory)
# FHIR code (spec pattern; the model's allows any single blank between the parts: this is stricter).
_CODE = re.compile(r"[^\s]+( [^\s]+)*")

# Resources without a plan (AdverseEvent) are checked by a generic shape: the resource with every
# leaf kept as it is, except the leaves whose key is listed here, which vary row by row (identifier
# values, MedDRA codes and terms, dates). Those are left out of the shape and checked per row by
# their FHIR primitive type, which the key gives wherever the participant mappers (map_r4, map_r5)
# put such a leaf: Identifier.value, Coding.code/display, CodeableConcept.text, Reference.reference
# and .display, AdverseEvent.date (R4), occurrenceDateTime and Period.start/end (R5).
_VARYING_LEAVES = {
    "value": "string",
    "code": "code",
    "display": "string",
    "text": "string",
    "reference": "string",
    "date": "dateTime",
    "occurrenceDateTime": "dateTime",
    "start": "dateTime",
    "end": "dateTime",
}
GENERIC_TYPES = frozenset({"AdverseEvent"})


def _skeleton(node: Any, key: str, leaves: list[tuple[str, Any]]) -> Hashable:
    """The shape of `node` (under `key`): structure and fixed leaves; varying leaves go to `leaves`."""
    kind = type(node)
    if kind is dict:
        return tuple([(k, _skeleton(v, k, leaves)) for k, v in node.items()])
    if kind is list:
        return ("[]", *[_skeleton(v, key, leaves) for v in node])
    primitive = _VARYING_LEAVES.get(key)
    if primitive is not None and kind is str:
        leaves.append((primitive, node))
        return primitive
    return (kind, node)  # the type too: True, 1 and 1.0 are equal as dict keys


def full_validate(item: Keyed, version: FhirVersion) -> None:
    """Validate one resource with the fhir.resources model of `version`; errors name type, key and path."""
    if not has_model(version, item.resource_type):
        return  # checked by the official JSON Schema of the version instead (versions.NO_MODEL)
    try:
        validate_model(version, item.resource_type, item.resource)
    except ModelCrash as exc:
        raise ValidationFailed(f"{item.resource_type} {item.value}: {exc}", record=item.value,
                               hint="this is a mapping bug or an input value FHIR cannot hold; run with --traceback",
                               ) from exc
    except ValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first.get("loc", ()))
        raise ValidationFailed(
            f"{item.resource_type} {item.value}: {path}: {first.get('msg')}",
            record=item.value,
            field=path or None,
            hint="this is a mapping bug or an input value FHIR cannot hold; run with --traceback",
        ) from exc


class FastValidator:
    """Validates resources of one FHIR version: full model on each new shape, per-row value checks after."""

    def __init__(self, version: FhirVersion) -> None:
        self.version = version
        self._shapes: set[Hashable] = set()
        self._datetime = _DATETIME[version]
        self._ok_strings: set[str] = set()
        self._ok_datetimes: set[str] = set()
        self._generic: set[Hashable] = set()
        self._ok_ranges: dict[int, Any] = {}
        self.full = 0  # resources validated with the full model
        self.fast = 0  # resources validated by value checks only

    @property
    def shapes(self) -> int:
        return len(self._shapes) + len(self._generic)

    def validate(self, item: Keyed, shape: Hashable | None = None) -> None:
        """Check `item`; `shape` None means it has no known shape (always fully validated)."""
        if shape is None or shape not in self._shapes:
            full_validate(item, self.version)
            self.full += 1
            if shape is not None:
                self._shapes.add(shape)
            return
        self.validate_values(item)

    def validate_generic(self, item: Keyed) -> None:
        """Check a resource of GENERIC_TYPES: the full model once per generic shape, then its varying
        leaves by their primitive type. A leaf the quick check doubts goes to the full model, which
        decides: the quick check only ever accepts what the model accepts, never rejects what it would not."""
        leaves: list[tuple[str, Any]] = []
        shape = (item.resource_type, _skeleton(item.resource, "", leaves))
        if shape in self._generic and all(self._leaf_ok(kind, value) for kind, value in leaves):
            self.fast += 1
            return
        full_validate(item, self.version)
        self.full += 1
        if len(self._generic) >= _SHAPE_LIMIT:
            self._generic.clear()
        self._generic.add(shape)

    def _leaf_ok(self, kind: str, value: str) -> bool:
        if kind == "string":
            if value in self._ok_strings:
                return True
            if not is_fhir_string(value):
                return False
            if len(self._ok_strings) >= _MEMO_LIMIT:
                self._ok_strings.clear()
            self._ok_strings.add(value)
            return True
        if kind == "code":
            return _CODE.fullmatch(value) is not None
        return self._dt_ok(value)

    def validate_values(self, item: Keyed) -> None:
        """Check an Observation built from a plan whose shape `validate` has already seen: the values
        such an Observation can vary in (see map_common.build_observation). Called once per row, so
        the memo look-ups are made here before any call."""
        res = item.resource
        # Identifier values are unique per row: checked, never memoised.
        value = res["identifier"][0]["value"]
        if not is_fhir_string(value):
            raise self._fail(item, "identifier[0].value", value, "is not a FHIR string")
        ref = res["subject"]["reference"]
        if ref not in self._ok_strings:
            self._string(ref, item, "subject.reference")
        encounter = res.get("encounter")  # the visit: map_common.visit_reference
        if encounter is not None:
            visit = encounter.get("identifier")
            if visit is not None and not is_fhir_string(visit["value"]):
                raise self._fail(item, "encounter.identifier.value", visit["value"], "is not a FHIR string")
            if "display" in encounter:
                self._string(encounter["display"], item, "encounter.display")
        eff = res.get("effectiveDateTime")
        if eff is not None and eff not in self._ok_datetimes:
            self._dt(eff, item, "effectiveDateTime")
        q = res.get("valueQuantity")
        if q is not None:
            number = q["value"]
            if type(number) is not int and not (type(number) is float and math.isfinite(number)):
                self._decimal(number, item, "valueQuantity.value")
        s = res.get("valueString")
        if s is not None:
            self._string(s, item, "valueString")
        rr = res.get("referenceRange")
        if rr is not None and self._ok_ranges.get(id(rr)) is not rr:
            for end, path in _RANGE_ENDS:
                part = rr[0].get(end)
                if part is not None:
                    self._decimal(part["value"], item, path)
            # Range lists are shared by rows of one plan and bounds (map_common.ObsPlan.ranges): held
            # here too, so an id stays theirs while it is remembered.
            if len(self._ok_ranges) >= _MEMO_LIMIT:
                self._ok_ranges.clear()
            self._ok_ranges[id(rr)] = rr
        notes = res.get("note")
        if notes is not None:
            self._string(notes[0]["text"], item, "note[0].text")
        self.fast += 1

    def _fail(self, item: Keyed, path: str, value: Any, why: str) -> ValidationFailed:
        return ValidationFailed(
            f"{item.resource_type} {item.value}: {path}: {value!r} {why}", record=item.value, field=path
        )

    def _string(self, value: Any, item: Keyed, path: str) -> None:
        if value in self._ok_strings:
            return
        if not is_fhir_string(value):
            raise self._fail(item, path, value, "is not a FHIR string")
        if len(self._ok_strings) >= _MEMO_LIMIT:
            self._ok_strings.clear()
        self._ok_strings.add(value)

    def _dt(self, value: Any, item: Keyed, path: str) -> None:
        if not self._dt_ok(value):
            raise self._fail(item, path, value, f"is not a FHIR {self.version} dateTime (or no such calendar date)")

    def _dt_ok(self, value: Any) -> bool:
        if value in self._ok_datetimes:
            return True
        if not isinstance(value, str) or not self._datetime.fullmatch(value):
            return False
        if len(value) >= 10:  # the pattern lets 2020-02-30 through; the model (rightly) does not
            try:
                date.fromisoformat(value[:10])
            except ValueError:
                return False
        if len(self._ok_datetimes) >= _MEMO_LIMIT:
            self._ok_datetimes.clear()
        self._ok_datetimes.add(value)
        return True

    def _decimal(self, value: Any, item: Keyed, path: str) -> None:
        if type(value) is int or (type(value) is float and math.isfinite(value)):
            return
        raise self._fail(item, path, value, "is not a finite decimal")
