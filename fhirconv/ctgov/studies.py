"""Getting study records: one by NCT ID (through the cache) or many by an API v2 search (following pages)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from fhirconv.ctgov.cache import StudyCache, last_update, study_aliases, study_nct_id
from fhirconv.ctgov.errors import CtgovBadAnswer, CtgovUnreachable
from fhirconv.ctgov.ids import normalize_nct_id
from fhirconv.ctgov.settings import CtgovSettings
from fhirconv.errors import UsageError

# The cheap freshness check asks for this one field instead of the whole record (a few hundred bytes).
LAST_UPDATE_FIELD = "LastUpdatePostDate"
# Parameters the search loop manages itself.
_MANAGED = frozenset({"pageToken", "format"})


@dataclass(slots=True)
class FetchResult:
    path: Path
    from_cache: bool


def fetch_study(nct_id: str, *, settings: CtgovSettings) -> Path:
    """The path of the cached API v2 JSON of one study, fetched first if needed (see `get_study`)."""
    return get_study(nct_id, settings=settings).path


def get_study(nct_id: str, *, settings: CtgovSettings) -> FetchResult:
    """Return the study from the cache when it is current, else fetch and cache it.

    Current means: younger than `settings.max_age` (no request at all), or older but with the same
    LastUpdatePostDate as the API reports now (one small `fields=` request). `settings.refresh`
    skips the cache. A malformed ID raises before any request.
    """
    nct_id = normalize_nct_id(nct_id)
    cache = settings.cache()
    cached = None if settings.refresh else cache.load(nct_id)
    if cached is not None:
        if settings.now() - cached.checked_at < settings.max_age:
            return FetchResult(cached.path, from_cache=True)
        try:
            current = _remote_last_update(nct_id, settings)
        except CtgovUnreachable as exc:
            # Offline with a record we already have: use it, but say it could not be re-checked.
            settings.warn(f"{nct_id}: using the cached record, could not check for updates ({exc.message})")
            return FetchResult(cached.path, from_cache=True)
        if current is not None and current == cached.last_update:
            cache.touch(nct_id, settings.now())
            return FetchResult(cached.path, from_cache=True)
    record = settings.client().get_json(f"studies/{nct_id}", [("format", "json")], record=nct_id)
    try:
        aliases = study_aliases(record)
    except CtgovBadAnswer as exc:
        raise exc.located(record=nct_id) from None
    if nct_id not in aliases:
        raise CtgovBadAnswer(
            f"asked for {nct_id} but the API answered with study {study_nct_id(record)}",
            hint="check --ctgov-url: a mirror may be serving the wrong records",
            record=nct_id,
        )
    path = cache.store(nct_id, record)
    cache.touch(nct_id, settings.now())
    return FetchResult(path, from_cache=False)


def _remote_last_update(nct_id: str, settings: CtgovSettings) -> str | None:
    answer = settings.client().get_json(
        f"studies/{nct_id}", [("format", "json"), ("fields", LAST_UPDATE_FIELD)], record=nct_id
    )
    return last_update(answer)


def _check_query_origin(query: str, base_url: str) -> None:
    """A full URL in --query must point at the server fhirconv will ask (--ctgov-url): silently sending a
    mirror's query to another server would answer a question nobody asked."""
    text = query.strip()
    if not text.lower().startswith(("http://", "https://")):
        return
    asked, configured = urlsplit(text), urlsplit(base_url)
    if (asked.scheme, asked.netloc) != (configured.scheme, configured.netloc):
        base = f"{asked.scheme}://{asked.netloc}{asked.path.rsplit('/studies', 1)[0]}"
        raise UsageError(
            f"the --query URL is on {asked.netloc}, but fetch asks {configured.netloc} (--ctgov-url)",
            hint=f"add --ctgov-url {base}, or give only the part after '?'",
        )


def parse_query(query: str) -> list[tuple[str, str]]:
    """API v2 search parameters from 'query.cond=X&filter.overallStatus=Y' (a leading '?' or a full
    .../api/v2/studies?... URL also works); refuses what the search loop must control itself."""
    text = query.strip()
    if "?" in text:
        text = text.split("?", 1)[1]
    try:
        params = parse_qsl(text, keep_blank_values=True, strict_parsing=True)
    except ValueError:
        raise UsageError(
            f"cannot read the query {query!r}",
            hint="write it as name=value pairs joined by &, e.g. 'query.cond=COVID-19&filter.overallStatus=COMPLETED'",
        ) from None
    for name, value in params:
        if name == "format" and value != "json":
            raise UsageError(f"the query asks for format={value}", hint="fetch always asks for JSON; drop format=")
        if name == "pageToken":
            raise UsageError("the query names a pageToken", hint="drop pageToken=: fetch follows the pages itself")
    return [(n, v) for n, v in params if n not in _MANAGED]


@dataclass(slots=True)
class StudySearch:
    """Iterate the studies of an API v2 search, page after page, until `max` studies (0: no limit).

    After the first page, `total` holds the API's count of matching studies; when iteration stops at
    `max` while more remain, `truncated` is True. Complete records (no `fields=`) also go to the cache,
    so converting one of them later needs no request.
    """

    query: str
    settings: CtgovSettings
    max: int = 0
    total: int | None = None
    truncated: bool = False
    pages: int = 0
    _params: list[tuple[str, str]] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if self.max < 0:
            raise UsageError(f"--max must be 0 (no limit) or more, not {self.max}")
        _check_query_origin(self.query, self.settings.base_url)
        self._params = parse_query(self.query)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        params = self._params
        names = {n for n, _ in params}
        # Only records in the default shape may stand in for a /studies/{id} answer in the cache.
        complete = not names & {"fields", "markupFormat"}
        if "pageSize" not in names:
            size = self.settings.page_size if not self.max else min(self.settings.page_size, self.max)
            params = [*params, ("pageSize", str(size))]
        cache: StudyCache | None = self.settings.cache() if complete else None
        client = self.settings.client()
        token: str | None = None
        seen_tokens: set[str] = set()
        count = 0
        while True:
            page_params = [*params, ("format", "json")]
            if token is None:
                if "countTotal" not in names:
                    page_params.append(("countTotal", "true"))
            else:
                page_params.append(("pageToken", token))
            page = client.get_json("studies", page_params)
            self.pages += 1
            studies = _page_studies(page, self.pages)
            if token is None and isinstance(page.get("totalCount"), int):
                self.total = page["totalCount"]
            next_token = page.get("nextPageToken")
            for index, study in enumerate(studies):
                nct_id = study_nct_id(study)
                if cache is not None:
                    cache.store(nct_id, study)
                    cache.touch(nct_id, self.settings.now())
                yield study
                count += 1
                if self.max and count >= self.max:
                    self.truncated = index + 1 < len(studies) or bool(next_token)
                    return
            if not next_token or not studies:
                return
            if not isinstance(next_token, str):
                raise CtgovBadAnswer(
                    f"search page {self.pages} has a nextPageToken that is not a string: {next_token!r}",
                    hint="check --ctgov-url: it must be the API v2 base, e.g. https://clinicaltrials.gov/api/v2",
                )
            if next_token in seen_tokens:
                raise CtgovBadAnswer(
                    f"search page {self.pages} repeats an earlier nextPageToken; stopping instead of looping",
                    hint="try again later, or narrow the query",
                )
            seen_tokens.add(next_token)
            token = next_token


def _page_studies(page: Any, number: int) -> list[dict[str, Any]]:
    studies = page.get("studies") if isinstance(page, dict) else None
    if not isinstance(studies, list) or not all(isinstance(s, dict) for s in studies):
        raise CtgovBadAnswer(
            f"search page {number} is not an API v2 page (no 'studies' list)",
            hint="check --ctgov-url: it must be the API v2 base, e.g. https://clinicaltrials.gov/api/v2",
        )
    return studies


def search(query: str, *, max: int = 0, settings: CtgovSettings) -> Iterator[dict[str, Any]]:
    """Yield the API v2 study objects matching `query`, following nextPageToken, at most `max` (0: all)."""
    return iter(StudySearch(query, settings, max))
