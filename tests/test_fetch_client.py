"""Fetching from ClinicalTrials.gov against a local stand-in server: IDs, statuses, retries, faults, search."""

from __future__ import annotations

import json
import socket
from datetime import UTC, datetime
from pathlib import Path

import pytest
from ctgov_server import DATA, CtgovServer, Reply

from fhirconv import __version__
from fhirconv.ctgov import (
    CtgovBadAnswer,
    CtgovSettings,
    CtgovUnreachable,
    StudyNotFound,
    StudySearch,
    fetch_study,
    is_nct_id,
    normalize_nct_id,
    search,
)
from fhirconv.errors import ExitCode, UsageError
from fhirconv.retry_after import retry_after_seconds

STUDY = "NCT03418623"


@pytest.fixture
def sleeps() -> list[float]:
    return []


@pytest.fixture
def settings(ctgov: CtgovServer, tmp_path: Path, sleeps: list[float]) -> CtgovSettings:
    return CtgovSettings(
        base_url=ctgov.url, cache_dir=tmp_path / "cache", interval=0, timeout=5, retries=3, sleep=sleeps.append
    )


# -- NCT IDs -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["NCT04382547", "nct04382547", " NCT04382547\n", "Nct00000001"])
def test_well_formed_ids_are_normalised(text: str) -> None:
    assert is_nct_id(text)
    assert normalize_nct_id(text) == text.strip().upper()


@pytest.mark.parametrize("text", ["NCT0438254", "NCT043825470", "NCT0438254X", "04382547", "NCT-04382547", ""])
def test_malformed_ids_are_refused(text: str) -> None:
    assert not is_nct_id(text)
    with pytest.raises(UsageError, match="malformed NCT ID") as info:
        normalize_nct_id(text)
    assert info.value.exit_code == ExitCode.USAGE
    assert "8 digits" in (info.value.hint or "")


def test_malformed_id_makes_no_request(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    with pytest.raises(UsageError):
        fetch_study("NCT123", settings=settings)
    assert ctgov.requests == []


# -- one study ---------------------------------------------------------------------------------


def test_fetch_by_id_caches_the_api_json(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    path = fetch_study(STUDY.lower(), settings=settings)
    assert path.name == f"{STUDY}.json"
    assert path.is_relative_to(settings.cache_dir)  # type: ignore[arg-type]
    original = json.loads((DATA / f"{STUDY}.json").read_text(encoding="utf-8"))
    assert json.loads(path.read_text(encoding="utf-8")) == original
    assert ctgov.requests_for(f"/studies/{STUDY}") == [f"/api/v2/studies/{STUDY}?format=json"]
    assert ctgov.user_agents == [f"fhirconv/{__version__}"]


def test_unknown_id_is_not_found(settings: CtgovSettings) -> None:
    with pytest.raises(StudyNotFound) as info:
        fetch_study("NCT99999999", settings=settings)
    error = info.value
    assert error.exit_code == ExitCode.NOT_FOUND
    assert error.record == "NCT99999999"
    assert "no study NCT99999999" in error.message
    assert "Study not found" in error.message  # the server's own text is kept
    assert not (settings.cache_root() / "NCT99999999.json").exists()


def test_fetch_on_a_wrong_base_url_is_a_wrong_server_not_an_unknown_id(ctgov: CtgovServer, tmp_path: Path) -> None:
    # The loopback server without /api/v2: every study path answers 404, as any web site would.
    settings = CtgovSettings(base_url=ctgov.url.removesuffix("/api/v2"), cache_dir=tmp_path, interval=0)
    with pytest.raises(CtgovBadAnswer, match=r"is not the ClinicalTrials\.gov API") as info:
        fetch_study(STUDY, settings=settings)
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert info.value.record == STUDY
    assert "--ctgov-url" in (info.value.hint or "")
    assert ctgov.requests[-1] == "/version"  # asked once whether this is the API


def test_429_with_retry_after_then_success(settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]) -> None:
    ctgov.script(f"/studies/{STUDY}", Reply(429, b"Too Many Requests", {"Retry-After": "7"}))
    path = fetch_study(STUDY, settings=settings)
    assert path.exists()
    assert sleeps == [7.0]  # the server's Retry-After, not the default backoff
    assert len(ctgov.requests) == 2


def test_503_then_success_backs_off_exponentially(
    settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]
) -> None:
    ctgov.script(f"/studies/{STUDY}", Reply(503, b"busy"), Reply(502, b"bad gateway"), Reply(500, b"oops"))
    assert fetch_study(STUDY, settings=settings).exists()
    assert sleeps == [1.0, 2.0, 4.0]
    assert len(ctgov.requests) == 4


def test_persistent_503_is_unreachable_after_the_retries(
    settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]
) -> None:
    ctgov.script(f"/studies/{STUDY}", *[Reply(503, b"busy")] * 4)
    with pytest.raises(CtgovUnreachable, match=r"HTTP 503.*gave up after 4 attempts") as info:
        fetch_study(STUDY, settings=settings)
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert len(sleeps) == 3
    assert not settings.cache_root().joinpath(f"{STUDY}.json").exists()


def test_retry_after_too_long_gives_up_at_once(
    settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]
) -> None:
    ctgov.script(f"/studies/{STUDY}", Reply(429, b"", {"Retry-After": "3600"}))
    with pytest.raises(CtgovUnreachable, match="asked to wait 3600 s"):
        fetch_study(STUDY, settings=settings)
    assert sleeps == []


def test_retry_after_as_http_date() -> None:
    now = datetime(2026, 11, 24, 12, 0, 0, tzinfo=UTC)
    assert retry_after_seconds("Tue, 24 Nov 2026 12:00:30 GMT", now) == 30.0
    assert retry_after_seconds("12", now) == 12.0
    assert retry_after_seconds("soon", now) is None
    assert retry_after_seconds(None, now) is None


def test_truncated_json_body_is_an_error_and_not_cached(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    whole = (DATA / f"{STUDY}.json").read_bytes()
    ctgov.script(f"/studies/{STUDY}", Reply(200, whole[:2000], {"Content-Type": "application/json"}))
    with pytest.raises(CtgovBadAnswer, match="not valid JSON") as info:
        fetch_study(STUDY, settings=settings)
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert info.value.record == STUDY
    assert not settings.cache_root().joinpath(f"{STUDY}.json").exists()
    assert len(ctgov.requests) == 1


def test_connection_cut_mid_body_is_retried(settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]) -> None:
    whole = (DATA / f"{STUDY}.json").read_bytes()
    ctgov.script(f"/studies/{STUDY}", Reply(200, whole, cut_short=True))
    path = fetch_study(STUDY, settings=settings)
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads(whole)
    assert sleeps == [1.0]


def test_non_json_body_is_an_error(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    ctgov.script(
        f"/studies/{STUDY}", Reply(200, b"<html><body>Maintenance</body></html>", {"Content-Type": "text/html"})
    )
    with pytest.raises(CtgovBadAnswer, match="Maintenance"):
        fetch_study(STUDY, settings=settings)
    assert not settings.cache_root().joinpath(f"{STUDY}.json").exists()


def test_json_that_is_not_a_study_is_an_error(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    ctgov.script(f"/studies/{STUDY}", Reply(200, b'{"message": "hello"}'))
    with pytest.raises(CtgovBadAnswer, match="not an API v2 study record"):
        fetch_study(STUDY, settings=settings)
    assert not settings.cache_root().joinpath(f"{STUDY}.json").exists()


def test_answer_for_another_study_is_refused(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    ctgov.script(f"/studies/{STUDY}", Reply(200, (DATA / "NCT06171568.json").read_bytes()))
    with pytest.raises(CtgovBadAnswer, match="answered with study NCT06171568"):
        fetch_study(STUDY, settings=settings)


def test_slow_answer_times_out_then_unreachable(ctgov: CtgovServer, tmp_path: Path, sleeps: list[float]) -> None:
    settings = CtgovSettings(
        base_url=ctgov.url, cache_dir=tmp_path, interval=0, timeout=0.1, retries=1, sleep=sleeps.append
    )
    ctgov.script(f"/studies/{STUDY}", Reply(200, b"{}", delay=0.5), Reply(200, b"{}", delay=0.5))
    with pytest.raises(CtgovUnreachable, match="Timeout"):
        fetch_study(STUDY, settings=settings)
    assert sleeps == [1.0]


def test_nothing_listening_is_unreachable(tmp_path: Path, sleeps: list[float]) -> None:
    with socket.socket() as probe:  # a port that was free a moment ago, with nothing listening on it
        probe.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{probe.getsockname()[1]}/api/v2"
    settings = CtgovSettings(base_url=url, cache_dir=tmp_path, interval=0, retries=2, sleep=sleeps.append)
    with pytest.raises(CtgovUnreachable, match="could not be reached"):
        fetch_study(STUDY, settings=settings)
    assert sleeps == [1.0, 2.0]


def test_bad_base_url_is_a_usage_error(tmp_path: Path) -> None:
    settings = CtgovSettings(base_url="clinicaltrials.gov/api/v2", cache_dir=tmp_path, interval=0)
    with pytest.raises(UsageError, match=r"cannot use the ClinicalTrials\.gov URL"):
        fetch_study(STUDY, settings=settings)


def test_requests_are_paced(ctgov: CtgovServer, tmp_path: Path) -> None:
    waits: list[float] = []
    ticks = iter([100.0, 100.3, 101.2])  # fake monotonic clock readings
    settings = CtgovSettings(
        base_url=ctgov.url, cache_dir=tmp_path, interval=1.2, sleep=waits.append, clock=lambda: next(ticks)
    )
    fetch_study("NCT03418623", settings=settings)
    fetch_study("NCT06171568", settings=settings)
    assert waits == [pytest.approx(0.9)]  # 1.2 s apart, 0.3 s already gone


# -- search ------------------------------------------------------------------------------------

COMPLETED_OR_RECRUITING = ["NCT03281889", "NCT03418623", "NCT03630471", "NCT04523987", "NCT05594173", "NCT06388018"]


def test_search_follows_pages(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    found = StudySearch("filter.overallStatus=COMPLETED,RECRUITING&pageSize=2", settings)
    ids = [s["protocolSection"]["identificationModule"]["nctId"] for s in found]
    assert ids == COMPLETED_OR_RECRUITING
    assert found.pages == 3
    assert found.total == 6
    assert not found.truncated
    pages = ctgov.requests_for("/studies")
    assert "countTotal=true" in pages[0]
    assert "pageToken=" not in pages[0]
    assert all("pageToken=" in p for p in pages[1:])
    # Complete records from a search also fill the cache: converting one later needs no request.
    assert sorted(p.stem for p in settings.cache_root().glob("*.json")) == COMPLETED_OR_RECRUITING


def test_search_stops_at_max(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    found = StudySearch("filter.overallStatus=COMPLETED|RECRUITING&pageSize=2", settings, max=3)
    assert len(list(found)) == 3
    assert found.truncated
    assert found.pages == 2  # the third page was never asked for
    assert len(ctgov.requests) == 2


def test_search_page_size_defaults_to_max(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    assert len(list(search("query.cond=brain", max=1, settings=settings))) == 1
    assert "pageSize=1" in ctgov.requests[0]


def test_search_accepts_a_full_api_url(ctgov: CtgovServer, settings: CtgovSettings) -> None:
    studies = list(search(f"{ctgov.url}/studies?query.cond=Dysphagia", settings=settings))
    assert [s["protocolSection"]["identificationModule"]["nctId"] for s in studies] == ["NCT05594173"]


def test_search_with_no_match_yields_nothing(settings: CtgovSettings) -> None:
    assert list(search("query.cond=no-such-condition", settings=settings)) == []


@pytest.mark.parametrize(
    ("query", "message"),
    [("pageToken=abc", "pageToken"), ("format=csv", "format=csv"), ("query.cond", "cannot read the query")],
)
def test_search_refuses_queries_it_cannot_honour(
    settings: CtgovSettings, ctgov: CtgovServer, query: str, message: str
) -> None:
    with pytest.raises(UsageError, match=message):
        list(search(query, settings=settings))
    assert ctgov.requests == []


def test_search_400_is_a_usage_error_with_the_server_text(settings: CtgovSettings) -> None:
    with pytest.raises(UsageError, match="unknown parameter"):
        list(search("query.bogus=1", settings=settings))


def test_search_retries_a_429_page(settings: CtgovSettings, ctgov: CtgovServer, sleeps: list[float]) -> None:
    ctgov.script("/studies", Reply(200, json.dumps({"studies": [], "nextPageToken": None}).encode()))
    assert list(search("query.cond=brain", settings=settings)) == []  # an empty page ends the search
    ctgov.script("/studies", Reply(429, b"slow down", {"Retry-After": "2"}))
    assert len(list(search("query.cond=brain", settings=settings))) == 2
    assert sleeps == [2.0]


def test_search_repeated_token_is_an_error(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    page = (DATA / "NCT06171568.json").read_text(encoding="utf-8")
    looping = json.dumps({"studies": [json.loads(page)], "nextPageToken": "same"}).encode()
    ctgov.script("/studies", Reply(200, looping), Reply(200, looping))
    with pytest.raises(CtgovBadAnswer, match="repeats an earlier nextPageToken"):
        list(search("query.cond=brain", settings=settings))


def test_search_page_without_studies_list_is_an_error(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    ctgov.script("/studies", Reply(200, b'{"FullStudiesResponse": {}}'))
    with pytest.raises(CtgovBadAnswer, match="not an API v2 page"):
        list(search("query.cond=brain", settings=settings))


def test_search_on_a_wrong_base_url_is_unusable_not_not_found(ctgov: CtgovServer, tmp_path: Path) -> None:
    settings = CtgovSettings(base_url=ctgov.url + "/nothing-here", cache_dir=tmp_path, interval=0)
    with pytest.raises(CtgovBadAnswer, match="HTTP 404") as info:
        list(search("query.cond=brain", settings=settings))
    assert info.value.exit_code == ExitCode.UNREACHABLE
    assert "--ctgov-url" in (info.value.hint or "")


def test_partial_records_from_fields_are_not_cached(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    partial = {"protocolSection": {"identificationModule": {"nctId": "NCT06171568"}}}
    ctgov.script("/studies", Reply(200, json.dumps({"studies": [partial]}).encode()))
    assert list(search("query.cond=brain&fields=NCTId", settings=settings)) == [partial]
    assert not settings.cache_root().exists()
