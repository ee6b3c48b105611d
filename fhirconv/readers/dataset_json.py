"""CDISC Dataset-JSON v1.1 (the JSON successor of SAS transport for submissions): its JSON and NDJSON
forms read as a table of columns and rows, values typed as the XPT reader types them.

The spec: CDISC Dataset-JSON Specification v1.1 (2024-12-05), github.com/cdisc-org/DataExchange-DatasetJson
doc/dataset-json1-1.md. The top level holds `datasetJSONVersion`, `itemGroupOID`, `records`, `name`,
`label`, `columns` (each: itemOID, name, label, dataType, ...) and `rows` (one array per record, values
in column order); the NDJSON form has that object without `rows` on its first line and one row array per
line after it. Version 1.0 (`clinicalData` / `referenceData` → `itemGroupData`) is refused by name.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import orjson

from fhirconv.errors import InputError, cut
from fhirconv.numbers import as_meant
from fhirconv.readers.compressed import open_binary

__all__ = ["DATASET_JSON_SUFFIXES", "DatasetJsonReader", "looks_like_dataset_json"]

DATASET_JSON_SUFFIXES = (".ndjson.gz", ".ndjson", ".json.gz", ".json")
_BATCH = 4096
_SNIFF = 65536  # bytes looked at to tell a Dataset-JSON file from other JSON in a folder
_HINT = "write the data set as CDISC Dataset-JSON v1.1 (datasetJSONVersion 1.1.x, columns and rows)"

Value = str | float | None

# dataType (spec table "Supported Column Data Type Combinations") -> what its values are in JSON.
_TEXT_TYPES = frozenset({"string", "datetime", "date", "time", "URI"})
_NUMBER_TYPES = frozenset({"integer", "float", "double"})
DATA_TYPES = _TEXT_TYPES | _NUMBER_TYPES | {"decimal", "boolean"}


def looks_like_dataset_json(path: Path) -> bool:
    """Whether a .json/.ndjson file in a participant folder is a Dataset-JSON data set (its opening names
    datasetJSONVersion, the spec's second attribute), not some other JSON kept beside the tables."""
    try:
        with open_binary(path) as raw:
            head = raw.read(_SNIFF)
    except (OSError, EOFError):
        return True  # unreadable: reading it as a table says why
    return b'"datasetJSONVersion"' in head


class DatasetJsonReader:
    """One Dataset-JSON file: `columns` (names) once opened, rows by `chunks()`, converted per column."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = path.name
        self._ndjson = path.name.lower().endswith((".ndjson", ".ndjson.gz"))
        self._rows: list[Any] | None = None
        self._lines: Iterator[bytes] | None = None
        self._handle: Any = None
        self._line = 1
        if not self._ndjson:
            with open_binary(path) as raw:
                self._meta(self._parse(self._read(raw.read), None))
            return
        self._handle = open_binary(path)
        try:
            self._meta(self._parse(self._read(self._handle.readline), 1))
        except BaseException:
            self._handle.close()
            raise
        self._lines = iter(self._handle)

    def _read(self, read: Callable[[], bytes]) -> bytes:
        try:
            return read()
        except (EOFError, OSError) as exc:
            raise self._error(f"cannot read: {exc}") from None

    def _error(
        self, message: str, row: int | None = None, field: str | None = None, hint: str | None = None
    ) -> InputError:
        record = f"row {row}" if row else None
        return InputError(message, file=self.name, record=record, field=field, hint=hint)

    def _parse(self, data: bytes, line: int | None) -> Any:
        try:
            return orjson.loads(data)
        except orjson.JSONDecodeError as exc:
            where = f" (line {line})" if line else ""
            raise self._error(f"not JSON{where}: {exc}", hint=_HINT) from None

    def _meta(self, meta: Any) -> None:
        if not isinstance(meta, dict):
            raise self._error("not a Dataset-JSON data set: the top level is not an object", hint=_HINT)
        version = meta.get("datasetJSONVersion")
        if version is None and ("clinicalData" in meta or "referenceData" in meta):
            raise self._error(
                "Dataset-JSON v1.0 (clinicalData/itemGroupData) is not read",
                hint="convert it to v1.1 (CDISC's DataExchange-DatasetJson convert/convert_1_0_to_1_1.py)",
            )
        if not isinstance(version, str) or not (version == "1.1" or version.startswith("1.1.")):
            raise self._error(
                f"datasetJSONVersion {cut(version)}: only Dataset-JSON 1.1 is read",
                field="datasetJSONVersion",
                hint=_HINT,
            )
        columns = meta.get("columns")
        if not isinstance(columns, list) or not columns:
            raise self._error("no columns (the data set's variables)", field="columns", hint=_HINT)
        names: list[str] = []
        self._converters: list[Callable[[Any, int], Value]] = []
        for i, column in enumerate(columns, start=1):
            name = column.get("name") if isinstance(column, dict) else None
            if not isinstance(name, str) or not name.strip():
                raise self._error(f"column {i} has no name", field="columns", hint=_HINT)
            name = name.strip()
            if name in names:
                raise self._error(f"column {cut(name)} appears twice in columns", field=name)
            kind = column.get("dataType")
            if kind not in DATA_TYPES:
                allowed = ", ".join(sorted(DATA_TYPES))
                raise self._error(f"column {cut(name)}: dataType {cut(kind)} is not one of {allowed}", field=name)
            names.append(name)
            self._converters.append(self._converter(name, kind))
        self.columns = names
        records = meta.get("records")
        if not isinstance(records, int) or isinstance(records, bool) or records < 0:
            raise self._error(f"records {cut(records)} is not a count", field="records", hint=_HINT)
        self.records = records
        if not self._ndjson:
            rows = meta.get("rows", [])
            if not isinstance(rows, list):
                raise self._error("rows is not an array of row arrays", field="rows", hint=_HINT)
            self._rows = rows
            if len(rows) != records:
                raise self._error(f"records says {records:,} rows, rows holds {len(rows):,}", field="records")
        elif "rows" in meta:
            raise self._error("the NDJSON form has rows on the lines after the first, not in it", field="rows")

    def _converter(self, name: str, kind: str) -> Callable[[Any, int], Value]:
        """How a value of the column becomes a table value (text, a number or None), as XPT gives them:
        null and "" are blank; numbers as the source meant them (fhirconv.numbers)."""

        def wrong(value: Any, row: int, wanted: str) -> InputError:
            return self._error(
                f"{name} value {cut(value)} is not {wanted} (dataType {kind})", row=row, field=name
            )

        if kind in _TEXT_TYPES:

            def text(value: Any, row: int) -> Value:
                if value is None:
                    return None
                if not isinstance(value, str):
                    raise wrong(value, row, "a string")
                return value.strip() or None

            return text
        if kind == "boolean":

            def flag(value: Any, row: int) -> Value:
                # SDTM has no boolean type: its flags are "Y"/"N", which is what the records read.
                if value is None:
                    return None
                if not isinstance(value, bool):
                    raise wrong(value, row, "true or false")
                return "Y" if value else "N"

            return flag
        whole = kind == "integer"

        def number(value: Any, row: int) -> Value:
            if value is None:
                return None
            if isinstance(value, str) and kind == "decimal":
                # Exchanged as text to keep its decimal digits: kept as text, read as a number where a
                # field wants one (as a CSV cell is).
                return value.strip() or None
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise wrong(value, row, "a number")
            if whole and not (isinstance(value, int) or value.is_integer()):
                raise wrong(value, row, "a whole number")
            try:
                return as_meant(float(value))
            except OverflowError:  # an integer beyond a double's range
                raise wrong(value, row, "a number a double can hold") from None

        return number

    def _raw_batches(self) -> Iterator[tuple[int, list[Any]]]:
        """(first row number, rows as JSON arrays) in batches."""
        if self._rows is not None:
            for start in range(0, len(self._rows), _BATCH):
                yield start + 1, self._rows[start : start + _BATCH]
            return
        assert self._lines is not None
        batch: list[Any] = []
        first = row = 1
        try:
            for line in self._lines:
                self._line += 1
                if not line.strip():
                    continue
                batch.append(self._parse(line, self._line))
                row += 1
                if len(batch) == _BATCH:
                    yield first, batch
                    first, batch = row, []
        except (EOFError, OSError) as exc:
            raise self._error(f"cannot read line {self._line}: {exc}") from None
        if batch:
            yield first, batch
        if row - 1 != self.records:
            raise self._error(f"records says {self.records:,} rows, the file holds {row - 1:,}", field="records")

    def chunks(self, wanted: list[int]) -> Iterator[tuple[range, list[list[Value]]]]:
        """Batches of rows, column-wise: (row numbers, the converted values of each wanted column)."""
        width = len(self.columns)
        converters = self._converters
        for first, rows in self._raw_batches():
            for offset, row in enumerate(rows):
                if not isinstance(row, list) or len(row) != width:
                    got = f"{len(row)} values" if isinstance(row, list) else "not an array"
                    raise self._error(f"{got} where columns has {width}", row=first + offset, hint=_HINT)
            numbers = range(first, first + len(rows))
            columns: list[list[Value]] = []
            transposed = list(zip(*rows, strict=True)) if rows else [() for _ in range(width)]
            for i in wanted:
                convert = converters[i]
                cells = transposed[i]
                # Columns repeat few values: each distinct one is converted once. Keyed with its type,
                # since True == 1 == 1.0 in Python and a boolean in a number column must be refused.
                distinct: dict[tuple[type, Any], Value] = {}
                out: list[Value] = []
                for row_no, cell in zip(numbers, cells, strict=True):
                    key = (cell.__class__, cell)
                    try:
                        out.append(distinct[key])
                    except KeyError:
                        out.append(distinct.setdefault(key, convert(cell, row_no)))
                    except TypeError:  # (not hashable: a list or object, refused by the converter)
                        out.append(convert(cell, row_no))
                columns.append(out)
            yield numbers, columns

    def close(self) -> None:
        if self._handle is not None:
            self._handle.close()
