"""The long fuzz campaign, on demand: mutants of the corpus seeds through every reader, each input in a
forked child under RLIMIT_CPU and RLIMIT_AS, so a hang or a memory bomb is a finding, not a stuck run.

    .venv/bin/python tests/fuzz/campaign.py --minutes 5 [--readers xml,csv] [--seed 1] [--out DIR]

Prints, per reader, the inputs tried, how they ended (converted/read, FhirconvError) and the findings:
any other exception (by type and innermost fhirconv frame), a CPU-time overrun, or a memory limit hit.
Each finding's input is saved in --out (one file per distinct finding) to become a regression test."""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import random
import resource
import select
import signal
import sys
import time
import traceback
from collections import Counter
from pathlib import Path

from fuzz_targets import TARGETS, Target, mutate, outcome

CPU_SECONDS = 5  # per input: a clean answer takes milliseconds; the quadratic regexes took minutes
SLICE_SECONDS = 10.0  # each reader in turn, for about this long
BATCH = 50  # inputs per forked child
MEMORY_HEADROOM = 1 << 30  # bytes of address space a child may add to what the parent holds


def _address_space() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmSize:"):
            return int(line.split()[1]) * 1024
    return 0


def _signature(exc: BaseException) -> str:
    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "/fhirconv/" in f.filename]
    where = f"{Path(frames[-1].filename).name}:{frames[-1].lineno}" if frames else "?"
    return f"{type(exc).__name__} at {where}: {str(exc)[:100]}"


def _child(target: Target, inputs: list[bytes], start: int, write_end: int, limit_as: int) -> None:
    """In the forked child: run inputs[start:], one report line each; never returns."""
    resource.setrlimit(resource.RLIMIT_AS, (limit_as, limit_as))
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    with os.fdopen(write_end, "w", buffering=1) as out:
        for i in range(start, len(inputs)):
            # A fresh CPU allowance per input: the soft limit is what this process has used plus the bound.
            used = resource.getrusage(resource.RUSAGE_SELF)
            soft = int(used.ru_utime + used.ru_stime) + CPU_SECONDS + 1
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard if hard == resource.RLIM_INFINITY else max(hard, soft)))
            try:
                result = (outcome(target, inputs[i]), "")
            except MemoryError:
                result = ("finding", "MemoryError (address-space limit)")
            except BaseException as exc:
                result = ("finding", _signature(exc))
            out.write(json.dumps([i, *result]) + "\n")
    os._exit(0)


def run_batch(target: Target, inputs: list[bytes], limit_as: int) -> list[tuple[str, str]]:
    """(kind, detail) per input: 'ok', 'error' (a FhirconvError) or 'finding'. The inputs run in a forked
    child (forking per input costs more than most inputs); when one kills its child (CPU or memory limit)
    or outlasts the wall-clock bound, it is a finding and a new child goes on with the next."""
    results: list[tuple[str, str]] = []
    while len(results) < len(inputs):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:
            os.close(read_end)
            _child(target, inputs, len(results), write_end, limit_as)
        os.close(write_end)
        pipe = os.fdopen(read_end, "r")
        buffered = ""
        while True:
            ready, _, _ = select.select([pipe], [], [], CPU_SECONDS * 3)  # wall clock: a blocked child too
            if not ready:
                os.kill(pid, signal.SIGKILL)
                results.append(("finding", "wall-clock timeout"))
                break
            chunk = os.read(pipe.fileno(), 65536).decode()
            if not chunk:  # the child is gone: finished, or killed in the middle of an input
                break
            buffered += chunk
            *lines, buffered = buffered.split("\n")
            for line in lines:
                _, kind, detail = json.loads(line)
                results.append((kind, detail))
        pipe.close()
        _, status = os.waitpid(pid, 0)
        if (
            len(results) < len(inputs)
            and os.WIFSIGNALED(status)
            and results[-1:] != [("finding", "wall-clock timeout")]
        ):
            sig = os.WTERMSIG(status)
            what = "CPU-time limit (SIGXCPU)" if sig == signal.SIGXCPU else f"killed by {signal.Signals(sig).name}"
            results.append(("finding", what))
        elif len(results) < len(inputs) and not os.WIFSIGNALED(status):
            results.append(("finding", f"child exited {os.WEXITSTATUS(status)} in the middle of an input"))
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=5.0, help="total running time, shared by the readers")
    parser.add_argument("--readers", default=",".join(TARGETS), help="comma-separated: " + ", ".join(TARGETS))
    parser.add_argument("--seed", type=int, default=1, help="random seed: the same seed tries the same inputs")
    parser.add_argument("--out", type=Path, default=Path("fuzz-findings"), help="where finding inputs are saved")
    args = parser.parse_args()
    names = [n.strip() for n in args.readers.split(",") if n.strip()]
    unknown = [n for n in names if n not in TARGETS]
    if unknown:
        parser.error(f"unknown readers: {', '.join(unknown)}")

    rng = random.Random(args.seed)
    seeds = {name: TARGETS[name].seeds() for name in names}
    for name in names:  # warm up in the parent (imports, caches), so children start ready
        outcome(TARGETS[name], seeds[name][0])
    gc.collect()
    gc.freeze()  # children share the parent's pages instead of copying them on the first collection
    limit_as = _address_space() + MEMORY_HEADROOM

    tried: Counter[str] = Counter()
    ends: dict[str, Counter[str]] = {name: Counter() for name in names}
    findings: dict[str, dict[str, int]] = {name: {} for name in names}
    end = time.monotonic() + args.minutes * 60
    print(f"fuzzing {', '.join(names)} for {args.minutes:g} min (seed {args.seed}); findings go to {args.out}/")
    # Equal time per reader, in slices: a fast reader (CSV) gets many more inputs than a slow one (v2,
    # which converts and validates), and every reader has had its share whenever the run is stopped.
    while time.monotonic() < end:
        for name in names:
            target = TARGETS[name]
            slice_end = min(end, time.monotonic() + SLICE_SECONDS)
            while time.monotonic() < slice_end:
                batch = [mutate(target, rng.choice(seeds[name]), rng) for _ in range(BATCH)]
                for data, (kind, detail) in zip(batch, run_batch(target, batch, limit_as), strict=True):
                    tried[name] += 1
                    ends[name][kind] += 1
                    if kind == "finding":
                        if detail not in findings[name]:
                            args.out.mkdir(parents=True, exist_ok=True)
                            digest = hashlib.sha1(data).hexdigest()[:12]
                            (args.out / f"{name}-{digest}.bin").write_bytes(data)
                            (args.out / f"{name}-{digest}.txt").write_text(detail + "\n")
                            print(f"  finding [{name}] {detail}  → {args.out}/{name}-{digest}.bin", flush=True)
                        findings[name][detail] = findings[name].get(detail, 0) + 1

    print(f"\n{'reader':<14}{'inputs':>9}{'ok':>9}{'error':>9}{'findings':>10}  distinct")
    for name in names:
        e = ends[name]
        print(f"{name:<14}{tried[name]:>9,}{e['ok']:>9,}{e['error']:>9,}{e['finding']:>10,}  {len(findings[name])}")
    total = sum(tried.values())
    distinct = sum(len(f) for f in findings.values())
    print(f"{'total':<14}{total:>9,}{'':>28}  {distinct}")
    for name in names:
        for detail, count in findings[name].items():
            print(f"  [{name}] ×{count} {detail}")
    return 1 if distinct else 0


if __name__ == "__main__":
    sys.exit(main())
