"""Read every entry of the content back from the server by its business key and compare (ignoring id/meta)."""

from __future__ import annotations

import copy
import json
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from fhirconv.errors import ExitCode
from fhirconv.push.entries import Entry, iter_references
from fhirconv.transport.client import FhirClient

PROBLEMS = ("missing", "duplicated", "different")
IGNORED = frozenset({"id", "meta"})


@dataclass(slots=True)
class Problem:
    entry: Entry
    kind: str  # missing | duplicated | different
    detail: str

    def line(self) -> str:
        return f"{self.kind}: {self.entry.describe()}: {self.detail}"

    def to_json(self) -> dict[str, Any]:
        e = self.entry
        return {
            "file": e.file,
            "entry": e.position,
            "resourceType": e.resource_type,
            "identifier": e.identifier,
            "problem": self.kind,
            "detail": self.detail,
        }


TEXT_LIMIT = 50  # problems shown in the text report


@dataclass
class VerifyReport:
    server: str
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def add(self, rtype: str, outcome: str) -> None:
        self.counts.setdefault(rtype, Counter())[outcome] += 1

    @property
    def checked(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def exit_code(self) -> ExitCode:
        # Content not (exactly) on the server is the state a partly failed upload leaves.
        return ExitCode.PARTIAL if self.problems else ExitCode.OK

    def to_json(self) -> dict[str, Any]:
        kinds = ("ok", *PROBLEMS)
        return {
            "server": self.server,
            "exitCode": int(self.exit_code),
            "checked": self.checked,
            "totals": {k: sum(c[k] for c in self.counts.values()) for k in kinds},
            "byResourceType": {t: {k: c[k] for k in kinds} for t, c in sorted(self.counts.items())},
            "problems": [p.to_json() for p in self.problems],
        }

    def to_text(self) -> str:
        ok = sum(c["ok"] for c in self.counts.values())
        lines = [f"verified against {self.server}: {ok} of {self.checked} resources found once with the same content"]
        # A person reads this: the first problems show the pattern; --format json lists every one.
        lines += [p.line() for p in self.problems[:TEXT_LIMIT]]
        if len(self.problems) > TEXT_LIMIT:
            lines.append(f"... and {len(self.problems) - TEXT_LIMIT} more problems (--format json lists them all)")
        return "\n".join(lines)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)


def read_url(e: Entry) -> str:
    """The request that finds this entry's resource on the server: the same key it was written with."""
    if e.method == "POST" and e.if_none_exist:
        return f"{e.resource_type}?{e.if_none_exist}"
    return e.url


def verify(
    files: Iterable[tuple[str, list[Entry]]],
    client: FhirClient,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    """Read every entry back; `on_batch(entries read, entries in all)` is told after each batch (progress)."""
    report = VerifyReport(client.base_url)
    files = list(files)
    total = sum(len(entries) for _, entries in files)
    for _source, entries in files:
        found: dict[int, list[dict[str, Any]]] = {}
        for start in range(0, len(entries), max(1, batch_size)):
            part = entries[start : start + batch_size]
            for offset, matches in enumerate(_read_back(client, part)):
                found[start + offset] = matches
            if on_batch is not None:
                on_batch(len(part), total)
        server_ref = {e.full_url: _ref(found[i][0]) for i, e in enumerate(entries) if e.full_url and len(found[i]) == 1}
        for i, e in enumerate(entries):
            matches = found[i]
            if not matches:
                how = f"identifier {e.identifier}" if "?" in read_url(e) else read_url(e)
                report.problems.append(Problem(e, "missing", f"nothing found by {how}"))
                report.add(e.resource_type, "missing")
            elif len(matches) > 1:
                ids = ", ".join(_ref(m) for m in matches)
                report.problems.append(Problem(e, "duplicated", f"{len(matches)} resources found: {ids}"))
                report.add(e.resource_type, "duplicated")
            else:
                diff = difference(_expected(e.resource, server_ref), matches[0])
                if diff:
                    report.problems.append(Problem(e, "different", f"{_ref(matches[0])} differs at {diff}"))
                    report.add(e.resource_type, "different")
                else:
                    report.add(e.resource_type, "ok")
    return report


def _read_back(client: FhirClient, entries: list[Entry]) -> list[list[dict[str, Any]]]:
    """One batch of GETs per slice of entries; each yields the matching resources (0, 1 or more)."""
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": read_url(e)}} for e in entries],
    }
    body = client.request("POST", "", json_body=bundle).body
    results = body.get("entry") if isinstance(body, dict) else None
    if not isinstance(results, list) or len(results) != len(entries):
        from fhirconv.transport.errors import ServerRejected

        raise ServerRejected(f"{client.base_url} answered a batch of reads without one result per read")
    out: list[list[dict[str, Any]]] = []
    for result in results:
        status = str((result.get("response") or {}).get("status", "200")).split()[0]
        resource = result.get("resource")
        if not status.startswith("2") or not isinstance(resource, dict):
            out.append([])
        elif resource.get("resourceType") == "Bundle":
            out.append(
                [
                    x["resource"]
                    for x in resource.get("entry") or []
                    if isinstance(x.get("resource"), dict) and (x.get("search") or {}).get("mode", "match") == "match"
                ]
            )
        else:
            out.append([resource])
    return out


def _ref(resource: dict[str, Any]) -> str:
    return f"{resource.get('resourceType')}/{resource.get('id')}"


def _expected(resource: dict[str, Any], server_ref: dict[str, str]) -> dict[str, Any]:
    """The content as the server should hold it: bundle-internal references point at the server's ids."""
    expected = copy.deepcopy(resource)
    for holder in iter_references(expected):
        ref = holder["reference"]
        if ref in server_ref:
            holder["reference"] = server_ref[ref]
    return expected


def difference(expected: Any, actual: Any, path: str = "") -> str | None:
    """The first path where `actual` differs from `expected` (top-level id and meta ignored), or None."""
    if isinstance(expected, dict) and isinstance(actual, dict):
        keys = set(expected) | set(actual)
        if not path:
            keys -= IGNORED
        for key in sorted(keys):
            sub = f"{path}.{key}" if path else key
            if key not in actual:
                return f"{sub} (missing on the server)"
            if key not in expected:
                return f"{sub} (only on the server)"
            if key == "reference" and _resolved_conditional(expected[key], actual[key]):
                continue
            found = difference(expected[key], actual[key], sub)
            if found:
                return found
        return None
    if isinstance(expected, list) and isinstance(actual, list):
        if len(expected) != len(actual):
            return f"{path} ({len(expected)} items expected, {len(actual)} on the server)"
        for i, (a, b) in enumerate(zip(expected, actual, strict=True)):
            found = difference(a, b, f"{path}[{i}]")
            if found:
                return found
        return None
    if (expected == actual and type(expected) is type(actual)) or (
        isinstance(expected, int | float)
        and isinstance(actual, int | float)
        and not isinstance(expected, bool)
        and expected == actual
    ):
        return None
    return f"{path} (expected {json.dumps(expected)[:80]}, server has {json.dumps(actual)[:80]})"


def _resolved_conditional(expected: Any, actual: Any) -> bool:
    """A conditional reference (Type?identifier=...) that the server resolved to a resource of that type."""
    if not (isinstance(expected, str) and "?" in expected and isinstance(actual, str)):
        return False
    return actual.startswith(expected.split("?", 1)[0] + "/")
