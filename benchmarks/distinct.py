"""Distinct benchmark records from the corpus, and CPU/RSS measurement of a CLI run (shared by the benchmarks).

Real registry records all differ, so a benchmark that repeats the same studies measures caches, not work
(and the CLI skips a repeated NCT ID as "read twice"). Each generated copy gets its own NCT ID, written
everywhere the original ID appears in the file (identifier, URLs, references), in a temporary directory.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
_NCT = re.compile(rb"NCT\d{8}")

MIXES = ("corpus", "registry")


def corpus_dir() -> Path:
    shared = ROOT.parent / "shared" / "ctgov-corpus"
    if not shared.is_dir():
        shared = Path("/work/shared/ctgov-corpus")
    return shared if shared.is_dir() else ROOT / "tests" / "data" / "ctgov-corpus"


def templates(corpus: Path, mix: str) -> list[Path]:
    """corpus: the full API v2 records (top-level NCT*.json, not classic). registry: every study record of the
    corpus, in all the formats the registry has published (v2, partial v2, classic JSON, legacy XML)."""
    top = sorted(p for p in corpus.iterdir() if p.is_file() and p.name.startswith("NCT"))
    if mix == "corpus":
        return [p for p in top if p.name.endswith(".json") and not p.name.endswith(".classic.json")]
    if mix == "registry":
        return [p for p in top if p.suffix in (".json", ".xml")] + sorted((corpus / "partial").glob("NCT*.json"))
    raise ValueError(f"unknown mix {mix!r}; choose from {MIXES}")


def _original_id(path: Path, data: bytes) -> bytes:
    found = re.match(rb"NCT\d{8}", path.name.encode())
    if found:
        return found.group(0)
    first = _NCT.search(data)
    if not first:
        raise ValueError(f"{path}: no NCT ID")
    return first.group(0)


def generate(corpus: Path, mix: str, count: int, folder: Path) -> list[Path]:
    """`count` files in `folder`, cycling through the mix's templates, copy n with NCT ID NCT9nnnnnnn."""
    sources = templates(corpus, mix)
    raw = [(p, p.read_bytes()) for p in sources]
    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for n in range(count):
        path, data = raw[n % len(raw)]
        new = f"NCT{90000000 + n:08d}".encode()
        text = data.replace(_original_id(path, data), new)
        suffix = ".classic.json" if path.name.endswith(".classic.json") else path.suffix
        target = folder / f"{new.decode()}{suffix}"
        target.write_bytes(text)
        out.append(target)
    return out


def bare_parse_dump(files: list[Path]) -> tuple[float, float]:
    """CPU seconds of a bare parse + dump of the same files with stdlib json and with orjson (XML files with
    ElementTree in both: there is no other bare equivalent). The floor for any converter."""
    blobs = [(p.suffix == ".xml", p.read_bytes()) for p in files]
    t0 = time.process_time()
    for is_xml, data in blobs:
        if is_xml:
            ET.tostring(ET.fromstring(data))
        else:
            json.dumps(json.loads(data))
    stdlib = time.process_time() - t0
    t0 = time.process_time()
    for is_xml, data in blobs:
        if is_xml:
            ET.tostring(ET.fromstring(data))
        else:
            orjson.dumps(orjson.loads(data))
    fast = time.process_time() - t0
    return stdlib, fast


@dataclass(slots=True)
class Run:
    cpu: float  # user + system seconds of the process and its children (per-core work)
    wall: float
    peak_mib: float  # the largest RSS of any one process of the run
    returncode: int
    stderr: str


def run_cli(args: list[str]) -> Run:
    """Run `fhirconv ARGS` in a fresh process; its own rusage (wait4), so runs do not blur each other.

    Call it while this process is small: Linux carries a process's peak RSS across fork and exec, so a
    child started from a process holding the parsed inputs would report that process's peak as its own."""
    script = Path(sys.executable).with_name("fhirconv")  # the console script of this environment
    cmd = [str(script) if script.exists() else "fhirconv", *args]
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    assert proc.stderr is not None
    err = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - t0
    return Run(usage.ru_utime + usage.ru_stime, wall, usage.ru_maxrss / 1024, proc.returncode,
               err.decode("utf-8", "replace"))


def count_resources(path: Path) -> int:
    """Resources in a converted output: a Bundle file, an NDJSON file, or a directory of them."""
    if path.is_dir():
        return sum(count_resources(p) for p in sorted(path.iterdir()))
    data = path.read_bytes()
    if path.suffix == ".ndjson":
        return sum(1 for line in data.splitlines() if line.strip())
    return len(orjson.loads(data).get("entry", []))
