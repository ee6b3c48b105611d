"""Benchmark: SDTM findings rows → validated FHIR Observations as NDJSON; Observations/s per core, peak memory.

Parts, each in its own process (so each peak-memory figure is its own), each single-threaded (one core):

  pilot    the CDISC pilot (every domain fhirconv maps: DM, DS, LB + VS (about 89,000 Observations), AE,
           EX, CM, MH; /work/shared/sdtm-cdiscpilot01 or --pilot DIR), end to end: read_participants
           (SAS transport files) → convert_participants → NDJSON, with Observations/s and all
           resources/s per core; also a read-only pass, to show how much of the time is the reader's
  gen      a generated LB domain of --rows rows (default 1,000,000), written as SDTM CSV (dm.csv, lb.csv;
           not timed) and converted end to end like the pilot
  stage    the conversion stage alone on --rows generated records held in no file: map, validate (fast
           path), serialise, write
  formats  the pilot through the CLI (`fhirconv convert --participants PILOT`), once to one JSON bundle
           (-o pilot.json) and once to NDJSON (--format ndjson): wall time and peak RSS of each process
           and their ratio (the issue's bound: the bundle within 1.5x of NDJSON in both)

Validation is the fast path (fhirconv/validation/fast.py): the full fhir.resources model once per
resource shape (Observations: per mapping plan; AdverseEvents: per generic shape), value checks per
row; every 10,000th Observation is re-validated in full afterwards. Patients and ResearchSubjects are
validated in full.

"Per core" is the process's CPU time (time.process_time: all its threads, user + system), so a busy
machine slows the wall clock but not the figure much. The pilot is converted twice in one process: the
first (cold) run includes loading the fhir.resources model classes and ConceptMaps on first use, the
second shows the rate once they are loaded. Memory: the generated domain is also converted at a tenth
of --rows, in a process of its own, and both peak RSS figures are printed: streaming means they match.

    python benchmarks/bench_participants.py [--rows N] [--pilot DIR] [--version R4|R5] [--parts pilot,gen,stage,formats]
"""

from __future__ import annotations

import argparse
import csv
import itertools
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable, Iterator
from pathlib import Path

from fhirconv.mapping.participants.common import Context, build_observation
from fhirconv.model.participants import Measurement, SourceRef
from fhirconv.model.study import ArmGroup, Study
from fhirconv.output.bundle import Keyed
from fhirconv.pipeline.participants import ParticipantSummary, convert_participants, write_ndjson
from fhirconv.pipeline.study import map_study
from fhirconv.validation.fast import FastValidator, full_validate
from fhirconv.versions import FhirVersion

PILOT = Path("/work/shared/sdtm-cdiscpilot01")
PER_SUBJECT = 200  # generated LB rows per subject (1,000,000 rows: 5,000 subjects)

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
GEN_STUDY = Study(nct_id="GEN-LB", arm_groups=[ArmGroup("Placebo")])


def generated_rows(rows: int, seed: int = 20200402) -> Iterator[dict[str, object]]:
    """A synthetic LB domain as SDTM variables: subjects x visits x the tests above, values around range."""
    rng = random.Random(seed)
    for i in range(rows):
        code, name, cat, unit, low, high = LB_TESTS[i % len(LB_TESTS)]
        value = round(rng.uniform(low * 0.8, high * 1.2), 2)
        day = 1 + (i % PER_SUBJECT) // len(LB_TESTS)
        yield {
            "STUDYID": "GEN-LB",
            "DOMAIN": "LB",
            "USUBJID": f"GEN-{i // PER_SUBJECT:06d}",
            "LBSEQ": i % PER_SUBJECT + 1,
            "LBTESTCD": code,
            "LBTEST": name,
            "LBCAT": cat,
            "LBSTRESC": str(value),
            "LBSTRESN": value,
            "LBSTRESU": unit,
            "LBSTNRLO": low,
            "LBSTNRHI": high,
            "LBNRIND": "LOW" if value < low else ("HIGH" if value > high else "NORMAL"),
            "LBDTC": f"2020-{1 + day // 28:02d}-{1 + day % 28:02d}T08:{i % 60:02d}",
        }


def write_generated(rows: int, folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    subjects = (rows + PER_SUBJECT - 1) // PER_SUBJECT
    with (folder / "dm.csv").open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        w.writerow(["STUDYID", "DOMAIN", "USUBJID", "SEX", "ARM", "ARMCD", "ACTARM", "ACTARMCD"])
        for s in range(subjects):
            w.writerow(["GEN-LB", "DM", f"GEN-{s:06d}", "FM"[s % 2], "Placebo", "Pbo", "Placebo", "Pbo"])
    with (folder / "lb.csv").open("w", newline="", encoding="utf-8") as handle:
        w = csv.writer(handle)
        first = True
        for row in generated_rows(rows):
            if first:
                w.writerow(list(row))
                first = False
            w.writerow(list(row.values()))


def generated_records(rows: int) -> Iterator[Measurement]:
    for i, r in enumerate(generated_rows(rows), start=1):
        yield Measurement(
            subject_id=str(r["USUBJID"]),
            source=SourceRef("lb.csv", i),
            domain="LB",
            test_code=str(r["LBTESTCD"]),
            test_name=str(r["LBTEST"]),
            category=str(r["LBCAT"]),
            seq=int(r["LBSEQ"]),  # type: ignore[call-overload]
            std_text=str(r["LBSTRESC"]),
            std_value=float(r["LBSTRESN"]),  # type: ignore[arg-type]
            std_unit=str(r["LBSTRESU"]),
            ref_low=float(r["LBSTNRLO"]),  # type: ignore[arg-type]
            ref_high=float(r["LBSTNRHI"]),  # type: ignore[arg-type]
            normal_indicator=str(r["LBNRIND"]),
            date=str(r["LBDTC"]),
        )


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def check_sample(out: Path, version: FhirVersion, every: int = 10_000) -> int:
    """Re-validate every `every`-th Observation written with the full model (outside the timing)."""
    checked = 0
    with (out / "Observation.ndjson").open(encoding="utf-8") as handle:
        for i, line in enumerate(handle):
            if i % every == 0:
                resource_ = json.loads(line)
                full_validate(Keyed(resource_, "", str(i)), version)
                checked += 1
    return checked


def end_to_end(
    label: str, folder: Path, study: Study | None, version: FhirVersion, out: Path, report: Path | None = None
) -> None:
    from fhirconv.readers.participants import read_participants
    from fhirconv.readers.trial_design import study_from_design

    start_mb = peak_mb()
    cpu0, wall0 = time.process_time(), time.perf_counter()
    data = read_participants(folder)
    chosen = study if study is not None else study_from_design(data.design)  # type: ignore[arg-type]
    summary = ParticipantSummary()
    # The study's resources first, as convert writes them: the participants' resources refer to them.
    rows = convert_participants(data, chosen, version, summary=summary)
    counts = write_ndjson(itertools.chain(map_study(chosen, version), rows), out, version)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    n = counts.get("Observation.ndjson", 0)
    total = sum(counts.values())
    sample = check_sample(out, version)
    kinds = ", ".join(f"{name.removesuffix('.ndjson')} {c:,}" for name, c in sorted(counts.items()))
    print(
        f"{label} [{version}] end to end: {n:,} Observations ({total:,} resources: {kinds}) in "
        f"{wall:.1f} s wall / {cpu:.1f} s CPU -> {n / cpu:,.0f} validated Observations/s per core "
        f"({total / cpu:,.0f} resources/s); "
        f"{summary.shapes} shapes fully validated, {summary.fast_validations:,} value-checked, "
        f"{sample} re-validated in full; unbalanced files: {summary.unbalanced() or 'none'}; "
        f"peak RSS {peak_mb():,.0f} MB ({start_mb:,.0f} MB before reading)"
    )
    if report is not None:
        with report.open("a", encoding="utf-8") as handle:
            handle.write(json.dumps({"label": label, "rows": n, "rate": n / cpu, "peak_mb": peak_mb()}) + "\n")


def read_only(folder: Path) -> None:
    from fhirconv.readers.participants import read_participants

    cpu0 = time.process_time()
    data = read_participants(folder)
    n = sum(1 for _ in data.measurements)
    cpu = time.process_time() - cpu0
    print(f"  reading alone: {n:,} rows in {cpu:.1f} s CPU -> {n / cpu:,.0f} rows/s")


def stage(rows: int, version: FhirVersion, out: Path) -> None:
    ctx = Context.for_study(GEN_STUDY)
    validator = FastValidator(version)
    records: Iterable[Measurement] = generated_records(rows)
    gen0 = time.process_time()
    gen = sum(1 for _ in generated_records(min(rows, 100_000)))  # cost of making the records, to subtract
    gen_cpu = (time.process_time() - gen0) * rows / gen

    def items() -> Iterator[Keyed]:
        for m in records:
            item, plan = build_observation(m, ctx)
            validator.validate(item, plan.shape)
            yield item

    cpu0 = time.process_time()
    n = sum(write_ndjson(itertools.chain(map_study(GEN_STUDY, version), items()), out, version).values()) - 1
    cpu = time.process_time() - cpu0 - gen_cpu
    sample = check_sample(out, version)
    print(
        f"conversion stage alone [{version}]: {n:,} Observations: map + validate + NDJSON {cpu:.1f} s CPU "
        f"(record generation, {gen_cpu:.1f} s, subtracted) -> {n / cpu:,.0f} validated Observations/s per core; "
        f"{validator.shapes} shapes, {sample} re-validated in full; peak RSS {peak_mb():,.0f} MB"
    )


def cli_run(args: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in MB) of one `fhirconv` CLI process: os.wait4 gives that child's own
    rusage (RUSAGE_CHILDREN would be the largest of all children so far)."""
    cmd = [sys.executable, "-c", "from fhirconv.entry import run; run()", *args]
    wall0 = time.perf_counter()
    child = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(child.pid, 0)
    wall = time.perf_counter() - wall0
    child.returncode = os.waitstatus_to_exitcode(status)
    err = child.stderr.read().decode(errors="replace") if child.stderr else ""
    if child.returncode:
        raise SystemExit(f"{' '.join(cmd)}: exit {child.returncode}\n{err[-2000:]}")
    return wall, usage.ru_maxrss / 1024


def formats(pilot: Path, version: FhirVersion, tmp: Path) -> None:
    common = ["convert", "--participants", str(pilot), "--fhir-version", str(version)]
    ndjson = cli_run([*common, "--format", "ndjson", "-o", str(tmp / "pilot.ndjson")])
    bundle = cli_run([*common, "-o", str(tmp / "pilot.json")])
    size = (tmp / "pilot.json").stat().st_size / 1e6
    print(
        f"CDISC pilot via the CLI [{version}]: NDJSON {ndjson[0]:.1f} s, peak RSS {ndjson[1]:,.0f} MB; "
        f"one JSON bundle ({size:,.0f} MB) {bundle[0]:.1f} s, peak RSS {bundle[1]:,.0f} MB; "
        f"bundle/NDJSON time x{bundle[0] / ndjson[0]:.2f}, memory x{bundle[1] / ndjson[1]:.2f}"
    )


def run_part(part: str, args: argparse.Namespace, version: FhirVersion, tmp: Path) -> None:
    if part == "pilot":
        if not (args.pilot / "lb.xpt").is_file():
            print(f"pilot data not found in {args.pilot}; skipped", file=sys.stderr)
            return
        end_to_end("CDISC pilot (LB+VS; DM, DS, AE, EX, CM, MH too)", args.pilot, None, version, tmp / "pilot-out")
        end_to_end("  again, warm", args.pilot, None, version, tmp / "pilot-out")
        read_only(args.pilot)
    elif part == "gen":
        write_generated(args.rows, tmp / "gen")
        label = f"generated LB ({args.rows:,} rows, CSV)"
        end_to_end(label, tmp / "gen", GEN_STUDY, version, tmp / "gen-out", args.report)
    elif part == "stage":
        stage(args.rows, version, tmp / "stage-out")
    elif part == "formats":
        formats(args.pilot, version, tmp)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows of the generated LB domain")
    parser.add_argument("--pilot", type=Path, default=PILOT, help="folder with the CDISC pilot .xpt files")
    parser.add_argument("--version", default="R4", help="R4 or R5")
    parser.add_argument("--parts", default="pilot,gen,stage", help="which parts, comma-separated")
    parser.add_argument("--in-process", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--report", type=Path, help=argparse.SUPPRESS)  # gen part: figures for the parent
    args = parser.parse_args()
    version = FhirVersion.parse(args.version)
    parts = [p.strip() for p in args.parts.split(",") if p.strip()]
    if args.in_process:
        with tempfile.TemporaryDirectory(prefix="bench-participants-") as tmp:
            for part in parts:
                run_part(part, args, version, Path(tmp))
        return 0
    with tempfile.TemporaryDirectory(prefix="bench-participants-") as tmp:
        report = Path(tmp) / "report.ndjson"
        for part in parts:  # one process per part: each peak RSS is that part's own
            sizes = [max(args.rows // 10, 1), args.rows] if part == "gen" else [args.rows]
            for rows in sizes:
                cmd = [sys.executable, __file__, "--in-process", "--parts", part, "--rows", str(rows)]
                cmd += ["--pilot", str(args.pilot), "--version", str(version), "--report", str(report)]
                subprocess.run(cmd, check=True)
        if report.is_file():
            runs = [json.loads(line) for line in report.read_text(encoding="utf-8").splitlines()]
            if len(runs) == 2:
                small, big = runs
                print(
                    f"memory flat in rows? peak RSS {small['peak_mb']:,.0f} MB at {small['rows']:,} rows, "
                    f"{big['peak_mb']:,.0f} MB at {big['rows']:,} rows (x{big['peak_mb'] / small['peak_mb']:.2f} "
                    f"for x{big['rows'] / small['rows']:.0f} the rows)"
                )
    return 0


if __name__ == "__main__":
    sys.exit(main())
