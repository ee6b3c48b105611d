"""Benchmark: registry records → FHIR bundles, records/s and resources/s per core, peak memory.

Run: python benchmarks/bench_convert.py [--corpus DIR] [--rounds N] [--fhir-version R4|R5]
Reads ../shared/ctgov-corpus when present (else tests/data/ctgov-corpus). Prints, next to fhirconv's
figures, the time a bare json parse-and-dump of the same records takes (the floor for any converter).
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import time
from pathlib import Path

from fhirconv.bundle import build_bundle
from fhirconv.convert import map_study
from fhirconv.readers import read_sources
from fhirconv.study import StudyRecord
from fhirconv.versions import FhirVersion

ROOT = Path(__file__).resolve().parents[1]


def _corpus() -> Path:
    shared = ROOT.parent / "shared" / "ctgov-corpus"
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "ctgov-corpus"


def _files(corpus: Path) -> list[Path]:
    # Study records only: the top level of the corpus and partial/ (pages/ repeats them, spec/ is not data).
    files = sorted(p for p in corpus.iterdir() if p.suffix in (".json", ".xml"))
    partial = corpus / "partial"
    if partial.is_dir():
        files += sorted(partial.glob("*.json"))
    return files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fhir-version", default="R4")
    args = parser.parse_args()
    version = FhirVersion.parse(args.fhir_version)
    files = _files(args.corpus or _corpus())
    raw = [p.read_bytes() for p in files]

    # Floor: bare parse-and-dump of the JSON records (XML has no bare equivalent; counted as read).
    t0 = time.process_time()
    for _ in range(args.rounds):
        for data, path in zip(raw, files, strict=True):
            if path.suffix == ".json":
                json.dumps(json.loads(data))
    bare = time.process_time() - t0

    records = resources = 0
    t0 = time.process_time()
    for _ in range(args.rounds):
        for item in read_sources(str(p) for p in files):
            if not isinstance(item, StudyRecord):
                print(f"failed: {item.source}: {item.error}", file=sys.stderr)
                continue
            items = map_study(item.study, version)  # includes the fhir.resources model check
            bundle = build_bundle(items, kind="transaction", version=version)
            json.dumps(bundle, ensure_ascii=False)
            records += 1
            resources += len(items)
    cpu = time.process_time() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024

    print(f"corpus: {len(files)} files x {args.rounds} rounds, FHIR {version.value}, model-validated")
    print(f"records/s per core:   {records / cpu:10.1f}")
    print(f"resources/s per core: {resources / cpu:10.1f}   ({resources / max(records, 1):.1f} resources/record)")
    print(f"bare json parse+dump: {bare:.3f} s CPU vs fhirconv {cpu:.3f} s CPU (x{cpu / max(bare, 1e-9):.1f})")
    print(f"peak RSS: {peak_mb:.0f} MiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
