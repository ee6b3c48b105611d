"""The compiled structure check against its oracle, the fhir.resources models: on every resource of the corpus
outputs, of the golden outputs and of the defect corpus, and on broken copies of corpus resources, the compiled
check passes a resource only when the models pass it, and where the models find a problem it names the same
element. Also: the shipped tables are what the models give today."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from fhirconv.mapping import map_study
from fhirconv.model.study import StudyRecord
from fhirconv.readers import read_sources
from fhirconv.validation import build_structure
from fhirconv.validation.compiled import problems
from fhirconv.validation.structure import CRASH, model_findings
from fhirconv.versions import FhirVersion, has_model

DATA = Path(__file__).parent / "data"
DEFECTS = DATA / "validate" / "defects"
# Where the compiled check is stricter than the models, and which other layer reports the problem.
STRICTER = {
    "boolean-as-string.json": "Patient.active",  # the models coerce "true"; the schema layer reports it
    "ele-1.json": "Patient.identifier[1]",  # the models accept {}; the invariant layer reports ele-1
}


def _resources(content: Any) -> Iterator[dict[str, Any]]:
    if not isinstance(content, dict):
        return
    yield content
    if content.get("resourceType") == "Bundle" and isinstance(content.get("entry"), list):
        for entry in content["entry"]:
            if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                yield entry["resource"]


def _model_paths(resource: Any, version: FhirVersion) -> set[str]:
    return {f.path for f in model_findings(resource, version)}


@pytest.fixture(scope="module")
def corpus_outputs() -> dict[FhirVersion, list[dict[str, Any]]]:
    records = [r for r in read_sources([str(DATA / "ctgov-corpus")]) if isinstance(r, StudyRecord)]
    out: dict[FhirVersion, list[dict[str, Any]]] = {}
    for version in FhirVersion:
        out[version] = [item.resource for r in records for item in map_study(r.study, version)]
    for path in sorted((DATA / "golden").rglob("*")):
        if path.name.endswith((".R4.json", ".R5.json", ".R4.ndjson", ".R5.ndjson")):
            version = FhirVersion(path.name.rsplit(".", 2)[1])
            text = path.read_text(encoding="utf-8")
            docs = [json.loads(line) for line in text.splitlines() if line.strip()] if path.suffix == ".ndjson" \
                else [json.loads(text)]
            out[version] += [r for d in docs for r in _resources(d)]
    return out


@pytest.mark.parametrize("version", list(FhirVersion))
def test_shipped_tables_are_the_models(version: FhirVersion) -> None:
    shipped = (Path(build_structure.__file__).parent / "data" / f"structure.{version}.json.gz").read_bytes()
    assert gzip.decompress(shipped) == build_structure.payload(version), (
        "run python -m fhirconv.validation.build_structure"
    )


@pytest.mark.parametrize("version", list(FhirVersion))
def test_every_corpus_resource_passes_both(corpus_outputs: dict[FhirVersion, list[dict[str, Any]]],
                                           version: FhirVersion) -> None:
    resources = corpus_outputs[version]
    assert len(resources) > 5000
    # The compiled check defers some types (xhtml Narrative.div, integer64, …) to the models by design: a
    # resource it flags there must pass the models.
    flagged = [(r, p) for r in resources if (p := problems(r, version))]
    refused = [(r["resourceType"], _model_paths(r, version)) for r, _ in flagged]
    assert [(kind, paths) for kind, paths in refused if paths] == []
    # The oracle on one resource of each shape of top-level keys (the models take ~0.4 ms a resource).
    shapes: dict[tuple[str, ...], dict[str, Any]] = {}
    for r in resources:
        if has_model(version, r["resourceType"]):  # R4 Evidence(Variable): the R4 JSON Schema's (NO_MODEL)
            shapes.setdefault((r["resourceType"], *sorted(r)), r)
    assert len(shapes) > 30
    by_shape = [(r["resourceType"], _model_paths(r, version)) for r in shapes.values()]
    assert [(kind, paths) for kind, paths in by_shape if paths] == []


DEFECT_FILES = sorted(p for p in DEFECTS.rglob("*.json") if p.name != "manifest.json")


@pytest.mark.parametrize("path", DEFECT_FILES, ids=[str(p.relative_to(DEFECTS)) for p in DEFECT_FILES])
def test_defect_corpus_same_verdict_and_paths(path: Path) -> None:
    version = FhirVersion(path.parent.name)
    for resource in _resources(json.loads(path.read_text(encoding="utf-8"))):
        compiled, models = set(problems(resource, version)), _model_paths(resource, version)
        if compiled and not models:
            assert compiled == {STRICTER[path.name]}
            continue
        assert bool(compiled) == bool(models)
        assert models <= compiled  # every element the models name, the compiled check names too


BROKEN: list[Any] = ["", " ", None, [], {}, 7, 1.5, True, "not a date", "x y", "2021-02-30", "a" * 300]


def _leaves(value: Any, at: tuple[Any, ...] = ()) -> Iterator[tuple[Any, ...]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _leaves(v, (*at, k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            yield from _leaves(v, (*at, i))
    else:
        yield at


def _replaced(resource: dict[str, Any], at: tuple[Any, ...], new: Any) -> dict[str, Any]:
    copied = copy.deepcopy(resource)
    node: Any = copied
    for part in at[:-1]:
        node = node[part]
    node[at[-1]] = new
    return copied


@pytest.mark.parametrize("version", list(FhirVersion))
def test_broken_values_never_pass_where_the_models_refuse(
    corpus_outputs: dict[FhirVersion, list[dict[str, Any]]], version: FhirVersion
) -> None:
    # Soundness: one resource of each type, every leaf replaced in turn by each broken value.
    samples: dict[str, dict[str, Any]] = {}
    for r in corpus_outputs[version]:
        if has_model(version, r["resourceType"]):  # R4 Evidence(Variable): the R4 JSON Schema's (NO_MODEL)
            samples.setdefault(r["resourceType"], r)
    checked = 0
    for resource in samples.values():
        for at in _leaves(resource):
            if at == ("resourceType",):
                continue
            for new in BROKEN:
                broken = _replaced(resource, at, new)
                compiled = set(problems(broken, version))
                found = model_findings(broken, version)
                if any(f.message.startswith(CRASH) for f in found):  # fhir_core crashed (a url list): no paths
                    assert compiled
                    continue
                models = {f.path for f in found}
                checked += 1
                assert compiled or not models, (at, new, models)
                assert models <= compiled or not models, (at, new, models, compiled)
    assert checked > 1000

