"""ClinicalTrials.gov's bulk downloads, read in place: `ctg-studies.json.zip` (one API v2 JSON per study) and
the legacy `AllPublicXML.zip` (one <clinical_study> XML per study, in NCTnnnnxxxx/ folders).

Members are read one at a time (the archive is never unpacked, nor held whole), each up to MEMBER_LIMIT bytes:
a member claiming, or inflating to, more is refused by name (a zip bomb cannot exhaust memory)."""

from __future__ import annotations

import zipfile
from collections.abc import Iterable, Iterator
from pathlib import PurePosixPath
from typing import TYPE_CHECKING

from fhirconv.errors import InputError, UsageError
from fhirconv.readers.failure import ReadFailure

if TYPE_CHECKING:
    from fhirconv.model.study import StudyRecord

MEMBER_LIMIT = 64 * 1024 * 1024  # the registry's largest study is a few MB of JSON
_RECORD_SUFFIXES = frozenset({".json", ".xml", ".ndjson", ".jsonl"})


def is_bulk(path: str) -> bool:
    return path.lower().endswith(".zip")


def members(path: str) -> list[str] | ReadFailure:
    """The study members of a bulk zip, in archive order (folders, READMEs and other files left out)."""
    try:
        with zipfile.ZipFile(path) as archive:
            return [i.filename for i in archive.infolist()
                    if not i.is_dir() and PurePosixPath(i.filename).suffix.lower() in _RECORD_SUFFIXES]
    except FileNotFoundError:
        return ReadFailure(path, None, None, UsageError("no such file", file=path, hint="check the path"))
    except (zipfile.BadZipFile, OSError) as exc:
        err = InputError(f"not a readable zip archive: {exc}", file=path,
                         hint="download ctg-studies.json.zip (or AllPublicXML.zip) again: it may be cut short")
        return ReadFailure(path, None, None, err)


def read_members(path: str, names: Iterable[str] | None = None) -> Iterator[StudyRecord | ReadFailure]:
    """The records of the named members (default: all study members), one member in memory at a time. Each
    member's records are sourced as `ARCHIVE!MEMBER`."""
    from fhirconv.readers import read_bytes

    listed = members(path) if names is None else list(names)
    if isinstance(listed, ReadFailure):
        yield listed
        return
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        yield ReadFailure(path, None, None, InputError(f"not a readable zip archive: {exc}", file=path))
        return
    with archive:
        for name in listed:
            source = f"{path}!{name}"
            try:
                info = archive.getinfo(name)
                if info.file_size > MEMBER_LIMIT:
                    raise InputError(f"member is {info.file_size} bytes, more than the {MEMBER_LIMIT} a study can be",
                                     hint="this is not a ClinicalTrials.gov study file")
                with archive.open(info) as member:
                    data = member.read(MEMBER_LIMIT + 1)  # the stored size can lie: never inflate past it
                if len(data) > MEMBER_LIMIT:
                    raise InputError(f"member inflates to more than {MEMBER_LIMIT} bytes",
                                     hint="this is not a ClinicalTrials.gov study file")
            except (InputError, KeyError, zipfile.BadZipFile, OSError, EOFError) as exc:
                err = exc if isinstance(exc, InputError) else InputError(
                    f"cannot read this member: {exc}", hint="download the archive again: it may be damaged")
                yield ReadFailure(source, None, None, err.located(file=source))
                continue
            yield from read_bytes(data, source, suffix=PurePosixPath(name).suffix.lower())
