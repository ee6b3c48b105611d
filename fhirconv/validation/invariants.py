"""Layer 4: the FHIRPath invariants (per-1, obs-6, obs-7, ...) of the resources and datatypes fhirconv writes."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache
from typing import Any

from fhirpathpy import compile as fp_compile
from fhirpathpy.engine.invocations import invocation_registry
from fhirpathpy.engine.nodes import ResourceNode
from fhirpathpy.models import models

from fhirconv.validation.definitions import Walks, load_definitions, walk
from fhirconv.validation.findings import Finding, Layer, Severity, resource_context
from fhirconv.versions import FhirVersion


def _typed(value: dict[str, Any], node_type: str) -> Any:
    """Tell fhirpathpy the node's type, so choice elements (value[x]) and dates resolve."""
    return ResourceNode.create_node(value, node_type)  # type: ignore[no-untyped-call]


_MODELS = {FhirVersion.R4: "r4", FhirVersion.R5: "r5"}


def _has_value(inputs: list[Any]) -> bool:
    # FHIRPath hasValue(): a single primitive that has a value (not only extensions).
    return len(inputs) == 1 and inputs[0] is not None and not isinstance(inputs[0], dict | list)


_DATE = re.compile(r"^(\d{4})(?:-(\d{2}))?(?:-(\d{2}))?(?:T(\d{2}):(\d{2})(?::(\d{2})(\.\d+)?)?)?")
_DAYS = (31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _boundary(inputs: list[Any], *, high: bool) -> list[str]:
    """lowBoundary()/highBoundary() of a (partial) date or dateTime, as a sortable full-precision text.

    Time zones are ignored (both ends of a Period are compared the same way); enough for per-1."""
    if len(inputs) != 1:
        return []
    match = _DATE.match(str(inputs[0]))
    if not match:
        return []
    year, month, day, hour, minute, second, _ = match.groups()
    if high:
        month = month or "12"
        if not day:
            leap = int(year) % 4 == 0 and (int(year) % 100 != 0 or int(year) % 400 == 0)
            last = _DAYS[int(month) - 1] - (1 if int(month) == 2 and not leap else 0)
            day = f"{last:02d}"
        return [f"{year}-{month}-{day}T{hour or '23'}:{minute or '59'}:{second or '59'}"]
    return [f"{year}-{month or '01'}-{day or '01'}T{hour or '00'}:{minute or '00'}:{second or '00'}"]


_USER_FUNCTIONS: dict[str, dict[str, Any]] = {
    "hasValue": {"fn": _has_value, "arity": {0: []}},
    "lowBoundary": {"fn": lambda inputs: _boundary(inputs, high=False), "arity": {0: []}},
    "highBoundary": {"fn": lambda inputs: _boundary(inputs, high=True), "arity": {0: []}},
}
_FUNCTION_CALL = re.compile(r"([A-Za-z_]\w*)\s*\(")
# Operators that may stand before a parenthesis: `x in ('a' | 'b')` is not a call of in().
_OPERATORS = frozenset({"in", "and", "or", "xor", "implies", "div", "mod", "contains", "not"})


def _quiet_trace(*_: Any) -> None:
    # Some invariants call trace(); fhirpathpy would print to stdout, which is ours to write to.
    return None


_STRING = re.compile(r"'(?:[^'\\]|\\.)*'")
_NAME = re.compile(r"(?<![.\w%$`])([A-Za-z_]\w*)\b(?!\s*\()")
_KEYWORDS = frozenset(
    {"and", "or", "xor", "implies", "not", "true", "false", "in", "div", "mod", "is", "as", "contains"}
)
_CONTEXT_DEPENDENT = ("%", "children", "descendants", "$this", "$index", "$total")

_QUANTITY_KEYS = frozenset({"value", "unit", "system", "code"})
_PLAIN_DATE = re.compile(r"\d{4}(-\d{2}(-\d{2})?)?")


def _ext_1(node: dict[str, Any]) -> bool:
    """ext-1 (`extension.exists() != value.exists()`) holds: sub-extensions and no value, or one plain value."""
    values = [k for k in node if k.startswith(("value", "_value"))]
    extension = node.get("extension")
    if isinstance(extension, list) and extension and all(isinstance(e, dict) and e for e in extension):
        return not values
    if "extension" in node or len(values) != 1 or not values[0].startswith("value"):
        return False
    value = node[values[0]]
    if isinstance(value, str | dict):
        return bool(value)
    return isinstance(value, bool | int | float)


def _same_precision_ordered(start: Any, end: Any) -> bool:
    """per-1 holds: two dates (no time) of the same precision, start not after end."""
    return (
        isinstance(start, str)
        and isinstance(end, str)
        and len(start) == len(end)
        and _PLAIN_DATE.fullmatch(start) is not None
        and _PLAIN_DATE.fullmatch(end) is not None
        and start <= end
    )


def _quantities_ordered(low: Any, high: Any) -> bool:
    """rng-2 holds: two Quantities alike but for their value (same unit, system, code), low not above high."""
    if not (isinstance(low, dict) and isinstance(high, dict)) or set(low) != set(high) or set(low) - _QUANTITY_KEYS:
        return False
    a, b = low.get("value"), high.get("value")
    if isinstance(a, bool) or isinstance(b, bool) or not (isinstance(a, int | float) and isinstance(b, int | float)):
        return False
    return all(low[k] == high[k] for k in low if k != "value") and a <= b


# Cheap exact pre-checks for invariants that would otherwise run on (nearly) every node: when the
# pre-check says so, the FHIRPath expression is certain to be true and is not evaluated.
_CERTAINLY_TRUE: dict[str, Callable[[dict[str, Any]], bool]] = {
    "dom-2": lambda n: "contained" not in n,
    "dom-4": lambda n: "contained" not in n,
    "dom-5": lambda n: "contained" not in n,
    "obs-7": lambda n: "component" not in n,
    "ref-1": lambda n: not str(n.get("reference", "")).startswith("#"),
    # The invariants our own output reaches past the general short cuts below (every Extension, Period with
    # both ends, Range with both ends, Organization): decided here when the answer is plain.
    "ext-1": _ext_1,
    "per-1": lambda n: _same_precision_ordered(n.get("start"), n.get("end")),
    "rng-2": lambda n: _quantities_ordered(n.get("low"), n.get("high")),
    "org-1": lambda n: bool(n.get("identifier")) or bool(n.get("name")),
    "bdl-8": lambda n: isinstance(n.get("fullUrl"), str) and "/_history/" not in n["fullUrl"],
}



def _names_element(name: str, key: str) -> bool:
    return key == name or (key.startswith(name) and key[len(name) : len(name) + 1].isupper())


def _names(expression: str) -> frozenset[str] | None:
    """The element names an expression starts paths from; None if it depends on more than its node."""
    if any(token in expression for token in _CONTEXT_DEPENDENT):
        return None
    text = _STRING.sub("''", expression)
    return frozenset(n for n in _NAME.findall(text) if n not in _KEYWORDS)


def _split_top(expression: str, op: str) -> list[str]:
    """Split at ` op ` outside parentheses and string literals."""
    parts, depth, quoted, start = [], 0, False, 0
    i = 0
    token = f" {op} "
    while i < len(expression):
        ch = expression[i]
        if ch == "'" and (i == 0 or expression[i - 1] != "\\"):
            quoted = not quoted
        elif not quoted and ch == "(":
            depth += 1
        elif not quoted and ch == ")":
            depth -= 1
        elif not quoted and depth == 0 and expression.startswith(token, i):
            parts.append(expression[start:i].strip())
            i += len(token)
            start = i
            continue
        i += 1
    parts.append(expression[start:].strip())
    return parts


# atom → (truth when the element is absent, truth when present); None where presence alone does not decide.
_ATOM_TRUTH: dict[str, tuple[bool, bool | None]] = {
    "empty()": (True, False),
    "exists()": (False, True),
    "hasValue().not()": (True, None),
    "exists().not()": (True, False),
    "empty().not()": (False, True),
}
_ATOM = re.compile(r"^\(?([A-Za-z]\w*(?:\.[A-Za-z]\w*)*)\.(" + "|".join(map(re.escape, _ATOM_TRUTH)) + r")\)?$")
Atom = tuple[str, str]


def _present(node: dict[str, Any], name: str, *, value_only: bool) -> bool:
    """Is the element there? A primitive that has only extensions (`_name`) exists, but has no value.
    A dotted name (`entry.search`) is there if any item along the path has it."""
    if "." in name:
        head, rest = name.split(".", 1)
        items = node.get(head)
        items = items if isinstance(items, list) else [items]
        return any(isinstance(i, dict) and _present(i, rest, value_only=value_only) for i in items)
    for key, value in node.items():
        bare = key[1:] if key.startswith("_") and not value_only else key
        if _names_element(name, bare) and value not in (None, [], {}):
            return True
    return False


_COMPARISON = re.compile(r"^\(?([A-Za-z]\w*)\s*(=|in)\s*\(?('[^']*'(?:\s*\|\s*'[^']*')*)\)?\)?$")


def _comparison(text: str) -> Atom | None:
    """`type = 'history'` or `type in ('document' | 'message')`: decided by a primitive's value."""
    match = _COMPARISON.match(text.strip())
    if not match or (match.group(2) == "=" and "|" in match.group(3)):
        return None
    literals = [lit.strip().strip("'") for lit in match.group(3).split("|")]
    return match.group(1), "in:" + "|".join(literals)


def _truth(atom: Atom, node: dict[str, Any]) -> bool | None:
    name, test = atom
    if test.startswith("in:"):
        # Only a present string value decides: an absent one makes the comparison empty, not false.
        value = node.get(name)
        return value in test[3:].split("|") if isinstance(value, str) else None
    absent, present = _ATOM_TRUTH[test]
    return present if _present(node, name, value_only=test.startswith("hasValue")) else absent


def _shortcuts(expression: str) -> tuple[list[Atom], Atom | None]:
    """Exact short-circuits read off the expression's top level: `A or B or ...` holds when any simple
    atom A (`x.empty()`, `x.exists()`, ...) holds; `A implies B` holds when the simple atom A is false."""
    if " xor " in expression:
        return [], None
    sides = _split_top(expression, "implies")
    if len(sides) == 2:
        match = _ATOM.match(sides[0])
        return [], (match.group(1), match.group(2)) if match else _comparison(sides[0])
    if len(sides) > 2:
        return [], None
    atoms = []
    for part in _split_top(expression, "or"):
        match = _ATOM.match(part)
        if match:
            atoms.append((match.group(1), match.group(2)))
        elif (comparison := _comparison(part)) is not None:
            atoms.append(comparison)
    return atoms, None


@dataclass(frozen=True, slots=True)
class Invariant:
    key: str
    severity: Severity
    human: str
    expression: str
    run: Callable[..., list[Any]]
    names: frozenset[str] | None  # see _names
    true_when_absent: bool  # the expression holds on a node that has none of `names`
    any_of: tuple[Atom, ...] = ()  # top-level `or` atoms: one true atom makes the whole true
    premise: Atom | None = None  # `premise implies ...`: a false premise makes the whole true

    def certainly_true(self, node: dict[str, Any]) -> bool:
        check = _CERTAINLY_TRUE.get(self.key)
        if check is not None and check(node):
            return True
        if any(_truth(atom, node) is True for atom in self.any_of):
            return True
        if self.premise is not None and _truth(self.premise, node) is False:
            return True
        if self.names is None or not self.true_when_absent:
            return False
        # `value` also names valueQuantity, valueString, ... (choice elements).
        return not any(_names_element(n, k) for k in node for n in self.names)


@dataclass(frozen=True, slots=True)
class Compiled:
    by_type: dict[str, list[Invariant]]
    skipped: list[tuple[str, str, str]]  # (element, key, why it is not evaluated)


@cache
def compiled(version: FhirVersion) -> Compiled:
    """Compile every invariant once; list those fhirpathpy cannot run instead of dropping them."""
    defs = load_definitions(version)
    model = models[_MODELS[version]]
    known = set(invocation_registry) | set(_USER_FUNCTIONS)
    options = {"userInvocationTable": _USER_FUNCTIONS, "traceFn": _quiet_trace}
    by_type: dict[str, list[Invariant]] = {}
    skipped = [(e, k, why) for e, k, why in defs.skipped_constraints]
    for node_type, constraints in defs.constraints.items():
        for key, severity, human, expression in constraints:
            missing = sorted({f for f in _FUNCTION_CALL.findall(expression) if f not in known | _OPERATORS})
            if missing:
                skipped.append((node_type, key, f"fhirpathpy lacks {', '.join(missing)}(): {expression}"))
                continue
            try:
                run = fp_compile(expression, model, options)
            except Exception as exc:
                skipped.append((node_type, key, f"fhirpathpy cannot parse it ({exc}): {expression}"))
                continue
            sev = Severity.WARNING if severity == "warning" else Severity.ERROR
            names = _names(expression)
            holds = False
            if names is not None:
                try:
                    holds = run(_typed({}, node_type), {}) == [True]
                except Exception:
                    holds = False
            any_of, premise = _shortcuts(expression)
            invariant = Invariant(key, sev, human, expression, run, names, holds, tuple(any_of), premise)
            by_type.setdefault(node_type, []).append(invariant)
    return Compiled(by_type, sorted(skipped))


_DOM_3 = (
    "dom-3: If the resource is contained in another resource, it SHALL be referred to from elsewhere in the "
    "resource or SHALL refer to the containing resource"
)


def _strings(value: Any, into: set[str]) -> set[str]:
    if isinstance(value, str):
        into.add(value)
    elif isinstance(value, dict):
        for item in value.values():
            _strings(item, into)
    elif isinstance(value, list):
        for item in value:
            _strings(item, into)
    return into


def _unreferenced_contained(resource: dict[str, Any]) -> list[int]:
    """dom-3, natively: the contained resources that nothing refers to ('#id') and that do not refer to
    their container ('#'). Any string value counts as a possible reference, canonical, uri or url."""
    contained = resource.get("contained")
    if not isinstance(contained, list):
        return []
    outside = _strings({k: v for k, v in resource.items() if k != "contained"}, set())
    unreferenced = []
    for i, inner in enumerate(contained):
        if not isinstance(inner, dict):
            continue
        others = _strings([c for j, c in enumerate(contained) if j != i], set())
        own = _strings(inner, set())
        cid = inner.get("id")
        referenced = isinstance(cid, str) and (f"#{cid}" in outside or f"#{cid}" in others)
        if not referenced and "#" not in own:
            unreferenced.append(i)
    return unreferenced


# What the Bundle invariants (bdl-*) look at in an entry's resource: whether it exists, its type, its meta.
BUNDLE_RESOURCE_USE = re.compile(r"resource\.(?:exists\(\)|is\(|meta\.)")


def _bundle_shell(resource: dict[str, Any]) -> dict[str, Any] | None:
    """The Bundle as its invariants need it: each entry's resource cut to resourceType, id and meta.
    fhirpathpy would otherwise wrap every entry's whole resource (3 ms per bundle of 17 resources)."""
    entries = resource.get("entry")
    if resource.get("resourceType") != "Bundle" or not isinstance(entries, list):
        return None
    cut = []
    for entry in entries:
        inner = entry.get("resource") if isinstance(entry, dict) else None
        if isinstance(inner, dict):
            stub = {k: v for k, v in inner.items() if k in ("resourceType", "id", "meta")}
            cut.append({**entry, "resource": stub})
        else:
            cut.append(entry)
    return {**resource, "entry": cut}


def invariant_findings(resource: dict[str, Any], version: FhirVersion, walks: Walks | None = None) -> list[Finding]:
    """Evaluate the invariants on every element of one resource (and of its contained resources)."""
    defs = load_definitions(version)
    table = compiled(version).by_type
    context = resource_context(resource)
    env = {"resource": resource, "rootResource": resource}
    findings: list[Finding] = []
    shell = _bundle_shell(resource)
    for node in walk(defs, resource, walks):
        if node.spec is not None and not any(k != "id" for k in node.value):
            # ele-1, done here rather than in FHIRPath: it applies to every element, so it must be cheap.
            findings.append(
                Finding(
                    Severity.ERROR,
                    Layer.INVARIANT,
                    node.path,
                    "ele-1: an element must have a value or children (leave empty elements out)",
                    "ele-1",
                    **context,
                )
            )
            continue
        if node.type in defs.resources and "contained" in node.value:
            findings += [
                Finding(Severity.ERROR, Layer.INVARIANT, f"{node.path}.contained[{i}]", _DOM_3, "dom-3", **context)
                for i in _unreferenced_contained(node.value)
            ]
        for inv in table.get(node.type, ()):
            if inv.certainly_true(node.value):
                continue
            value, scope = node.value, env
            if shell is not None and node.spec is None:
                value, scope = shell, {"resource": shell, "rootResource": shell}
            try:
                result = inv.run(_typed(value, node.type), scope)
            except Exception as exc:
                # fhirpathpy's limit, not a fault of the content: a note, not a warning.
                findings.append(
                    Finding(
                        Severity.INFORMATION,
                        Layer.INVARIANT,
                        node.path,
                        f"{inv.key}: not checked: fhirpathpy could not evaluate it ({type(exc).__name__})",
                        f"{inv.key}-not-evaluated",
                        **context,
                    )
                )
                continue
            if result == [False]:
                findings.append(
                    Finding(inv.severity, Layer.INVARIANT, node.path, f"{inv.key}: {inv.human}", inv.key, **context)
                )
    return findings
