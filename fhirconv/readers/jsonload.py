"""JSON with limits: what orjson refuses and json would take (huge integers, NaN, lone surrogates)
is marked, then reported as an InputError naming the record and field instead of failing later."""

from __future__ import annotations

import json
import math
import re
from typing import Any

import orjson

from fhirconv.errors import InputError

# No registry field holds a number of more than a few digits; 5,000 digits made int() raise ValueError
# (Python's int_max_str_digits) and exit 70. A longer integer is refused where it stands.
MAX_DIGITS = 40
_SURROGATE = re.compile("[\ud800-\udfff]")


class Refused:
    """Stands in the parsed value for a JSON number fhirconv does not take; `reason` says why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason

    def __repr__(self) -> str:
        return f"<{self.reason}>"


def _int(text: str) -> int | Refused:
    digits = len(text) - text.startswith("-")
    return int(text) if digits <= MAX_DIGITS else Refused(f"a JSON integer of {digits:,} digits")


def _float(text: str) -> float | Refused:
    value = float(text)
    return value if math.isfinite(value) else Refused(f"a JSON number out of range ({text[:20]}…)")


def _constant(text: str) -> Refused:
    return Refused(f"{text}, which is not a JSON number")


def loads(data: bytes) -> tuple[Any, bool]:
    """(value, needs_check): orjson's parse, or json's when orjson refused the text (then the value
    may hold Refused markers or lone surrogates, and `refuse_defects` must see each record first).
    json's own errors (JSONDecodeError, RecursionError, UnicodeDecodeError) propagate."""
    try:
        return orjson.loads(data), False
    except orjson.JSONDecodeError:
        return json.loads(data, parse_int=_int, parse_float=_float, parse_constant=_constant), True


def refuse_defects(value: Any) -> None:
    """Raise an InputError naming the field (dotted path) of the first Refused value or lone surrogate.

    Iterative, so nesting costs no recursion; only run on text that orjson refused."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            for key, child in reversed(node.items()):
                if _SURROGATE.search(key):
                    raise _surrogate_error(path or "(top level)")
                stack.append((f"{path}.{key}" if path else key, child))
        elif isinstance(node, list):
            stack.extend((f"{path}[{i}]", child) for i, child in reversed(list(enumerate(node))))
        elif isinstance(node, Refused):
            raise InputError(
                f"unreadable value: {node.reason}",
                field=path or None,
                hint=f"numbers in a study record have at most {MAX_DIGITS} digits and are finite",
            )
        elif isinstance(node, str) and _SURROGATE.search(node):
            raise _surrogate_error(path)


def _surrogate_error(path: str) -> InputError:
    return InputError(
        "text holds a lone surrogate escape (\\ud800-\\udfff without its pair), which is not a character",
        field=path or None,
        hint="the record was mangled on the way; fetch or export it again",
    )
