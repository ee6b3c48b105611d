"""A streaming reader of SAS XPORT (transport) version 5 files, the format SDTM data are submitted in."""

from __future__ import annotations

import re
import struct
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from math import ceil, ldexp
from pathlib import Path
from typing import IO, Any, cast

import numpy as np

from fhirconv.errors import InputError
from fhirconv.numbers import SAS_DIGITS, sas_round
from fhirconv.readers.compressed import open_binary

# Format reference: SAS technical note TS-140 ("The record layout of a data set in SAS transport
# (XPORT) format"). Everything is in 80-byte card images; numbers are IBM System/360 floats.

_CARD = 80
_LIBRARY = b"HEADER RECORD*******LIBRARY HEADER RECORD!!!!!!!"
_LIBRARY_V8 = b"HEADER RECORD*******LIBV8   HEADER RECORD!!!!!!!"
_MEMBER = b"HEADER RECORD*******MEMBER  HEADER RECORD!!!!!!!"
_NAMESTR = b"HEADER RECORD*******NAMESTR HEADER RECORD!!!!!!!"
_OBS = b"HEADER RECORD*******OBS     HEADER RECORD!!!!!!!"
# ntype, nhfun, nlng, nvarnum, nname, nlabel, nform, nfl, nfd, nfj, nfill, niform, nifl, nifd, npos
_NAMESTR_STRUCT = struct.Struct(">hhhh8s40s8shhh2s8shhl")
# SAS missing numerics: first byte '.', '_' or 'A'..'Z' (special missings), the other bytes zero.
_MISSING_FIRST = frozenset(b"._ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_MISSING_TABLE = np.zeros(256, dtype=bool)
_MISSING_TABLE[list(_MISSING_FIRST)] = True
_MANTISSA = (1 << 56) - 1
_DIGITS = re.compile(rb" *[0-9]+ *")
_ROWS_PER_CHUNK = 4096  # rows decoded per read(): big enough to amortise I/O, small enough to stay flat

Value = str | float | None


@dataclass(frozen=True, slots=True)
class XptVariable:
    name: str
    label: str
    numeric: bool
    length: int
    position: int  # byte offset within an observation


def ibm_column(block: Any) -> list[float | None]:
    """ibm_to_float over a column at once: `block` is a (rows, length) uint8 array of 2..8-byte IBM
    floats. The same values, bit for bit: numpy turns the 56-bit mantissa into a double rounding to
    nearest once, as float() does, and ldexp scales it exactly."""
    rows, length = block.shape
    if length < 8:
        padded = np.zeros((rows, 8), dtype=np.uint8)
        padded[:, :length] = block
        block = padded
    words = np.ascontiguousarray(block).view(">u8").ravel()
    mantissa = words & np.uint64(_MANTISSA)
    exponent = ((words >> np.uint64(56)) & np.uint64(0x7F)).astype(np.int64) * 4 - 312
    values = np.ldexp(mantissa.astype(np.float64), exponent)
    negative = (words >> np.uint64(63)).astype(bool) & (mantissa != 0)  # a zero mantissa is +0.0
    np.negative(values, out=values, where=negative)
    missing = (mantissa == 0) & _MISSING_TABLE[block[:, 0]]
    if not missing.any():
        return cast(list[float | None], values.tolist())
    out = values.astype(object)
    out[missing] = None
    return cast(list[float | None], out.tolist())


def ibm_to_float(raw: bytes) -> float | None:
    """Decode a (possibly truncated, 2..8 byte) big-endian IBM float; SAS missing values give None."""
    if len(raw) < 8:
        raw = raw + bytes(8 - len(raw))
    v = int.from_bytes(raw, "big")
    mantissa = v & _MANTISSA
    if mantissa == 0:
        # A zero mantissa is either 0.0 or a missing-value marker ('.' = 0x2E followed by zeros).
        return None if raw[0] in _MISSING_FIRST else 0.0
    # value = 0.mantissa (14 hex digits) * 16 ** (exponent - 64); ldexp rounds the 56-bit mantissa
    # to the nearest double once, the same result as exact arithmetic followed by rounding.
    value = ldexp(mantissa, 4 * ((v >> 56) & 0x7F) - 312)
    return -value if v >> 63 else value


def _text_decoder(encoding: str) -> Callable[[bytes], str | None]:
    def text(raw: bytes) -> str | None:
        # Blanks are how SAS stores a missing character value: the record says None. Surrounding
        # blanks are padding (SUPP-- IDVARVAL is stored right-justified, "       1"), trimmed as in CSV.
        return raw.decode(encoding, "replace").strip(" \x00") or None

    return text


class XptReader:
    """Iterate the rows of the first (and, in SDTM, only) member of an XPORT v5 file, a chunk at a time.

    Use as a context manager; `variables` is known once the object is built, rows come from iteration
    as `dict[name, str | float | None]`. A `.gz` file is decompressed on the fly.
    """

    def __init__(self, path: str | Path, *, encoding: str = "cp1252", digits: int | None = SAS_DIGITS) -> None:
        self.path = Path(path)
        self.encoding = encoding
        self.digits = digits  # significant digits numbers are rounded to (sas_round); None: exact decoding
        self._fh: IO[bytes] = open_binary(self.path)
        try:
            self.dataset, self.variables = self._read_header()
        except (OSError, EOFError, struct.error, UnicodeDecodeError) as exc:
            self._fh.close()
            raise self._error(f"cannot read the SAS transport header ({exc})") from exc
        except InputError:
            self._fh.close()
            raise
        self.row_length = sum(v.length for v in self.variables)
        self._names = [v.name for v in self.variables]
        self._by_name = {v.name: v for v in self.variables}
        self._text = _text_decoder(encoding)

    @property
    def columns(self) -> list[str]:
        return list(self._names)

    def _error(self, message: str, field: str | None = None) -> InputError:
        return InputError(
            message,
            file=str(self.path),
            field=field,
            hint="expected a SAS XPORT version 5 file (.xpt, optionally gzipped), as SDTM submissions use",
        )

    def _card(self) -> bytes:
        card = self._fh.read(_CARD)
        if len(card) != _CARD:
            raise self._error("the file ends inside its header")
        return card

    def _read_header(self) -> tuple[str, list[XptVariable]]:
        first = self._card()
        if first.startswith(_LIBRARY_V8):
            raise self._error("SAS transport version 8 files are not supported")
        if not first.startswith(_LIBRARY):
            raise self._error("not a SAS transport file (no library header record)")
        self._card()  # SAS/OS/version/created
        self._card()  # modified
        member = self._card()
        if not member.startswith(_MEMBER):
            raise self._error("no member header record")
        namestr_size = self._number(member[74:78], "the member header's NAMESTR size")
        if namestr_size not in (136, 140):  # 140, or 136 on VAX/VMS
            raise self._error(f"the member header gives a NAMESTR size of {namestr_size} (expected 140 or 136)")
        self._card()  # descriptor header
        descriptor = self._card()
        dataset = descriptor[8:16].decode("ascii", "replace").strip()
        self._card()  # modified date, label, type
        namestr_header = self._card()
        if not namestr_header.startswith(_NAMESTR):
            raise self._error("no NAMESTR header record")
        count = self._number(namestr_header[54:58], "the NAMESTR header's variable count")
        block = self._fh.read(count * namestr_size)
        if len(block) != count * namestr_size:
            raise self._error("the file ends inside its variable descriptions")
        padding = -(count * namestr_size) % _CARD
        self._fh.read(padding)
        variables = []
        for i in range(count):
            raw = block[i * namestr_size : i * namestr_size + namestr_size]
            raw = raw + bytes(140 - len(raw))
            ntype, _, length, _, name, label, *_, position = _NAMESTR_STRUCT.unpack(raw[:88])
            variables.append(
                XptVariable(
                    name=name.decode(self.encoding).strip(),
                    label=label.decode(self.encoding).strip(),
                    numeric=ntype == 1,
                    length=length,
                    position=position,
                )
            )
        obs = self._card()
        if not obs.startswith(_OBS):
            raise self._error("no OBS header record")
        self._check_layout(variables)
        variables.sort(key=lambda v: v.position)
        return dataset, variables

    def _number(self, raw: bytes, what: str) -> int:
        # A header count is ASCII digits, blank-padded. int() would also take '-5' or '1_0', and a negative
        # count makes read() swallow the whole file.
        if not _DIGITS.fullmatch(raw):
            raise self._error(f"{what} is not a number: {raw.decode('latin-1')!r}")
        return int(raw)

    def _check_layout(self, variables: list[XptVariable]) -> None:
        """Each variable has a usable length and lies inside the observation (TS-140: the positions tile it)."""
        row_length = sum(max(v.length, 0) for v in variables)
        seen: set[str] = set()
        for var in variables:
            name = var.name or "(unnamed)"
            if var.name in seen:
                raise self._error("the variable appears twice in the header", field=name)
            seen.add(var.name)
            if var.length < 1 or (var.numeric and not 2 <= var.length <= 8):
                kind = "numeric (2 to 8 bytes)" if var.numeric else "character (at least 1 byte)"
                raise self._error(f"the header gives a length of {var.length} for a {kind} variable", field=name)
            if var.position < 0 or var.position + var.length > row_length:
                raise self._error(
                    f"the header places the variable at bytes {var.position}..{var.position + var.length}, "
                    f"beyond the {row_length}-byte observation",
                    field=name,
                )

    def __iter__(self) -> Iterator[dict[str, Value]]:
        names = self._names
        for values in self.iter_tuples():
            yield dict(zip(names, values, strict=True))

    def iter_tuples(self, columns: list[str] | None = None) -> Iterator[tuple[Value, ...]]:
        """Rows as tuples of the given columns (default: all, in file order); only those are decoded."""
        for chunk in self.iter_columns(columns):
            yield from zip(*chunk, strict=True)

    def iter_columns(self, columns: list[str] | None = None) -> Iterator[list[list[Value]]]:
        """Chunks of consecutive rows, each as one list of values per requested column."""
        row_len = self.row_length
        if row_len == 0:
            return
        wanted = [self._by_name[c] for c in columns] if columns is not None else self.variables
        # The last card is padded with blanks. Rows shorter than a card could be mistaken for data
        # there, so the rows that may lie in it are held back until the end of the file is seen.
        hold = row_len * ceil(_CARD / row_len) if row_len < _CARD else 0
        pending = b""
        while True:
            try:
                chunk = self._fh.read(row_len * _ROWS_PER_CHUNK)
            except (OSError, EOFError) as exc:  # e.g. a truncated .gz
                raise self._error(f"cannot read the data ({exc})") from exc
            if not chunk:
                break
            data = pending + chunk if pending else chunk
            if _MEMBER in data:
                raise self._error("files holding more than one data set are not supported")
            ready = len(data) - len(data) % row_len - hold
            if ready <= 0:
                pending = data
                continue
            pending = data[ready:]
            yield self._decode(data, ready // row_len, wanted)
        count = len(pending) // row_len
        # Drop all-blank rows that end inside the final card: they are its padding.
        while (
            count
            and not pending[(count - 1) * row_len : count * row_len].strip(b" ")
            and (len(pending) - (count - 1) * row_len <= _CARD)
        ):
            count -= 1
        if pending[count * row_len :].strip(b" "):
            raise self._error("the data end in the middle of an observation (truncated file?)")
        if count:
            yield self._decode(pending, count, wanted)

    def _decode(self, data: bytes, count: int, wanted: list[XptVariable]) -> list[list[Value]]:
        # The chunk as a (rows, row length) byte grid: each column is a slice of it, made into Python
        # values in C (numbers by ibm_column; text as bytes, then decoded). SDTM text columns repeat
        # few distinct values (STUDYID, test codes, units, visits), so each distinct raw value is
        # decoded once per chunk and then looked up.
        if not count:
            return [[] for _ in wanted]
        grid = np.frombuffer(data, dtype=np.uint8, count=count * self.row_length).reshape(count, self.row_length)
        text = self._text
        columns: list[list[Value]] = []
        for var in wanted:
            block = grid[:, var.position : var.position + var.length]
            if var.numeric:
                numbers = ibm_column(block)
                if self.digits is not None:
                    numbers = sas_round(numbers, self.digits)
                columns.append(cast(list[Value], numbers))
                continue
            # (A bytes view drops trailing NULs, which the text decoder strips anyway.)
            raws: list[bytes] = np.ascontiguousarray(block).view(f"S{var.length}").ravel().tolist()
            if raws.count(raws[0]) == count:  # constant in this chunk (often: blank), checked in C
                columns.append([text(raws[0])] * count)
                continue
            distinct: dict[bytes, Value] = dict.fromkeys(raws)
            for raw in distinct:
                distinct[raw] = text(raw)
            columns.append(list(map(distinct.__getitem__, raws)))
        return columns

    def close(self) -> None:
        self._fh.close()

    def __enter__(self) -> XptReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
