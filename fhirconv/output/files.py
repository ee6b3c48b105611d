"""Writing output files atomically: a reader never sees a half-written file, a failed run leaves none."""

from __future__ import annotations

import errno
import glob
import hashlib
import os
import re
import stat
import sys
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TextIO

from fhirconv.errors import InputError, UsageError
from fhirconv.live_parts import LIVE_PARTS
from fhirconv.mapping.keys import NCT_RE

# A file name made from a study id keeps at most this many characters of it (file systems allow 255 bytes;
# the version and suffix, and a hash when the id had to be changed, must fit too).
NAME_MAX_CHARS = 80
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def study_file_name(study_id: str, suffix: str) -> str:
    """`<NCT ID><suffix>` for an NCT number; else a slug of the id that cannot name another folder.

    Ids come from the data (a CDISC STUDYID, say), so nothing of them is trusted as a path: only letters,
    digits, '_', '-' and inner '.' are kept, runs of anything else become '-', and the slug is cut to
    NAME_MAX_CHARS. When the slug is not the id itself, a short hash of the id is added, so two ids that
    slug alike ('A/B' and 'A:B') still get two files."""
    text = study_id.strip()
    if NCT_RE.fullmatch(text.upper()):
        return text.upper() + suffix
    slug = _UNSAFE.sub("-", text).strip(".-")[:NAME_MAX_CHARS].rstrip(".-")
    if slug != text:
        digest = hashlib.sha256(study_id.encode("utf-8", "surrogatepass")).hexdigest()[:10]
        slug = f"{slug}-{digest}" if slug else f"study-{digest}"
    return slug + suffix


def path_inside(folder: str | Path, name: str) -> Path:
    """`folder/name`, refused unless it is a file directly inside `folder` (the one check that no output
    path made from data leaves the -o directory, whatever made the name)."""
    base = Path(os.path.realpath(folder))
    # Path does not collapse '..', and a name holding a separator (or absolute) changes the parent.
    if "\0" in name or name in ("", ".", "..") or (base / name).parent != base:
        raise InputError(
            f"refusing to write {name[:NAME_MAX_CHARS]!r}: it is not a plain file name inside {folder}",
            hint="output names are made from NCT IDs or study ids; please report this as a bug",
        )
    return Path(folder) / name


def study_path(folder: str | Path, study_id: str, suffix: str) -> Path:
    """Where one study's output goes in an output directory: the only way such a path is made."""
    return path_inside(folder, study_file_name(study_id, suffix))


# The .part files this process is writing now (fhirconv.live_parts): a Ctrl-C that ends the process at once
# (fhirconv.entry) removes them.


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
    if target.exists() and (not target.stat().st_mode & stat.S_IWUSR or not os.access(target, os.W_OK)):
        # Renaming over it would succeed (only the folder's permission counts) and drop its mode: a
        # read-only file, reached directly or through a symlink, is refused (also for root, who may write
        # anything: the missing write bit is the owner's statement).
        raise UsageError(f"cannot write {path}: {target} is read-only",
                         hint="make it writable (chmod u+w) if it should be replaced, or choose another -o")
    mode = target.stat().st_mode & 0o7777 if target.exists() else 0o666 & ~_umask()
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        _remove_stale_parts(target)
        fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.{os.getpid()}.", suffix=".part", dir=target.parent)
    except OSError as exc:
        raise _cannot_write(path, exc) from exc
    LIVE_PARTS.add(tmp)
    try:
        # mkstemp makes the file private (0600); the output keeps the mode of the file it replaces, or
        # gets the usual permissions (umask applied).
        Path(tmp).chmod(mode)
        with os.fdopen(fd, "w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        Path(tmp).replace(target)
    except OSError as exc:  # a full disk (ENOSPC), a quota, an I/O error: no half-written file stays
        Path(tmp).unlink(missing_ok=True)
        raise _cannot_write(path, exc) from exc
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    finally:
        LIVE_PARTS.discard(tmp)


def _remove_stale_parts(target: Path) -> None:
    """Remove `.<name>.<pid>.*.part` files that a killed run (SIGKILL, power loss) left for this target.
    The pid in the name tells a dead writer's file from that of a run still writing the same target."""
    prefix = f".{target.name}."
    for part in target.parent.glob(f"{glob.escape(prefix)}*.part"):
        pid = part.name[len(prefix) :].split(".", 1)[0]
        if pid.isdigit() and not _alive(int(pid)):
            part.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    return True


def _cannot_write(path: str | Path, exc: OSError) -> UsageError:
    reason = exc.strerror or type(exc).__name__
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        hint = "free some space on that file system, or write elsewhere with -o; nothing was left half-written"
    else:
        hint = "check the -o path: its folder must be writable"
    return UsageError(f"cannot write {path}: {reason.lower()}", hint=hint)


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
