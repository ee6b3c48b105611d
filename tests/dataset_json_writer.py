"""Test helper: a table file (the pilot's XPT and CSV row subsets) written as CDISC Dataset-JSON v1.1,
values unchanged. XPT numeric variables become `double` columns holding the decoded doubles exactly
(digits=None: not rounded here, so the reader's rounding is what is tested); CSV columns that hold only
numbers as Python wrote the XPT doubles ("6.0", "0.049999999999999996") become `double` columns of those
numbers; everything else is a `string` column of the text as it stands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from fhirconv.readers.tables import open_table
from fhirconv.readers.xpt import XptReader


def _csv_number(text: str) -> float | None:
    if "." not in text and "e" not in text:
        return None  # "0", "38": written as text by the sponsor, kept as text
    try:
        return float(text)
    except ValueError:
        return None


def dataset_json(table: Path) -> dict[str, Any]:
    """The Dataset-JSON v1.1 object for one table file."""
    name = table.name.split(".")[0].upper()
    if table.name.lower().endswith(".xpt"):
        with XptReader(table, digits=None) as reader:
            numeric = {v.name for v in reader.variables if v.numeric}
            names = [v.name for v in reader.variables]
            rows = [[row[n] for n in names] for row in reader]
    else:
        with open_table(table) as handle:
            names = list(handle.columns)
            rows = [list(values) for _, values in handle.tuples()]
        numeric = {
            n
            for i, n in enumerate(names)
            if any(r[i] is not None for r in rows)
            and all(r[i] is None or _csv_number(str(r[i])) is not None for r in rows)
        }
        rows = [
            [float(v) if n in numeric and v is not None else v for n, v in zip(names, r, strict=True)] for r in rows
        ]
    return {
        "datasetJSONCreationDateTime": "2026-12-04T00:00:00",
        "datasetJSONVersion": "1.1.0",
        "fileOID": f"fhirconv.tests.{name}",
        "studyOID": "cdisc.com.CDISCPILOT01",
        "itemGroupOID": f"IG.{name}",
        "records": len(rows),
        "name": name,
        "label": name,
        "columns": [
            {
                "itemOID": f"IT.{name}.{n}",
                "name": n,
                "label": n,
                "dataType": "double" if n in numeric else "string",
            }
            for n in names
        ],
        "rows": rows,
    }


def write(table: Path, out_dir: Path, *, ndjson: bool = False) -> Path:
    """Write `table` as <name>.json (or .ndjson: the metadata line, then one row per line) in out_dir."""
    doc = dataset_json(table)
    stem = table.name.split(".")[0]
    if not ndjson:
        path = out_dir / f"{stem}.json"
        path.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
        return path
    rows = doc.pop("rows")
    path = out_dir / f"{stem}.ndjson"
    lines = [json.dumps(doc, ensure_ascii=False), *(json.dumps(r, ensure_ascii=False) for r in rows)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def write_all(folder: Path, out_dir: Path, *, ndjson: bool = False) -> list[Path]:
    return [write(p, out_dir, ndjson=ndjson) for p in sorted(folder.iterdir()) if p.suffix in (".xpt", ".csv")]
