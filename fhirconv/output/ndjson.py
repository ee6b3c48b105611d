"""NDJSON (bulk) output: every resource gets its deterministic id, and bundle-internal urn:uuid
references become relative `Type/id` references, so the lines load without a Bundle around them."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from typing import Any

import orjson

from fhirconv.errors import FhirconvError
from fhirconv.output.bundle import Keyed, client_id, key_uuid
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
    """One line per resource. Referenced resources come before the resources that refer to them (the
    converters' order), so one pass suffices; the references are swapped in the serialised text, which is
    much cheaper than copying every resource to rewrite it."""
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
        line = orjson.dumps(body)
        if b"urn:uuid:" in line:
            line = _URN.sub(swap, line)
        yield line.decode() + "\n"
