"""The console-script entry point: nothing imported before the SIGINT guard is in place."""

from __future__ import annotations

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


def run() -> None:
    """`fhirconv ...`"""
    guarded(cli)
