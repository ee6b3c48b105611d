"""The one door to the ClinicalTrials.gov API: a requests session with timeouts, pacing and retries."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import requests

from fhirconv import __version__
from fhirconv.ctgov.errors import CtgovBadAnswer, CtgovUnreachable, StudyNotFound
from fhirconv.errors import UsageError
from fhirconv.retry_after import retry_after_seconds

if TYPE_CHECKING:
    from fhirconv.ctgov.settings import CtgovSettings

USER_AGENT = f"fhirconv/{__version__}"
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
URL_HINT = (
    "check --ctgov-url (or $FHIRCONV_CTGOV_URL): it must be the API v2 base, e.g. https://clinicaltrials.gov/api/v2"
)
# Transport faults worth another try: the request is a GET, so repeating it is always safe.
_TRANSIENT = (
    requests.ConnectionError,
    requests.Timeout,
    requests.exceptions.ChunkedEncodingError,  # body cut short (fewer bytes than Content-Length)
    requests.exceptions.ContentDecodingError,
)

Params = list[tuple[str, str]]


def _snippet(body: bytes, limit: int = 120) -> str:
    text = body.decode("utf-8", errors="replace").strip().replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"


class CtgovClient:
    """GET JSON from the API. Maps statuses to fhirconv errors; retries 429/5xx and transport faults with
    exponential backoff (Retry-After wins when the server sends it); keeps requests `interval` apart."""

    def __init__(self, settings: CtgovSettings) -> None:
        self.settings = settings
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        self._last_request: float | None = None
        self.requests_made = 0

    def close(self) -> None:
        self.session.close()

    def url(self, path: str) -> str:
        return f"{self.settings.api_base}/{path.lstrip('/')}"

    def get_json(self, path: str, params: Params, *, record: str | None = None) -> Any:
        """The parsed JSON answer of GET {base}/{path}?{params}; `record` (an NCT ID) locates errors."""
        url = self.url(path)
        body = self._get(url, params, record)
        try:
            return json.loads(body.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CtgovBadAnswer(
                f"the answer from {url} is not valid JSON ({exc}); it starts: {_snippet(body)!r}",
                hint="the answer was truncated or is not the API; try again, and " + URL_HINT,
                record=record,
            ) from None

    def _pace(self) -> None:
        interval = self.settings.interval
        if self._last_request is not None and interval > 0:
            wait = self._last_request + interval - self.settings.clock()
            if wait > 0:
                self.settings.sleep(wait)
        self._last_request = self.settings.clock()

    def _get(self, url: str, params: Params, record: str | None) -> bytes:
        settings = self.settings
        attempt = 0
        while True:
            self._pace()
            self.requests_made += 1
            retry_after: float | None = None
            try:
                response = self.session.get(url, params=params, timeout=settings.timeout)
            except (
                requests.exceptions.InvalidURL,
                requests.exceptions.MissingSchema,
                requests.exceptions.InvalidSchema,
            ) as exc:
                raise UsageError(f"cannot use the ClinicalTrials.gov URL {url!r}: {exc}", hint=URL_HINT) from None
            except _TRANSIENT as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                status = response.status_code
                if status == 200:
                    return response.content
                if status not in RETRY_STATUSES:
                    raise self._status_error(url, response, record)
                problem = f"HTTP {status} {response.reason}"
                retry_after = retry_after_seconds(response.headers.get("Retry-After"))
            if attempt >= settings.retries:
                raise CtgovUnreachable(
                    f"ClinicalTrials.gov could not be reached at {url}: {problem} "
                    f"(gave up after {attempt + 1} attempt{'s' if attempt else ''})",
                    hint="try again later; " + URL_HINT,
                    record=record,
                )
            delay = retry_after if retry_after is not None else min(settings.backoff * 2**attempt, settings.max_backoff)
            if delay > settings.max_retry_after:
                raise CtgovUnreachable(
                    f"ClinicalTrials.gov asked to wait {delay:.0f} s before trying again ({problem})",
                    hint="try again later",
                    record=record,
                )
            settings.sleep(delay)
            attempt += 1

    def _is_the_api(self) -> bool:
        """Does the base URL answer as API v2 does? `GET {base}/version` gives {"apiVersion": ...} there. Asked
        once, only after a 404 for a study: a wrong --ctgov-url (a web site, a proxy, a path without /api/v2)
        answers 404 to every study too, and that must read as a wrong server, not an unknown NCT ID."""
        try:
            response = self.session.get(self.url("version"), timeout=self.settings.timeout)
            answer = response.json() if response.status_code == 200 else None
        except (requests.RequestException, ValueError):
            return False
        return isinstance(answer, dict) and "apiVersion" in answer

    def _status_error(self, url: str, response: requests.Response, record: str | None) -> Exception:
        text = _snippet(response.content, 300)
        status = response.status_code
        if status == 404 and record and not self._is_the_api():
            return CtgovBadAnswer(
                f"{self.settings.api_base} is not the ClinicalTrials.gov API: it answered HTTP 404 for {record} "
                f"({text}), and {self.url('version')} does not answer as API v2 does",
                hint=URL_HINT,
                record=record,
            )
        if status == 404 and record:
            return StudyNotFound(
                f"no study {record} on ClinicalTrials.gov (HTTP 404: {text})",
                hint="check the NCT ID (it may be a typo, or the record may not be public yet); "
                "if you use a mirror, check --ctgov-url",
                record=record,
            )
        if status == 400:
            return UsageError(
                f"ClinicalTrials.gov refused the request (HTTP 400): {text}",
                hint="check the query parameters against the API v2 documentation "
                "(e.g. query.cond=..., filter.overallStatus=COMPLETED)",
                record=record,
            )
        return CtgovBadAnswer(
            f"unexpected answer from {url}: HTTP {status} {response.reason}: {text}",
            hint=URL_HINT,
            record=record,
        )
