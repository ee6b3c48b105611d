"""The console-script entry point: nothing imported before the SIGINT guard is in place."""

from __future__ import annotations

import contextlib
import os
import signal
import sys
from collections.abc import Callable
from pathlib import Path

from fhirconv.live_parts import LIVE_PARTS


def cli() -> None:
    """The command line itself, imported only once the guard holds."""
    from fhirconv.cli import main

    main(prog_name="fhirconv")


MESSAGE = "interrupted: no partial output file is left; run the same command again to finish\n"


def _interrupted(_signum: int, _frame: object) -> None:
    """Ctrl-C ends the process here and now. Raising KeyboardInterrupt instead can land inside a C extension's
    import or callback (numpy, pydantic-core, orjson) and crash the interpreter: CI saw exit -11 (SIGSEGV) for a
    Ctrl-C early in a run. Nothing is lost by exiting: outputs are written to .part files, removed here, and
    replaced atomically; a push resumes without duplicates."""
    # Nothing is imported here (see fhirconv.live_parts), and whatever fails, the process ends with 130.
    try:
        for part in list(LIVE_PARTS):
            with contextlib.suppress(OSError):
                Path(part).unlink()
        sys.stderr.write(MESSAGE)
        sys.stderr.flush()
    finally:
        os._exit(130)


def guarded(body: Callable[[], None]) -> None:
    """Run `body`; Ctrl-C at any moment, even while the CLI is still being imported, ends with a short
    message and exit 130 (128 + SIGINT), never a traceback. (Later interrupts are met by the CLI's own
    handler, which says the same; this one covers what comes before it.)"""
    signal.signal(signal.SIGINT, _interrupted)
    try:
        body()
    except KeyboardInterrupt:  # one that came before the handler above was in place
        sys.stderr.write(MESSAGE)
        sys.exit(130)
    finally:
        # The run is over (its output complete or cleaned up): a Ctrl-C now would only kill the interpreter's
        # shutdown by signal and hide the run's exit status, so it is ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run() -> None:
    """`fhirconv ...`"""
    guarded(cli)
