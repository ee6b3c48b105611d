"""HAPI as an independent oracle: fhirconv's output of study records (and participant data) through HAPI's
`$validate`, errors grouped by message. Used by tests/test_hapi_oracle.py (a sample) and
benchmarks/hapi_validate_corpus.py (the whole shared corpus)."""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import requests

from fhirconv.pipeline.study import convert_study
from fhirconv.readers import read_sources
from fhirconv.readers.failure import ReadFailure
from fhirconv.versions import FhirVersion

_ANNOTATION = re.compile(r"/\*.*?\*/")
_ENTRY = re.compile(r"Bundle\.entry\[\d+\]\.resource")


@dataclass
class Tally:
    """What HAPI said about the content of one FHIR version."""

    records: int = 0
    unreadable: int = 0
    resources: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # "Type.path: message" -> count
    examples: dict[str, str] = field(default_factory=dict)  # the same key -> the first record it was seen in

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def hapi_errors(server: str, bundle: dict[str, Any]) -> list[str]:
    """Error- and fatal-level issues of HAPI's `$validate` of `bundle`, as "Type.path: message"."""
    answer = requests.post(
        f"{server}/Bundle/$validate",
        json=bundle,
        headers={"Content-Type": "application/fhir+json", "Accept": "application/fhir+json"},
        timeout=600,
    )
    outcome = answer.json()
    if outcome.get("resourceType") != "OperationOutcome":
        raise RuntimeError(f"$validate answered {answer.status_code} without an OperationOutcome")
    out = []
    for issue in outcome.get("issue", []):
        if issue.get("severity") not in ("error", "fatal"):
            continue
        where = _ANNOTATION.sub("", (issue.get("expression") or issue.get("location") or ["?"])[0])
        entry = re.match(r"Bundle\.entry\[(\d+)\]\.resource\.?(.*)", where)
        if entry:
            rtype = bundle["entry"][int(entry.group(1))]["resource"]["resourceType"]
            where = f"{rtype}.{entry.group(2)}".rstrip(".")
        out.append(f"{where}: {issue.get('diagnostics', '')}")
    return out


def check_records(server: str, sources: Iterable[str], version: FhirVersion, tally: Tally | None = None) -> Tally:
    """Convert every record of `sources` to a `version` transaction bundle and tally HAPI's errors."""
    tally = tally or Tally()
    for item in read_sources(list(sources)):
        if isinstance(item, ReadFailure):
            tally.unreadable += 1
            continue
        try:
            bundle = convert_study(item.study, version)
        except Exception:
            tally.unreadable += 1
            continue
        add(tally, server, bundle, f"{item.source}#{item.index or 0}")
    return tally


def add(tally: Tally, server: str, bundle: dict[str, Any], name: str) -> None:
    tally.records += 1
    tally.resources += len(bundle.get("entry", []))
    for error in hapi_errors(server, bundle):
        tally.errors[error] += 1
        tally.examples.setdefault(error, name)
