"""Measure: the share of an API v2 record's text values that reach the converted bundle, per FHIR version and
record section.

Run: python benchmarks/placement_share.py [--corpus tests/data/ctgov-corpus]

A rough, string-level measure, not the placement test issue 11 asks for: every leaf string of at least three
characters in `protocolSection`, `derivedSection` and `resultsSection` of the full API v2 records (*.json, not
*.classic.json) counts as placed when its text (markdown escapes removed, whitespace collapsed, case folded;
an enum also as `A-B` / `A B`) occurs anywhere in the bundle's JSON. It over-counts values whose words occur
elsewhere and under-counts values fhirconv rewrites (dates, enums mapped to FHIR codes); numbers and booleans
are left out, because a short number occurs somewhere in any bundle.
"""

from __future__ import annotations

import argparse
import json
import re
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from fhirconv.pipeline.study import convert_study
from fhirconv.readers import read_sources
from fhirconv.readers.failure import ReadFailure
from fhirconv.readers.normalize import unescape_markdown
from fhirconv.versions import FhirVersion

SECTIONS = ("protocolSection", "derivedSection", "resultsSection")


def leaves(value: Any) -> Iterator[str]:
    if isinstance(value, dict):
        for v in value.values():
            yield from leaves(v)
    elif isinstance(value, list):
        for v in value:
            yield from leaves(v)
    elif isinstance(value, str) and len(value.strip()) >= 3:
        yield value


def norm(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip().casefold()


def shares(corpus: Path) -> dict[tuple[str, str], tuple[int, int]]:
    """(version, section) → (placed, total)."""
    files = sorted(p for p in corpus.glob("*.json") if not p.name.endswith(".classic.json"))
    placed: Counter[tuple[str, str]] = Counter()
    total: Counter[tuple[str, str]] = Counter()
    for path in files:
        raw = json.loads(path.read_text(encoding="utf-8"))
        records = raw.get("studies", [raw]) if isinstance(raw, dict) else raw
        items = [i for i in read_sources([str(path)]) if not isinstance(i, ReadFailure)]
        for record, item in zip(records, items, strict=False):
            for version in FhirVersion:
                out = norm(json.dumps(convert_study(item.study, version), ensure_ascii=False))
                for section in SECTIONS:
                    for text in leaves(record.get(section, {})):
                        key = (version.value, section)
                        total[key] += 1
                        s = norm(unescape_markdown(text) or "")
                        if s in out or s.replace("_", "-") in out or s.replace("_", " ") in out:
                            placed[key] += 1
    return {key: (placed[key], total[key]) for key in sorted(total)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--corpus", type=Path, default=Path(__file__).resolve().parents[1] / "tests" / "data"
                        / "ctgov-corpus")
    args = parser.parse_args()
    for (version, section), (placed, total) in shares(args.corpus).items():
        print(f"{version} {section}: {placed}/{total} = {100 * placed / total:.1f}%")


if __name__ == "__main__":
    main()
