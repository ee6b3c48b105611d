"""Column-mapping specs: which files hold which participant records and which column feeds which field."""

from __future__ import annotations

import json
import types
import typing
from dataclasses import dataclass, fields
from functools import cache
from pathlib import Path
from typing import Any, Literal

import jsonschema
import yaml

from fhirconv.errors import MappingDataError
from fhirconv.mapping.conceptmaps import load as load_conceptmap
from fhirconv.mapping.conceptmaps import mapping_root
from fhirconv.model.participants import (
    AdverseEventRecord,
    ConcomitantMedication,
    Disposition,
    Exposure,
    Measurement,
    MedicalHistory,
    Participant,
)
from fhirconv.readers.strict_yaml import MAX_SPEC_BYTES, load_spec_text

__all__ = [
    "BUILTIN_SPECS",
    "RECORD_FIELDS",
    "REQUIRED_FIELDS",
    "ColumnSpec",
    "FieldType",
    "Spec",
    "TableSpec",
    "load_spec",
]

FieldType = Literal["str", "float", "int", "bool", "date", "list", "extra"]

BUILTIN_SPECS = ("sdtm", "simple-csv")

# Record fields that hold ISO 8601 (partial) dates or datetimes, checked as such when read.
_DATE_FIELDS = frozenset(
    {"birth_date", "reference_start", "reference_end", "informed_consent", "death_date", "date", "start", "end"}
)


def _field_type(name: str, annotation: Any) -> FieldType:
    if name in _DATE_FIELDS:
        return "date"
    hint = annotation
    if isinstance(hint, types.UnionType):  # "X | None"
        hint = next(a for a in typing.get_args(hint) if a is not type(None))
    origin = typing.get_origin(hint)
    if origin is list:
        return "list"
    if origin is dict:
        return "extra"
    simple: dict[Any, FieldType] = {str: "str", float: "float", int: "int", bool: "bool"}
    return simple[hint]


def _registry(cls: type) -> dict[str, FieldType]:
    hints = typing.get_type_hints(cls)
    return {f.name: _field_type(f.name, hints[f.name]) for f in fields(cls) if f.name != "source"}


# The registry of record fields a spec may feed, by record kind: the typed records of records.py, plus
# the row shapes the reader assembles itself (SUPP-- qualifiers, TS parameters, TA arm elements).
RECORD_FIELDS: dict[str, dict[str, FieldType]] = {
    "participant": _registry(Participant),
    "disposition": _registry(Disposition),
    "measurement": _registry(Measurement),
    "adverse_event": _registry(AdverseEventRecord),
    "exposure": _registry(Exposure),
    "medication": _registry(ConcomitantMedication),
    "medical_history": _registry(MedicalHistory),
    "supplemental": {
        "subject_id": "str",
        "domain": "str",
        "id_var": "str",
        "id_value": "str",
        "name": "str",
        "value": "str",
    },
    "trial_summary": {"study_id": "str", "seq": "int", "parameter": "str", "value": "str"},
    "trial_arm": {"study_id": "str", "arm_code": "str", "arm": "str", "order": "int", "element": "str"},
}

# Fields a row cannot do without: a blank value there is an error naming the column.
REQUIRED_FIELDS: dict[str, tuple[str, ...]] = {
    "participant": ("subject_id",),
    "disposition": ("subject_id", "term"),
    "measurement": ("subject_id", "domain", "test_code"),
    "adverse_event": ("subject_id", "term"),
    "exposure": ("subject_id", "treatment"),
    "medication": ("subject_id", "term"),
    "medical_history": ("subject_id", "term"),
    "supplemental": ("subject_id", "name"),
    "trial_summary": ("parameter",),
    "trial_arm": ("arm",),
}


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    column: str
    fields: tuple[str, ...]
    required: bool = False
    translate: str | None = None  # ConceptMap id
    flag: str | None = None  # list fields: add this code when the value is Y
    split: str | None = None  # list fields: separator
    if_number: bool = False


@dataclass(frozen=True, slots=True)
class TableSpec:
    name: str
    record: str
    files: tuple[str, ...]
    columns: tuple[ColumnSpec, ...]
    required: bool = False
    key: tuple[str, ...] = ()
    supplemental: str | None = None
    supplemental_key: str | None = None
    values: tuple[tuple[str, str | float | bool], ...] = ()
    skip_if_blank: str | None = None

    def field_types(self) -> dict[str, FieldType]:
        return RECORD_FIELDS[self.record]


@dataclass(frozen=True, slots=True)
class Spec:
    name: str
    title: str | None
    detect: tuple[str, ...]
    tables: tuple[TableSpec, ...]
    path: str

    def table(self, name: str) -> TableSpec | None:
        return next((t for t in self.tables if t.name == name), None)

    def of_record(self, record: str) -> list[TableSpec]:
        return [t for t in self.tables if t.record == record]


@cache
def _validator() -> jsonschema.protocols.Validator:
    schema = json.loads((mapping_root() / "specs" / "schema.json").read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    validator: jsonschema.protocols.Validator = cls(schema)
    return validator


def _key(*parts: object) -> str:
    return ".".join(str(p) for p in parts)


def _spec_path(spec: str | Path) -> Path:
    if isinstance(spec, str) and spec in BUILTIN_SPECS:
        return Path(str(mapping_root() / "specs" / f"{spec}.yaml"))
    return Path(spec)


def load_spec(spec: str | Path) -> Spec:
    """Load a spec (YAML or JSON file, or a built-in name: "sdtm", "simple-csv"), validated against
    mappings/specs/schema.json and the registry of record fields; errors name the spec key."""
    path = _spec_path(spec)
    return _load(str(path))


@cache
def _load(path_text: str) -> Spec:
    path = Path(path_text)

    def fail(message: str, key: str | None = None, hint: str | None = None) -> MappingDataError:
        return MappingDataError(
            message, file=str(path), field=key, hint=hint or "see mappings/specs/README.md for the spec format"
        )

    try:
        with path.open(encoding="utf-8") as handle:
            text = handle.read(MAX_SPEC_BYTES + 1)  # a longer one is refused without reading it all
    except (OSError, UnicodeDecodeError) as exc:
        raise fail(f"cannot read the column-mapping spec: {exc}") from exc
    try:
        doc = load_spec_text(text, json_syntax=path.suffix.lower() == ".json")
    except (ValueError, yaml.YAMLError) as exc:
        raise fail(f"not valid {'JSON' if path.suffix.lower() == '.json' else 'YAML'}: {exc}") from exc
    errors = sorted(_validator().iter_errors(doc), key=lambda e: (len(e.absolute_path), list(map(str, e.path))))
    if errors:
        error = jsonschema.exceptions.best_match(errors)
        where = _key(*error.absolute_path) or "(top level)"
        raise fail(error.message, where)
    assert isinstance(doc, dict)
    tables = tuple(_table(name, body, fail) for name, body in doc["tables"].items())
    names = {t.name: t for t in tables}
    for t in tables:
        if t.supplemental is not None:
            target = names.get(t.supplemental)
            if target is None or target.record != "supplemental":
                raise fail(
                    f"{t.supplemental!r} is not a table of record 'supplemental' in this spec",
                    _key("tables", t.name, "supplemental"),
                )
            if t.supplemental_key is None:
                raise fail("a table with supplemental qualifiers needs supplemental_key", _key("tables", t.name))
    for i, name in enumerate(doc.get("detect", [])):
        if name not in names:
            raise fail(f"no table {name!r} in this spec", _key("detect", i))
    return Spec(
        name=doc["name"],
        title=doc.get("title"),
        detect=tuple(doc.get("detect", [])),
        tables=tables,
        path=str(path),
    )


def _table(name: str, body: dict[str, Any], fail: Any) -> TableSpec:
    record = body["record"]
    registry = RECORD_FIELDS[record]
    columns: list[ColumnSpec] = []
    fed: set[str] = set()
    for column, raw in body["columns"].items():
        key = _key("tables", name, "columns", column)
        conf = {"field": raw} if isinstance(raw, str) else raw
        targets = (conf["field"],) if isinstance(conf["field"], str) else tuple(conf["field"])
        for target in targets:
            if target not in registry:
                raise fail(
                    f"{target!r} is not a field of a {record} record",
                    _key(key, "field"),
                    hint=f"fields of {record}: {', '.join(sorted(registry))}",
                )
        types_ = {registry[t] for t in targets}
        flag = conf.get("flag")
        if flag is True:
            flag = column
        if (flag or "split" in conf) and types_ != {"list"}:
            raise fail("flag and split apply to list fields only", key)
        if conf.get("if_number") and not types_ & {"float", "int"}:
            raise fail("if_number applies to number fields only", key)
        map_id = conf.get("translate")
        if map_id is not None:
            try:
                load_conceptmap(map_id)
            except MappingDataError as exc:
                raise fail(f"no usable ConceptMap {map_id!r}: {exc.message}", _key(key, "translate")) from exc
        fed.update(targets)
        columns.append(
            ColumnSpec(
                column=column,
                fields=targets,
                required=bool(conf.get("required", False)),
                translate=map_id,
                flag=flag or None,
                split=conf.get("split"),
                if_number=bool(conf.get("if_number", False)),
            )
        )
    values = body.get("values", {})
    for field_name in values:
        if field_name not in registry:
            raise fail(
                f"{field_name!r} is not a field of a {record} record", _key("tables", name, "values", field_name)
            )
        fed.add(field_name)
    for needed in REQUIRED_FIELDS[record]:
        if needed not in fed:
            raise fail(f"no column feeds the required field {needed!r}", _key("tables", name, "columns"))
    listed = {c.column for c in columns}
    for i, column in enumerate(body.get("key", [])):
        if column not in listed:
            raise fail(f"key column {column!r} is not among the table's columns", _key("tables", name, "key", i))
    skip = body.get("skip_if_blank")
    if skip is not None and skip not in fed:
        raise fail(f"no column feeds {skip!r}", _key("tables", name, "skip_if_blank"))
    sup_key = body.get("supplemental_key")
    if sup_key is not None and sup_key not in listed:
        raise fail(f"{sup_key!r} is not among the table's columns", _key("tables", name, "supplemental_key"))
    return TableSpec(
        name=name,
        record=record,
        files=tuple(f.lower() for f in body["files"]),
        columns=tuple(columns),
        required=bool(body.get("required", False)),
        key=tuple(body.get("key", [])),
        supplemental=body.get("supplemental"),
        supplemental_key=sup_key,
        values=tuple(values.items()),
        skip_if_blank=skip,
    )
