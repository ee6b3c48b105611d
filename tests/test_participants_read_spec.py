"""Column-mapping specs: the built-in ones load, and broken specs fail naming the spec key."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema
import pytest
import yaml

from fhirconv.errors import ExitCode, MappingDataError
from fhirconv.readers.spec import RECORD_FIELDS, load_spec

SPECS = Path(__file__).parents[1] / "mappings" / "specs"

MINIMAL = {
    "format": "fhirconv-participant-spec/1",
    "name": "my-layout",
    "tables": {
        "patients": {
            "record": "participant",
            "files": ["patients"],
            "key": ["ID"],
            "columns": {"ID": {"field": "subject_id", "required": True}, "GENDER": "sex"},
        },
        "labs": {
            "record": "measurement",
            "files": ["labs"],
            "values": {"domain": "LB"},
            "columns": {"ID": "subject_id", "TEST": "test_code", "LBORRES": "result_text"},
        },
    },
}


def _write(tmp_path: Path, doc: object, name: str = "spec.yaml") -> Path:
    path = tmp_path / name
    text = json.dumps(doc) if name.endswith(".json") else yaml.safe_dump(doc, sort_keys=False)
    path.write_text(text, encoding="utf-8")
    return path


def _broken(tmp_path: Path, change: dict[str, object], name: str = "spec.yaml") -> MappingDataError:
    doc = json.loads(json.dumps(MINIMAL))
    for dotted, value in change.items():
        *parents, last = dotted.split(".")
        node = doc
        for part in parents:
            node = node[part]
        node[last] = value
    with pytest.raises(MappingDataError) as info:
        load_spec(_write(tmp_path, doc, name))
    return info.value


@pytest.mark.parametrize("name", ["sdtm", "simple-csv"])
def test_builtin_specs_load_and_validate(name: str) -> None:
    spec = load_spec(name)
    assert spec.name == name
    schema = json.loads((SPECS / "schema.json").read_text(encoding="utf-8"))
    doc = yaml.safe_load((SPECS / f"{name}.yaml").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(schema).validate(doc)
    for table in spec.tables:
        for column in table.columns:
            assert set(column.fields) <= set(RECORD_FIELDS[table.record])


def test_sdtm_spec_covers_the_domains_of_the_issue() -> None:
    spec = load_spec("sdtm")
    assert {t.name for t in spec.tables} >= {"dm", "ds", "lb", "vs", "mb", "ae", "supplb", "suppae", "ts", "ta"}
    lb = spec.table("lb")
    assert lb is not None
    assert lb.key == ("USUBJID", "LBSEQ")
    assert lb.supplemental == "supplb"
    assert dict(lb.values) == {"domain": "LB"}


def test_schema_is_a_valid_json_schema() -> None:
    schema = json.loads((SPECS / "schema.json").read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator.check_schema(schema)


def test_minimal_spec_in_yaml_and_json(tmp_path: Path) -> None:
    for name in ("a.yaml", "b.json"):
        spec = load_spec(_write(tmp_path, MINIMAL, name))
        assert [t.name for t in spec.tables] == ["patients", "labs"]


def test_unknown_field_points_at_the_column_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.labs.columns.LBORRES": {"field": "result"}})
    assert error.field == "tables.labs.columns.LBORRES.field"
    assert "'result' is not a field of a measurement record" in error.message
    assert error.exit_code is ExitCode.USAGE


def test_schema_error_points_at_the_key(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.labs.record": "laboratory"})
    assert error.field == "tables.labs.record"
    error = _broken(tmp_path, {"tables.labs.columns.LBORRES": {"field": "result_text", "colour": "red"}})
    assert str(error.field).startswith("tables.labs.columns.LBORRES")
    error = _broken(tmp_path, {"format": "something-else"})
    assert error.field == "format"


def test_unknown_conceptmap_points_at_translate(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.patients.columns.GENDER": {"field": "sex", "translate": "no-such-map"}})
    assert error.field == "tables.patients.columns.GENDER.translate"


def test_required_record_field_must_be_fed(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.labs.columns": {"ID": "subject_id", "LBORRES": "result_text"}})
    assert error.field == "tables.labs.columns"
    assert "test_code" in error.message


def test_key_column_must_be_listed(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.patients.key": ["PATIENT_NO"]})
    assert error.field == "tables.patients.key.0"


def test_flag_on_a_scalar_field_and_bad_supplemental(tmp_path: Path) -> None:
    error = _broken(tmp_path, {"tables.labs.columns.LBORRES": {"field": "result_text", "flag": True}})
    assert error.field == "tables.labs.columns.LBORRES"
    error = _broken(tmp_path, {"tables.labs.supplemental": "patients", "tables.labs.supplemental_key": "ID"})
    assert error.field == "tables.labs.supplemental"


def test_yaml_syntax_error_and_missing_file(tmp_path: Path) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text("tables: [unclosed\n", encoding="utf-8")
    with pytest.raises(MappingDataError, match="not valid YAML"):
        load_spec(path)
    with pytest.raises(MappingDataError, match="cannot read"):
        load_spec(tmp_path / "absent.yaml")
