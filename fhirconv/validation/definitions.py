"""The compact definitions shipped in data/ (element tree, value sets, invariants) and a typed walker over content."""

from __future__ import annotations

import gzip
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import orjson

from fhirconv.versions import FhirVersion

# [child node type, required ValueSet URL or None, allowed reference target types or None]
Spec = list[Any]


class Node:
    """One complex element of a resource, with its type: what layers 3-5 look at."""

    __slots__ = ("_parent", "_step", "spec", "type", "value")

    def __init__(self, node_type: str, value: dict[str, Any], parent: Node | str, step: str, spec: Spec | None) -> None:
        self.type = node_type  # datatype or resource name, or the element path of a backbone element
        self.value = value
        self.spec = spec  # how the parent declares it (None for the resource itself)
        self._parent = parent  # the parent node, or the root path for the resource itself
        self._step = step  # ".key" or ".key[i]" from the parent

    @property
    def path(self) -> str:
        """FHIRPath-like, from the resource root: Observation.component[0].valueQuantity. Made on demand: most
        nodes are never named in a finding, and the walk is the layers' main cost."""
        parent = self._parent
        return parent if isinstance(parent, str) else parent.path + self._step


@dataclass(frozen=True)
class Definitions:
    version: FhirVersion
    resources: frozenset[str]
    elements: dict[str, dict[str, Spec]]
    valuesets: dict[str, dict[str, frozenset[str]]]
    unexpandable: dict[str, str]
    constraints: dict[str, list[list[str]]]
    skipped_constraints: list[list[str]]

    def nodes(self, resource: dict[str, Any], *, base: str | None = None) -> list[Node]:
        """Every complex element of `resource` (itself first, then depth first in element order), typed.
        Contained resources are walked (their paths go through `contained[i]`); resources inside Bundle entries
        are not: the caller validates each entry as its own resource."""
        rtype = resource.get("resourceType")
        if not isinstance(rtype, str) or rtype not in self.elements:
            return []
        elements = self.elements
        out: list[Node] = []
        stack = [Node(rtype, resource, base or rtype, "", None)]
        while stack:
            node = stack.pop()
            out.append(node)
            table = elements.get(node.type)
            if not table:
                continue
            children: list[Node] = []
            for key, value in node.value.items():
                child_spec = table.get(key)
                if child_spec is None:
                    continue
                child = child_spec[0]
                if child[0].islower():
                    continue  # primitives have no children to walk
                if type(value) is list:
                    for i, item in enumerate(value):
                        if type(item) is dict:
                            self._child(node, child, item, f".{key}[{i}]", child_spec, children)
                elif type(value) is dict:
                    self._child(node, child, value, f".{key}", child_spec, children)
            stack.extend(reversed(children))
        return out

    def _child(self, parent: Node, child: str, item: dict[str, Any], step: str, spec: Spec, into: list[Node]) -> None:
        if child == "Resource":
            if parent.type == "Bundle.entry":
                return
            inner = item.get("resourceType")
            if isinstance(inner, str) and inner in self.elements:
                into.append(Node(inner, item, parent, step, spec))
            return
        into.append(Node(child, item, parent, step, spec))


Walks = dict[int, list[Node]]  # id(resource) -> its nodes, for one validation of content that is not changed


def walk(defs: Definitions, resource: dict[str, Any], walks: Walks | None) -> list[Node]:
    """`defs.nodes(resource)`, made once per resource when the layers of one validation share `walks` (the walk
    is the main cost of the terminology, invariant and integrity layers; each would otherwise repeat it)."""
    if walks is None:
        return defs.nodes(resource)
    found = walks.get(id(resource))
    if found is None:
        found = walks[id(resource)] = defs.nodes(resource)
    return found


@cache
def load_definitions(version: FhirVersion) -> Definitions:
    blob = resources.files("fhirconv.validation").joinpath("data", f"definitions.{version}.json.gz").read_bytes()
    raw = orjson.loads(gzip.decompress(blob))
    return Definitions(
        version=version,
        resources=frozenset(raw["resources"]),
        elements=raw["elements"],
        valuesets={url: {s: frozenset(c) for s, c in vs.items()} for url, vs in raw["valuesets"].items()},
        unexpandable=raw["unexpandable"],
        constraints=raw["constraints"],
        skipped_constraints=raw["skipped_constraints"],
    )
