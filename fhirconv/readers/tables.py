"""One row-iterator interface over the tabular files participant data come in: CSV, SAS XPORT and
CDISC Dataset-JSON."""

from __future__ import annotations

import codecs
import csv
import io
from collections.abc import Iterator, Sequence
from itertools import islice
from pathlib import Path
from types import TracebackType

from fhirconv.errors import InputError, cut
from fhirconv.readers.compressed import open_binary
from fhirconv.readers.dataset_json import DATASET_JSON_SUFFIXES, DatasetJsonReader
from fhirconv.readers.xpt import Value, XptReader

__all__ = ["TABLE_SUFFIXES", "Table", "Value", "domain_of", "open_table", "table_stem"]

# Recognised file names: <stem><suffix>, e.g. lb.xpt, LB.XPT.gz, dm.csv, dm.json. Compared case-insensitively.
TABLE_SUFFIXES = (".xpt.gz", ".xpt", ".csv.gz", ".csv", *DATASET_JSON_SUFFIXES)
_CSV_BATCH = 4096


def table_stem(path: Path) -> str | None:
    """The table name a file carries (lower case, e.g. "supplb"), or None for a file that is not a table."""
    name = path.name.lower()
    for suffix in TABLE_SUFFIXES:
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return None


def domain_of(path: Path) -> str | None:
    """The SDTM domain a table says it holds (lower case): its DOMAIN column's first value, for a
    supplemental qualifier table "supp" + its RDOMAIN; None when it has neither column or no rows.
    Sponsors name files freely (dm_study01.csv); the DOMAIN variable is what SDTM itself defines.
    A file that cannot be read says nothing here: reading it for its rows reports why."""
    try:
        table = open_table(path)
    except InputError:
        return None
    with table:
        upper = {c.upper(): c for c in table.columns}
        column, prefix = (upper.get("DOMAIN"), "") if "DOMAIN" in upper else (upper.get("RDOMAIN"), "supp")
        if column is None or ("QNAM" not in upper and prefix):
            return None
        try:
            for _, (value,) in table.tuples([column]):
                text = value.strip() if isinstance(value, str) else None
                return f"{prefix}{text.lower()}" if text else None
        except InputError:
            return None
    return None


class Table:
    """A table file opened for reading: `columns`, then rows streamed once by `rows()` or `tuples()`.

    Row numbers are 1-based data rows (the CSV header is not counted), as errors and the summary give
    them. Values: str, float (XPT and Dataset-JSON numerics; CSV gives text) or None for a blank / missing value.
    """

    def __init__(self, path: str | Path, *, encoding: str | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name  # how errors and the row counts name the file
        self._xpt: XptReader | None = None
        self._djson: DatasetJsonReader | None = None
        self._csv: Iterator[list[str]] | None = None
        self._text: io.TextIOWrapper | None = None
        self._encoding = ""
        lower = self.name.lower()
        if lower.endswith((".xpt", ".xpt.gz")):
            self._xpt = XptReader(self.path, encoding=encoding or "cp1252")
            self.columns = self._xpt.columns
        elif lower.endswith((".csv", ".csv.gz")):
            self._open_csv(encoding or "utf-8-sig")  # -sig: a byte-order mark is dropped, not a column
        elif lower.endswith(DATASET_JSON_SUFFIXES):
            self._djson = DatasetJsonReader(self.path)  # UTF-8, as JSON is
            self.columns = self._djson.columns
        else:
            raise InputError(
                "not a table file",
                file=self.name,
                hint="participant tables are .csv, .xpt or Dataset-JSON .json/.ndjson (optionally .gz)",
            )

    def _open_csv(self, encoding: str) -> None:
        self._encoding = encoding
        self._text = io.TextIOWrapper(open_binary(self.path), encoding=encoding, newline="")
        self._csv = csv.reader(self._text)
        try:
            header = next(self._csv, None)
        except UnicodeDecodeError as exc:
            # Text is decoded a block at a time: the bad byte may lie in any row of the first block.
            self.close()
            raise self._decode_error(exc) from exc
        except csv.Error as exc:
            self.close()
            raise self._error(f"cannot read the header: {exc}", 0) from exc
        if not header or not any(h.strip() for h in header):
            self.close()
            raise self._error("the file has no header row", 0)
        self.columns = [h.strip() for h in header]
        seen: set[str] = set()
        for col in self.columns:
            if col in seen:
                self.close()
                raise InputError(f"column {cut(col)} appears twice in the header", file=self.name, field=col)
            seen.add(col)

    def _error(self, message: str, row: int) -> InputError:
        return InputError(
            message,
            file=self.name,
            record=f"row {row}" if row else "header",
            hint="save the file as UTF-8 CSV with one header row" if self._csv is not None else None,
        )

    def _unterminated(self, row: int) -> InputError:
        return InputError(
            f"unterminated quoted field starting at row {row}",
            file=self.name,
            record=f"row {row}",
            hint='close the quote; a quote inside a quoted value is written twice ("")',
        )

    def _ends_in_quote(self) -> bool:
        """Whether the file ends inside a quoted value (read again, strictly: only asked when the last
        row holds a line break, which a quote never closed leaves there)."""
        with io.TextIOWrapper(open_binary(self.path), encoding=self._encoding, newline="") as text:
            try:
                for _ in csv.reader(text, strict=True):
                    pass
            except csv.Error as exc:
                return "end of data" in str(exc)  # (not another quoting fault elsewhere in the file)
        return False

    def _decode_error(self, exc: UnicodeDecodeError) -> InputError:
        """The error for bytes that are not text in the file's encoding, naming the line they are on."""
        name = "UTF-8" if self._encoding.replace("_", "-").lower().startswith("utf-8") else self._encoding
        hint = f"save the file as {name}" if name == "UTF-8" else f"save the file as {name} or UTF-8"
        found = _undecodable(self.path, self._encoding)
        if found is None:  # pragma: no cover - the decoder failed above, so some line fails here
            return InputError(f"the file is not {name} text: {exc.reason}", file=self.name, hint=hint)
        line, column, byte = found
        return InputError(
            f"not {name} text: byte 0x{byte:02x} at position {column} of line {line}",
            file=self.name,
            record=f"row {line - 1}" if line > 1 else "header",
            hint=f"{hint} (it looks like another encoding, e.g. Windows-1252)" if name == "UTF-8" else hint,
        )

    def _wanted(self, columns: list[str] | None) -> list[str]:
        wanted = self.columns if columns is None else columns
        missing = [c for c in wanted if c not in self.columns]
        if missing:
            raise InputError(f"no column {cut(missing[0])}", file=self.name, field=missing[0])
        return wanted

    def chunks(self, columns: list[str] | None = None) -> Iterator[tuple[Sequence[int], list[list[Value]]]]:
        """Batches of rows, column-wise: (row numbers, one list of values per requested column).

        Column-wise batches let callers convert each column's values in one pass (fast on big files)."""
        wanted = self._wanted(columns)
        if self._xpt is not None:
            first = 1
            for chunk in self._xpt.iter_columns(wanted):
                count = len(chunk[0]) if chunk else 0
                yield range(first, first + count), chunk
                first += count
            return
        index = [self.columns.index(c) for c in wanted]
        if self._djson is not None:
            yield from self._djson.chunks(index)
            return
        for numbers, rows in self._csv_batches():
            yield numbers, _csv_columns(rows, index)

    def _csv_batches(self) -> Iterator[tuple[Sequence[int], list[list[str]]]]:
        """The CSV rows in batches with their row numbers: taken from csv.reader in C (islice), and
        looked at one by one only when a batch holds a row of the wrong width (blank line or error)."""
        assert self._csv is not None
        reader, width, done = self._csv, len(self.columns), 0
        while True:
            rows: list[list[str]] = []
            try:
                # extend keeps the rows read before a failing one: the error's row number stays exact.
                rows.extend(islice(reader, _CSV_BATCH))
            except UnicodeDecodeError as exc:
                raise self._decode_error(exc) from exc
            except csv.Error as exc:
                raise self._error(f"cannot read the row: {exc}", done + len(rows) + 1) from exc
            if not rows:
                return
            first, done = done + 1, done + len(rows)
            if len(rows) < _CSV_BATCH and any("\n" in v or "\r" in v for v in rows[-1]) and self._ends_in_quote():
                # The last batch: a quote never closed took every line after it into the last row.
                raise self._unterminated(done)
            if len(set(map(len, rows))) == 1 and len(rows[0]) == width:
                yield range(first, done + 1), rows
                continue
            numbers: list[int] = []
            kept: list[list[str]] = []
            for row_no, raw in enumerate(rows, start=first):
                if len(raw) != width:
                    if not raw:
                        continue  # an empty line holds no record; numbering still follows the file's lines
                    if any("\n" in v or "\r" in v for v in raw):
                        # A quote opened and not closed on its line takes the following lines into one value.
                        raise self._unterminated(row_no)
                    raise self._error(f"{len(raw)} values where the header has {width} columns", row_no)
                numbers.append(row_no)
                kept.append(raw)
            if kept:
                yield numbers, kept

    def _raw_rows(self) -> Iterator[tuple[int, list[str]]]:
        for numbers, rows in self._csv_batches():
            yield from zip(numbers, rows, strict=True)

    def tuples(self, columns: list[str] | None = None) -> Iterator[tuple[int, tuple[Value, ...]]]:
        """(row number, values of `columns` in that order); all columns when None."""
        wanted = self._wanted(columns)
        if self._xpt is not None:
            yield from enumerate(self._xpt.iter_tuples(wanted), start=1)
            return
        index = [self.columns.index(c) for c in wanted]
        if self._djson is not None:
            for numbers, values in self._djson.chunks(index):
                rows = zip(*values, strict=True) if values else [()] * len(numbers)
                yield from zip(numbers, rows, strict=True)
            return
        for row_no, raw in self._raw_rows():
            yield row_no, tuple([raw[i].strip() or None for i in index])

    def rows(self) -> Iterator[tuple[int, dict[str, Value]]]:
        """(row number, {column: value}) for every row."""
        names = self.columns
        for row_no, values in self.tuples():
            yield row_no, dict(zip(names, values, strict=True))

    def close(self) -> None:
        if self._xpt is not None:
            self._xpt.close()
        if self._djson is not None:
            self._djson.close()
        if self._text is not None:
            self._text.close()

    def __enter__(self) -> Table:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def _csv_columns(rows: list[list[str]], index: list[int]) -> list[list[Value]]:
    # Column by column (the batch transposed in C), each distinct cell text trimmed once (columns
    # repeat few values).
    transposed = list(zip(*rows, strict=True))
    columns: list[list[Value]] = []
    for i in index:
        cells = transposed[i]
        if cells.count(cells[0]) == len(cells):  # constant in this batch (often: blank), checked in C
            columns.append([cells[0].strip() or None] * len(cells))
            continue
        distinct: dict[str, Value] = dict.fromkeys(cells)
        for cell in distinct:
            distinct[cell] = cell.strip() or None
        columns.append(list(map(distinct.__getitem__, cells)))
    return columns


def _undecodable(path: Path, encoding: str) -> tuple[int, int, int] | None:
    """(line number, byte position in the line, byte) of the first bytes that are not `encoding` text."""
    decoder = codecs.getincrementaldecoder(encoding)()
    with open_binary(path) as raw:
        for number, line in enumerate(raw, start=1):
            try:
                decoder.decode(line)
            except UnicodeDecodeError as exc:
                return number, exc.start + 1, line[exc.start] if exc.start < len(line) else 0
    return None


def open_table(path: str | Path, *, encoding: str | None = None) -> Table:
    """Open a CSV (UTF-8, BOM tolerated), SAS XPORT (cp1252) or Dataset-JSON (JSON or NDJSON) table,
    each optionally gzipped."""
    try:
        return Table(path, encoding=encoding)
    except OSError as exc:
        raise InputError(f"cannot open: {exc.strerror or exc}", file=str(path)) from exc
