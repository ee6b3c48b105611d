"""Atomic output: a failed write leaves neither a partial file nor a temp file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirconv.output import atomic_writer, write_lines, write_text


def test_write_text_creates_parents_and_replaces(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b.json"
    write_text(target, "one\n")
    write_text(target, "two\n")
    assert target.read_text() == "two\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["b.json"]


def test_failure_inside_the_block_leaves_old_content_and_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "out.ndjson"
    target.write_text("old\n")

    def lines() -> object:
        yield "new-1\n"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        write_lines(target, lines())  # type: ignore[arg-type]
    assert target.read_text() == "old\n"
    assert [p.name for p in tmp_path.iterdir()] == ["out.ndjson"]


def test_no_file_at_all_when_the_first_write_fails(tmp_path: Path) -> None:
    target = tmp_path / "new.json"

    def write() -> None:
        with atomic_writer(target) as handle:
            handle.write("partial")
            raise ValueError("bad")

    with pytest.raises(ValueError, match="bad"):
        write()
    assert list(tmp_path.iterdir()) == []


def test_dash_means_stdout(capsys: pytest.CaptureFixture[str]) -> None:
    write_text("-", "hello\n")
    assert write_lines(None, ["a\n", "b\n"]) == 2
    assert capsys.readouterr().out == "hello\na\nb\n"


def test_output_files_get_ordinary_permissions(tmp_path: Path) -> None:
    import os

    old = os.umask(0o022)
    try:
        write_text(tmp_path / "x.json", "{}\n")
    finally:
        os.umask(old)
    assert (tmp_path / "x.json").stat().st_mode & 0o777 == 0o644
