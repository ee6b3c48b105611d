"""Every regular expression of the registry readers runs in linear time on long runs of whitespace,
letters or digits: a v2 `phases` of 40,000 spaces, or a page-text outcome line like it, once took minutes.

The patterns are found, not listed: module-level compiled patterns, and string literals passed to `re.*`
functions or to the page-text reader's `find` / `header_value` helpers. A new pattern is covered as
soon as it is written."""

from __future__ import annotations

import ast
import importlib
import inspect
import re
import time

import pytest

MODULES = [
    "fhirconv.readers",
    "fhirconv.readers.ctgov_v2",
    "fhirconv.readers.ctgov_page_text",
    "fhirconv.readers.ctgov_xml",
    "fhirconv.readers.ctgov_classic",
    "fhirconv.readers.normalize",
    "fhirconv.readers.jsonaccess",
]
_RE_FUNCS = {"compile", "search", "match", "fullmatch", "split", "sub", "subn", "findall", "finditer"}
_HELPERS = {"find", "header_value"}  # ctgov_page_text._Page methods that take a pattern string
RUN = 20_000  # quadratic at this length costs seconds; linear costs well under a millisecond
BUDGET = 0.5  # seconds per pattern and input, loose for a loaded CI machine


def _patterns() -> list[tuple[str, re.Pattern[str] | re.Pattern[bytes]]]:
    found: dict[tuple[object, int], tuple[str, re.Pattern[str] | re.Pattern[bytes]]] = {}
    for name in MODULES:
        module = importlib.import_module(name)
        for attr, value in vars(module).items():
            if isinstance(value, re.Pattern):
                found[(value.pattern, value.flags)] = (f"{name}.{attr}", value)
        for node in ast.walk(ast.parse(inspect.getsource(module))):
            if not (isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant)):
                continue
            func = node.func
            is_re = isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) and func.value.id == "re"
            is_helper = (
                isinstance(func, ast.Attribute)
                and isinstance(func.value, ast.Name)
                and func.value.id == "self"
                and func.attr in _HELPERS
            )
            if (is_re and func.attr in _RE_FUNCS) or is_helper:
                text = node.args[0].value
                if isinstance(text, str | bytes):
                    rx = re.compile(text)
                    found.setdefault((rx.pattern, rx.flags), (f"{name}:{node.lineno}", rx))
    return sorted(found.values(), key=lambda item: item[0])


def _literals(pattern: str) -> list[str]:
    """The literal pieces of a pattern ('Time Frame:', 'Verified'), to build inputs that get past them."""
    pieces = re.split(r"\\[sSdDwWbB]|[()\[\]{}|?*+^$.]|\\(?=.)", pattern)
    return sorted({p for p in pieces if p.strip()})


def _inputs(pattern: str) -> list[str]:
    out = []
    for prefix in ["", *_literals(pattern)]:
        for fill in (" ", "\t", "a", "1", " \n"):
            for end in ("\x01", "\n\n", ")"):
                out.append(prefix + fill * RUN + end)
    return out


@pytest.mark.parametrize(("where", "rx"), _patterns(), ids=lambda v: v if isinstance(v, str) else "")
def test_pattern_is_linear(where: str, rx: re.Pattern[str] | re.Pattern[bytes]) -> None:
    source = rx.pattern if isinstance(rx.pattern, str) else rx.pattern.decode("latin-1")
    for text in _inputs(source):
        subject: str | bytes = text if isinstance(rx.pattern, str) else text.encode("latin-1")
        for op in (rx.search, rx.fullmatch):
            start = time.perf_counter()
            op(subject)  # type: ignore[arg-type]
            took = time.perf_counter() - start
            assert took < BUDGET, f"{where} /{source}/ took {took:.2f} s on {text[:40]!r}… ({len(text)} chars)"


def test_patterns_are_found() -> None:
    """The collector sees the patterns it exists for (a rename must not make the test vacuous)."""
    names = {where for where, _ in _patterns()}
    assert "fhirconv.readers.normalize._PHASE_SPLIT" in names
    assert "fhirconv.readers.ctgov_page_text._TIME_FRAME" in names
    assert any(where.startswith("fhirconv.readers.ctgov_page_text:") for where in names)
    assert len(names) > 30
