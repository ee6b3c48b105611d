"""The console-script entry point: nothing imported before the SIGINT guard is in place."""

from __future__ import annotations

import signal
import sys
from collections.abc import Callable


def cli() -> None:
    """The command line itself, imported only once the guard holds."""
    from fhirconv.cli import main

    main(prog_name="fhirconv")


def guarded(body: Callable[[], None]) -> None:
    """Run `body`; Ctrl-C at any moment, even while the CLI is still being imported, ends with a short
    message and exit 130 (128 + SIGINT), never a traceback. (Later interrupts are met by the CLI's own
    handler, which says the same; this one covers what comes before it.)"""
    try:
        body()
    except KeyboardInterrupt:
        sys.stderr.write("interrupted: no partial output file is left; run the same command again to finish\n")
        sys.exit(130)
    finally:
        # The run is over (its output complete or cleaned up): a Ctrl-C now would only kill the interpreter's
        # shutdown by signal and hide the run's exit status, so it is ignored.
        signal.signal(signal.SIGINT, signal.SIG_IGN)


def run() -> None:
    """`fhirconv ...`"""
    guarded(cli)
