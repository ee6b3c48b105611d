"""What a push did, per resource type (created / updated / unchanged / failed), and every failure's entry."""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from fhirconv.errors import ExitCode

OUTCOMES = ("created", "updated", "unchanged", "failed")


@dataclass(slots=True)
class Failure:
    file: str
    entry: int | None  # position in the file's Bundle.entry; None when a whole chunk failed unattributed
    resource_type: str
    identifier: str
    message: str
    cause: bool = True  # False for entries rolled back or not sent because of another entry's failure

    def line(self) -> str:
        where = f"{self.file}: entry {self.entry}" if self.entry is not None else self.file
        return f"{where} ({self.resource_type} {self.identifier}): {self.message}"

    def to_json(self) -> dict[str, Any]:
        return {
            "file": self.file,
            "entry": self.entry,
            "resourceType": self.resource_type,
            "identifier": self.identifier,
            "message": self.message,
            "cause": self.cause,
        }


@dataclass
class PushReport:
    server: str
    counts: dict[str, Counter[str]] = field(default_factory=dict)
    failures: list[Failure] = field(default_factory=list)
    chunks: int = 0
    chunks_ok: int = 0
    unreachable: bool = False
    elapsed: float = 0.0
    wait_seconds: float = 0.0
    requests: int = 0
    retries: int = 0

    def add(self, resource_type: str, outcome: str, n: int = 1) -> None:
        self.counts.setdefault(resource_type, Counter())[outcome] += n

    def total(self, outcome: str) -> int:
        return sum(c[outcome] for c in self.counts.values())

    @property
    def resources(self) -> int:
        return sum(sum(c.values()) for c in self.counts.values())

    @property
    def exit_code(self) -> ExitCode:
        if not self.total("failed"):
            return ExitCode.OK
        if self.chunks_ok:
            return ExitCode.PARTIAL
        return ExitCode.UNREACHABLE if self.unreachable else ExitCode.REJECTED

    def to_json(self) -> dict[str, Any]:
        return {
            "server": self.server,
            "exitCode": int(self.exit_code),
            "totals": {o: self.total(o) for o in OUTCOMES},
            "byResourceType": {t: {o: c[o] for o in OUTCOMES} for t, c in sorted(self.counts.items())},
            "chunks": {"total": self.chunks, "ok": self.chunks_ok, "failed": self.chunks - self.chunks_ok},
            "failures": [f.to_json() for f in self.failures],
            "timing": {
                "seconds": round(self.elapsed, 3),
                "waitingOnServerSeconds": round(self.wait_seconds, 3),
                "requests": self.requests,
                "retries": self.retries,
            },
        }

    def to_text(self) -> str:
        width = max([len(t) for t in self.counts] + [len("resource type")])
        lines = [f"pushed to {self.server}: {self.chunks_ok}/{self.chunks} transactions committed"]
        lines.append(f"{'resource type':<{width}}  " + "  ".join(f"{o:>9}" for o in OUTCOMES))
        for rtype, c in sorted(self.counts.items()):
            lines.append(f"{rtype:<{width}}  " + "  ".join(f"{c[o]:>9}" for o in OUTCOMES))
        lines.append(f"{'total':<{width}}  " + "  ".join(f"{self.total(o):>9}" for o in OUTCOMES))
        causes = [f for f in self.failures if f.cause]
        for failure in causes:
            lines.append(f"failed: {failure.line()}")
        others = len(self.failures) - len(causes)
        if others:
            lines.append(f"{others} more entries were not written because their transaction failed")
        return "\n".join(lines)

    def dumps(self) -> str:
        return json.dumps(self.to_json(), indent=2, ensure_ascii=False)
