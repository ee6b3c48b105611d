"""Opening input files, decompressing `.gz` on the fly with a bound on what a small file may expand to."""

from __future__ import annotations

import gzip
import io
import os
import zlib
from pathlib import Path
from typing import IO, Any

from fhirconv.errors import InputError, UsageError

# A gzipped table is decompressed while it is read, so a 2 MB file that expands to 2 GB (a
# "decompression bomb") would cost minutes and gigabytes before any row looked wrong. Two bounds stop it:
# - MAX_DECOMPRESSED_BYTES: no single file expands beyond this. 5 GiB is the size above which the FDA's
#   Study Data Technical Conformance Guide asks for an SDTM dataset to be split, so real submissions stay under.
# - MAX_RATIO: once RATIO_AFTER_BYTES have come out, output may be at most this many times the compressed
#   bytes read. Real SDTM transport files compress 45-130x (CDISC pilot LB, VS, SUPPLB, SUPPDM, gzip -9);
#   deflate's ceiling is about 1030x, which is what a bomb uses.
# A user with bigger or more compressible data raises them with these environment variables (0: no bound).
MAX_DECOMPRESSED_BYTES = 5 * 1024**3
MAX_RATIO = 400
RATIO_AFTER_BYTES = 8 * 1024**2
ENV_MAX_BYTES = "FHIRCONV_MAX_DECOMPRESSED_BYTES"
ENV_MAX_RATIO = "FHIRCONV_MAX_GZIP_RATIO"


def _limit(env: str, default: int) -> int:
    raw = os.environ.get(env)
    if raw is None or not raw.strip():
        return default
    if not raw.strip().isdigit():
        raise UsageError(f"{env}={raw[:40]!r} is not a whole number", hint=f"e.g. {env}={default} (0: no bound)")
    return int(raw)


class _BoundedGzip(io.RawIOBase):
    """A gzip stream that counts what it yields, refusing past the bounds, and turns every way a .gz can
    be broken (bad header, corrupt deflate data, truncation, bad CRC) into an InputError naming the file."""

    def __init__(self, path: Path) -> None:
        self._max_bytes = _limit(ENV_MAX_BYTES, MAX_DECOMPRESSED_BYTES)
        self._max_ratio = _limit(ENV_MAX_RATIO, MAX_RATIO)
        self._path = path
        self._out = 0
        self._raw = path.open("rb")
        self._gz = gzip.GzipFile(fileobj=self._raw, mode="rb")

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        try:
            n = self._gz.readinto(buffer)
        except (OSError, EOFError, zlib.error) as exc:  # BadGzipFile is an OSError; truncation an EOFError
            raise InputError(
                f"cannot decompress: {exc or type(exc).__name__}",
                file=str(self._path),
                hint="the .gz file is damaged or cut short; copy it again, or give the uncompressed file",
            ) from exc
        self._out += n
        if self._max_bytes and self._out > self._max_bytes:
            raise self._bomb(f"it expands to more than {self._max_bytes:,} bytes", ENV_MAX_BYTES)
        if self._max_ratio and self._out > RATIO_AFTER_BYTES:
            read = max(self._raw.tell(), 1)
            if self._out > self._max_ratio * read:
                raise self._bomb(
                    f"{read:,} compressed bytes expanded to {self._out:,} (more than {self._max_ratio}x)", ENV_MAX_RATIO
                )
        return n

    def _bomb(self, why: str, env: str) -> InputError:
        return InputError(
            f"refusing to decompress further: {why}",
            file=str(self._path),
            hint=f"this looks like a decompression bomb; if the data are real, raise {env} (0: no bound)",
        )

    def close(self) -> None:
        try:
            self._gz.close()
            self._raw.close()
        finally:
            super().close()


def open_binary(path: Path) -> IO[bytes]:
    """The file's bytes, decompressed on the fly (within the bounds above) when its name ends in .gz."""
    if path.name.lower().endswith(".gz"):
        return io.BufferedReader(_BoundedGzip(path), buffer_size=1024 * 1024)
    return path.open("rb")
