"""The SAS XPORT reader and the CSV/XPT row-iterator interface of the participant readers."""

from __future__ import annotations

import gzip
import math
import shutil
import struct
from pathlib import Path

import pytest

from fhirconv.errors import InputError
from fhirconv.numbers import sas_round
from fhirconv.readers.tables import open_table, table_stem
from fhirconv.readers.xpt import XptReader, ibm_to_float

PILOT = Path(__file__).parent / "data" / "participants" / "pilot"


def _ibm(value: float) -> bytes:
    """Encode a float as IBM hex float (test helper, the inverse of ibm_to_float for normal values)."""
    if value == 0:
        return bytes(8)
    sign = 0x80 if value < 0 else 0
    mantissa, exp2 = math.frexp(abs(value))  # value = m * 2**e, 0.5 <= m < 1
    exp16 = -(-exp2 // 4)  # ceil(e / 4)
    fraction = mantissa * 2.0 ** (exp2 - 4 * exp16)  # 1/16 <= fraction < 1
    digits = round(fraction * 2**56)
    return bytes([sign | (exp16 + 64)]) + digits.to_bytes(7, "big")


@pytest.mark.parametrize("value", [1.0, -2.5, 0.1, 38.0, 1e-5, 123456.789, 0.8, -1e10])
def test_ibm_float_round_trip(value: float) -> None:
    assert ibm_to_float(_ibm(value)) == pytest.approx(value, rel=1e-15)


def test_ibm_float_known_bytes_and_missing_values() -> None:
    assert ibm_to_float(bytes.fromhex("4110000000000000")) == 1.0
    assert ibm_to_float(bytes.fromhex("C228000000000000")) == -40.0
    assert ibm_to_float(bytes(8)) == 0.0
    assert ibm_to_float(b"." + bytes(7)) is None  # SAS missing
    assert ibm_to_float(b"A" + bytes(7)) is None  # special missing .A
    assert ibm_to_float(b"_" + bytes(7)) is None
    assert ibm_to_float(bytes.fromhex("411000")) == 1.0  # a 3-byte (truncated) numeric


@pytest.mark.parametrize("name", ["dm", "ds", "ts", "ta", "te"])
def test_xpt_reader_matches_pyreadstat(name: str) -> None:
    pyreadstat = pytest.importorskip("pyreadstat")
    path = PILOT / f"{name}.xpt"
    with XptReader(path, digits=None) as reader:  # exact decoding; the default rounds (test below)
        rows = list(reader)
        columns = reader.columns
    expected, meta = pyreadstat.read_xport(str(path), encoding="cp1252", output_format="dict")
    assert columns == list(meta.column_names)
    assert len(rows) == meta.number_rows
    for column in columns:
        # pyreadstat keeps leading blanks; fhirconv trims text on both sides (as it does for CSV cells).
        theirs = [
            None if (isinstance(v, float) and math.isnan(v)) or v == "" else (v.strip() if isinstance(v, str) else v)
            for v in expected[column]
        ]
        assert [row[column] for row in rows] == theirs, column


def test_xpt_reads_cp1252_text_and_numbers() -> None:
    with XptReader(PILOT / "ts.xpt") as reader:
        assert reader.dataset == "TS"
        rows = list(reader)
    values = [r["TSVAL"] for r in rows]
    assert any("\u2019" in v for v in values if v)  # cp1252 0x92: a right single quote, decoded
    assert all(isinstance(r["TSSEQ"], float) for r in rows)
    with XptReader(PILOT / "dm.xpt") as reader:
        dm = list(reader)
    assert len(dm) == 306
    assert {r["ARM"] for r in dm} == {"Placebo", "Xanomeline Low Dose", "Xanomeline High Dose", "Screen Failure"}
    assert all(r["RFICDTC"] is None for r in dm)  # blank text is None


def test_xpt_gzip_is_read_transparently(tmp_path: Path) -> None:
    packed = tmp_path / "ta.xpt.gz"
    with (PILOT / "ta.xpt").open("rb") as src, gzip.open(packed, "wb") as dst:
        shutil.copyfileobj(src, dst)
    with XptReader(PILOT / "ta.xpt") as plain, XptReader(packed) as zipped:
        assert list(zipped) == list(plain)


def test_xpt_selected_columns_and_chunks() -> None:
    with XptReader(PILOT / "ds.xpt") as reader:
        pairs = list(reader.iter_tuples(["USUBJID", "DSSEQ"]))
    with XptReader(PILOT / "ds.xpt") as reader:
        full = list(reader)
    assert pairs == [(r["USUBJID"], r["DSSEQ"]) for r in full]


def test_xpt_truncated_file_is_an_error(tmp_path: Path) -> None:
    data = (PILOT / "ta.xpt").read_bytes()
    cut = tmp_path / "ta.xpt"
    cut.write_bytes(data[: len(data) - 400])
    with pytest.raises(InputError, match="middle of an observation") as info, XptReader(cut) as reader:
        list(reader)
    assert info.value.file == str(cut)


def test_not_an_xpt_file_is_an_error(tmp_path: Path) -> None:
    bogus = tmp_path / "dm.xpt"
    bogus.write_bytes(b"USUBJID,SEX\n" * 20)
    with pytest.raises(InputError, match="not a SAS transport file"):
        XptReader(bogus)
    short = tmp_path / "lb.xpt"
    short.write_bytes(b"HEADER RECORD")
    with pytest.raises(InputError, match="ends inside its header"):
        XptReader(short)


def test_xpt_padding_rows_shorter_than_a_card(tmp_path: Path) -> None:
    """A data set whose rows are shorter than 80 bytes: blank padding at the end is not a row."""
    header = (PILOT / "ta.xpt").read_bytes()[: 80 * 8]  # library + member + descriptor + namestr header
    header = header[: 80 * 7] + header[80 * 7 : 80 * 7 + 54] + b"0001" + header[80 * 7 + 58 : 80 * 8]
    namestr = struct.pack(">hhhh8s40s8shhh2s8shhl52s", 2, 0, 8, 1, b"X       ", b" " * 40, b" " * 8, 0, 0, 0,
                          b"  ", b" " * 8, 0, 0, 0, bytes(52))  # fmt: skip
    body = namestr + b" " * (160 - len(namestr))
    obs = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!" + b"0" * 30 + b"  "
    rows = b"AAAAAAAA" + b"BBBBBBBB" + b"        "  # the third "row" is blank: real data, not padding?
    data = rows + b" " * (80 - len(rows))
    path = tmp_path / "x.xpt"
    path.write_bytes(header + body + obs + data)
    with XptReader(path) as reader:
        values = [r["X"] for r in reader]
    # Blank rows in the last card cannot be told from padding (SAS writes blanks): they are padding.
    assert values == ["AAAAAAAA", "BBBBBBBB"]


def test_csv_table_with_bom_and_blank_values(tmp_path: Path) -> None:
    path = tmp_path / "observations.csv"
    path.write_bytes("\ufeffsubject_id,value, unit \nS1,5.2,g/L\n\nS2,,\n".encode())
    with open_table(path) as table:
        assert table.columns == ["subject_id", "value", "unit"]
        rows = list(table.rows())
    assert rows == [
        (1, {"subject_id": "S1", "value": "5.2", "unit": "g/L"}),
        (3, {"subject_id": "S2", "value": None, "unit": None}),
    ]


def test_csv_row_with_wrong_width_names_the_row(tmp_path: Path) -> None:
    path = tmp_path / "participants.csv"
    path.write_text("subject_id,sex\nS1,male\nS2,female,extra\n", encoding="utf-8")
    with pytest.raises(InputError) as info, open_table(path) as table:
        list(table.rows())
    assert info.value.file == "participants.csv"
    assert info.value.record == "row 2"


def test_csv_duplicate_header_and_empty_file(tmp_path: Path) -> None:
    dup = tmp_path / "a.csv"
    dup.write_text("x,y,x\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputError, match="appears twice") as info:
        open_table(dup)
    assert info.value.field == "x"
    empty = tmp_path / "b.csv"
    empty.write_text("", encoding="utf-8")
    with pytest.raises(InputError, match="no header row"):
        open_table(empty)


def test_csv_and_xpt_give_the_same_rows(tmp_path: Path) -> None:
    """The CSV subsets in the fixtures were written from XPT: the DS domain, both ways, reads the same."""
    import csv

    with open_table(PILOT / "ds.xpt") as table:
        columns = table.columns
        rows = list(table.tuples())
    path = tmp_path / "ds.csv"
    with path.open("w", encoding="utf-8", newline="") as handle:
        out = csv.writer(handle)
        out.writerow(columns)
        out.writerows([["" if v is None else (repr(v) if isinstance(v, float) else v) for v in r] for _, r in rows])
    with open_table(path) as table:
        again = list(table.tuples())
    assert len(again) == len(rows) == 596
    for (n1, a), (n2, b) in zip(rows, again, strict=True):
        assert n1 == n2
        assert [repr(v) if isinstance(v, float) else v for v in a] == list(b)


def test_table_stem_and_unknown_files(tmp_path: Path) -> None:
    assert table_stem(Path("LB.XPT.gz")) == "lb"
    assert table_stem(Path("participants.csv")) == "participants"
    assert table_stem(Path("define.xml")) is None
    odd = tmp_path / "notes.txt"
    odd.write_text("x", encoding="utf-8")
    with pytest.raises(InputError, match="not a table file"):
        open_table(odd)


@pytest.mark.parametrize("length", [8, 5, 3, 2])
def test_ibm_column_equals_ibm_to_float_bit_for_bit(length: int) -> None:
    """The vectorised decoder gives exactly the scalar one's values: missings, zeros (never -0.0),
    negatives, truncated numerics, and random bit patterns (every exponent, mantissas that round)."""
    import random

    import numpy as np

    from fhirconv.readers.xpt import ibm_column

    rng = random.Random(5)
    special = [bytes(8), b"." + bytes(7), b"Z" + bytes(7), b"\x80" + bytes(7), b"." + bytes(6) + b"\x01"]
    special += [_ibm(v) for v in (1.0, -40.0, 0.1, 1e-70, 7.2e75, -123456.789)]
    raws = [r[:length] for r in special + [rng.randbytes(8) for _ in range(20_000)]]
    block = np.frombuffer(b"".join(raws), dtype=np.uint8).reshape(len(raws), length)
    got = ibm_column(block)
    expected = [ibm_to_float(r) for r in raws]
    assert [None if v is None else struct.pack(">d", v) for v in got] == [
        None if v is None else struct.pack(">d", v) for v in expected
    ]
    assert got[:4] == [0.0, None, None, 0.0]
    assert all(v is None or isinstance(v, float) for v in got)


def _ibm_truncated(decimal: str) -> bytes:
    """IBM float bytes of a positive decimal with the mantissa cut, not rounded (as SAS exports)."""
    from fractions import Fraction

    exact, exponent = Fraction(decimal), 0
    while exact >= 1:
        exact /= 16
        exponent += 1
    return bytes([64 + exponent]) + int(exact * 2**56).to_bytes(7, "big")


def test_xpt_numbers_are_the_decimals_sas_stored() -> None:
    """A value SAS holds as 2.1956 decodes to the double 2.1955999999999998 (truncated IBM mantissa);
    at SAS's 15 significant digits it is 2.1956 again, and so it is written."""
    import orjson

    exact = [ibm_to_float(_ibm_truncated(d)) for d in ("2.1956", "0.05", "123.45")]
    assert repr(exact[0]) == "2.1955999999999998"
    exact += [0.19999999999999998, 0.049999999999999996]  # as the pilot's LB (lb.xpt) holds them
    rounded = sas_round([*exact, None, 61.0])
    assert rounded == [2.1956, 0.05, 123.45, 0.2, 0.05, None, 61.0]
    assert orjson.dumps(rounded) == b"[2.1956,0.05,123.45,0.2,0.05,null,61.0]"
    assert sas_round([1234567.891234567891, 1e-300]) == [1234567.89123457, 1e-300]  # 15 digits, not places


@pytest.mark.parametrize("name", ["dm", "ds", "ts"])
def test_xpt_reader_rounds_to_15_significant_digits_by_default(name: str) -> None:
    with XptReader(PILOT / f"{name}.xpt", digits=None) as reader:
        exact = list(reader)
    with XptReader(PILOT / f"{name}.xpt") as reader:
        rounded = list(reader)
    assert len(exact) == len(rounded)
    for a, b in zip(exact, rounded, strict=True):
        assert b == {k: float(f"{v:.15g}") if isinstance(v, float) else v for k, v in a.items()}
