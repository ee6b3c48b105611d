"""Output text: bundle.dumps (orjson where it provably agrees) writes json.dumps(indent=2)'s bytes exactly."""

from __future__ import annotations

import collections
import dataclasses
import datetime
import enum
import json
import math
import random
import struct
from pathlib import Path
from typing import Any

import pytest

from fhirconv.output import bundle
from fhirconv.output.bundle import build_bundle, dumps
from fhirconv.pipeline.study import Converted, Summary, convert_records
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "ctgov-corpus"


def _reference(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, indent=2) + "\n"


def _corpus_bundles(version: FhirVersion) -> list[dict[str, Any]]:
    files = sorted(p for p in CORPUS.iterdir() if p.suffix in (".json", ".xml"))[::4]
    out = []
    for path in files:
        for result in convert_records([str(path)], version, Summary()):
            if isinstance(result, Converted):
                out.append(build_bundle(result.items, kind="transaction", version=version))
    return out


@pytest.mark.parametrize("version", list(FhirVersion))
def test_corpus_bundles_same_text_and_fast(version: FhirVersion, monkeypatch: pytest.MonkeyPatch) -> None:
    bundles = _corpus_bundles(version)
    assert len(bundles) > 50
    expected = [_reference(b) for b in bundles]

    # With json.dumps unavailable, every corpus bundle must still be written: orjson wrote them all.
    def no_json(*_: Any, **__: Any) -> str:
        raise AssertionError("json.dumps used")

    monkeypatch.setattr(bundle.json, "dumps", no_json)
    assert [dumps(b) for b in bundles] == expected


def test_golden_files_round_trip_same_text() -> None:
    files = sorted((DATA / "golden").rglob("*.json"))
    assert files
    for path in files:
        value = json.loads(path.read_text(encoding="utf-8"))
        assert dumps(value) == _reference(value), path


class _Colour(enum.StrEnum):
    RED = "red"


@dataclasses.dataclass
class _Point:
    x: int


_AWKWARD: list[Any] = [
    [1e-5, 0.0001, 0.00012, -3.2e-05, 5e-324],  # json: exponent below 1e-4; orjson: 0.0000...
    [1e16, 1e15, 123456789012345678.0, 1.7976931348623157e308, -0.0, 0.1, 2.5, 40.7128, -74.006],
    [float("nan"), float("inf"), -float("inf")],  # json: NaN/Infinity; orjson: null
    [2**64, -(2**63) - 1, 2**63 - 1],  # beyond 64 bits: orjson refuses
    {"text": "p<0.00001 and null and 1e5"},  # looks like the cases above, is a string
    {1: "integer key", "a": {2.5: "float key"}},
    {"s": "".join(chr(c) for c in range(0x80)) + "\u2028\u2029\ufeff\U0001f600é\x7f"},
    {"lone": "\ud800"},
    collections.OrderedDict(b=1, a=[()]),
    {"colour": _Colour.RED, _Colour.RED: 1},
    ("tuple", [True, False, None, {}, [], ""]),
]


@pytest.mark.parametrize("value", _AWKWARD, ids=range(len(_AWKWARD)))
def test_awkward_values_same_text(value: Any) -> None:
    assert dumps(value) == _reference(value)


def test_deep_nesting_same_text() -> None:
    value: Any = "x"
    for _ in range(300):  # orjson stops at 255 levels
        value = {"a": [value]}
    assert dumps(value) == _reference(value)


@pytest.mark.parametrize("value", [_Point(1), datetime.date(2020, 1, 2), {math.pi: object()}])
def test_values_json_cannot_write_still_refused(value: Any) -> None:
    with pytest.raises(TypeError):
        _reference(value)
    with pytest.raises(TypeError):
        dumps(value)


def _json_calls(monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    calls: list[Any] = []
    real = json.dumps

    def counting(value: Any, **kwargs: Any) -> str:
        calls.append(value)
        return real(value, **kwargs)

    monkeypatch.setattr(bundle.json, "dumps", counting)
    return calls


def test_strings_that_look_like_numbers_stay_fast(monkeypatch: pytest.MonkeyPatch) -> None:
    calls = _json_calls(monkeypatch)
    value = {"a": "p<0.00001, 1e5", "b": ["null", "x\": 1e-05", "2e16\n"], "c": 0.0001, "d": [1e15, 1e16, 2.5e300]}
    assert dumps(value) == _reference(value)
    assert calls == [value]  # only the reference; dumps itself used orjson


@pytest.mark.parametrize("number", [1e-5, -2.5e-7, 3e-300, float("nan"), float("-inf")])
def test_numbers_json_spells_otherwise_take_json(monkeypatch: pytest.MonkeyPatch, number: float) -> None:
    calls = _json_calls(monkeypatch)
    value = {"a": [1, {"b": number}], "c": "d"}
    text = dumps(value)
    assert len(calls) == 1  # dumps went to json.dumps
    assert text == _reference(value)


def test_random_floats_same_text() -> None:
    # Shortest round-trip digits are unique, so orjson and json differ only in layout: exponent or not, and its
    # padding. Every magnitude, both signs, both paths.
    rng = random.Random(7)
    values = [struct.unpack("<d", rng.getrandbits(64).to_bytes(8, "little"))[0] for _ in range(2000)]
    values += [rng.uniform(-1, 1) * 10.0**e for e in range(-30, 30) for _ in range(20)]
    values += [round(rng.uniform(-1000, 1000), rng.randint(0, 8)) for _ in range(1000)]
    for i in range(0, len(values), 5):
        value = {"v": values[i : i + 5], "w": values[i]}
        assert dumps(value) == _reference(value), values[i : i + 5]
