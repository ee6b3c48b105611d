"""Hostile column-mapping specs: alias bombs, tags, duplicate keys, deep nesting and huge files are
refused fast, as a MappingDataError naming the spec (exit 2 through the CLI), never built."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import MappingDataError
from fhirconv.readers.spec import load_spec
from fhirconv.readers.strict_yaml import MAX_DEPTH, MAX_NODES, MAX_SPEC_BYTES

PARTICIPANTS = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547" / "participants" / "sdtm"

LAUGHS = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n" + "".join(
    f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n" for i in range(1, 10)
) + "tables: *a9\n"

CASES = {
    "alias-bomb": (LAUGHS, f"more than {MAX_NODES:,} values once its aliases are expanded"),
    "python-tag": ('tables: !!python/object/apply:os.system ["echo owned"]\n', "YAML tags are not allowed"),
    "binary-tag": ("tables: !!binary aGVsbG8=\n", "YAML tags are not allowed"),
    "local-tag": ("tables: !mine {}\n", "YAML tags are not allowed"),
    "duplicate-top": ("tables: {}\nversion: 1\ntables: {}\n", "duplicate key 'tables' at line 3 (first at line 1)"),
    "duplicate-nested": ("tables:\n  dm:\n    record: participant\n    record: x\n", "duplicate key 'record'"),
    "deep": ("tables: " + "[" * 500 + "]" * 500 + "\n", f"nested more than {MAX_DEPTH} levels deep"),
    "huge": ("# " + "x" * (MAX_SPEC_BYTES + 10) + "\ntables: {}\n", "a spec is at most"),
}


@pytest.mark.parametrize(("text", "message"), list(CASES.values()), ids=list(CASES))
def test_a_hostile_yaml_spec_is_refused_fast(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "spec.yaml"
    spec.write_text(text, encoding="utf-8")
    started = time.monotonic()
    with pytest.raises(MappingDataError, match="not valid YAML") as info:
        load_spec(spec)
    assert time.monotonic() - started < 2
    assert message in info.value.message
    assert info.value.file == str(spec)
    result = CliRunner().invoke(main, ["convert", "--participants", str(PARTICIPANTS), "--spec", str(spec)])
    assert result.exit_code == 2, result.output
    assert "Traceback" not in result.output
    assert message in result.stderr
    assert "owned" not in result.output


@pytest.mark.parametrize(
    ("text", "message"),
    [('{"tables": {}, "tables": {}}', "duplicate key 'tables'"), ("[" * 100_000 + "]" * 100_000, "nested too deeply")],
    ids=["duplicate", "deep"],
)
def test_a_hostile_json_spec_is_refused(tmp_path: Path, text: str, message: str) -> None:
    spec = tmp_path / "spec.json"
    spec.write_text(text, encoding="utf-8")
    with pytest.raises(MappingDataError, match=message):
        load_spec(spec)


def test_a_merge_key_may_be_overridden(tmp_path: Path) -> None:
    # '<<: *base' then an explicit key is how YAML overrides a merged value (the built-in sdtm spec does it);
    # that is not a duplicate. The built-in specs load under the strict loader.
    builtin = load_spec("sdtm")
    assert builtin.tables
    spec = tmp_path / "spec.yaml"
    spec.write_text(
        "base: &base {a: 1, b: 2}\nother:\n  <<: *base\n  b: 3\n", encoding="utf-8"
    )
    with pytest.raises(MappingDataError) as info:  # a schema error (no 'tables'), not a YAML one
        load_spec(spec)
    assert "not valid YAML" not in info.value.message
