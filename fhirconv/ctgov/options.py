"""`ctgov_options`: the ClinicalTrials.gov options shared by `fetch` and `convert`, turned into CtgovSettings."""

from __future__ import annotations

import functools
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from fhirconv.ctgov.settings import DEFAULT_BASE_URL, DEFAULT_INTERVAL, ENV_BASE_URL, ENV_CACHE_DIR, CtgovSettings

F = TypeVar("F", bound=Callable[..., Any])

CACHE_HELP = """\b
Cache: each study fetched by NCT ID is kept as <cache dir>/ctgov/<server>/<NCT ID>.json
(cache dir: --cache-dir, $FHIRCONV_CACHE_DIR, $XDG_CACHE_HOME/fhirconv or ~/.cache/fhirconv).
A cached record younger than --max-age (default 24 h; the registry publishes updates
once a day) is used with no request at all, so a record updated upstream within that
window is not seen until it expires. An older one costs a single small request for
its LastUpdatePostDate: unchanged, it is used; changed, it is downloaded again.
--refresh always downloads. A truncated or non-JSON answer is never cached."""

_NAMES = ("ctgov_url", "cache_dir", "refresh", "max_age", "ctgov_timeout", "ctgov_retries", "ctgov_interval")


def ctgov_options(func: F) -> F:
    """Add --ctgov-url, --cache-dir, --refresh, --max-age and the --ctgov-* network options to a command;
    the command receives one `ctgov: CtgovSettings` keyword argument instead of them."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        values = {name: kwargs.pop(name) for name in _NAMES}
        kwargs["ctgov"] = CtgovSettings(
            base_url=values["ctgov_url"],
            cache_dir=Path(values["cache_dir"]) if values["cache_dir"] else None,
            refresh=values["refresh"],
            max_age=values["max_age"] * 3600.0,
            timeout=values["ctgov_timeout"],
            retries=values["ctgov_retries"],
            interval=values["ctgov_interval"],
        )
        return func(*args, **kwargs)

    options = [
        click.option(
            "--ctgov-url",
            envvar=ENV_BASE_URL,
            default=DEFAULT_BASE_URL,
            show_default=True,
            metavar="URL",
            help=f"ClinicalTrials.gov API v2 base URL (a mirror or test server works too; env {ENV_BASE_URL}).",
        ),
        click.option(
            "--cache-dir",
            envvar=ENV_CACHE_DIR,
            type=click.Path(file_okay=False),
            help=f"Where fetched records are cached (env {ENV_CACHE_DIR}; default ~/.cache/fhirconv).",
        ),
        click.option("--refresh", is_flag=True, help="Download records again even when cached."),
        click.option(
            "--max-age",
            type=click.FloatRange(min=0),
            default=24.0,
            show_default=True,
            metavar="HOURS",
            help="Use a cached record without any request while it is younger than this; 0: always re-check.",
        ),
        click.option(
            "--ctgov-timeout",
            type=click.FloatRange(min=0, min_open=True),
            default=30.0,
            show_default=True,
            metavar="SECONDS",
            help="Timeout for connecting to ClinicalTrials.gov and for each read.",
        ),
        click.option(
            "--ctgov-retries",
            type=click.IntRange(min=0),
            default=4,
            show_default=True,
            metavar="N",
            help="Retries on connection errors, timeouts, 429 and 5xx (exponential backoff, Retry-After honoured).",
        ),
        click.option(
            "--ctgov-interval",
            type=click.FloatRange(min=0),
            default=DEFAULT_INTERVAL,
            show_default=True,
            metavar="SECONDS",
            help="Minimum time between two requests (the public API allows about 50 a minute).",
        ),
    ]
    decorated: Callable[..., Any] = wrapper
    for option in reversed(options):
        decorated = option(decorated)
    return decorated  # type: ignore[return-value]
