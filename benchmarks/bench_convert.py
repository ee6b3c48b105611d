"""Benchmark: distinct registry records → FHIR through the CLI: records/s and resources/s per core, peak RSS.

Run: python benchmarks/bench_convert.py [--records 1000] [--mix corpus|registry] [--fhir-version R4|R5]
                                        [--output stdout|file|dir|ndjson] [--jobs N] [--corpus DIR]

Generates --records distinct records (each copy of a corpus record with its own NCT ID) in a temporary
directory, runs `fhirconv convert` on them in a fresh process, and prints the rates per CPU-second (user +
system, children included, so the figure is per core whatever --jobs is), the wall time, peak RSS (of
the largest process) and per 1,000 records, and the ratio to a bare stdlib json and orjson parse+dump of
the same files measured in the same run. --mix corpus: the 17 full API v2 records; --mix registry: every
study record of the corpus (v2, partial v2, classic JSON, legacy XML), the registry's ordinary mix.
Exits 1 if the conversion does not exit 0.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from distinct import MIXES, bare_parse_dump, corpus_dir, count_resources, generate, run_cli

OUTPUTS = ("stdout", "file", "dir", "ndjson")


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--records", type=int, default=1000)
    parser.add_argument("--mix", choices=MIXES, default="corpus")
    parser.add_argument("--fhir-version", default="R4")
    parser.add_argument("--output", choices=OUTPUTS, default="dir")
    parser.add_argument("--jobs", type=int, default=None, help="pass --jobs N to convert (default: not given)")
    parser.add_argument("--corpus", type=Path, default=None)
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="fhirconv-bench-") as tmp:
        src, out = Path(tmp) / "records", Path(tmp) / "out"
        files = generate(args.corpus or corpus_dir(), args.mix, args.records, src)
        cmd = ["convert", str(src), "--fhir-version", args.fhir_version, "-q"]
        if args.output == "file":
            cmd += ["-o", str(out / "all.json")]
        elif args.output == "dir":
            cmd += ["-o", f"{out}/"]
        elif args.output == "ndjson":
            cmd += ["--format", "ndjson", "-o", str(out / "all.ndjson")]
        if args.jobs is not None:
            cmd += ["--jobs", str(args.jobs)]
        run = run_cli(cmd)
        if run.returncode != 0:
            print(f"fhirconv {' '.join(cmd)} exited {run.returncode}:\n{run.stderr[-4000:]}", file=sys.stderr)
            return 1
        resources = count_resources(out) if out.exists() else 0
        stdlib, fast = bare_parse_dump(files)  # after the run: see distinct.run_cli

    n = args.records
    print(f"{n} distinct records ({args.mix} mix), FHIR {args.fhir_version}, output {args.output}"
          f"{'' if args.jobs is None else f', --jobs {args.jobs}'}")
    print(f"records/s per core:   {n / run.cpu:10.1f}   ({run.cpu:.2f} s CPU, {run.wall:.2f} s wall, "
          f"{n / run.wall:.1f} records/s wall)")
    if resources:
        print(f"resources/s per core: {resources / run.cpu:10.1f}   ({resources / n:.1f} resources/record)")
    print(f"peak RSS: {run.peak_mib:.0f} MiB ({run.peak_mib * 1000 / n:.1f} MiB per 1,000 records)")
    print(f"bare parse+dump of the same files: stdlib json {stdlib:.3f} s CPU (fhirconv x{run.cpu / stdlib:.1f}), "
          f"orjson {fast:.3f} s CPU (fhirconv x{run.cpu / fast:.1f})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
