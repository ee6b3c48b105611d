"""Read participant data (SDTM domains, simple CSV, or any layout a spec describes) into typed records."""

from __future__ import annotations

import dataclasses
import math
import re
from array import array
from bisect import bisect_left
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from functools import cache
from itertools import chain, groupby, repeat
from pathlib import Path
from typing import Any, Literal, cast

from fhirconv.errors import FhirconvError, InputError, UsageError, cut
from fhirconv.mapping.conceptmaps import load as load_conceptmap
from fhirconv.mapping.conceptmaps import translate
from fhirconv.model.participants import (
    AdverseEventRecord,
    ConcomitantMedication,
    Disposition,
    Exposure,
    Measurement,
    MedicalHistory,
    Participant,
    RowRejected,
    SourceRef,
    TrialDesign,
)
from fhirconv.numbers import parse_number
from fhirconv.readers.dataset_json import DATASET_JSON_SUFFIXES, looks_like_dataset_json
from fhirconv.readers.spec import BUILTIN_SPECS, REQUIRED_FIELDS, ColumnSpec, Spec, TableSpec, load_spec
from fhirconv.readers.tables import Table, Value, domain_of, open_table, table_stem

__all__ = ["ParticipantData", "detect_spec", "read_participants"]

OnError = Literal["raise", "collect"]

# ISO 8601 as SDTM --DTC variables hold it: a date or datetime truncated at any component.
_ISO_DATE = re.compile(
    r"[0-9]{4}(-(0[1-9]|1[0-2])(-(0[1-9]|[12][0-9]|3[01])"
    r"(T([01][0-9]|2[0-3])(:[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?)?(Z|[+-][01][0-9]:[0-5][0-9])?)?)?)?"
)
_RECORD_CLASSES: dict[str, type] = {
    "participant": Participant,
    "disposition": Disposition,
    "measurement": Measurement,
    "adverse_event": AdverseEventRecord,
    "exposure": Exposure,
    "medication": ConcomitantMedication,
    "medical_history": MedicalHistory,
}
# Record kinds that stream from the files like adverse events, each mapped to a resource of its own
# (fhirconv.pipeline.participants.EVENT_KINDS says which).
EVENT_RECORDS = ("adverse_event", "exposure", "medication", "medical_history")
# SUPP-- qualifiers that have a record field of their own; the others land in `extra` by QNAM.
_SUPP_FIELDS = {"AETRTEM": "treatment_emergent"}
# Separators a CSV header may have been saved with instead of commas (spreadsheets in many locales).
_SEPARATORS = ((";", "semicolon"), ("\t", "tab"), ("|", "pipe"))
_CACHE_LIMIT = 8192  # distinct values remembered per column: bounded, so memory stays flat on huge files
# Records of batches that pass every check are built from whole batches; False takes the row-by-row
# path for every row (the tests compare the two).
WHOLE_BATCHES = True


class _RowError(Exception):
    """A bad value in one row: becomes an InputError (raise) or a RowRejected (collect)."""

    def __init__(self, column: str | None, reason: str, hint: str | None = None) -> None:
        super().__init__(reason)
        self.column = column
        self.reason = reason
        self.hint = hint


def _number_text(value: float) -> str:
    return str(int(value)) if value.is_integer() else repr(value)


def _as_text(value: Value) -> str:
    return value if isinstance(value, str) else _number_text(value)  # type: ignore[arg-type]


def _to_float(value: Value, column: str, if_number: bool) -> float | None:
    if isinstance(value, float):
        return value
    try:
        number = parse_number(value)  # type: ignore[arg-type]
    except ValueError:
        if if_number:
            return None
        raise _RowError(column, f"{column} value {cut(value)} is not a number") from None
    if not math.isfinite(number):
        raise _RowError(column, f"{column} value {cut(value)} is not a finite number")
    return number


def _to_int(value: Value, column: str) -> int:
    number = _to_float(value, column, False)
    assert number is not None
    if not number.is_integer():
        raise _RowError(column, f"{column} value {cut(value)} is not a whole number")
    return int(number)


def _to_bool(value: str, column: str) -> bool:
    flag = value.upper()
    if flag in ("Y", "N"):
        return flag == "Y"
    raise _RowError(column, f"{column} value {cut(value)} is not Y or N")


def _to_date(value: Value, column: str) -> str:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise _RowError(
            column, f"{column} value {cut(value)} is not an ISO 8601 date (YYYY, YYYY-MM, YYYY-MM-DD[Thh:mm[:ss]])"
        )
    if len(value) >= 10:
        # The pattern allows day 31 in every month: the calendar decides (2020-02-30 does not exist).
        try:
            date.fromisoformat(value[:10])
        except ValueError:
            raise _RowError(
                column, f"{column} value {cut(value)} is not a valid date (no day {value[8:10]} in {value[:7]})"
            ) from None
    return value


def _code_hint(map_id: str) -> str:
    """What to do about a code a ConceptMap does not know: its codes when they are few, and the file."""
    codes = sorted(load_conceptmap(map_id).entries)
    allowed = f"use one of: {', '.join(codes)}; or " if len(codes) <= 15 else ""
    return f"{allowed}add it to mappings/conceptmaps/{map_id}.json"


class _Column:
    """How one spec column turns a raw value into field assignments; results cached per distinct value."""

    def __init__(self, spec: ColumnSpec, table: TableSpec) -> None:
        self.name = spec.column
        self.spec = spec
        types = table.field_types()
        self.targets = [(f, types[f]) for f in spec.fields]
        # Lists and `extra` gather values from several columns; other fields take one value each.
        self.accumulates = any(kind in ("list", "extra") for _, kind in self.targets)
        self.cache: dict[Value, list[tuple[str, Any]]] = {}
        # A column feeding one scalar field keeps its converted values as they are, others as tuples.
        self.scalar = self.targets[0][1] if len(self.targets) == 1 and not self.accumulates else None
        self.blank: Any = None if len(self.targets) == 1 else tuple(None for _ in self.targets)
        self.batch_cache: dict[Value, Any] = {None: self.blank}
        self.bad_values: set[Value] = set()  # the values in batch_cache whose conversion failed

    def convert_batch(self, values: list[Value], errors: dict[int, _RowError]) -> list[list[Any]]:
        """One list per target field: the converted values of a batch (None where blank or bad; the
        first error of each bad row is put in `errors` by row index)."""
        table = self.batch_cache
        if len(table) > _CACHE_LIMIT:
            table.clear()
            self.bad_values.clear()
            table[None] = self.blank
        distinct = dict.fromkeys(values)
        scalar, single = self.scalar, len(self.targets) == 1
        for value in distinct.keys() - table.keys():
            try:
                if scalar is not None:
                    table[value] = self._typed(scalar, value)
                    continue
                got = dict(self.assignments(value))
                table[value] = got.get(self.targets[0][0]) if single else tuple(got.get(f) for f, _ in self.targets)
            except _RowError as exc:
                table[value] = exc
                self.bad_values.add(value)
        converted = list(map(table.__getitem__, values))
        if self.bad_values and not self.bad_values.isdisjoint(distinct):
            for index, item in enumerate(converted):
                if isinstance(item, _RowError):
                    errors.setdefault(index, item)
                    converted[index] = self.blank
        if single:
            return [converted]
        return [list(c) for c in zip(*converted, strict=True)]

    def _code(self, text: str) -> str:
        if self.spec.translate is None:
            return text
        try:
            return translate(self.spec.translate, text, field=self.name)["code"]
        except FhirconvError:
            try:  # plain-word layouts are often written capitalised: "Male", "Yes"
                return translate(self.spec.translate, text.lower(), field=self.name)["code"]
            except FhirconvError:
                raise _RowError(
                    self.name,
                    f"{self.name} value {cut(text)} is not a code ConceptMap {self.spec.translate} knows",
                    _code_hint(self.spec.translate),
                ) from None

    def assignments(self, value: Value) -> list[tuple[str, Any]]:
        found = self.cache.get(value)
        if found is not None:
            return found
        out: list[tuple[str, Any]] = []
        name = self.name
        for field_name, kind in self.targets:
            if kind == "list":
                out.append((field_name, self._list(value)))
                continue
            if kind == "extra":
                out.append((field_name, {name: _as_text(value)}))
                continue
            converted = self._typed(kind, value)
            if converted is not None:
                out.append((field_name, converted))
        if len(self.cache) >= _CACHE_LIMIT:
            self.cache.clear()
        self.cache[value] = out
        return out

    def _typed(self, kind: str, value: Value) -> Any:
        """A value for a scalar field of type `kind`: translated first when the column has a ConceptMap."""
        raw: Value = self._code(value) if isinstance(value, str) else value
        if kind == "str":
            return _as_text(raw)
        if kind == "float":
            return _to_float(raw, self.name, self.spec.if_number)
        if kind == "int":
            return _to_int(raw, self.name)
        if kind == "bool":
            return _to_bool(_as_text(raw), self.name)
        return _to_date(raw, self.name)

    def _list(self, value: Value) -> list[str]:
        text = _as_text(value)
        if self.spec.flag is not None:
            return [self.spec.flag] if _to_bool(text, self.name) else []
        parts = text.split(self.spec.split) if self.spec.split else [text]
        return [self._code(p.strip()) for p in parts if p.strip()]


class _Keys:
    """Duplicate-key detection with memory close to flat: exact keys (with the row each came from) for
    the current run of rows of one subject (SDTM files are sorted by subject), 8-byte key hashes and
    their rows for runs already passed, kept per subject as a few sorted arrays (merged as they grow,
    so files not sorted by subject stay fast). A duplicate is told by the row of its first occurrence."""

    def __init__(self) -> None:
        self.subject: object = None
        self.current: dict[tuple[Value, ...], int] = {}
        self.done: dict[object, list[tuple[array[int], array[int]]]] = {}

    def _close(self) -> None:
        runs = self.done.setdefault(self.subject, [])
        pairs = sorted(zip(map(hash, self.current), self.current.values(), strict=True))
        # Merge while the newest run is at least as big as the one before: O(log n) runs per subject.
        while runs and len(runs[-1][0]) <= len(pairs):
            hashes, rows = runs.pop()
            pairs = sorted([*zip(hashes, rows, strict=True), *pairs])
        runs.append((array("q", [h for h, _ in pairs]), array("q", [r for _, r in pairs])))

    def _switch(self, subject: object) -> None:
        if self.current:
            self._close()
        self.subject = subject
        self.current = {}

    def seen(self, subject: object, key: tuple[Value, ...], row: int) -> int:
        """The row where `key` first came for this subject, or 0 when it is new (then it is `row`'s)."""
        if subject != self.subject:
            self._switch(subject)
        first = self.current.get(key)
        if first is not None:
            return first
        runs = self.done.get(subject)
        if runs:
            h = hash(key)
            for hashes, rows in runs:
                i = bisect_left(hashes, h)
                if i < len(hashes) and hashes[i] == h:
                    self.current[key] = rows[i]
                    return rows[i]
        self.current[key] = row
        return 0

    def seen_many(self, subjects: list[Value], keys: list[tuple[Value, ...]], rows: Sequence[int]) -> dict[int, int]:
        """The indexes of the rows whose key was seen before, with the row where it first came, as
        `seen` row by row would tell them.

        A run of one subject whose keys are all new (the usual case) is added as a whole, in C."""
        duplicates: dict[int, int] = {}
        start = 0
        for subject, group in groupby(subjects):
            end = start + sum(1 for _ in group)
            if subject != self.subject:
                self._switch(subject)
            new = dict(zip(keys[start:end], rows[start:end], strict=True))
            if len(new) == end - start and self.current.keys().isdisjoint(new) and not self.done.get(subject):
                self.current.update(new)
            else:
                for i in range(start, end):
                    first = self.seen(subject, keys[i], rows[i])
                    if first:
                        duplicates[i] = first
            start = end
        return duplicates


# A parent row's SUPP-- qualifiers: (QNAM, QVAL, file label, row). Tuples of plain values only, which
# the garbage collector stops tracking: SUPPLB is as big as LB, and a dict per row made every full
# collection walk all of it.
_Qualifiers = tuple[tuple[str, str, str, int], ...]


@dataclass(slots=True)
class _Batch:
    """Rows of one file that passed every check: one list of values per field of `fields`."""

    label: str
    numbers: Sequence[int]
    fields: list[str]
    columns: list[list[Any]]  # no row tuples: records are made from the columns one at a time
    extras: list[tuple[str, list[Value]]]  # columns feeding `extra` (by column name): raw values


# How a record class's positional parameters are filled from a batch: the row's source, a column of
# the batch (by index), or one value for every row.
_Arg = tuple[Literal["source"], None] | tuple[Literal["column"], int] | tuple[Literal["value"], Any]


@cache
def _positional(cls: type, fields_: tuple[str, ...], base: tuple[tuple[str, Any], ...]) -> tuple[_Arg, ...] | None:
    """The positional arguments of `cls` for rows of `fields_` values (plus the constants `base`), up to
    the last field fed; None when a field before it has no plain default (a list or dict made fresh
    per record, or none at all): those records take the keyword way.

    Positional, records are made by map(cls, *columns): the loop over rows runs in C."""
    constants = dict(base)
    names = [f.name for f in dataclasses.fields(cls)]
    fed = [i for i, n in enumerate(names) if n == "source" or n in fields_ or n in constants]
    args: list[_Arg] = []
    for name in names[: max(fed) + 1]:
        if name == "source":
            args.append(("source", None))
        elif name in fields_:
            args.append(("column", fields_.index(name)))
        elif name in constants:
            args.append(("value", constants[name]))
        else:
            default = next(f for f in dataclasses.fields(cls) if f.name == name).default
            if default is dataclasses.MISSING:
                return None
            args.append(("value", default))
    return tuple(args)


def _batch_made(cls: type, batch: _Batch, base: dict[str, Any]) -> Iterator[Any]:
    """The records of a batch, made one at a time."""
    sources = map(SourceRef, repeat(batch.label), batch.numbers)
    plan = _positional(cls, tuple(batch.fields), tuple(base.items()))
    if plan is None:
        make = _keyword_maker(cls, tuple(batch.fields), base)
        return map(make, sources, zip(*batch.columns, strict=True))
    args: list[Iterable[Any]] = []
    for kind, what in plan:
        if kind == "source":
            args.append(sources)
        elif kind == "column":
            args.append(batch.columns[cast(int, what)])
        else:
            args.append(repeat(what))
    return map(cls, *args)


def _keyword_maker(
    cls: type, fields_: tuple[str, ...], constants: dict[str, Any]
) -> Callable[[SourceRef, tuple[Any, ...]], Any]:
    """A function building a `cls` record from a source and a row of `fields_` values (plus `constants`)."""

    def make(src: SourceRef, row: tuple[Any, ...]) -> Any:
        values = dict(zip(fields_, row, strict=True))
        values.update(constants)
        return cls(source=src, **values)

    return make


def _normal_seq(value: Value) -> str:
    """IDVARVAL and --SEQ as comparable text: SUPP-- stores it right-justified ("       1")."""
    text = _as_text(value).strip() if value is not None else ""
    try:
        number = float(text)
    except ValueError:
        return text
    return _number_text(number) if math.isfinite(number) else text


@dataclass(slots=True)
class _Source:
    table: TableSpec
    path: Path
    label: str  # how SourceRefs and row counts name it


class _Stream:
    """A re-iterable stream of records of one kind: each iteration reads the files afresh."""

    def __init__(self, data: ParticipantData, sources: list[_Source]) -> None:
        self._data = data
        self._sources = sources

    def __iter__(self) -> Iterator[Any]:
        return chain.from_iterable(self._data._records(source) for source in self._sources)


@dataclass
class ParticipantData:
    """Participant data read through a spec. `participants`, `dispositions` and `design` are loaded;
    `measurements` and `adverse_events` stream from the files each time they are iterated, and with
    on_error="collect" carry a RowRejected in place of each bad row. `row_counts` (rows read per file,
    for files whose rows become records) is complete once the streams have been consumed;
    `merged_counts` counts rows folded into other records (SUPP-- qualifiers, TS/TA)."""

    spec: Spec
    on_error: OnError = "raise"
    participants: list[Participant] = field(default_factory=list)
    dispositions: list[Disposition] = field(default_factory=list)
    design: TrialDesign | None = None
    rejected: list[RowRejected] = field(default_factory=list)
    row_counts: dict[str, int] = field(default_factory=dict)
    merged_counts: dict[str, int] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # table name -> file labels
    ignored_files: list[str] = field(default_factory=list)  # tables in the input that the spec does not read
    measurements: Iterable[Measurement | RowRejected] = ()
    adverse_events: Iterable[AdverseEventRecord | RowRejected] = ()
    events: dict[str, Iterable[Any]] = field(default_factory=dict)  # by record kind (EVENT_RECORDS)
    _sources: dict[str, list[_Source]] = field(default_factory=dict)
    _subjects: set[str] = field(default_factory=set)
    # Subjects whose own participant row was rejected: where that row is, so their other rows say so.
    _rejected_subjects: dict[str, SourceRef] = field(default_factory=dict)
    _renamed: dict[tuple[str, str], str] = field(default_factory=dict)

    def source_column(self, file: str, column: str | None) -> str | None:
        """The column of `file` (a file label) that the mapping means when it names SDTM variable
        `column` (the mapping speaks SDTM: LBSTRESU, ARM, ...): found through the record field the
        built-in SDTM spec feeds from that variable and the column this file's spec feeds it from."""
        if column is None:
            return None
        found = self._renamed.get((file, column))
        if found is not None:
            return found
        found = column
        source = next((s for sources in self._sources.values() for s in sources if s.label == file), None)
        if source is not None and all(c.column != column for c in source.table.columns):
            record = source.table.record
            fed: set[str] = {"domain"} if column == "DOMAIN" else set()
            for table in load_spec("sdtm").of_record(record):
                fed.update(f for c in table.columns if c.column == column for f in c.fields)
            own = next((c.column for c in source.table.columns if fed & set(c.fields)), None)
            found = own or column
        self._renamed[(file, column)] = found
        return found

    def _subject_problem(self, subject: str) -> str:
        """Why a row's subject is not among the participants: its own row was rejected, or it is unknown."""
        own = self._rejected_subjects.get(subject)
        if own is not None:
            return f"its subject {cut(subject)} was rejected ({own.file} row {own.row})"
        files = ", ".join(s.label for s in self._by_record("participant")) or "the participant data"
        return f"unknown subject {cut(subject)} (not in {files})"

    @property
    def layout(self) -> str:
        return self.spec.name

    def _fail(self, src: SourceRef, column: str | None, reason: str, hint: str | None = None) -> RowRejected:
        if self.on_error == "raise":
            raise InputError(reason, file=src.file, record=f"row {src.row}", field=column, hint=hint)
        return RowRejected(src, column, reason, hint)

    def _rows(self, source: _Source) -> Iterator[tuple[SourceRef, dict[str, Any] | RowRejected]]:
        """(where, field values) per row of one file (see _scan)."""
        for item in self._scan(source):
            assert not isinstance(item, _Batch)
            yield item

    def _scan(
        self, source: _Source, *, batches: bool = False
    ) -> Iterator[tuple[SourceRef, dict[str, Any] | RowRejected] | _Batch]:
        """(where, field values) per row of one file; the spec's columns applied, keys checked.

        Work goes column by column over batches of rows: a column's distinct values are converted once
        (translated, typed, checked) and mapped over the batch in C, then each row is one dict(zip()).
        With `batches`, a batch whose rows all pass every check, and need nothing assembled row by row,
        comes whole as a _Batch of value tuples instead (the caller builds records without the dicts)."""
        table = source.table
        with open_table(source.path) as handle:
            columns = self._columns(handle, source)
            names = [c.name for c in columns]
            base = dict(table.values)
            # Scalar fields fed by exactly one column go the fast way; lists, `extra` and fields that
            # several columns (or a constant) feed are assembled per row.
            feeds: dict[str, int] = {}
            for c in columns:
                for f, _ in c.targets:
                    feeds[f] = feeds.get(f, 0) + 1
            fast = [
                i
                for i, c in enumerate(columns)
                if not c.accumulates and all(feeds[f] == 1 and f not in base for f, _ in c.targets)
            ]
            slow = [i for i in range(len(columns)) if i not in fast]
            slot_fields = [f for i in fast for f, _ in columns[i].targets]
            key_index = [names.index(k) for k in table.key if k in names]
            subject_column = next((c.name for c in columns if "subject_id" in c.spec.fields), None)
            subject_index = names.index(subject_column) if subject_column in names else None
            keys = _Keys()
            skip = table.skip_if_blank
            required = [(f, self._feeder(table, f)) for f in REQUIRED_FIELDS[table.record] if f not in base]
            # Required fields fed by a fast column are checked batch-wise; the others row by row
            # (after skip_if_blank, which may drop a row whose field is blank).
            batch_required = [
                (slot_fields.index(f), c, _RowError(c, f"{c} is blank"))
                for f, c in required
                if f in slot_fields and f != skip
            ]
            required = [(f, c) for f, c in required if f not in slot_fields or f == skip]
            # Rows of subjects not among the participants are errors (when participants were read at all).
            check_subject = table.record not in ("participant", "trial_summary", "trial_arm") and bool(
                self._by_record("participant")
            )
            subjects = self._subjects
            label = source.label
            count = 0
            # Whole batches are possible when nothing is checked or assembled row by row.
            # Columns that only feed `extra` ({column: text}) are simple enough to go along.
            extra_only = [i for i in slow if columns[i].targets == [("extra", "extra")]]
            wholesale = (
                batches and len(extra_only) == len(slow) and "extra" not in base and skip is None and not required
            )
            subject_slot = slot_fields.index("subject_id") if "subject_id" in slot_fields else None
            if check_subject and subject_slot is None:
                wholesale = False
            for numbers, raw in handle.chunks(names):
                errors: dict[int, _RowError] = {}
                slots: list[list[Any]] = []
                for i in fast:
                    slots.extend(columns[i].convert_batch(raw[i], errors))
                for slot, _, blank in batch_required:
                    values = slots[slot]
                    if None in values or "" in values:
                        for index in [i for i, v in enumerate(values) if v is None or v == ""]:
                            errors.setdefault(index, blank)
                duplicates: dict[int, int] | None = None
                if wholesale and not errors:
                    if key_index:
                        subject_values: list[Value] = (
                            raw[subject_index] if subject_index is not None else [None] * len(numbers)
                        )
                        key_values = list(zip(*(raw[k] for k in key_index), strict=True))
                        duplicates = keys.seen_many(subject_values, key_values, numbers)
                    unknown = check_subject and not subjects.issuperset(slots[subject_slot])  # type: ignore[index]
                    if not duplicates and not unknown:
                        count += len(numbers)
                        extras = [(names[i], raw[i]) for i in extra_only]
                        yield _Batch(label, numbers, slot_fields, slots, extras)
                        continue
                for index, (row_no, row) in enumerate(zip(numbers, zip(*slots, strict=True), strict=True)):
                    count += 1
                    src = SourceRef(label, row_no)
                    fields_: dict[str, Any] = dict(zip(slot_fields, row, strict=True))
                    if base:
                        fields_.update(base)
                    try:
                        failed = errors.get(index)
                        if failed is not None:
                            raise failed
                        for i in slow:
                            value = raw[i][index]
                            if value is not None:
                                self._assign(fields_, columns[i], value)
                        if skip is not None and fields_.get(skip) is None:
                            count -= 1  # another table of this file accounts for the row
                            continue
                        for name, column_name in required:
                            if fields_.get(name) in (None, ""):
                                raise _RowError(column_name, f"{column_name or name} is blank")
                        if key_index:
                            key = tuple([raw[k][index] for k in key_index])
                            subject = raw[subject_index][index] if subject_index is not None else None
                            first = (
                                duplicates.get(index, 0) if duplicates is not None else keys.seen(subject, key, row_no)
                            )
                            if first:
                                shown = ", ".join(f"{table.key[j]}={cut(key[j])}" for j in range(len(key)))
                                raise _RowError(table.key[-1], f"duplicate key {shown} (first at row {first})")
                        if check_subject and fields_["subject_id"] not in subjects:
                            raise _RowError(subject_column, self._subject_problem(fields_["subject_id"]))
                    except _RowError as exc:
                        if table.record == "participant" and subject_index is not None:
                            who = raw[subject_index][index]
                            if who is not None:
                                self._rejected_subjects.setdefault(_as_text(who), src)
                        yield src, self._fail(src, exc.column, exc.reason, exc.hint)
                        continue
                    yield src, fields_
            merged = table.record in ("supplemental", "trial_summary", "trial_arm")
            (self.merged_counts if merged else self.row_counts)[label] = count

    @staticmethod
    def _assign(fields_: dict[str, Any], column: _Column, value: Value) -> None:
        for name, converted in column.assignments(value):
            # Several columns may feed one list (AESDTH, AESHOSP, ...) or `extra`.
            if isinstance(converted, list):
                fields_.setdefault(name, []).extend(converted)
            elif isinstance(converted, dict):
                fields_.setdefault(name, {}).update(converted)
            elif converted is not None:
                fields_[name] = converted

    def _feeder(self, table: TableSpec, field_name: str) -> str | None:
        return next((c.column for c in table.columns if field_name in c.fields), None)

    def _columns(self, handle: Table, source: _Source) -> list[_Column]:
        present = set(handle.columns)
        out = []
        for spec in source.table.columns:
            if spec.column in present:
                out.append(_Column(spec, source.table))
            elif spec.required:
                hint = f"the {self.spec.name} layout needs it in table {source.table.name}; see mappings/specs/"
                required = [c.column for c in source.table.columns if c.required]
                header = ",".join(handle.columns)
                separator = next((name for sep, name in _SEPARATORS if sep in header), None)
                if separator is not None and not present.intersection(required):
                    hint = f"the file must be comma-separated: its header looks {separator}-separated ({header[:60]!r})"
                raise InputError(
                    f"required column {spec.column} is missing", file=source.label, field=spec.column, hint=hint
                )
        return out

    def _records(self, source: _Source) -> Iterator[Any]:
        table = source.table
        cls = _RECORD_CLASSES[table.record]
        supplemental = self._supplemental(table) if table.supplemental else None
        link = table.supplemental_key
        link_column = next((c for c in table.columns if c.column == link), None)
        link_field = link_column.fields[0] if supplemental is not None and link_column is not None else None
        normal: dict[object, str] = {}

        def seq_of(raw: object) -> str:
            seq = normal.get(raw)
            if seq is None:
                if len(normal) > _CACHE_LIMIT:
                    normal.clear()
                seq = normal[raw] = "" if raw is None else _normal_seq(str(raw))
            return seq

        base = dict(table.values)
        for item in self._scan(source, batches=WHOLE_BATCHES):
            if isinstance(item, _Batch):
                yield from self._batch_records(item, cls, base, supplemental, link_field, seq_of, normal)
                continue
            src, fields_ = item
            if isinstance(fields_, RowRejected):
                yield fields_
                continue
            if link_field is not None and supplemental:
                qualifiers = supplemental.pop((fields_["subject_id"], seq_of(fields_.get(link_field))), None)
                if qualifiers:
                    self._qualify(fields_, qualifiers)
            yield cls(source=src, **fields_)
        if supplemental:
            for qualifiers in supplemental.values():
                for _, _, file, row in qualifiers:
                    ref = SourceRef(file, row)
                    rejected = self._fail(
                        ref, "IDVARVAL", f"no {table.name.upper()} row with this {link} for the subject"
                    )
                    self.rejected.append(rejected)

    @staticmethod
    def _batch_records(
        batch: _Batch,
        cls: type,
        base: dict[str, Any],
        supplemental: dict[tuple[Any, str], _Qualifiers] | None,
        link_field: str | None,
        seq_of: Callable[[object], str],
        normal: dict[object, str],
    ) -> Iterator[Any]:
        """The records of a batch that passed every check, built from its value columns (no field dicts)."""
        fields_ = batch.fields
        records = _batch_made(cls, batch, base)
        qualified = supplemental if link_field is not None and supplemental else None
        if qualified is None and not batch.extras:
            yield from records
            return
        if qualified is not None:
            fed = frozenset(fields_) | frozenset(base)
            count = len(batch.numbers)
            subjects = [base.get("subject_id")] * count
            if "subject_id" in fields_:
                subjects = batch.columns[fields_.index("subject_id")]
            links = [base.get(link_field or "")] * count
            if link_field in fields_:
                links = batch.columns[fields_.index(link_field)]
        for index, record in enumerate(records):
            for name, values in batch.extras:
                value = values[index]
                if value is not None:
                    record.extra[name] = _as_text(value)
            if qualified is not None:
                subject = subjects[index]
                raw = links[index]
                seq = normal.get(raw)
                qualifiers = qualified.pop((subject, seq_of(raw) if seq is None else seq), None)
                if qualifiers:
                    extra = record.extra
                    for qnam, qval, _, _ in qualifiers:
                        own = _SUPP_FIELDS.get(qnam)
                        if own is not None and own not in fed:
                            setattr(record, own, qval.strip().upper() == "Y")
                        else:
                            extra[qnam] = qval
            yield record

    @staticmethod
    def _qualify(fields_: dict[str, Any], qualifiers: _Qualifiers) -> None:
        extra = fields_.setdefault("extra", {})
        for qnam, qval, _, _ in qualifiers:
            own = _SUPP_FIELDS.get(qnam)
            if own is not None and own not in fields_:
                fields_[own] = qval.strip().upper() == "Y"
            else:
                extra[qnam] = qval

    def _supplemental(self, table: TableSpec) -> dict[tuple[Any, str], _Qualifiers]:
        """SUPP-- rows by (subject, IDVARVAL), loaded before the parent table streams.

        A lean path (SUPPLB is as big as LB): columns converted batch-wise, no per-row field dicts; a
        repeated QNAM for the same parent row is the duplicate check."""
        assert table.supplemental is not None
        out: dict[tuple[Any, str], _Qualifiers] = {}
        for source in self._sources.get(table.supplemental, []):
            supp, label = source.table, source.label
            with open_table(source.path) as handle:
                columns = self._columns(handle, source)
                wanted = ["subject_id", "id_var", "id_value", "name", "value"]
                # Columns that feed none of these and cannot fail (plain text, e.g. RDOMAIN) are not read.
                columns = [
                    c
                    for c in columns
                    if set(c.spec.fields) & set(wanted)
                    or c.spec.translate is not None
                    or any(kind != "str" for _, kind in c.targets)
                ]
                feeder = {f: i for i, c in enumerate(columns) for f in c.spec.fields}
                key_name = table.supplemental_key
                count = 0
                for numbers, raw in handle.chunks([c.name for c in columns]):
                    errors: dict[int, _RowError] = {}
                    converted: dict[str, list[Any]] = {}
                    for f in wanted:
                        i = feeder.get(f)
                        if i is None:
                            converted[f] = [None] * len(numbers)
                            continue
                        lists = columns[i].convert_batch(raw[i], errors)
                        converted[f] = lists[columns[i].spec.fields.index(f)]
                    ids = converted["id_value"]
                    seqs = {v: _normal_seq(v) for v in dict.fromkeys(ids)}
                    subjects, id_vars, names = converted["subject_id"], converted["id_var"], converted["name"]
                    if (
                        WHOLE_BATCHES
                        and not errors
                        and None not in subjects
                        and None not in names
                        and id_vars.count(key_name) == len(id_vars)
                    ):
                        # Every row of the batch passes the row checks: only the duplicate check is left.
                        rows_ = zip(
                            subjects, map(seqs.__getitem__, ids), names, converted["value"], numbers, strict=True
                        )
                        for index, (subject, seq, name, value, row_no) in enumerate(rows_):
                            key = (subject, seq)
                            slot = out.get(key)
                            if slot is None:
                                out[key] = ((name, value or "", label, row_no),)
                            elif any(q[0] == name for q in slot):
                                first = next(q[3] for q in slot if q[0] == name)
                                reason = (
                                    f"duplicate qualifier {name} for {subject} {key_name}={ids[index]} "
                                    f"(first at row {first})"
                                )
                                src = SourceRef(label, row_no)
                                self.rejected.append(self._fail(src, self._feeder(supp, "name"), reason))
                            else:
                                out[key] = (*slot, (name, value or "", label, row_no))
                        count += len(numbers)
                        continue
                    rows = zip(numbers, *(converted[f] for f in wanted), strict=True)
                    for index, (row_no, subject, id_var, id_value, name, value) in enumerate(rows):
                        count += 1
                        failed = errors.get(index)
                        if failed is None and (subject is None or name is None):
                            column = self._feeder(supp, "subject_id" if subject is None else "name")
                            failed = _RowError(column, f"{column} is blank")
                        if failed is None and id_var != table.supplemental_key:
                            reason = f"IDVAR {id_var!r}: only {table.supplemental_key} links are supported"
                            failed = _RowError(self._feeder(supp, "id_var"), reason)
                        if failed is None:
                            key = (subject, seqs[id_value])
                            slot = out.get(key, ())
                            if any(q[0] == name for q in slot):
                                first = next(q[3] for q in slot if q[0] == name)
                                reason = (
                                    f"duplicate qualifier {name} for {subject} {id_var}={id_value} "
                                    f"(first at row {first})"
                                )
                                failed = _RowError(self._feeder(supp, "name"), reason)
                            else:
                                out[key] = (*slot, (name, value or "", label, row_no))
                                continue
                        src = SourceRef(label, row_no)
                        self.rejected.append(self._fail(src, failed.column, failed.reason, failed.hint))
                self.merged_counts[source.label] = count
        return out

    def _load(self) -> None:
        for source in self._by_record("participant"):
            for src, fields_ in self._rows(source):
                if isinstance(fields_, RowRejected):
                    self.rejected.append(fields_)
                    continue
                self.participants.append(Participant(source=src, **fields_))
        self._subjects = {p.subject_id for p in self.participants}
        for source in self._by_record("disposition"):
            for item in self._records(source):
                (self.rejected if isinstance(item, RowRejected) else self.dispositions).append(item)
        self._load_design()
        self.measurements = _Stream(self, self._by_record("measurement"))
        self.events = {kind: _Stream(self, self._by_record(kind)) for kind in EVENT_RECORDS}
        self.adverse_events = self.events["adverse_event"]

    def _by_record(self, record: str) -> list[_Source]:
        return [s for t in self.spec.of_record(record) for s in self._sources.get(t.name, [])]

    def _load_design(self) -> None:
        design: TrialDesign | None = None
        for source in self._by_record("trial_summary"):
            for src, fields_ in self._rows(source):
                if isinstance(fields_, RowRejected):
                    self.rejected.append(fields_)
                    continue
                if design is None:
                    design = TrialDesign(study_id=fields_.get("study_id") or "", source=src)
                design.parameters.setdefault(fields_["parameter"], []).append(fields_.get("value") or "")
        arms: dict[str, tuple[str, list[tuple[int, str]]]] = {}
        for source in self._by_record("trial_arm"):
            for src, fields_ in self._rows(source):
                if isinstance(fields_, RowRejected):
                    self.rejected.append(fields_)
                    continue
                if design is None:
                    design = TrialDesign(study_id=fields_.get("study_id") or "", source=src)
                code, elements = arms.setdefault(fields_["arm"], (fields_.get("arm_code") or "", []))
                if fields_.get("element"):
                    elements.append((fields_.get("order") or 0, fields_["element"]))
        if design is not None:
            for arm, (code, elements) in arms.items():
                # TA gives an arm only as its sequence of elements: that sequence is its description.
                description = " → ".join(e for _, e in sorted(elements)) or None
                design.arms.append((code, arm, description))
        self.design = design


def _candidate_files(inputs: list[Path]) -> list[Path]:
    files: list[Path] = []
    for item in inputs:
        if item.is_dir():
            # Other JSON kept beside the tables (a registry record, a define in JSON) is not a table.
            files.extend(
                sorted(
                    p
                    for p in item.iterdir()
                    if p.is_file()
                    and table_stem(p) is not None
                    and (not p.name.lower().endswith(DATASET_JSON_SUFFIXES) or looks_like_dataset_json(p))
                )
            )
        elif item.is_file():
            if table_stem(item) is None:
                raise UsageError(
                    f"not a participant table: {item}",
                    hint="give .csv, .xpt or Dataset-JSON (.json, .ndjson) files, or a directory",
                )
            files.append(item)
        else:
            raise UsageError(f"no such file or directory: {item}", file=str(item))
    return files


_PREFIX_RE = re.compile(r"[a-z0-9]+")


def table_names(files: Iterable[Path], known: Iterable[str]) -> dict[Path, str]:
    """The table each file holds: its name when the layout knows it (dm.xpt, participants.csv, a spec's
    own names), else its DOMAIN column (SUPP--: "supp" + RDOMAIN, see tables.domain_of), else the name's
    leading letters and digits (dm_study01.csv, DM-2024.XPT → dm). Compared in lower case. A known
    name comes first so a spec's own table (labs.csv holding DOMAIN LB) is not taken for another."""
    names = set(known)
    out: dict[Path, str] = {}
    for p in files:
        stem = table_stem(p)
        if stem is None:
            continue
        domain = None if stem in names else domain_of(p)
        if stem in names:
            out[p] = stem
        elif domain is not None:
            out[p] = domain
        else:
            prefix = _PREFIX_RE.match(stem)
            out[p] = prefix.group(0) if prefix else stem
    return out


def _known_names() -> set[str]:
    return {f for name in BUILTIN_SPECS for t in load_spec(name).tables for f in t.files}


def detect_spec(files: Iterable[Path], names: Mapping[Path, str] | None = None) -> Spec:
    """The built-in spec whose detect tables are all among `files` (SDTM first)."""
    files = list(files)
    names = names if names is not None else table_names(files, _known_names())
    stems = {names.get(p) for p in files}
    for name in BUILTIN_SPECS:
        spec = load_spec(name)
        detect = [spec.table(t) for t in spec.detect]
        if detect and all(t is not None and stems & set(t.files) for t in detect):
            return spec
    raise UsageError(
        "cannot tell the layout of the participant data",
        hint="SDTM needs dm.xpt or dm.csv; the simple CSV layout needs participants.csv; "
        "for another layout pass a column-mapping spec (convert --spec)",
    )


def read_participants(
    path: str | Path | Iterable[str | Path],
    *,
    spec: Spec | str | Path | None = None,
    on_error: OnError = "raise",
) -> ParticipantData:
    """Read participant data from a directory or files, through `spec` (a Spec, a built-in name or a
    spec file) or, without one, the built-in layout the files match (SDTM or simple CSV)."""
    inputs = [Path(path)] if isinstance(path, (str, Path)) else [Path(p) for p in path]
    files = _candidate_files(inputs)
    if isinstance(spec, Spec) or spec is not None:
        chosen = spec if isinstance(spec, Spec) else load_spec(spec)
        names = table_names(files, {f for t in chosen.tables for f in t.files})
    else:
        names = table_names(files, _known_names())
        chosen = detect_spec(files, names)
    data = ParticipantData(spec=chosen, on_error=on_error)
    claimed: dict[Path, str] = {}
    for table in chosen.tables:
        matches = [p for p in files if names.get(p) in table.files]
        by_stem: dict[str | None, Path] = {}
        for p in matches:
            other = by_stem.setdefault(names.get(p), p)
            if other != p:
                # dm.xpt and dm.csv side by side: reading both would count every row twice.
                raise UsageError(
                    f"two files for table {table.name}: {other.name} and {p.name}",
                    file=str(p.parent),
                    hint="keep one of them",
                )
        sources = []
        for p in by_stem.values():
            shared = claimed.get(p)
            label = p.name if shared is None else f"{p.name} ({table.name})"
            claimed.setdefault(p, table.name)
            sources.append(_Source(table, p, label))
        if table.required and not sources:
            raise InputError(
                f"no {' / '.join(table.files)} file (.csv, .xpt or Dataset-JSON) for table {table.name}",
                file=", ".join(str(i) for i in inputs),
                hint=f"the {chosen.name} layout needs it",
            )
        data._sources[table.name] = sources
        data.files[table.name] = [s.label for s in sources]
    # Said out loud so the summary can list them: e.g. the pilot's CM, EX, MH, QS, SUPPDM.
    data.ignored_files = sorted(p.name for p in files if p not in claimed)
    data._load()
    return data
