"""Atomic output: a failed write leaves neither a partial file nor a temp file behind."""

from __future__ import annotations

from pathlib import Path

import pytest

from fhirconv.output.files import atomic_writer, write_lines, write_text


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


def test_a_symlink_is_written_through(tmp_path: Path) -> None:
    real = tmp_path / "real.json"
    real.write_text("old\n")
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "new\n")
    assert link.is_symlink()
    assert real.read_text() == "new\n"


def test_a_fifo_is_written_into_not_replaced(tmp_path: Path) -> None:
    import os
    import threading

    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got: list[str] = []
    reader = threading.Thread(target=lambda: got.append(fifo.read_text()))
    reader.start()
    write_text(fifo, "through the pipe\n")
    reader.join(timeout=10)
    assert got == ["through the pipe\n"]
    assert not fifo.is_file()


@pytest.mark.parametrize("where", ["/proc/fhirconv-test/x.json", "/proc/x.json"])
def test_an_unwritable_place_is_a_usage_error(where: str) -> None:
    from fhirconv.errors import ExitCode, UsageError

    with pytest.raises(UsageError, match="cannot write") as info:
        write_text(where, "x\n")
    assert info.value.exit_code is ExitCode.USAGE


def test_an_existing_directory_is_refused(tmp_path: Path) -> None:
    from fhirconv.errors import UsageError

    with pytest.raises(UsageError, match="is a directory"):
        write_text(tmp_path, "x\n")
