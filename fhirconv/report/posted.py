"""The registry's posted results as the report shows them: per outcome measure its facts and, per group, the
values (with dispersion and n), read from our Evidence / EvidenceVariable output (R5 elements, or in R4 the
same elements carried by `r5-Evidence.*` extensions; mappings/README.md, "Posted results")."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

Resource = dict[str, Any]

# Our identifiers (mappings/README.md, "Identifiers"): NCT…/outcome/<n> names an outcome measure's
# EvidenceVariable, NCT…/outcome/<n>/<OG…> the Evidence of one group for it. Analyses and baseline differ.
_MEASURE = re.compile(r"/outcome/(\d+)$")
_GROUP_EVIDENCE = re.compile(r"/outcome/(\d+)/(OG\d+)$")
_R5 = "/StructureDefinition/r5-Evidence."
# Elements of R5 Evidence's variableDefinition / statistic that repeat (lists when read back from extensions).
_LISTS = frozenset({"variableDefinition", "statistic", "attributeEstimate", "category", "note"})


def _identifier(r: Resource) -> str:
    return next((str(i.get("value", "")) for i in r.get("identifier") or []
                 if str(i.get("system", "")).endswith("/ctgov-result")), "")


def _from_extension(ext: Resource) -> Any:
    """A cross-version extension read back as the R5 element it carries: value[x], or sub-extensions."""
    for key, value in ext.items():
        if key.startswith("value"):
            return value
    out: dict[str, Any] = {}
    for sub in ext.get("extension") or []:
        name, value = str(sub.get("url", "")), _from_extension(sub)
        if name in _LISTS:
            out.setdefault(name, []).append(value)
        else:
            out[name] = value
    return out


def _r5_elements(r: Resource, name: str) -> list[Any]:
    """Evidence.<name> in R5, or the R4 extensions carrying it."""
    if name in r:
        return list(r[name])
    return [_from_extension(e) for e in r.get("extension") or [] if str(e.get("url", "")).endswith(_R5 + name)]


def _text(concept: Any) -> str:
    from fhirconv.report.data import text_of

    return text_of(concept)


def _number(quantity: Any) -> Any:
    """A Quantity's value as a number (a bound keeps its comparator as text); '' when there is none."""
    if not isinstance(quantity, dict) or quantity.get("value") is None:
        return ""
    value = quantity["value"]
    return f"{quantity['comparator']}{value}" if quantity.get("comparator") else value


def _dispersion(estimates: list[Any]) -> str:
    parts = []
    for a in estimates:
        if not isinstance(a, dict):
            continue
        kind = _text(a.get("type"))
        if a.get("quantity"):
            parts.append(f"{kind} {_number(a['quantity'])}")
        elif a.get("range"):
            low, high = (_number(a["range"].get(k)) for k in ("low", "high"))
            level = f" ({a['level']:g})" if isinstance(a.get("level"), int | float) else ""
            parts.append(f"{kind}{level} {low}–{high}")
    return "; ".join(p.strip() for p in parts)


@dataclass
class Measure:
    """One outcome measure: its facts (from the EvidenceVariable's notes) and one row per group and category."""

    number: int
    title: str = ""
    facts: dict[str, str] = field(default_factory=dict)  # Outcome type, Time frame, Unit of measure, …
    rows: list[dict[str, Any]] = field(default_factory=list)  # group, category, value, dispersion, n


class Posted:
    """Gathers only what the section shows: a few strings per outcome measure and one small row per
    group × category statistic; no resource is kept."""

    def __init__(self) -> None:
        self.measures: dict[int, Measure] = {}

    def _measure(self, number: int) -> Measure:
        return self.measures.setdefault(number, Measure(number))

    def add(self, r: Resource) -> None:
        ident = _identifier(r)
        if r["resourceType"] == "EvidenceVariable" and (m := _MEASURE.search(ident)):
            measure = self._measure(int(m.group(1)))
            measure.title = r.get("title", "")
            for note in r.get("note") or []:
                key, sep, value = str(note.get("text", "")).partition(": ")
                if sep:
                    measure.facts.setdefault(key, value)
        elif r["resourceType"] == "Evidence" and (m := _GROUP_EVIDENCE.search(ident)):
            group = next((d.get("observed", {}).get("display", "") for d in _r5_elements(r, "variableDefinition")
                          if "population" in str(d.get("variableRole"))), "") or m.group(2)
            measure = self._measure(int(m.group(1)))
            for s in _r5_elements(r, "statistic"):
                measure.rows.append({
                    "group": group, "category": _text(s.get("category")), "value": _number(s.get("quantity")),
                    "dispersion": _dispersion(s.get("attributeEstimate") or []),
                    "n": (s.get("sampleSize") or {}).get("numberOfParticipants", ""),
                    "note": "; ".join(str(n.get("text", "")) for n in s.get("note") or [] if isinstance(n, dict)),
                })

    def result(self) -> list[Measure]:
        return [self.measures[k] for k in sorted(self.measures) if self.measures[k].title]
