"""Writing output files atomically: a reader never sees a half-written file, a failed run leaves none."""

from __future__ import annotations

import os
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from fhirconv.errors import UsageError


@contextmanager
def atomic_writer(path: str | Path) -> Iterator[TextIO]:
    """Open a temp file beside `path`; rename it over `path` only if the block completes.

    A symlink is written through (the link stays, the file it points at is replaced). A device, FIFO or
    socket (/dev/stdout, /dev/null, a named pipe) is written into directly: there is no file to replace,
    and renaming over it would swap the device for a plain file."""
    target = Path(os.path.realpath(path))
    if target.exists() and not target.is_file():
        if target.is_dir():
            raise UsageError(f"cannot write {path}: it is a directory",
                             hint="give a file name (or, for one file per study, a directory ending in /)")
        try:
            stream = target.open("w", encoding="utf-8", newline="\n")
        except OSError as exc:
            raise _cannot_write(path, exc) from exc
        with stream:
            yield stream
        return
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    try:
        # mkstemp makes the file private (0600); an output file gets the usual permissions (umask applied).
        Path(tmp).chmod(0o666 & ~_umask())
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _cannot_write(path: str | Path, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    return UsageError(f"cannot write {path}: {reason.lower()}", hint="check the -o path: its folder must be writable")


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def write_text(path: str | Path | None, text: str) -> None:
    """Write `text` to `path` atomically, or to stdout when `path` is None or '-'."""
    if path is None or str(path) == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    with atomic_writer(path) as handle:
        handle.write(text)


def write_lines(path: str | Path | None, lines: Iterable[str]) -> int:
    """Stream lines (each ending in a newline) atomically; returns how many were written."""
    count = 0
    if path is None or str(path) == "-":
        for line in lines:
            sys.stdout.write(line)
            count += 1
        sys.stdout.flush()
        return count
    with atomic_writer(path) as handle:
        for line in lines:
            handle.write(line)
            count += 1
    return count
