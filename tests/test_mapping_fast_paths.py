"""Speed short cuts = the long way: the mapping-time check (compiled structure check, the models explaining what
it refuses) against the models alone, on sites and every other resource of the corpus; search tokens."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from fhirconv.errors import ValidationFailed
from fhirconv.mapping import map_study
from fhirconv.model.study import StudyRecord
from fhirconv.output.bundle import Keyed
from fhirconv.readers import read_sources
from fhirconv.validation.compiled import problems
from fhirconv.validation.structure import check_models
from fhirconv.versions import FhirVersion, has_model, model_class

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"


def _fast_types(version: FhirVersion) -> list[Keyed]:
    items: list[Keyed] = []
    for record in read_sources([str(CORPUS)]):
        assert isinstance(record, StudyRecord)
        items += [i for i in map_study(record.study, version) if i.resource_type == "Location"]
    return items


@pytest.fixture(scope="module", params=list(FhirVersion), ids=lambda v: v.value)
def corpus_sites(request: pytest.FixtureRequest) -> tuple[FhirVersion, list[Keyed]]:
    return request.param, _fast_types(request.param)


def _model_ok(version: FhirVersion, resource: dict[str, Any]) -> bool:
    try:
        model_class(version, resource["resourceType"]).model_validate(resource)
    except ValidationError:
        return False
    return True


def _check_ok(version: FhirVersion, resource: dict[str, Any]) -> bool:
    try:
        check_models([Keyed(resource, "urn:x", "x")], version)
    except ValidationFailed:
        return False
    return True


def _model_field(version: FhirVersion, resource: dict[str, Any]) -> str | None:
    """None when the model accepts `resource`, else the path of the first error it reports."""
    try:
        model_class(version, resource["resourceType"]).model_validate(resource)
    except ValidationError as exc:
        return ".".join(str(p) for p in exc.errors()[0]["loc"]) or "(resource)"
    return None


def _check_field(version: FhirVersion, resource: dict[str, Any]) -> str | None:
    try:
        check_models([Keyed(resource, "urn:x", "x")], version)
    except ValidationFailed as exc:
        return exc.field
    return None


def _leaves(value: Any, path: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*path, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*path, i))
    else:
        yield path


def _replaced(resource: dict[str, Any], path: tuple[Any, ...], new: Any) -> dict[str, Any]:
    out = copy.deepcopy(resource)
    target: Any = out
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = new
    return out


def _shape(value: Any) -> Any:
    """Element names, nesting and primitive types (not values)."""
    if isinstance(value, dict):
        return tuple((k, _shape(v)) for k, v in value.items())
    if isinstance(value, list):
        return ("[", *map(_shape, value))
    return type(value)


# Values a registry record could carry into a site's primitives if the mapping let them through.
_BAD_TEXT = ["", " ", "\t", "a  b", " lead", "trail ", "a\tb\tc", "a \tb", "\n"]
_BAD_NUMBERS = [float("nan"), float("inf"), -float("inf")]


def test_corpus_has_many_site_shapes(corpus_sites: tuple[FhirVersion, list[Keyed]]) -> None:
    _, items = corpus_sites
    assert len(items) > 1000
    shapes = {_shape(i.resource) for i in items}
    assert len(shapes) > 20  # the comparison below covers real variety, not one shape


def test_every_corpus_site_passes_both_paths(corpus_sites: tuple[FhirVersion, list[Keyed]]) -> None:
    version, items = corpus_sites
    for item in items:
        assert problems(item.resource, version) == [], item.resource  # the compiled check passes every site ...
        assert _model_ok(version, item.resource)  # ... and the model agrees
    check_models(items, version)


def test_fast_path_refuses_whatever_the_model_refuses(corpus_sites: tuple[FhirVersion, list[Keyed]]) -> None:
    """For one site of every shape in the corpus: once its shape is known (so the fast path is live), every
    primitive replaced by a bad value is refused by check_models exactly when the model refuses it, and a
    value the fast path lets through is one the model accepts."""
    version, items = corpus_sites
    by_shape: dict[Any, Keyed] = {}
    for item in items:
        by_shape.setdefault(_shape(item.resource), item)
    compared = 0
    for item in by_shape.values():
        check_models([item], version)
        for path in _leaves(item.resource):
            if path == ("resourceType",):
                continue
            original = _replaced(item.resource, path, None)  # None: a shape of its own, full model
            assert _check_ok(version, original) == _model_ok(version, original)
            old = item.resource
            for step in path:
                old = old[step]
            for new in _BAD_NUMBERS if isinstance(old, float) else _BAD_TEXT:
                broken = _replaced(item.resource, path, new)
                fast_taken = not problems(broken, version)
                model = _model_ok(version, broken)
                assert _check_ok(version, broken) == model, (path, new)
                if fast_taken:
                    assert model, (path, new)  # never accept what the model refuses
                compared += 1
    assert compared > 500


_MORE_TEXT = [*_BAD_TEXT, "a\x00b", "\x0b", "a\u2028b", "x y", "http://a b", "ok", "abc\n", "a" * 300, "a_b"]
_MORE_NUMBERS = [*_BAD_NUMBERS, None, "1", -1, 0, 2**31 - 1, 2**31, True, 1.5, 10**20]


def _all_items(version: FhirVersion) -> list[Keyed]:
    items: list[Keyed] = []
    for record in read_sources([str(CORPUS)]):
        assert isinstance(record, StudyRecord)
        items += [i for i in map_study(record.study, version) if i.resource_type != "Location"]
    return items


def _kind(resource: dict[str, Any], path: tuple[Any, ...]) -> tuple[str, ...]:
    """A leaf's path without list indexes, with the type of each (contained) resource it passes through."""
    kind: list[str] = []
    node: Any = resource
    for step in path:
        if isinstance(node, dict) and "resourceType" in node:
            kind.append(str(node["resourceType"]))
        if isinstance(step, str):
            kind.append(step)
        node = node[step]
    return tuple(kind)


@pytest.mark.parametrize("version", list(FhirVersion))
def test_element_shapes_refuse_whatever_the_model_refuses(version: FhirVersion) -> None:
    """Every study, group and sponsor of the corpus passes; then, with every element shape of the corpus
    known, each kind of primitive (one per resource type and element path, contained resources included)
    broken in each way is refused by check_models exactly when the model refuses it, naming the same element."""
    items = _all_items(version)
    check_models(items, version)
    # R4 Evidence and EvidenceVariable have no faithful model to compare with (versions.NO_MODEL): the R4
    # JSON Schema checks them (tests/test_mapping_results.py).
    items = [item for item in items if has_model(version, item.resource_type)]
    for item in items:
        assert _model_ok(version, item.resource)
    seen: set[tuple[Any, ...]] = set()
    compared = 0
    for item in items:
        for path in _leaves(item.resource):
            kind = _kind(item.resource, path)
            if kind in seen or path[-1] == "resourceType":
                continue  # (a contained resource's bad resourceType crashes fhir_core itself: KeyError)
            seen.add(kind)
            old: Any = item.resource
            for step in path:
                old = old[step]
            news: list[Any] = [None, "yes"] if isinstance(old, bool) else (
                _MORE_NUMBERS if isinstance(old, float | int) else _MORE_TEXT)
            for new in news:
                broken = _replaced(item.resource, path, new)
                assert _check_field(version, broken) == _model_field(version, broken), (item.resource_type, path, new)
                compared += 1
    assert compared > 1000


@pytest.mark.parametrize("version", list(FhirVersion))
def test_contained_resource_is_checked_as_its_own_type(version: FhirVersion) -> None:
    good = {"resourceType": "Organization", "name": "A"}
    assert problems({"resourceType": "ResearchStudy", "status": "active", "contained": [good]}, version) == []
    wrong = {"resourceType": "ResearchStudy", "status": "active", "contained": [{**good, "resourceType": "Patient"}]}
    assert problems(wrong, version) == ["ResearchStudy.contained[0].name"]
    assert not _model_ok(version, wrong)


def test_search_token_table_is_what_quote_gives() -> None:
    import random
    from urllib.parse import quote

    from fhirconv.output.bundle import _search_value, request_for

    rnd = random.Random(7)
    alphabets = ["abcXYZ019 ,|$\\/:~._-%&?#=+é中😀\t\n\x00'\"<>\x7f", "".join(map(chr, range(128)))]
    for _ in range(5000):
        chars = rnd.choice(alphabets)
        system, value = ("".join(rnd.choice(chars) for _ in range(rnd.randint(0, 12))) for _ in range(2))
        url = request_for(Keyed({"resourceType": "Location"}, system, value), FhirVersion.R4)["url"]
        assert url == "Location?identifier=" + quote(f"{_search_value(system)}|{_search_value(value)}", safe="/:|")
