"""Benchmark: `fhirconv validate` on distinct converted records, all offline layers: records/s, resources/s per core.

    python benchmarks/bench_validate.py [--records 1000] [--mix corpus|registry] [--fhir-version R4|R5]
                                        [--jobs N] [--corpus DIR]

Generates --records distinct records (each copy of a corpus record with its own NCT ID, see distinct.py),
converts them to one bundle per study with `fhirconv convert -o DIR/ --allow-invalid` (not timed), then
times `fhirconv validate DIR` in a fresh process: rates per CPU-second (user + system, children included),
wall time, peak RSS and per 1,000 records, and the ratio to a bare stdlib json and orjson parse+dump of
the same bundles in the same run. Exit 1 if validate does not exit 0 (a finding in our own output).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distinct import MIXES, bare_parse_dump, corpus_dir, count_resources, generate, run_cli


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--mix", choices=MIXES, default="corpus")
    parser.add_argument("--fhir-version", default="R4")
    parser.add_argument("--jobs", type=int, default=None, help="pass --jobs N to validate (default: not given)")
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fhirconv-bench-") as tmp:
        src, out = Path(tmp) / "records", Path(tmp) / "bundles"
        generate(args.corpus or corpus_dir(), args.mix, args.records, src)
        made = run_cli(["convert", str(src), "--fhir-version", args.fhir_version, "-q", "-o", f"{out}/"])
        if made.returncode not in (0, 1):  # 1: some records refused (partial records); the rest are bundles
            print(f"convert exited {made.returncode}:\n{made.stderr[-4000:]}", file=sys.stderr)
            return 1
        bundles = sorted(out.iterdir())
        resources = count_resources(out)
        cmd = ["validate", str(out), "--fhir-version", args.fhir_version]
        if args.jobs is not None:
            cmd += ["--jobs", str(args.jobs)]
        run = run_cli(cmd)
        stdlib, fast = bare_parse_dump(bundles)  # after the run: see distinct.run_cli
    n = len(bundles)
    print(f"{n} distinct converted records ({args.mix} mix), FHIR {args.fhir_version}, {resources} resources"
          f"{'' if args.jobs is None else f', --jobs {args.jobs}'}: fhirconv validate, exit {run.returncode}")
    print(f"records/s per core:   {n / run.cpu:10.1f}   ({run.cpu:.2f} s CPU, {run.wall:.2f} s wall)")
    print(f"resources/s per core: {resources / run.cpu:10.1f}")
    print(f"peak RSS: {run.peak_mib:.0f} MiB ({run.peak_mib * 1000 / max(n, 1):.1f} MiB per 1,000 records)")
    print(f"bare parse+dump of the same bundles: stdlib json {stdlib:.3f} s CPU (fhirconv x{run.cpu / stdlib:.1f}), "
          f"orjson {fast:.3f} s CPU (fhirconv x{run.cpu / fast:.1f})")
    if run.returncode != 0:
        print(run.stderr[-4000:], file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
