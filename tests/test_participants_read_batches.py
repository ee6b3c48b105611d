"""The reader's batch-wise fast paths give what the row-by-row path gives: records, rejections, counts, row numbers."""

from __future__ import annotations

import dataclasses
import random
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from fhirconv.errors import InputError
from fhirconv.model.participants import Measurement
from fhirconv.readers import participants as read
from fhirconv.readers.participants import _Keys, read_participants
from fhirconv.readers.tables import open_table
from fhirconv.validation.fast import is_fhir_string

DATA = Path(__file__).parent / "data" / "participants"
EXAMPLE = Path(__file__).parents[1] / "examples" / "NCT04382547" / "participants"
CASES = [DATA / "pilot", EXAMPLE / "sdtm", EXAMPLE / "simple", *sorted((DATA / "bad").iterdir())]


def _everything(folder: Path) -> dict[str, Any]:
    """All a reader gives, in comparable form (collect mode, so bad rows come as rejections)."""
    try:
        data = read_participants(folder, on_error="collect")
        return {
            "measurements": [dataclasses.astuple(m) for m in data.measurements],
            "adverse_events": [dataclasses.astuple(a) for a in data.adverse_events],
            "participants": [dataclasses.astuple(p) for p in data.participants],
            "dispositions": [dataclasses.astuple(d) for d in data.dispositions],
            "rejected": [dataclasses.astuple(r) for r in data.rejected],
            "row_counts": data.row_counts,
            "merged_counts": data.merged_counts,
        }
    except InputError as exc:  # a file-level error (e.g. a missing column) must be the same too
        return {"error": (exc.message, exc.file, exc.field)}


@pytest.mark.parametrize("folder", CASES, ids=lambda p: p.name)
def test_whole_batches_equal_row_by_row(folder: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not folder.is_dir():
        pytest.skip(f"{folder} not present")
    fast = _everything(folder)
    monkeypatch.setattr(read, "WHOLE_BATCHES", False)
    slow = _everything(folder)
    assert fast == slow
    assert any(
        fast.get(k) for k in ("measurements", "adverse_events", "rejected", "error")
    )  # the case had something in it


def test_duplicate_and_orphan_qualifiers_alike_both_ways(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = tmp_path / "pilot"
    shutil.copytree(DATA / "pilot", folder)
    supp = folder / "supplb.csv"
    lines = supp.read_text(encoding="utf-8").splitlines()
    extra = [lines[2], lines[1].replace("LBSEQ,       1", "LBSEQ,  999999"), lines[5]]  # dup, orphan, dup
    supp.write_text("\n".join(lines + extra) + "\n", encoding="utf-8")
    fast = _everything(folder)
    monkeypatch.setattr(read, "WHOLE_BATCHES", False)
    assert _everything(folder) == fast
    rejected = [(r[0][1], r[1], r[2][:30]) for r in fast["rejected"]]
    n = len(lines) - 1
    assert rejected == [
        (n + 1, "QNAM", "duplicate qualifier LBTMSHI fo"),
        (n + 3, "QNAM", "duplicate qualifier LBTMSHI fo"),
        (n + 2, "IDVARVAL", "no LB row with this LBSEQ for "),
    ]


def test_pilot_subset_goes_the_whole_batch_way(monkeypatch: pytest.MonkeyPatch) -> None:
    built: list[int] = []
    original = read.ParticipantData._batch_records

    def counting(*args: Any) -> Any:
        for record in original(*args):
            built.append(isinstance(record, Measurement))
            yield record

    monkeypatch.setattr(read.ParticipantData, "_batch_records", staticmethod(counting))
    data = read_participants(DATA / "pilot")
    assert len(list(data.measurements)) == sum(built) == 758 + 379


def test_keys_seen_many_agrees_with_seen_row_by_row() -> None:
    rng = random.Random(7)
    for _ in range(200):
        # Mostly sorted by subject with occasional revisits and repeated keys, over several batches.
        rows: list[tuple[str, tuple[str, float]]] = []
        for _ in range(rng.randint(0, 60)):
            subject = f"S{rng.randint(0, 4)}" if rng.random() < 0.2 else f"S{len(rows) // 10}"
            rows.append((subject, (subject, float(rng.randint(0, 25)))))
        one, many = _Keys(), _Keys()
        # Row numbers as a file gives them (1-based); each duplicate is told with its key's first row.
        expected = {i: first for i, (subject, key) in enumerate(rows) if (first := one.seen(subject, key, i + 1))}
        assert all(rows[first - 1][1] == rows[i][1] for i, first in expected.items())
        got: dict[int, int] = {}
        start = 0
        while start < len(rows):
            size = rng.randint(1, 12)
            part = rows[start : start + size]
            found = many.seen_many([s for s, _ in part], [k for _, k in part], range(start + 1, start + len(part) + 1))
            got.update((start + i, first) for i, first in found.items())
            start += size
        assert got == expected


def _csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(["USUBJID,VALUE", *lines]) + "\n", encoding="utf-8")
    return path


def test_csv_rows_numbered_across_batches_with_blank_lines(tmp_path: Path) -> None:
    lines = [f"S{i},{i}" for i in range(1, 9001)]
    lines[4999] = ""  # an empty line: no record, but it keeps its number
    with open_table(_csv(tmp_path / "t.csv", lines)) as table:
        rows = [
            (n, subject)
            for numbers, (subjects, _) in table.chunks()
            for n, subject in zip(numbers, subjects, strict=True)
        ]
    assert len(rows) == 8999
    assert rows[4998] == (4999, "S4999")
    assert rows[4999] == (5001, "S5001")
    assert rows[-1] == (9000, "S9000")


def test_csv_error_in_a_later_batch_names_its_row(tmp_path: Path) -> None:
    lines = [f"S{i},{i}" for i in range(1, 9001)]
    lines[6999] = "S7000,1,extra"
    with pytest.raises(InputError) as info, open_table(_csv(tmp_path / "t.csv", lines)) as table:
        list(table.chunks())
    assert info.value.record == "row 7000"
    path = tmp_path / "u.csv"
    path.write_bytes(b"USUBJID,VALUE\n" + b"".join(b"S%d,1\n" % i for i in range(1, 6000)) + b"S\xff,1\n")
    with pytest.raises(InputError) as info, open_table(path) as table:
        list(table.chunks())
    assert info.value.record is not None
    # The decoder reads ahead, so the row is the one being read when the bad byte was met: at or before it.
    assert 4097 <= int(info.value.record.split()[1]) <= 6000


def test_fhir_string_check_is_the_spec_rule() -> None:
    string = re.compile(r"[ \r\n\t\S]*\S[ \r\n\t\S]*")  # FHIR string (JSON Schema), plus: no control characters
    control = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

    def rule(value: Any) -> bool:
        return isinstance(value, str) and bool(string.fullmatch(value)) and not control.search(value)

    samples: list[Any] = ["", " ", "\t\n", None, 5, "a", " a b ", "01-701-1015/LB/12"]
    for code in [*range(0x300), 0x85, 0xA0, 0x1680, 0x2028, 0x3000, 0xFEFF]:
        c = chr(code)
        samples += [c, f"a{c}", f"{c}a", f" {c} ", f"a{c}b"]
    assert [is_fhir_string(v) for v in samples] == [rule(v) for v in samples]
