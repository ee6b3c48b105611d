"""Benchmark: SDTM findings rows → validated FHIR Observations as NDJSON; Observations/s per core, peak memory.

Two inputs: the CDISC pilot's LB and VS domains (about 89,000 rows, read from the SAS transport files
when /work/shared/sdtm-cdiscpilot01 or --pilot DIR is present) and a generated LB domain of --rows rows
(default 1,000,000) streamed from a seeded generator. Each run is single-process (one core): map each row
(fhirconv.participants.map_common.build_observation), validate it (the fast path: the full fhir.resources
model once per resource shape, value checks per row), serialise it and write it to NDJSON.

    python benchmarks/bench_participants.py [--rows N] [--pilot DIR] [--version R4|R5] [--out DIR]
"""

from __future__ import annotations

import argparse
import random
import resource
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

from fhirconv.bundle import Keyed
from fhirconv.participants.fast import FastValidator, full_validate
from fhirconv.participants.map_common import Context, build_observation
from fhirconv.participants.pipeline import write_ndjson
from fhirconv.participants.records import Measurement, SourceRef
from fhirconv.study import ArmGroup, Study
from fhirconv.versions import FhirVersion

PILOT = Path("/work/shared/sdtm-cdiscpilot01")

# (test code, name, category, standard unit, low, high) as in the pilot's LB domain.
LB_TESTS = [
    ("ALB", "Albumin", "CHEMISTRY", "g/L", 33.0, 49.0),
    ("ALT", "Alanine Aminotransferase", "CHEMISTRY", "U/L", 6.0, 34.0),
    ("AST", "Aspartate Aminotransferase", "CHEMISTRY", "U/L", 9.0, 34.0),
    ("BILI", "Bilirubin", "CHEMISTRY", "umol/L", 3.42, 20.52),
    ("CREAT", "Creatinine", "CHEMISTRY", "umol/L", 53.0, 115.0),
    ("GLUC", "Glucose", "CHEMISTRY", "mmol/L", 3.9, 6.4),
    ("SODIUM", "Sodium", "CHEMISTRY", "mmol/L", 132.0, 147.0),
    ("HGB", "Hemoglobin", "HEMATOLOGY", "mmol/L", 7.07, 9.0),
    ("WBC", "Leukocytes", "HEMATOLOGY", "GI/L", 3.8, 10.7),
    ("LYM", "Lymphocytes", "HEMATOLOGY", "GI/L", 0.8, 3.0),
    ("PLAT", "Platelet", "HEMATOLOGY", "GI/L", 140.0, 400.0),
    ("HCT", "Hematocrit", "HEMATOLOGY", "1", 0.35, 0.49),
]


def study_context(study_id: str) -> Context:
    return Context.for_study(Study(nct_id=study_id, arm_groups=[ArmGroup("Placebo")]))


def generated_lb(rows: int, seed: int = 20200402) -> Iterator[Measurement]:
    """A synthetic LB domain, streamed: 5,000 subjects x visits x the tests above, values around range."""
    rng = random.Random(seed)
    per_subject = 200
    for i in range(rows):
        subject = f"GEN-{i // per_subject:06d}"
        code, name, cat, unit, low, high = LB_TESTS[i % len(LB_TESTS)]
        value = round(rng.uniform(low * 0.8, high * 1.2), 2)
        nrind = "LOW" if value < low else ("HIGH" if value > high else "NORMAL")
        day = 1 + (i % per_subject) // len(LB_TESTS)
        yield Measurement(
            subject_id=subject,
            source=SourceRef("generated-lb", i + 1),
            domain="LB",
            test_code=code,
            test_name=name,
            category=cat,
            seq=i % per_subject + 1,
            std_text=str(value),
            std_value=value,
            std_unit=unit,
            ref_low=low,
            ref_high=high,
            normal_indicator=nrind,
            date=f"2020-{1 + day // 28:02d}-{1 + day % 28:02d}T08:{i % 60:02d}",
        )


def pilot_rows(directory: Path) -> Iterator[Measurement]:
    """The pilot's LB and VS rows as records (a minimal adapter over the XPT reader)."""
    from fhirconv.participants.xpt import XptReader

    for name, d in (("lb.xpt", "LB"), ("vs.xpt", "VS")):
        with XptReader(directory / name) as reader:
            for i, row in enumerate(reader, start=1):

                def s(col: str, row: dict[str, object] = row) -> str | None:
                    v = row.get(col)
                    return v if isinstance(v, str) and v.strip() else None

                def n(col: str, row: dict[str, object] = row) -> float | None:
                    v = row.get(col)
                    return v if isinstance(v, float) else None

                seq = n(f"{d}SEQ")
                yield Measurement(
                    subject_id=str(row["USUBJID"]),
                    source=SourceRef(name, i),
                    domain=d,
                    test_code=str(row[f"{d}TESTCD"]),
                    test_name=s(f"{d}TEST"),
                    category=s(f"{d}CAT"),
                    seq=int(seq) if seq is not None else None,
                    result_text=s(f"{d}ORRES"),
                    result_unit=s(f"{d}ORRESU"),
                    std_text=s(f"{d}STRESC"),
                    std_value=n(f"{d}STRESN"),
                    std_unit=s(f"{d}STRESU"),
                    ref_low=n(f"{d}STNRLO"),
                    ref_high=n(f"{d}STNRHI"),
                    normal_indicator=s(f"{d}NRIND"),
                    status=s(f"{d}STAT"),
                    date=s(f"{d}DTC"),
                    position=s("VSPOS"),
                )


def run(label: str, records: Iterator[Measurement], ctx: Context, version: FhirVersion, out: Path) -> float:
    validator = FastValidator(version)
    sample: list[Keyed] = []

    def items() -> Iterator[Keyed]:
        for i, m in enumerate(records):
            item, plan = build_observation(m, ctx)
            validator.validate(item, plan.shape)
            if i % 10_000 == 0:
                sample.append(item)
            yield item

    cpu0, wall0 = time.process_time(), time.perf_counter()
    counts = write_ndjson(items(), out, version)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = sum(counts.values())
    for item in sample:  # the fast path's output still passes the full model (outside the timing)
        full_validate(item, version)
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    size_mb = sum(p.stat().st_size for p in out.glob("*.ndjson")) / 1e6
    print(
        f"{label} [{version}]: {n:,} Observations in {wall:.1f} s wall / {cpu:.1f} s CPU -> "
        f"{n / cpu:,.0f} validated Observations/s per core; shapes {validator.shapes} (full model), "
        f"{validator.fast:,} value-checked; sample of {len(sample)} re-validated in full; "
        f"NDJSON {size_mb:,.0f} MB; peak RSS so far {peak_mb:,.0f} MB"
    )
    return cpu


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated LB domain")
    parser.add_argument("--pilot", type=Path, default=PILOT, help="folder with the CDISC pilot lb.xpt, vs.xpt")
    parser.add_argument("--version", default="R4", help="R4 or R5")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default: a temp folder)")
    args = parser.parse_args()
    version = FhirVersion.parse(args.version)
    with tempfile.TemporaryDirectory(prefix="bench-participants-") as tmp:
        base = args.out or Path(tmp)
        if (args.pilot / "lb.xpt").is_file():
            # Reading is timed with the rest: the number is end to end from the .xpt files. A read-only
            # pass first shows how much of it is the reader's.
            cpu0 = time.process_time()
            rows = sum(1 for _ in pilot_rows(args.pilot))
            read = time.process_time() - cpu0
            print(f"CDISC pilot LB+VS: reading {rows:,} rows into records alone: {read:.1f} s CPU")
            run("CDISC pilot LB+VS", pilot_rows(args.pilot), study_context("CDISCPILOT01"), version, base / "pilot")
        else:
            print(f"pilot data not found in {args.pilot}; skipped", file=sys.stderr)
        if args.rows:
            run(
                f"generated LB ({args.rows:,} rows)",
                generated_lb(args.rows),
                study_context("GEN-LB"),
                version,
                base / "gen",
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
