"""NDJSON (bulk) output: every resource gets its deterministic id, and bundle-internal urn:uuid
references become relative `Type/id` references, so the lines load without a Bundle around them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any

from fhirconv.bundle import Keyed, client_id
from fhirconv.versions import FhirVersion


def _rewrite(node: Any, targets: dict[str, str]) -> Any:
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key == "reference" and isinstance(value, str) and value in targets:
                out[key] = targets[value]
            else:
                out[key] = _rewrite(value, targets)
        return out
    if isinstance(node, list):
        return [_rewrite(v, targets) for v in node]
    return node


def ndjson_resources(items: Iterable[Keyed], version: FhirVersion) -> Iterator[dict[str, Any]]:
    """Resources with ids and relative references. Referenced resources come before the resources
    that refer to them (the converters' order), so one pass suffices."""
    del version  # ids are version-independent; kept for symmetry with build_bundle
    targets: dict[str, str] = {}
    for item in items:
        rid = client_id(item.resource_type, item.system, item.value)
        targets[item.full_url] = f"{item.resource_type}/{rid}"
        body = _rewrite({k: v for k, v in item.resource.items() if k not in ("resourceType", "id")}, targets)
        yield {"resourceType": item.resource_type, "id": rid, **body}


def ndjson_lines(items: Iterable[Keyed], version: FhirVersion) -> Iterator[str]:
    for resource in ndjson_resources(items, version):
        yield json.dumps(resource, ensure_ascii=False, separators=(",", ":")) + "\n"
