"""The compact definitions shipped in data/ (element tree, value sets, invariants) and a typed walker over content."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from fhirconv.versions import FhirVersion

# [child node type, required ValueSet URL or None, allowed reference target types or None]
Spec = list[Any]


@dataclass(frozen=True, slots=True)
class Node:
    """One complex element of a resource, with its type: what layers 3-5 look at."""

    type: str  # datatype or resource name, or the element path of a backbone element
    value: dict[str, Any]
    path: str  # FHIRPath-like, from the resource root: Observation.component[0].valueQuantity
    spec: Spec | None  # how the parent declares it (None for the resource itself)


@dataclass(frozen=True)
class Definitions:
    version: FhirVersion
    resources: frozenset[str]
    elements: dict[str, dict[str, Spec]]
    valuesets: dict[str, dict[str, frozenset[str]]]
    unexpandable: dict[str, str]
    constraints: dict[str, list[list[str]]]
    skipped_constraints: list[list[str]]

    def nodes(self, resource: dict[str, Any], *, base: str | None = None) -> Iterator[Node]:
        """Every complex element of `resource` (itself first), typed. Contained resources are walked
        (their paths go through `contained[i]`); resources inside Bundle entries are not: the caller
        validates each entry as its own resource."""
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or rtype not in self.elements:
            return
        yield from self._walk(rtype, resource, base or rtype, None)

    def _walk(self, node_type: str, obj: dict[str, Any], path: str, spec: Spec | None) -> Iterator[Node]:
        yield Node(node_type, obj, path, spec)
        table = self.elements.get(node_type)
        if not table:
            return
        for key, value in obj.items():
            child_spec = table.get(key)
            if child_spec is None:
                continue
            child = child_spec[0]
            if child[0].islower():
                continue  # primitives have no children to walk
            items = value if isinstance(value, list) else [value]
            many = isinstance(value, list)
            for i, item in enumerate(items):
                if not isinstance(item, dict):
                    continue
                at = f"{path}.{key}[{i}]" if many else f"{path}.{key}"
                if child == "Resource":
                    if node_type == "Bundle.entry":
                        continue
                    inner = item.get("resourceType")
                    if isinstance(inner, str) and inner in self.elements:
                        yield from self._walk(inner, item, at, child_spec)
                    continue
                yield from self._walk(child, item, at, child_spec)


@cache
def load_definitions(version: FhirVersion) -> Definitions:
    blob = resources.files("fhirconv.validation").joinpath("data", f"definitions.{version}.json.gz").read_bytes()
    raw = json.loads(gzip.decompress(blob))
    return Definitions(
        version=version,
        resources=frozenset(raw["resources"]),
        elements=raw["elements"],
        valuesets={url: {s: frozenset(c) for s, c in vs.items()} for url, vs in raw["valuesets"].items()},
        unexpandable=raw["unexpandable"],
        constraints=raw["constraints"],
        skipped_constraints=raw["skipped_constraints"],
    )
