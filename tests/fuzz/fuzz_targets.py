"""Fuzz targets: for each input format, how to run one input through fhirconv, its seeds from the real
corpus, and the mutators that make hostile variants of them. Shared by the Hypothesis tests (short,
in the default test run) and by campaign.py (long, on demand, each input in a limited child process).

The property everywhere: an input gives a result or a FhirconvError, within a time bound; any other
exception, a hang or a memory blow-up is a finding."""

from __future__ import annotations

import atexit
import itertools
import json
import random
import shutil
import sys
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import orjson

from fhirconv import convert_study, validate_content
from fhirconv.readers import ReadFailure, read_bytes
from fhirconv.readers.spec import load_spec
from fhirconv.readers.tables import open_table
from fhirconv.versions import FhirVersion

ROOT = Path(__file__).resolve().parents[2]
DATA = ROOT / "tests" / "data"
CORPUS = DATA / "ctgov-corpus"
SEED_LIMIT = 12_000  # bytes: small seeds keep each input fast, so a run tries many

_scratch = Path(tempfile.mkdtemp(prefix="fhirconv-fuzz-"))
atexit.register(shutil.rmtree, _scratch, True)
_names = itertools.count()


# --- targets -----------------------------------------------------------------------------------------


def _registry(suffix: str) -> Callable[[bytes], None]:
    """Read the bytes as a registry file would be read, then convert every record to R4 and R5, validate
    and serialise the bundle (what `convert` does short of writing)."""

    def run(data: bytes) -> None:
        failed = None
        for item in read_bytes(data, f"fuzz{suffix}", suffix=suffix):
            if isinstance(item, ReadFailure):
                failed = failed or item.error  # reported per record; the others still convert
                continue
            for version in FhirVersion:
                bundle = convert_study(item.study, version)
                validate_content(bundle, version)
                orjson.dumps(bundle)
        if failed is not None:
            raise failed  # counted as 'error', the outcome wanted for bad input

    return run


def _scratch_file(data: bytes, suffix: str) -> Path:
    path = _scratch / f"{next(_names)}{suffix}"  # a fresh name: load_spec caches by path
    path.write_bytes(data)
    return path


def _table(suffix: str) -> Callable[[bytes], None]:
    def run(data: bytes) -> None:
        path = _scratch_file(data, suffix)
        try:
            with open_table(path) as table:
                for _ in table.rows():
                    pass
        finally:
            path.unlink()

    return run


def _spec(data: bytes) -> None:
    path = _scratch_file(data, ".yaml")
    try:
        load_spec(path)
    finally:
        path.unlink()


def _smallest(paths: list[Path], n: int) -> list[Path]:
    return sorted((p for p in paths if p.stat().st_size <= SEED_LIMIT), key=lambda p: p.stat().st_size)[:n]


def _v2_files() -> list[Path]:
    return [p for p in CORPUS.glob("*.json") if not p.name.endswith(".classic.json")]


def _ndjson_seeds() -> list[bytes]:
    records = [orjson.dumps(orjson.loads(p.read_bytes())) for p in _smallest(_v2_files(), 3)]
    return [b"\n".join(records) + b"\n", records[0] + b"\r\n"]


def _dataset_json_seeds(ndjson: bool) -> list[bytes]:
    """Pilot tables written as Dataset-JSON v1.1 by the tests' helper (values unchanged), a few rows each."""
    sys.path.insert(0, str(ROOT / "tests"))
    from dataset_json_writer import dataset_json

    seeds = []
    for name in ("ta.xpt", "te.xpt", "dm.xpt", "suppae.csv"):
        doc = dataset_json(DATA / "participants" / "pilot" / name)
        doc["rows"] = doc["rows"][:6]
        doc["records"] = len(doc["rows"])
        if ndjson:
            rows = doc.pop("rows")
            seeds.append(b"".join(orjson.dumps(line) + b"\n" for line in [doc, *rows]))
        else:
            seeds.append(orjson.dumps(doc))
    return seeds


@dataclass(frozen=True)
class Target:
    name: str
    run: Callable[[bytes], None]
    seeds: Callable[[], list[bytes]]
    json_aware: bool = False  # seeds are JSON: mutate parsed values too, not only bytes


def _files(paths: Callable[[], list[Path]]) -> Callable[[], list[bytes]]:
    return lambda: [p.read_bytes() for p in paths()]


TARGETS: dict[str, Target] = {
    t.name: t
    for t in (
        Target("v2-json", _registry(".json"), _files(lambda: _smallest(_v2_files(), 4)), json_aware=True),
        Target(
            "v2-page",
            _registry(".json"),
            _files(lambda: _smallest(list(CORPUS.glob("pages/*/*.json")), 3)),
            json_aware=True,
        ),
        Target("ndjson", _registry(".ndjson"), _ndjson_seeds),
        Target(
            "classic-json",
            _registry(".json"),
            _files(lambda: _smallest(list(CORPUS.glob("*.classic.json")), 3)),
            json_aware=True,
        ),
        Target("xml", _registry(".xml"), _files(lambda: _smallest(list(CORPUS.glob("*.xml")), 4))),
        Target("page-text", _registry(".txt"), _files(lambda: [DATA / "seed" / "NCT04382547.txt"])),
        Target(
            "xpt",
            _table(".xpt"),
            _files(lambda: [DATA / "participants" / "pilot" / f for f in ("te.xpt", "ta.xpt")]),
        ),
        Target(
            "csv",
            _table(".csv"),
            _files(
                lambda: (
                    [
                        *sorted((DATA / "participants" / "acme").glob("*.csv")),
                        DATA / "participants" / "pilot" / "suppae.csv",
                    ]
                )
            ),
        ),
        Target("dataset-json", _table(".json"), lambda: _dataset_json_seeds(False), json_aware=True),
        Target("dataset-ndjson", _table(".ndjson"), lambda: _dataset_json_seeds(True)),
        Target("spec-yaml", _spec, _files(lambda: sorted((ROOT / "mappings" / "specs").glob("*.yaml")))),
    )
}


# --- mutators ----------------------------------------------------------------------------------------

# Values that broke readers before, or that break parsers in general.
HOSTILE_TEXT = [
    " " * 40_000,
    "\t" * 20_000,
    "PHASE1" + " " * 20_000 + "x",
    "Double (" + " " * 20_000 + "x)",
    "\ud800",
    "x" * 100_000,
    "",
    "N/A",
    "-" + " " * 10_000 + "[ Time Frame:" + " " * 10_000,
    "1" * 5000,
    "\x00",
    "../../etc/passwd",
    "0" * 30 + ".5",
    "9999-99-99",
    "Jan" + " " * 10_000 + "1",
]
HOSTILE_BYTES = [
    b" " * 40_000,
    b"\n" * 5000,
    b"9" * 5000,
    b"[" * 5000,
    b'{"a":' * 2000,
    b"\\ud800",
    b'"\\udfff"',
    b"\x00" * 80,
    b"\xff\xfe",
    b"\xef\xbb\xbf",
    b"|" * 1000,
    b"<!DOCTYPE x [<!ENTITY a 'aaaaaaaaaa'><!ENTITY b '&a;&a;&a;&a;&a;&a;&a;&a;'>]>",
    b"&b;",
    b"*a " * 200,
    b"&anchor [*anchor, *anchor]",
    b"!!python/object/apply:os.system ['true']",
    b"-1",
    b"NaN",
    b"1e999999",
    b"HEADER RECORD*******",
    b'"' * 100,
    b",,,,,,,,,,",
    b"\r",
]


def mutate_bytes(data: bytes, rng: random.Random) -> bytes:
    """One to four byte-level edits: truncate, delete, duplicate, flip, or insert a hostile token."""
    out = bytearray(data)
    for _ in range(rng.randint(1, 4)):
        n = len(out)
        at = rng.randint(0, n)
        op = rng.randrange(6)
        if op == 0 and n:
            del out[at:]
        elif op == 1 and n:
            del out[at : at + rng.randint(1, max(1, n // 8))]
        elif op == 2 and n:
            chunk = out[at : at + rng.randint(1, 256)]
            out[at:at] = chunk * rng.randint(1, 50)
        elif op == 3 and n:
            for _ in range(rng.randint(1, 8)):
                out[rng.randrange(n)] = rng.randrange(256)
        else:
            out[at:at] = rng.choice(HOSTILE_BYTES)
    return bytes(out)


def _leaves(value: Any) -> list[tuple[Any, ...]]:
    """Paths to every value in a parsed JSON document (iterative: mutants nest hundreds deep)."""
    out: list[tuple[Any, ...]] = []
    stack: list[tuple[tuple[Any, ...], Any]] = [((), value)]
    while stack:
        path, node = stack.pop()
        out.append(path)
        if isinstance(node, dict):
            stack.extend(((*path, k), v) for k, v in node.items())
        elif isinstance(node, list):
            stack.extend(((*path, i), v) for i, v in enumerate(node))
    return out


def _hostile_value(rng: random.Random) -> Any:
    kind = rng.randrange(6)
    if kind == 0:
        return rng.choice(HOSTILE_TEXT)
    if kind == 1:
        return rng.choice([0, -1, 2**63, 10**30, 1.5, float("1e308"), True, None])
    if kind == 2:
        return rng.choice([[], {}, [None], [rng.choice(HOSTILE_TEXT)], {"": None}])
    if kind == 3:
        nest: Any = "x"
        for _ in range(rng.randint(10, 300)):  # three of these still fit json.dumps's recursion
            nest = [nest] if rng.random() < 0.5 else {"a": nest}
        return nest
    if kind == 4:
        return rng.choice(HOSTILE_TEXT) * rng.randint(1, 3) + rng.choice(["", "x", ")", "|"])
    return "".join(chr(rng.randrange(0x20, 0x3000)) for _ in range(rng.randint(1, 40)))


def mutate_json(data: bytes, rng: random.Random) -> bytes:
    """Replace, drop or retype one to three values anywhere in a parsed JSON seed, keeping it JSON."""
    doc = json.loads(data)
    for _ in range(rng.randint(1, 3)):
        path = rng.choice(_leaves(doc))
        if not path:
            continue
        parent = doc
        for key in path[:-1]:
            parent = parent[key]
        key = path[-1]
        if rng.random() < 0.2:
            del parent[key]
        else:
            parent[key] = _hostile_value(rng)
    text = json.dumps(doc, ensure_ascii=rng.random() < 0.5)
    return text.encode("utf-8", "surrogatepass")


def mutate(target: Target, seed: bytes, rng: random.Random) -> bytes:
    if target.json_aware and rng.random() < 0.6:
        return mutate_json(seed, rng)
    return mutate_bytes(seed, rng)


def outcome(target: Target, data: bytes) -> str:
    """'ok' or 'error' (a FhirconvError): the two outcomes the property allows; anything else raises."""
    from fhirconv.errors import FhirconvError

    try:
        target.run(data)
    except FhirconvError:
        return "error"
    return "ok"
