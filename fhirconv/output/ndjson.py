"""NDJSON (bulk) output, the project's one NDJSON writer: every resource gets its deterministic id, and
bundle-internal urn:uuid references become relative `Type/id` references, so the lines load without a
Bundle around them; one file, or one file per resource type (the Bulk Data layout)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from contextlib import ExitStack
from pathlib import Path
from typing import Any, TextIO

import orjson

from fhirconv.errors import FhirconvError
from fhirconv.output.bundle import Keyed, client_id, key_uuid
from fhirconv.output.files import atomic_writer
from fhirconv.versions import FhirVersion

_URN = re.compile(rb'"urn:uuid:([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})"')

# Converted resources of these types are never the target of another converted resource's reference, and
# there is one per input row: remembering them would make memory grow with the rows.
_NEVER_REFERENCED = frozenset({"Observation", "AdverseEvent"})


def ndjson_resources(items: Iterable[Keyed], version: FhirVersion) -> Iterator[dict[str, Any]]:
    """Resources with ids and relative references (for the Python API; the CLI streams ndjson_lines)."""
    for line in ndjson_lines(items, version):
        yield orjson.loads(line)


def ndjson_lines(items: Iterable[Keyed], version: FhirVersion) -> Iterator[str]:
    """One line per resource (see ndjson_items)."""
    for _, line in ndjson_items(items, version):
        yield line.decode()


def ndjson_items(items: Iterable[Keyed], version: FhirVersion) -> Iterator[tuple[str, bytes]]:
    """(resource type, its NDJSON line in UTF-8) per resource: the one NDJSON writer's lines, for one file
    (ndjson_lines) and for a file per type (write_ndjson) alike. Referenced resources come before the
    resources that refer to them (the converters' order), so one pass suffices; the references are swapped
    in the serialised text, which is much cheaper than copying every resource to rewrite it."""
    del version  # ids are version-independent; kept for symmetry with build_bundle
    targets: dict[bytes, bytes] = {}

    def swap(match: re.Match[bytes]) -> bytes:
        target = targets.get(match.group(1))
        if target is None:
            raise FhirconvError(
                f"a reference to urn:uuid:{match.group(1).decode()} has no resource before it in the output",
                hint="this is a bug in fhirconv; run again with --traceback and report it",
            )
        return target

    for item in items:
        rtype = item.resource_type
        rid = client_id(rtype, item.system, item.value)
        if rtype not in _NEVER_REFERENCED:
            targets[str(key_uuid(rtype, item.system, item.value)).encode()] = f'"{rtype}/{rid}"'.encode()
        body = {"resourceType": rtype, "id": rid}
        body.update((k, v) for k, v in item.resource.items() if k not in ("resourceType", "id"))
        line = orjson.dumps(body, option=orjson.OPT_APPEND_NEWLINE)
        if b"urn:uuid:" in line:
            line = _URN.sub(swap, line)
        yield rtype, line


def write_ndjson(items: Iterable[Keyed], directory: str | Path, version: FhirVersion) -> dict[str, int]:
    """Stream resources into <directory>/<ResourceType>.ndjson (the Bulk Data layout), lines as
    ndjson_lines makes them (so, as there, a referenced resource comes before what refers to it: the
    study's resources before its participants'). All files appear together at the end, or none does if
    anything fails. Returns lines written per file name."""
    target = Path(directory)
    outputs: dict[str, _Output] = {}
    with ExitStack() as stack:
        for rtype, line in ndjson_items(items, version):
            out = outputs.get(rtype)
            if out is None:
                out = outputs[rtype] = _Output(stack.enter_context(atomic_writer(target / f"{rtype}.ndjson")))
            out.add(line)
        for out in outputs.values():
            out.flush()
    return {f"{rtype}.ndjson": out.count for rtype, out in outputs.items()}


class _Output:
    """One NDJSON file being written: lines gathered and written a batch at a time (fewer calls)."""

    __slots__ = ("buffer", "count", "lines")

    def __init__(self, handle: TextIO) -> None:
        self.buffer = handle.buffer  # orjson gives UTF-8 bytes: they go to the binary buffer
        self.lines: list[bytes] = []
        self.count = 0

    def add(self, line: bytes) -> None:
        lines = self.lines
        lines.append(line)
        if len(lines) >= 256:
            self.flush()

    def flush(self) -> None:
        self.count += len(self.lines)
        self.buffer.write(b"".join(self.lines))
        self.lines.clear()
