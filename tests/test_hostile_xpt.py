"""Broken and hostile SAS transport files: a bad header, a damaged .gz or a decompression bomb is a clean
InputError naming the file (and the variable), within seconds, through the reader and the CLI."""

from __future__ import annotations

import gzip
import struct
import time
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import InputError
from fhirconv.readers import compressed
from fhirconv.readers.xpt import XptReader

PILOT = Path(__file__).parent / "data" / "participants" / "pilot"
EXAMPLE_DM = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547" / "participants" / "sdtm" / "dm.csv"
CARD = 80
MEMBER, NAMESTR_HEADER, FIRST_NAMESTR = 3 * CARD, 7 * CARD, 8 * CARD


def _patched(tmp_path: Path, offset: int, new: bytes, name: str = "dm.xpt") -> Path:
    data = bytearray((PILOT / name).read_bytes())
    data[offset : offset + len(new)] = new
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(bytes(data))
    return path


def _cli(folder: Path) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["convert", "--participants", str(folder), "-o", str(folder.parent / "out.json")])
    assert "Traceback" not in result.output
    assert not (folder.parent / "out.json").exists()
    return result.exit_code, result.output


@pytest.mark.parametrize(
    ("offset", "new", "message"),
    [
        (NAMESTR_HEADER + 54, b"00x1", "variable count is not a number: '00x1'"),
        (NAMESTR_HEADER + 54, b" -05", "variable count is not a number"),
        (MEMBER + 74, b"ABCD", "NAMESTR size is not a number"),
        (MEMBER + 74, b"0004", "NAMESTR size of 4"),
        (FIRST_NAMESTR + 4, struct.pack(">h", -8), "length of -8"),
        (FIRST_NAMESTR + 84, struct.pack(">l", 10_000_000), "beyond the"),
        (FIRST_NAMESTR + 84, struct.pack(">l", -3), "beyond the"),
    ],
    ids=["count-letters", "count-negative", "size-letters", "size-small", "length-negative", "beyond", "before"],
)
def test_a_bad_header_is_an_input_error(tmp_path: Path, offset: int, new: bytes, message: str) -> None:
    path = _patched(tmp_path, offset, new)
    with pytest.raises(InputError, match=message) as info:
        XptReader(path)
    assert info.value.file == str(path)
    code, output = _cli(path.parent)
    assert code == 1, output
    assert "dm.xpt" in output
    assert message.split(":", maxsplit=1)[0] in output


def test_the_variable_is_named_when_its_layout_is_wrong(tmp_path: Path) -> None:
    path = _patched(tmp_path, FIRST_NAMESTR + 84, struct.pack(">l", 10_000_000))
    with pytest.raises(InputError) as info:
        XptReader(path)
    assert info.value.field == "STUDYID"


def _gz(tmp_path: Path, data: bytes, name: str = "dm.xpt.gz") -> Path:
    path = tmp_path / "in" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(gzip.compress(data))
    return path


def test_a_truncated_gz_is_an_input_error(tmp_path: Path) -> None:
    path = _gz(tmp_path, (PILOT / "dm.xpt").read_bytes())
    path.write_bytes(path.read_bytes()[:-3000])
    with pytest.raises(InputError, match="cannot decompress") as info, XptReader(path) as reader:
        list(reader)
    assert info.value.file == str(path)
    code, output = _cli(path.parent)
    assert code == 1, output
    assert "dm.xpt.gz" in output


@pytest.mark.parametrize("where", [12, 2000, -6], ids=["header", "deflate-data", "crc"])
def test_a_corrupt_gz_is_an_input_error(tmp_path: Path, where: int) -> None:
    path = _gz(tmp_path, (PILOT / "dm.xpt").read_bytes())
    data = bytearray(path.read_bytes())
    data[where : where + 4] = bytes(b ^ 0xA5 for b in data[where : where + 4])
    path.write_bytes(bytes(data))
    with pytest.raises(InputError) as info, XptReader(path) as reader:
        list(reader)
    assert info.value.file == str(path)
    code, output = _cli(path.parent)
    assert code == 1, output


def test_a_corrupt_csv_gz_is_an_input_error(tmp_path: Path) -> None:
    lines = EXAMPLE_DM.read_bytes().splitlines(keepends=True)
    path = _gz(tmp_path, lines[0] + b"".join(lines[1:]) * 500, "dm.csv.gz")
    path.write_bytes(path.read_bytes()[:-40])
    code, output = _cli(path.parent)
    assert code == 1, output
    assert "cannot decompress" in output


def _bomb(path: Path, gigabytes: float) -> Path:
    """A valid dm.xpt header, then `gigabytes` of blank observations: one small gzip member repeated
    (a gzip file may hold many members; they decompress one after another), so building it is cheap."""
    whole = (PILOT / "dm.xpt").read_bytes()
    header = whole[: whole.index(b"HEADER RECORD*******OBS") + CARD]
    block = gzip.compress(b" " * (1 << 20), compresslevel=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as handle:
        handle.write(gzip.compress(header))
        for _ in range(int(gigabytes * 1024)):
            handle.write(block)
    return path


def test_a_decompression_bomb_stops_quickly(tmp_path: Path) -> None:
    path = _bomb(tmp_path / "in" / "dm.xpt.gz", 2)
    assert path.stat().st_size < 4 * 1024**2  # a few MB that claim to hold 2 GB
    started = time.monotonic()
    with pytest.raises(InputError, match="refusing to decompress further") as info, XptReader(path) as reader:
        for _ in reader.iter_columns(["USUBJID"]):
            pass
    assert time.monotonic() - started < 5
    assert info.value.file == str(path)
    assert "FHIRCONV_MAX_GZIP_RATIO" in (info.value.hint or "")
    started = time.monotonic()
    code, output = _cli(path.parent)
    assert code == 1, output
    assert "refusing to decompress further" in output
    assert time.monotonic() - started < 15


def test_the_bounds_can_be_raised_or_tightened(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    real = _gz(tmp_path, (PILOT / "dm.xpt").read_bytes())
    with XptReader(real) as reader:
        assert len(list(reader)) == 306  # real data are well inside the default bounds
    monkeypatch.setenv(compressed.ENV_MAX_BYTES, "50000")
    with pytest.raises(InputError, match="more than 50,000 bytes"), XptReader(real) as reader:
        list(reader)
    monkeypatch.setenv(compressed.ENV_MAX_BYTES, "0")
    with XptReader(real) as reader:
        assert len(list(reader)) == 306
    monkeypatch.setenv(compressed.ENV_MAX_BYTES, "lots")
    code, output = _cli(real.parent)
    assert code == 2, output
    assert "FHIRCONV_MAX_DECOMPRESSED_BYTES='lots' is not a whole number" in output


def test_every_gz_failure_is_caught_at_one_place() -> None:
    # The kinds of exception gzip raises for a damaged file, all of which the bounded stream converts.
    assert issubclass(gzip.BadGzipFile, OSError)
    assert not issubclass(zlib.error, OSError)
