"""Benchmark: registry records → FHIR bundles, records/s and resources/s per core, peak memory.

Run: python benchmarks/bench_convert.py [--corpus DIR] [--rounds N] [--fhir-version R4|R5] [--freeze-gc]
Reads ../shared/ctgov-corpus when present (else tests/data/ctgov-corpus). Prints, next to fhirconv's
figures, the time a bare json parse-and-dump of the same records takes (the floor for any converter),
the first round (cold: model classes built, caches empty) apart from the later ones, and peak RSS after
the first and after the last round: memory is flat in the number of records when the two agree.
A record that fails (or is read twice) is reported (file, record, error) and counted; the run goes on and
exits 1. A defect (an exception that is not a FhirconvError) stops the run with its traceback.
"""

from __future__ import annotations

import argparse
import gc
import json
import resource
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from fhirconv.errors import FhirconvError
from fhirconv.gc_tuning import fewer_collections
from fhirconv.output.bundle import build_bundle, dumps
from fhirconv.pipeline.study import Converted, Summary, convert_records
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


@dataclass(slots=True)
class Round:
    cpu: float = 0.0
    records: int = 0
    resources: int = 0
    failures: list[str] = field(default_factory=list)


def _json_or_none(path: Path) -> bytes | None:
    if path.suffix != ".json":
        return None
    data = path.read_bytes()
    try:
        json.loads(data)
    except ValueError:
        return None
    return data


def _peak_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _round(files: list[Path], version: FhirVersion) -> Round:
    # Through the library's pipeline (read → map → model check), as the CLI converts, then the bundle and
    # its JSON text as the CLI writes it (bundle.dumps). One run per file: the corpus holds some studies in
    # two formats, and a single run would skip the second as a duplicate.
    out = Round()
    t0 = time.process_time()
    results = (r for p in files for r in convert_records([str(p)], version, Summary()))
    for result in results:
        if not isinstance(result, Converted):
            out.failures.append(result.describe())  # names file and record
            continue
        try:
            bundle = build_bundle(result.items, kind="transaction", version=version)
            dumps(bundle)
        except FhirconvError as exc:
            out.failures.append(str(exc.located(file=result.record.source, record=result.key)))
            continue
        out.records += 1
        out.resources += len(result.items)
    out.cpu = time.process_time() - t0
    return out


def _rates(label: str, rounds: list[Round]) -> str:
    cpu = sum(r.cpu for r in rounds)
    records = sum(r.records for r in rounds)
    resources = sum(r.resources for r in rounds)
    return (f"{label:<22}{records / cpu:10.1f} records/s  {resources / cpu:10.1f} resources/s per core"
            f"   ({cpu:.3f} s CPU, {records} records)")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=None)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fhir-version", default="R4")
    parser.add_argument("--freeze-gc", action="store_true",
                        help="also gc.freeze() after the first round (an experiment; the CLI does not freeze)")
    args = parser.parse_args()
    version = FhirVersion.parse(args.fhir_version)
    files = _files(args.corpus or _corpus())
    raw = [_json_or_none(p) for p in files]

    # Floor: bare parse-and-dump of the JSON records (XML, and JSON that does not parse, have no bare
    # equivalent; counted as read).
    t0 = time.process_time()
    for _ in range(args.rounds):
        for data in raw:
            if data is not None:
                json.dumps(json.loads(data))
    bare = time.process_time() - t0
    del raw

    rounds: list[Round] = []
    peaks: list[float] = []
    with fewer_collections():  # what `fhirconv convert` does around its records
        for _ in range(max(args.rounds, 1)):
            rounds.append(_round(files, version))
            peaks.append(_peak_mib())
            if args.freeze_gc and len(rounds) == 1:
                gc.freeze()
    failures = rounds[0].failures  # every round reads the same records
    for line in failures:
        print(f"failed: {line}", file=sys.stderr)

    cpu = sum(r.cpu for r in rounds)
    records = sum(r.records for r in rounds)
    resources = sum(r.resources for r in rounds)
    frozen = ", gc frozen after round 1" if args.freeze_gc else ""
    print(f"corpus: {len(files)} files x {len(rounds)} rounds, FHIR {version.value}, model-validated{frozen}; "
          f"{rounds[0].records} records converted per round, {len(failures)} failed")
    print(f"records/s per core:   {records / max(cpu, 1e-9):10.1f}")
    print(f"resources/s per core: {resources / max(cpu, 1e-9):10.1f}   "
          f"({resources / max(records, 1):.1f} resources/record)")
    print(_rates("  first round (cold):", rounds[:1]))
    if len(rounds) > 1:
        print(_rates("  later rounds:", rounds[1:]))
    print(f"bare json parse+dump: {bare:.3f} s CPU vs fhirconv {cpu:.3f} s CPU (x{cpu / max(bare, 1e-9):.1f})")
    print(f"peak RSS: {peaks[0]:.0f} MiB after round 1 ({rounds[0].records} records), {peaks[-1]:.0f} MiB after "
          f"round {len(rounds)} ({records} records); by round: {' '.join(f'{p:.0f}' for p in peaks)} MiB")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
