"""The defect corpus: each seeded defect is caught by its intended layer at its path, and nothing else fires;
clean content (and the converters' golden outputs, where present) passes with no error or warning."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.validation.findings import Finding, Severity
from fhirconv.validation.run import validate_content, validate_paths
from fhirconv.versions import FhirVersion

DATA = Path(__file__).parent / "data"
CORPUS = DATA / "validate"
MANIFEST = json.loads((CORPUS / "defects" / "manifest.json").read_text(encoding="utf-8"))


def _load(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _problems(findings: list[Finding]) -> list[tuple[str, str, str, list[str]]]:
    return sorted(
        (f.layer.value, f.expression, f.code, [layer.value for layer in f.also])
        for f in findings
        if f.severity is not Severity.INFORMATION
    )


@pytest.mark.parametrize("case", MANIFEST, ids=[m["file"] for m in MANIFEST])
def test_defect_is_caught_by_its_layer_only(case: dict[str, Any]) -> None:
    content = _load(CORPUS / "defects" / case["file"])
    findings = validate_content(content, FhirVersion(case["version"]))
    expected = sorted((e["layer"], e["expression"], e["code"], e["also"]) for e in case["expected"])
    assert _problems(findings) == expected


def test_corpus_covers_every_offline_layer_in_both_versions() -> None:
    for version in ("R4", "R5"):
        layers = {e["layer"] for m in MANIFEST if m["version"] == version for e in m["expected"]}
        assert layers == {"structure", "schema", "terminology", "invariant", "integrity"}


def test_corpus_files_all_listed() -> None:
    listed = {m["file"] for m in MANIFEST}
    on_disk = {str(p.relative_to(CORPUS / "defects")) for p in (CORPUS / "defects").rglob("*.json")}
    assert on_disk - {"manifest.json"} == listed


@pytest.mark.parametrize("version", list(FhirVersion))
def test_clean_bundle_passes(version: FhirVersion) -> None:
    bundle = _load(CORPUS / "clean" / f"bundle.{version.value}.json")
    assert _problems(validate_content(bundle, version)) == []


def test_a_clean_bundle_of_one_version_fails_in_the_other() -> None:
    # R5 content is not R4 content: the layers must notice, not wave it through.
    bundle = _load(CORPUS / "clean" / "bundle.R5.json")
    assert _problems(validate_content(bundle, FhirVersion.R4))


GOLDEN = (
    sorted(
        p for p in (DATA / "golden").rglob("*") if p.name.endswith((".R4.json", ".R5.json", ".R4.ndjson", ".R5.ndjson"))
    )
    if (DATA / "golden").is_dir()
    else []
)


@pytest.mark.parametrize("path", GOLDEN, ids=[p.name for p in GOLDEN])
def test_golden_converter_output_passes(path: Path) -> None:
    # Whatever the converters' golden tests pin (bundles, NDJSON): it must pass every offline layer.
    version = FhirVersion(path.name.rsplit(".", 2)[1])
    result = validate_paths([path], version)
    assert result.documents > 0
    assert _problems(result.findings) == []


OFFICIAL = CORPUS / "official"
OFFICIAL_CLEAN = sorted(OFFICIAL.glob("R[45]/*.json"))


@pytest.mark.parametrize("path", OFFICIAL_CLEAN, ids=[f"{p.parent.name}/{p.name}" for p in OFFICIAL_CLEAN])
def test_official_examples_pass(path: Path) -> None:
    # Content from another producer: the spec's own examples of the resource types fhirconv writes.
    assert _problems(validate_content(_load(path), FhirVersion(path.parent.name))) == []


def test_official_examples_with_real_defects_are_flagged() -> None:
    r4 = validate_content(_load(OFFICIAL / "flawed" / "R4-Observation-clinical-gender.json"), FhirVersion.R4)
    assert _problems(r4) == [("integrity", "Observation.performer[0].reference", "wrong-target-type", [])]
    r5 = validate_content(
        _load(OFFICIAL / "flawed" / "R5-ResearchSubject-example-crossover-placebo-to-drug.json"), FhirVersion.R5
    )
    assert _problems(r5) == [
        ("integrity", "ResearchSubject.study.reference", "bad-reference", []),
        ("integrity", "ResearchSubject.subject.reference", "bad-reference", []),
    ]
