"""YAML (and JSON) for column-mapping specs, with bounds: no tags, no duplicate keys, no alias bombs.

A spec is a small hand-written file, so anything a spec never needs is refused before it is built:
- explicit tags (`!!python/object`, `!!binary`, `!custom`): safe_load refuses some, but not all;
- duplicate keys: plain YAML and JSON keep the last one silently, so a typo'd copy would win unseen;
- more than MAX_NODES nodes once aliases are expanded: a 4 KB "billion laughs" file expands to
  billions of nodes (PyYAML shares them, but every later walk, e.g. the JSON Schema check, does not);
- nesting deeper than MAX_DEPTH, and files over MAX_SPEC_BYTES.
The bounds are checked on the parser's event stream, in one linear pass, before any object is built.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

MAX_SPEC_BYTES = 1024 * 1024  # the built-in SDTM spec is 8 KB
MAX_NODES = 100_000  # after alias expansion; the built-in SDTM spec has about 1,000
MAX_DEPTH = 64  # the spec format nests 5 deep

_MERGE = "tag:yaml.org,2002:merge"
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class SpecSyntaxError(ValueError):
    """The text is not a spec-shaped YAML/JSON document; the message says where (line, column)."""


def _at(event: Any) -> str:
    mark = event.start_mark
    return f"line {mark.line + 1}, column {mark.column + 1}"


def _check_events(text: str) -> None:
    """Tags, depth and the expanded node count, from the event stream (no objects built)."""
    weights: dict[str, int] = {}  # anchor -> nodes in the anchored subtree, aliases expanded
    # One frame per open collection: [nodes so far, anchor]; the bottom frame is the document.
    stack: list[list[Any]] = [[0, None]]
    total = 0
    for event in yaml.parse(text, Loader=_Loader):
        if isinstance(event, yaml.AliasEvent):
            added = weights.get(event.anchor or "", 1)
            stack[-1][0] += added
            total += added
        elif isinstance(event, yaml.ScalarEvent | yaml.CollectionStartEvent):
            if event.tag is not None and event.tag != "!":  # '!' is the non-specific tag of a quoted scalar
                raise SpecSyntaxError(f"YAML tags are not allowed in a spec ({event.tag} at {_at(event)})")
            total += 1
            if isinstance(event, yaml.ScalarEvent):
                stack[-1][0] += 1
                if event.anchor is not None:
                    weights[event.anchor] = 1
            else:
                stack.append([1, event.anchor])
                if len(stack) > MAX_DEPTH:
                    raise SpecSyntaxError(f"nested more than {MAX_DEPTH} levels deep (at {_at(event)})")
        elif isinstance(event, yaml.CollectionEndEvent):
            count, anchor = stack.pop()
            stack[-1][0] += count
            if anchor is not None:
                weights[anchor] = count
        if total > MAX_NODES:
            raise SpecSyntaxError(
                f"more than {MAX_NODES:,} values once its aliases are expanded (at {_at(event)}): an alias bomb?"
            )


class _NoDuplicates(_Loader):  # type: ignore[misc, valid-type]
    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, Any] = {}
        for key_node, _ in node.value:
            if key_node.tag == _MERGE:  # '<<: *base' may be overridden by explicit keys: that is its purpose
                continue
            key = self.construct_object(key_node, deep=True)
            try:
                first = seen.setdefault(key, key_node)
            except TypeError:
                continue  # an unhashable key: the base class reports it
            if first is not key_node:
                raise SpecSyntaxError(
                    f"duplicate key {str(key)[:60]!r} at line {key_node.start_mark.line + 1} "
                    f"(first at line {first.start_mark.line + 1})"
                )
        return super().construct_mapping(node, deep=deep)  # type: ignore[no-any-return]


def _json_pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise SpecSyntaxError(f"duplicate key {key[:60]!r}")
        out[key] = value
    return out


def load_spec_text(text: str, *, json_syntax: bool) -> Any:
    """Parse a spec's text; SpecSyntaxError (or yaml.YAMLError / ValueError from the parsers) on refusal."""
    if len(text) > MAX_SPEC_BYTES:
        raise SpecSyntaxError(f"{len(text):,} characters; a spec is at most {MAX_SPEC_BYTES:,}")
    try:
        if json_syntax:
            return json.loads(text, object_pairs_hook=_json_pairs)
        _check_events(text)
        return yaml.load(text, Loader=_NoDuplicates)  # noqa: S506 - a SafeLoader subclass
    except RecursionError:
        raise SpecSyntaxError(f"nested too deeply (more than {MAX_DEPTH} levels)") from None
