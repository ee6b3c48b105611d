"""How fhirconv talks to ClinicalTrials.gov: base URL, cache place and policy, timeouts, retries, pacing."""

from __future__ import annotations

import hashlib
import os
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from fhirconv.ctgov.cache import StudyCache
    from fhirconv.ctgov.client import CtgovClient

DEFAULT_BASE_URL = "https://clinicaltrials.gov/api/v2"
ENV_BASE_URL = "FHIRCONV_CTGOV_URL"
ENV_CACHE_DIR = "FHIRCONV_CACHE_DIR"

# ClinicalTrials.gov refreshes its data once a day, so a record younger than a day is re-used without
# asking; an older one costs one tiny `fields=LastUpdatePostDate` request before it is re-used.
DEFAULT_MAX_AGE = 24 * 3600.0
# The public API allows about 50 requests a minute per client address; 1.2 s apart stays under it.
DEFAULT_INTERVAL = 1.2


def default_cache_dir() -> Path:
    """$FHIRCONV_CACHE_DIR, else $XDG_CACHE_HOME/fhirconv, else ~/.cache/fhirconv."""
    explicit = os.environ.get(ENV_CACHE_DIR)
    if explicit:
        return Path(explicit).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "fhirconv"


def _warn_to_stderr(message: str) -> None:
    from fhirconv import progress  # one place collects warnings: repeats are counted, -q silences them

    progress.warn("cached records used without checking for updates", message)


@dataclass(slots=True)
class CtgovSettings:
    """Everything the fetch layer needs; the CLI builds one from its options (see options.ctgov_options).

    `sleep`, `clock` and `now` are injectable so retry and cache-age tests run without waiting.
    """

    base_url: str = DEFAULT_BASE_URL
    cache_dir: Path | None = None  # None: default_cache_dir()
    refresh: bool = False  # ignore cached records (still writes the fresh ones)
    max_age: float = DEFAULT_MAX_AGE  # seconds a cached record is trusted without any request
    timeout: float = 30.0  # seconds, for connecting and for each read
    retries: int = 4  # extra attempts after the first, on connection errors, timeouts, 429 and 5xx
    backoff: float = 1.0  # first retry delay; doubles each time unless the server sends Retry-After
    max_backoff: float = 60.0
    max_retry_after: float = 300.0  # a longer Retry-After means "not today": give up instead of hanging
    interval: float = DEFAULT_INTERVAL  # minimum seconds between two requests (politeness)
    page_size: int = 100  # studies per search page (the API caps it at 1000)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], float] = time.time  # wall clock, compared with cache file times
    warn: Callable[[str], None] = _warn_to_stderr
    _client: CtgovClient | None = field(default=None, init=False, repr=False, compare=False)

    @classmethod
    def from_env(cls, **overrides: object) -> CtgovSettings:
        """Settings for library use: base URL from $FHIRCONV_CTGOV_URL when set, then explicit overrides."""
        values: dict[str, object] = {}
        if os.environ.get(ENV_BASE_URL):
            values["base_url"] = os.environ[ENV_BASE_URL]
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]

    @property
    def api_base(self) -> str:
        return self.base_url.rstrip("/")

    def cache_root(self) -> Path:
        """The cache folder for this base URL: records of a mirror or test server never mix with the real ones."""
        root = self.cache_dir if self.cache_dir is not None else default_cache_dir()
        slug = re.sub(r"[^A-Za-z0-9]+", "-", self.api_base.split("://", 1)[-1]).strip("-")[:60]
        digest = hashlib.sha256(self.api_base.encode()).hexdigest()[:8]
        return root / "ctgov" / f"{slug}-{digest}"

    def client(self) -> CtgovClient:
        """The one HTTP client (one session, one pacing clock) shared by every call with these settings."""
        if self._client is None:
            from fhirconv.ctgov.client import CtgovClient

            self._client = CtgovClient(self)
        return self._client

    def cache(self) -> StudyCache:
        from fhirconv.ctgov.cache import StudyCache

        return StudyCache(self.cache_root())
