"""The on-disk study cache: re-use without requests, the last-update check, refresh, and NCT IDs as sources."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from ctgov_server import DATA, CtgovServer, Reply

from fhirconv.ctgov import CtgovBadAnswer, CtgovSettings, default_cache_dir, get_study, resolve_sources
from fhirconv.errors import UsageError

STUDY = "NCT06171568"
DAY = 24 * 3600.0


class Clock:
    """A wall clock the test moves by hand (cache ages are compared with it)."""

    def __init__(self) -> None:
        self.now = 1_700_000_000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def warnings_seen() -> list[str]:
    return []


@pytest.fixture
def settings(ctgov: CtgovServer, tmp_path: Path, clock: Clock, warnings_seen: list[str]) -> CtgovSettings:
    return CtgovSettings(
        base_url=ctgov.url,
        cache_dir=tmp_path / "cache",
        interval=0,
        retries=1,
        sleep=lambda _: None,
        now=clock,
        warn=warnings_seen.append,
    )


def _updated(raw: bytes, date: str, title: str) -> bytes:
    """The same study as the API would send it after an upstream edit."""
    record = json.loads(raw)
    record["protocolSection"]["statusModule"]["lastUpdatePostDateStruct"]["date"] = date
    record["protocolSection"]["identificationModule"]["briefTitle"] = title
    return json.dumps(record).encode()


def test_second_fetch_makes_no_request(settings: CtgovSettings, ctgov: CtgovServer, clock: Clock) -> None:
    first = get_study(STUDY, settings=settings)
    assert not first.from_cache
    assert len(ctgov.requests) == 1
    clock.now += DAY - 60
    second = get_study(STUDY, settings=settings)
    assert second.from_cache
    assert second.path == first.path
    assert len(ctgov.requests) == 1  # no request at all within max_age


def test_old_unchanged_record_costs_one_small_check(settings: CtgovSettings, ctgov: CtgovServer, clock: Clock) -> None:
    path = get_study(STUDY, settings=settings).path
    clock.now += 2 * DAY
    again = get_study(STUDY, settings=settings)
    assert again.from_cache
    assert ctgov.requests[1:] == [f"/api/v2/studies/{STUDY}?format=json&fields=LastUpdatePostDate"]
    assert path.stat().st_mtime == clock.now  # confirmed current: the next day-long window starts now
    clock.now += DAY / 2
    assert get_study(STUDY, settings=settings).from_cache
    assert len(ctgov.requests) == 2


def test_changed_record_is_downloaded_again(settings: CtgovSettings, ctgov: CtgovServer, clock: Clock) -> None:
    path = get_study(STUDY, settings=settings).path
    ctgov.studies[STUDY] = _updated(ctgov.studies[STUDY], "2026-11-20", "A newer title")
    clock.now += 2 * DAY
    result = get_study(STUDY, settings=settings)
    assert not result.from_cache
    assert len(ctgov.requests) == 3  # first download, the check, the new download
    record = json.loads(path.read_text(encoding="utf-8"))
    assert record["protocolSection"]["identificationModule"]["briefTitle"] == "A newer title"


def test_change_within_max_age_is_not_seen_until_it_expires(
    settings: CtgovSettings, ctgov: CtgovServer, clock: Clock
) -> None:
    # The documented trade-off of "no request on a second run".
    path = get_study(STUDY, settings=settings).path
    ctgov.studies[STUDY] = _updated(ctgov.studies[STUDY], "2026-11-20", "A newer title")
    clock.now += 3600
    assert get_study(STUDY, settings=settings).from_cache
    assert "A newer title" not in path.read_text(encoding="utf-8")


def test_max_age_zero_always_checks(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    settings.max_age = 0
    get_study(STUDY, settings=settings)
    assert get_study(STUDY, settings=settings).from_cache
    assert "fields=LastUpdatePostDate" in ctgov.requests[1]


def test_refresh_downloads_even_when_fresh(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    get_study(STUDY, settings=settings)
    settings.refresh = True
    assert not get_study(STUDY, settings=settings).from_cache
    assert ctgov.requests_for(f"/studies/{STUDY}") == [f"/api/v2/studies/{STUDY}?format=json"] * 2


def test_old_record_is_used_with_a_warning_when_the_check_fails(
    settings: CtgovSettings, ctgov: CtgovServer, clock: Clock, warnings_seen: list[str]
) -> None:
    get_study(STUDY, settings=settings)
    clock.now += 2 * DAY
    ctgov.script(f"/studies/{STUDY}", Reply(503, b"down"), Reply(503, b"down"))
    assert get_study(STUDY, settings=settings).from_cache
    assert len(warnings_seen) == 1
    assert "could not check for updates" in warnings_seen[0]


def test_failed_refresh_keeps_the_good_cached_record(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    path = get_study(STUDY, settings=settings).path
    before = path.read_bytes()
    settings.refresh = True
    ctgov.script(f"/studies/{STUDY}", Reply(200, ctgov.studies[STUDY][:500]))
    with pytest.raises(CtgovBadAnswer, match="not valid JSON"):
        get_study(STUDY, settings=settings)
    assert path.read_bytes() == before
    assert [p.name for p in path.parent.iterdir()] == [path.name]  # no temp file left behind


def test_damaged_cache_entry_is_fetched_again(settings: CtgovSettings, ctgov: CtgovServer) -> None:
    path = get_study(STUDY, settings=settings).path
    path.write_text('{"protocolSection": ', encoding="utf-8")
    assert not get_study(STUDY, settings=settings).from_cache
    assert json.loads(path.read_text(encoding="utf-8")) == json.loads((DATA / f"{STUDY}.json").read_bytes())


def test_each_server_has_its_own_cache_folder(tmp_path: Path) -> None:
    real = CtgovSettings(cache_dir=tmp_path)
    mirror = CtgovSettings(base_url="http://127.0.0.1:8080/api/v2/", cache_dir=tmp_path)
    assert real.cache_root() != mirror.cache_root()
    assert real.cache_root().parent == tmp_path / "ctgov"
    assert real.cache_root().name.startswith("clinicaltrials-gov-api-v2-")


def test_default_cache_dir_follows_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("FHIRCONV_CACHE_DIR", raising=False)
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_dir() == tmp_path / "home" / ".cache" / "fhirconv"
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert default_cache_dir() == tmp_path / "xdg" / "fhirconv"
    monkeypatch.setenv("FHIRCONV_CACHE_DIR", str(tmp_path / "mine"))
    assert default_cache_dir() == tmp_path / "mine"


def test_settings_from_env_reads_the_base_url(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FHIRCONV_CTGOV_URL", "http://mirror.example/api/v2")
    assert CtgovSettings.from_env().base_url == "http://mirror.example/api/v2"
    assert CtgovSettings.from_env(base_url="http://other/api/v2").base_url == "http://other/api/v2"


# -- NCT IDs in place of files (convert) ---------------------------------------------------------


def test_resolve_sources_fetches_ids_and_keeps_files(
    settings: CtgovSettings, ctgov: CtgovServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    Path("NCT00000001").write_text("{}", encoding="utf-8")  # an existing file named like an ID wins
    args = ["study.json", "nct06171568", "-", "NCT00000001", "NCT03418623"]
    resolved = resolve_sources(args, settings=settings)
    assert resolved[0] == "study.json"
    assert resolved[2:4] == ["-", "NCT00000001"]
    assert Path(resolved[1]) == settings.cache_root() / "NCT06171568.json"
    assert Path(resolved[4]) == settings.cache_root() / "NCT03418623.json"
    assert json.loads(Path(resolved[1]).read_bytes()) == json.loads((DATA / "NCT06171568.json").read_bytes())
    assert len(ctgov.requests) == 2


def test_resolve_sources_refuses_a_malformed_id_before_any_request(
    settings: CtgovSettings, ctgov: CtgovServer, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="malformed NCT ID 'NCT123'"):
        resolve_sources(["NCT06171568", "NCT123"], settings=settings)
    assert ctgov.requests == []
