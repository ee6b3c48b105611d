"""Measure: the share of registry values fhirconv places in its FHIR output, per FHIR version, source format and
record section, over the whole corpus (API v2 JSON, classic API JSON, legacy XML in tests/data/ctgov-corpus).

Run: python benchmarks/placement_share.py [--missing]

A value counts as placed by the rules of tests/placement.py (the engine of tests/test_placement.py; its
docstring has them): after the mapping's own normalisations, as a whole segment of an output string, a Coding
code, or at the element listed for values written as structure; non-distinctive values (numbers, enums, dates)
only in a resource where their source object's distinctive values are. `--missing` prints, as rows for the
"Deliberately not placed" table of mappings/README.md, every field path with values not placed that the table
does not list yet (reason "not placed yet (issue 11)": replace it with the real reason where there is one).
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from placement import README, TABLE_HEADING, iter_missing, not_placed_table, tally

SECTIONS = ("protocol", "derived", "results", "document", "annotation")
FORMATS = ("v2", "classic", "xml")


def _share(placed: int, total: int) -> str:
    return f"{placed}/{total} = {100 * placed / total:.1f}%" if total else "-"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--missing", action="store_true", help="print table rows for unlisted fields not placed")
    parser.add_argument("--rewrite", action="store_true",
                        help="rewrite the table in mappings/README.md: drop what is placed now, add what is missing")
    args = parser.parse_args()
    t = tally()
    if args.rewrite:
        rewrite_table(t)
    if args.missing:
        table = not_placed_table()
        for path, versions in iter_missing(t):
            row = table.get(path)
            left = versions if row is None else versions | row.versions
            if row is None or left != row.versions:
                reason = row.reason if row else "not placed yet (issue 11)"
                print(f"| `{path}` | {' '.join(sorted(left))} | {reason} |")
        return
    print("values placed / values in the records (leaf values; tests/placement.py has the rules)")
    print(f"{'version':8}{'format':9}" + "".join(f"{s:>26}" for s in (*SECTIONS, "all")))
    for version in ("R4", "R5"):
        for fmt in (*FORMATS, "all"):
            placed: Counter[str] = Counter()
            total: Counter[str] = Counter()
            for (v, f, sec), n in t.total.items():
                if v == version and fmt in (f, "all"):
                    total[sec] += n
                    placed[sec] += t.placed[(v, f, sec)]
            cells = [_share(placed[s], total[s]) for s in SECTIONS]
            cells.append(_share(sum(placed.values()), sum(total.values())))
            print(f"{version:8}{fmt:9}" + "".join(f"{c:>26}" for c in cells))


def rewrite_table(t: Any) -> None:
    """The table as the corpus now has it: a row keeps the versions its field is still not placed in (a field
    the corpus does not hold keeps its row), rows placed in both go, unlisted fields not placed come in with
    'not placed yet (issue 11)'. Reasons are kept."""
    table = not_placed_table()
    missing = dict(iter_missing(t))
    rows: dict[str, tuple[frozenset[str], str]] = {}
    for path, row in table.items():
        versions = row.versions if t.seen[path] == 0 else row.versions & missing.get(path, frozenset())
        if versions:
            rows[path] = (versions, row.reason)
    for path, versions in missing.items():
        old = rows.get(path)
        rows[path] = (versions | (old[0] if old else frozenset()), old[1] if old else "not placed yet (issue 11)")
    lines = README.read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if line.rstrip("\n") == TABLE_HEADING)
    first = next(i for i in range(start + 1, len(lines)) if lines[i].startswith("| `"))
    end = first
    while end < len(lines) and lines[end].startswith("| `"):
        end += 1
    body = [f"| `{p}` | {' '.join(sorted(v))} | {r} |\n" for p, (v, r) in sorted(rows.items())]
    README.write_text("".join(lines[:first] + body + lines[end:]), encoding="utf-8")
    print(f"{README}: {len(table)} rows before, {len(rows)} now")


if __name__ == "__main__":
    main()
