"""Registry readers: find the study records in files, directories or stdin, detect each format, parse to Study."""

from __future__ import annotations

import codecs
import json
import re
import sys
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from fhirconv.errors import FhirconvError, InputError, UsageError, cut
from fhirconv.model.study import Study, StudyRecord
from fhirconv.readers import bulk, jsonload
from fhirconv.readers.failure import ReadFailure

__all__ = ["EXTENSIONS", "ReadFailure", "read_bytes", "read_sources", "read_study"]

# Files a directory walk picks up; anything else there (README, specs, schemas) is not a record.
EXTENSIONS = frozenset({".json", ".ndjson", ".jsonl", ".xml", ".txt"})
_JSON_SUFFIXES = frozenset({".json", ".ndjson", ".jsonl"})
_NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl"})
STDIN = "<stdin>"
_LEADING_SPACE = re.compile(rb"[ \t\n\r\x0b\x0c]*")  # what bytes.lstrip() removes

_FORMATS_HINT = (
    'expected an API v2 study ({"protocolSection": ...}), an API v2 page ({"studies": [...]}), '
    'NDJSON (one study per line), classic API JSON ({"Study": ...} or FullStudiesResponse), '
    "legacy <clinical_study> XML, or a study page saved as text"
)

Item = StudyRecord | ReadFailure


def read_sources(sources: Iterable[str]) -> Iterator[Item]:
    """Every record of every source, in order: files, directories (recursive, sorted) and "-" (stdin).

    A record that cannot be read is yielded as a ReadFailure and reading goes on with the next one."""
    for source in sources:
        if source == "-":
            yield from read_bytes(sys.stdin.buffer.read(), STDIN)
            continue
        path = Path(source)
        if path.is_dir():
            files = sorted(p for p in path.rglob("*") if p.suffix.lower() in EXTENSIONS and p.is_file())
            if not files:
                err = UsageError(
                    "directory holds no study files",
                    file=source,
                    hint="record files end in " + ", ".join(sorted(EXTENSIONS)),
                )
                yield ReadFailure(source=source, index=None, nct_id=None, error=err)
            for file in files:
                yield from _read_file(file)
        else:
            yield from _read_file(path)


def _read_file(path: Path) -> Iterator[Item]:
    source = str(path)
    if bulk.is_bulk(source):  # a registry bulk download: its members, one at a time
        yield from bulk.read_members(source)
        return
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        err = UsageError("no such file or directory", file=source, hint="check the path")
        yield ReadFailure(source=source, index=None, nct_id=None, error=err)
        return
    except OSError as exc:
        err = UsageError(f"cannot read: {exc.strerror or exc}", file=source)
        yield ReadFailure(source=source, index=None, nct_id=None, error=err)
        return
    yield from read_bytes(data, source, suffix=path.suffix.lower())


def read_bytes(data: bytes, source: str, *, suffix: str = "") -> Iterator[Item]:
    """The records in one file's (or stdin's, or an HTTP body's) bytes; the format is told by content.

    `suffix` (".json", ".ndjson", ...) only decides how to report content that fits no format, and
    that a one-line .ndjson file is NDJSON."""
    if data.startswith(codecs.BOM_UTF8):
        data = data[len(codecs.BOM_UTF8) :]
    space = _LEADING_SPACE.match(data)
    start = space.end() if space else 0
    head = data[start : start + 1]  # as data.lstrip()[:1], without copying a large file
    if not head:
        yield _failure(source, None, None, InputError("empty file", hint=_FORMATS_HINT))
    elif head == b"<" or (suffix == ".xml" and head not in (b"{", b"[")):
        # Content decides; the suffix only picks which parser explains content that fits nothing.
        from fhirconv.readers.ctgov_xml import read_xml  # part B's reader; loaded only when needed

        yield from read_xml(data, source)
    elif suffix in _NDJSON_SUFFIXES:
        yield from _read_ndjson(data, source)
    elif head in (b"{", b"[") or suffix in _JSON_SUFFIXES:
        yield from _read_json(data, source)
    else:
        yield from _read_page_text(data, source)


def _failure(source: str, index: int | None, nct_id: str | None, error: FhirconvError) -> ReadFailure:
    record = nct_id or (str(index) if index is not None else None)
    return ReadFailure(source=source, index=index, nct_id=nct_id, error=error.located(file=source, record=record))


def _read_json(data: bytes, source: str) -> Iterator[Item]:
    try:
        value, check = jsonload.loads(data)
    except json.JSONDecodeError as exc:
        # A JSON value followed by more JSON on the next line is NDJSON saved as .json.
        if exc.msg == "Extra data":
            yield from _read_ndjson(data, source)
            return
        err = InputError(
            f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
            hint="the file is not valid JSON; check it was saved or downloaded completely",
        )
        yield _failure(source, None, None, err)
        return
    except (UnicodeDecodeError, RecursionError) as exc:
        yield _failure(source, None, None, _unreadable(exc))
        return
    yield from _read_json_value(value, source, check)


def _unreadable(exc: Exception) -> InputError:
    what = "nested too deeply" if isinstance(exc, RecursionError) else "not UTF-8"
    return InputError(
        f"not a study record: unreadable as JSON ({what})",
        hint="expected UTF-8 JSON nested less than about 1,000 levels deep",
    )


def _read_json_value(value: Any, source: str, check: bool) -> Iterator[Item]:
    if isinstance(value, list):
        for i, element in enumerate(value):
            yield _read_json_record(element, source, i, check)
    elif isinstance(value, dict) and "studies" in value and "protocolSection" not in value:
        studies = value["studies"]
        if not isinstance(studies, list):
            err = InputError("'studies' of an API v2 page is not a list", field="studies", hint=_FORMATS_HINT)
            yield _failure(source, None, None, err)
            return
        for i, element in enumerate(studies):
            yield _read_json_record(element, source, i, check)
    elif isinstance(value, dict) and "FullStudiesResponse" in value:
        from fhirconv.readers.ctgov_classic import classic_page_studies

        try:
            elements = classic_page_studies(value)
        except FhirconvError as exc:
            yield _failure(source, None, None, exc)
            return
        for i, element in enumerate(elements):
            yield _read_json_record(element, source, i, check)
    else:
        yield _read_json_record(value, source, None, check)


def _read_json_record(value: Any, source: str, index: int | None, check: bool) -> Item:
    """One study object, v2 or classic, → StudyRecord; anything else → ReadFailure.

    `check`: the text was one orjson refused, so the record may hold values that are refused here."""
    if isinstance(value, dict) and "protocolSection" in value:
        from fhirconv.readers.ctgov_v2 import nct_id_of, read_v2_study

        nct_id = nct_id_of(value)
        try:
            if check:
                jsonload.refuse_defects(value)
            study = read_v2_study(value)
        except FhirconvError as exc:
            return _failure(source, index, nct_id, exc)
        return StudyRecord(study=study, source=source, index=index, format="ctgov-v2")
    if isinstance(value, dict) and ("Study" in value or "ProtocolSection" in value):
        from fhirconv.readers.ctgov_classic import classic_nct_id_of, read_classic_study

        nct_id = classic_nct_id_of(value)
        try:
            if check:
                jsonload.refuse_defects(value)
            study = read_classic_study(value)
        except FhirconvError as exc:
            return _failure(source, index, nct_id, exc)
        return StudyRecord(study=study, source=source, index=index, format="ctgov-classic")
    if isinstance(value, dict):
        keys = ", ".join(k if len(k) <= 40 else cut(k, 40) for k in list(value)[:5]) or "none"
        what = f"an object with keys {keys}"
    else:
        what = f"a JSON {type(value).__name__}"
    err = InputError(f"not a ClinicalTrials.gov study record ({what})", hint=_FORMATS_HINT)
    return _failure(source, index, None, err)


def _read_ndjson(data: bytes, source: str) -> Iterator[Item]:
    index = 0
    for line_no, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue  # blank lines (a trailing newline, CRLF pairs) separate nothing
        try:
            value, check = jsonload.loads(line)
        except json.JSONDecodeError as exc:
            err = InputError(
                f"malformed JSON on line {line_no}: {exc.msg}", hint="NDJSON holds one complete JSON study per line"
            )
            yield _failure(source, index, None, err)
        except (UnicodeDecodeError, RecursionError) as exc:
            err = _unreadable(exc)
            err.message = f"line {line_no}: {err.message}"
            yield _failure(source, index, None, err)
        else:
            yield _read_json_record(value, source, index, check)
        index += 1


def _read_page_text(data: bytes, source: str) -> Iterator[Item]:
    text = _decode_page(data)
    if text is None:
        err = InputError("not a study record: not text in a format fhirconv reads", hint=_FORMATS_HINT)
        yield _failure(source, None, None, err)
        return
    from fhirconv.readers.ctgov_page_text import read_page_text  # part B's reader; loaded only when needed

    try:
        yield read_page_text(text, source)
    except FhirconvError as exc:
        yield _failure(source, None, None, exc)


def _decode_page(data: bytes) -> str | None:
    """A saved web page as text: UTF-8 (with or without BOM), UTF-16 with a BOM (Windows "Unicode"), or
    else Windows-1252, which is what a browser's "save as text" writes on Western Windows systems. Binary
    data (NUL bytes without a UTF-16 BOM) is not text."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            return data.decode("utf-16")
        except UnicodeDecodeError:
            return None
    if b"\x00" in data:
        return None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:  # the five bytes cp1252 leaves undefined
        return None


def read_study(path: str | Path) -> Study:
    """Python API: the one study in a file (any supported format); raises the reader's error."""
    records = list(read_sources([str(path)]))
    failures = [r for r in records if isinstance(r, ReadFailure)]
    if failures and len(failures) == len(records):
        raise failures[0].error
    if len(records) != 1:
        raise InputError(
            f"holds {len(records)} study records, not one",
            file=str(path),
            hint="use fhirconv.readers.read_sources() for files with several records",
        )
    item = records[0]
    if isinstance(item, ReadFailure):
        raise item.error
    return item.study
