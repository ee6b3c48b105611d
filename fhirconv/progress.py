"""What a long command tells the user on stderr while it runs: progress (a bar or lines) and counted warnings.

One place for both, so that `-q` silences both and a warning never tears a half-drawn bar. Progress is a bar
when stderr is a terminal; with `--progress` and no terminal (a log, CI) it is a line every few seconds and a
last line at the end. Warnings are grouped by kind: the first of each kind is printed, the rest counted and
summed up once at the end ("and 232 more like it"), so one cause is one line, not 233.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TextIO

# Seconds between progress lines when stderr is not a terminal; a terminal's bar redraws at most this often.
LINE_INTERVAL = 5.0
BAR_INTERVAL = 0.1
BAR_WIDTH = 24


@dataclass(slots=True)
class Settings:
    quiet: bool = False
    progress: bool | None = None  # None: a bar when stderr is a terminal, nothing otherwise
    stream: Callable[[], TextIO] = field(default=lambda: sys.stderr)


settings = Settings()


def configure(*, quiet: bool | None = None, progress: bool | None = None) -> None:
    """Set by the CLI options (-q, --progress/--no-progress) before the command runs."""
    if quiet is not None:
        settings.quiet = quiet
    if progress is not None:
        settings.progress = progress


def reset() -> None:
    """Back to the defaults (each CLI invocation starts from them)."""
    settings.quiet = False
    settings.progress = None
    notices.clear()


def _is_tty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


class Progress:
    """Counts units of work (rows, records, resources) and shows count, rate and, with a total, % and ETA."""

    def __init__(
        self, label: str, unit: str, total: int | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.label, self.unit, self.total = label, unit, total
        self.done = 0
        self._clock = clock
        self._started = clock()
        self._shown = self._started
        stream = settings.stream()
        if settings.quiet or settings.progress is False:
            self.mode = "off"
        elif _is_tty(stream):
            self.mode = "bar"
        else:
            self.mode = "lines" if settings.progress else "off"
        self._drawn = False  # a bar is on the terminal's current line

    def __enter__(self) -> Progress:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close(ok=exc[0] is None)

    def advance(self, n: int = 1) -> None:
        self.done += n
        if self.mode == "off":
            return
        now = self._clock()
        if now - self._shown >= (BAR_INTERVAL if self.mode == "bar" else LINE_INTERVAL):
            self._shown = now
            self._show(now, final=False)

    def step(self, n: int, total: int) -> None:
        """`advance` for callers that learn the total as they go (push's chunks, verify's batches)."""
        self.total = total
        self.advance(n)

    def close(self, *, ok: bool = True) -> None:
        if self.mode == "off":
            return
        if ok:
            self._show(self._clock(), final=True)
        else:
            self.clear()
        self.mode = "off"

    def clear(self) -> None:
        """Rub out the bar (before a warning is printed, or when the command fails)."""
        if self.mode == "bar" and self._drawn:
            stream = settings.stream()
            stream.write("\r\x1b[2K")
            stream.flush()
            self._drawn = False

    def line(self, now: float | None = None, *, final: bool = False) -> str:
        elapsed = max((now if now is not None else self._clock()) - self._started, 1e-9)
        rate = self.done / elapsed
        parts = [f"{self.label}: {self.done:,}"]
        if self.total:
            parts[0] += f"/{self.total:,} {self.unit} ({100 * self.done / self.total:.0f}%)"
        else:
            parts[0] += f" {self.unit}"
        parts.append(f"{rate:,.0f} {self.unit}/s")
        if final:
            parts.append(f"done in {elapsed:.1f} s")
        elif self.total and rate > 0:
            parts.append(f"ETA {_duration(max(self.total - self.done, 0) / rate)}")
        return ", ".join(parts)

    def _show(self, now: float, *, final: bool) -> None:
        stream = settings.stream()
        text = self.line(now, final=final)
        if self.mode == "bar":
            bar = ""
            if self.total:
                filled = min(BAR_WIDTH, BAR_WIDTH * self.done // self.total)
                bar = "[" + "#" * filled + "." * (BAR_WIDTH - filled) + "] "
            stream.write("\r\x1b[2K" + bar + text + ("\n" if final else ""))
            self._drawn = not final
        else:
            stream.write(text + "\n")
        stream.flush()
        _active[:] = [] if final else [self]


_active: list[Progress] = []  # the bar on screen, if any, so a warning can rub it out first


def start(label: str, unit: str, total: int | None = None) -> Progress:
    return Progress(label, unit, total)


class Notices:
    """Warnings by kind: the first of a kind is printed at once, repeats are counted for `flush`."""

    def __init__(self) -> None:
        self.counts: dict[str, int] = {}

    def clear(self) -> None:
        self.counts.clear()

    def warn(self, kind: str, message: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1
        if self.counts[kind] == 1 and not settings.quiet:
            for bar in _active:
                bar.clear()
            print(f"warning: {message}", file=settings.stream())

    def flush(self) -> None:
        """One line per kind that repeated: how many more there were."""
        if not settings.quiet:
            for kind, count in self.counts.items():
                if count > 1:
                    print(f"warning: {count - 1} more like it: {kind}", file=settings.stream())
        self.counts.clear()


notices = Notices()


def warn(kind: str, message: str) -> None:
    """Say `message` once per `kind` (a short name of the cause); repeats are counted, summed at the end."""
    notices.warn(kind, message)


def _duration(seconds: float) -> str:
    seconds = int(seconds + 0.5)
    if seconds < 60:
        return f"{seconds} s"
    if seconds < 3600:
        return f"{seconds // 60} min {seconds % 60:02d} s"
    return f"{seconds // 3600} h {seconds % 3600 // 60:02d} min"
