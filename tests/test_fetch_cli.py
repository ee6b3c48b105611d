"""`fhirconv fetch` (and convert-by-ID) driven through the CLI against the local stand-in API server."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pytest
from click.testing import CliRunner, Result
from ctgov_server import DATA, CtgovServer, Reply

from fhirconv.cli import main
from fhirconv.ctgov import CtgovSettings, resolve_sources
from fhirconv.ctgov.options import ctgov_options
from fhirconv.errors import ExitCode


@pytest.fixture
def cache(tmp_path: Path) -> Path:
    return tmp_path / "cache"


def run(ctgov: CtgovServer, cache: Path, *args: str) -> Result:
    env = {"FHIRCONV_CTGOV_URL": ctgov.url, "FHIRCONV_CACHE_DIR": str(cache)}
    return CliRunner().invoke(main, [*args, "--ctgov-interval", "0"], env=env, catch_exceptions=False)


def corpus(nct_id: str) -> object:
    return json.loads((DATA / f"{nct_id}.json").read_bytes())


def test_fetch_ids_to_a_directory_then_from_cache(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "records"
    result = run(ctgov, cache, "fetch", "NCT06171568", "nct03418623", "-o", str(out))
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in out.iterdir()) == ["NCT03418623.json", "NCT06171568.json"]
    assert json.loads((out / "NCT06171568.json").read_bytes()) == corpus("NCT06171568")
    assert "studies fetched: 2 (downloaded: 2, from cache: 0)" in result.stderr
    assert len(ctgov.requests) == 2

    again = run(ctgov, cache, "fetch", "NCT06171568", "NCT03418623", "-o", str(tmp_path / "again"))
    assert again.exit_code == 0, again.output
    assert "(downloaded: 0, from cache: 2)" in again.stderr
    assert len(ctgov.requests) == 2  # the second run made no request
    assert (tmp_path / "again" / "NCT03418623.json").read_bytes() == (out / "NCT03418623.json").read_bytes()


def test_refresh_flag_downloads_again(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    assert run(ctgov, cache, "fetch", "NCT06171568", "-o", str(tmp_path)).exit_code == 0
    result = run(ctgov, cache, "fetch", "NCT06171568", "-o", str(tmp_path), "--refresh")
    assert "(downloaded: 1, from cache: 0)" in result.stderr
    assert len(ctgov.requests) == 2


def test_cache_dir_option_beats_the_environment(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    chosen = tmp_path / "chosen"
    result = run(ctgov, cache, "fetch", "NCT06171568", "-o", str(tmp_path / "o"), "--cache-dir", str(chosen))
    assert result.exit_code == 0, result.output
    assert list(chosen.rglob("NCT06171568.json"))
    assert not cache.exists()


def test_fetch_one_id_to_stdout(ctgov: CtgovServer, cache: Path) -> None:
    result = run(ctgov, cache, "fetch", "NCT06171568", "-o", "-", "-q")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == corpus("NCT06171568")
    assert result.stderr == ""


def test_fetch_ids_as_ndjson(ctgov: CtgovServer, cache: Path) -> None:
    result = run(ctgov, cache, "fetch", "NCT06171568", "NCT03418623", "NCT06171568", "--ndjson")
    assert result.exit_code == 0, result.output
    lines = result.stdout.splitlines()
    assert [json.loads(line) for line in lines] == [corpus("NCT06171568"), corpus("NCT03418623")]  # repeat dropped


def test_fetch_query_across_pages_to_files(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    query = "filter.overallStatus=COMPLETED,RECRUITING&pageSize=2"
    result = run(ctgov, cache, "fetch", "--query", query, "-o", str(tmp_path / "q"))
    assert result.exit_code == 0, result.output
    names = sorted(p.stem for p in (tmp_path / "q").iterdir())
    assert names == ["NCT03281889", "NCT03418623", "NCT03630471", "NCT04523987", "NCT05594173", "NCT06388018"]
    assert json.loads((tmp_path / "q" / "NCT05594173.json").read_bytes()) == corpus("NCT05594173")
    assert "studies fetched: 6 (search pages: 3)" in result.stderr


def test_fetch_query_max_and_ndjson_file(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    target = tmp_path / "found.ndjson"
    query = "filter.overallStatus=COMPLETED,RECRUITING&pageSize=2"
    result = run(ctgov, cache, "fetch", "--query", query, "--max", "3", "--ndjson", "-o", str(target))
    assert result.exit_code == 0, result.output
    ids = [
        json.loads(line)["protocolSection"]["identificationModule"]["nctId"]
        for line in target.read_text(encoding="utf-8").splitlines()
    ]
    assert ids == ["NCT03281889", "NCT03418623", "NCT03630471"]
    assert "stopped at --max 3 of 6 (use --max 0 for all)" in result.stderr


def test_progress_bar_on_request(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    result = run(ctgov, cache, "fetch", "--query", "query.cond=brain", "--progress", "-o", str(tmp_path))
    assert result.exit_code == 0, result.output
    # Off a terminal --progress prints a line every few seconds and a last one: count, rate, time.
    line = [x for x in result.stderr.splitlines() if x.startswith("fetching studies")][-1]
    assert line.startswith("fetching studies: 2/2 studies (100%), "), line  # the 2 brain studies
    assert line.endswith(" s")
    silent = run(ctgov, cache, "fetch", "--query", "query.cond=brain", "--progress", "-q", "-o", str(tmp_path))
    assert silent.stderr == ""
    quiet = run(ctgov, cache, "fetch", "--query", "query.cond=brain", "-o", str(tmp_path))
    assert "fetching studies" not in quiet.stderr  # not a terminal, no --progress: no bar


def test_unknown_id_exits_not_found(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    result = run(ctgov, cache, "fetch", "NCT99999999", "-o", str(tmp_path / "o"))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "error: record NCT99999999: no study NCT99999999 on ClinicalTrials.gov" in result.stderr
    assert "hint: check the NCT ID" in result.stderr
    assert not (tmp_path / "o").exists()


def test_malformed_id_exits_usage_before_any_request(ctgov: CtgovServer, cache: Path) -> None:
    result = run(ctgov, cache, "fetch", "NCT06171568", "NCT1234")
    assert result.exit_code == ExitCode.USAGE
    assert "malformed NCT ID 'NCT1234'" in result.stderr
    assert ctgov.requests == []


def test_unreachable_exits_4(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    ctgov.script("/studies/NCT06171568", Reply(503, b"down"))
    result = run(ctgov, cache, "fetch", "NCT06171568", "--ctgov-retries", "0", "-o", str(tmp_path / "o"))
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "HTTP 503" in result.stderr
    assert not (tmp_path / "o").exists()


def test_truncated_answer_in_ndjson_run_leaves_no_file(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    ctgov.script("/studies/NCT03418623", Reply(200, ctgov.studies["NCT03418623"][:300]))
    target = tmp_path / "both.ndjson"
    result = run(ctgov, cache, "fetch", "NCT06171568", "NCT03418623", "--ndjson", "-o", str(target))
    assert result.exit_code == ExitCode.UNREACHABLE
    assert "not valid JSON" in result.stderr
    assert not target.exists()
    assert list(tmp_path.iterdir()) == [cache]  # no partial or temp file beside the target


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ((), "name NCT IDs or give --query"),
        (("NCT06171568", "--query", "query.cond=x"), "name NCT IDs or give --query"),
        (("NCT06171568", "NCT03418623", "-o", "-"), "-o - writes a single study"),
        (("--query", "query.cond=x", "-o", "-"), "-o - writes a single study"),
        (("--query", "pageToken=x"), "pageToken"),
    ],
)
def test_usage_errors(ctgov: CtgovServer, cache: Path, args: tuple[str, ...], message: str) -> None:
    result = run(ctgov, cache, "fetch", *args)
    assert result.exit_code == ExitCode.USAGE
    assert message in result.stderr
    assert ctgov.requests == []


def test_output_must_be_a_directory(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    (tmp_path / "file").write_text("x", encoding="utf-8")
    result = run(ctgov, cache, "fetch", "NCT06171568", "-o", str(tmp_path / "file"))
    assert result.exit_code == ExitCode.USAGE
    assert "not a directory" in result.stderr
    assert ctgov.requests == []


# -- convert NCT IDs (the convert command takes the ctgov options and calls resolve_sources) -----


@click.command()
@click.argument("sources", nargs=-1)
@ctgov_options
def _probe(sources: tuple[str, ...], ctgov: CtgovSettings) -> None:
    """A command wired the way convert is: ctgov options in, resolved sources out."""
    click.echo(json.dumps({"settings": repr(ctgov), "sources": resolve_sources(list(sources), settings=ctgov)}))


def test_ctgov_options_build_the_settings(ctgov: CtgovServer, tmp_path: Path) -> None:
    args = ["NCT06171568", "--ctgov-url", ctgov.url, "--cache-dir", str(tmp_path / "c"), "--refresh"]
    args += ["--max-age", "2", "--ctgov-timeout", "3", "--ctgov-retries", "1", "--ctgov-interval", "0"]
    result = CliRunner().invoke(_probe, args, env={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    shown = json.loads(result.stdout)
    for part in [f"base_url='{ctgov.url}'", "refresh=True", "max_age=7200.0", "timeout=3.0", "retries=1"]:
        assert part in shown["settings"]
    assert shown["sources"][0].startswith(str(tmp_path / "c" / "ctgov"))


def test_convert_of_a_resolved_id_makes_fhir(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    settings = CtgovSettings(base_url=ctgov.url, cache_dir=cache, interval=0)
    sources = resolve_sources(["NCT06171568"], settings=settings)
    out = tmp_path / "bundle.json"
    args = ["convert", *sources, "--bundle", "collection", "-o", str(out)]
    result = CliRunner().invoke(main, args, env={}, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_bytes())
    studies = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert len(studies) == 1
    assert "NCT06171568" in json.dumps(studies[0]["identifier"])


def test_convert_by_id(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    out = tmp_path / "bundle.json"
    result = run(ctgov, cache, "convert", "NCT06171568", "--bundle", "collection", "-o", str(out))
    assert result.exit_code == 0, result.output
    bundle = json.loads(out.read_bytes())
    studies = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert len(studies) == 1
    assert "NCT06171568" in json.dumps(studies[0]["identifier"])
    again = run(ctgov, cache, "convert", "NCT06171568", "--bundle", "collection", "-o", str(out))
    assert again.exit_code == 0, again.output
    assert len(ctgov.requests) == 1  # the second conversion used the cache


def test_convert_unknown_id_exits_not_found(ctgov: CtgovServer, cache: Path) -> None:
    result = run(ctgov, cache, "convert", "NCT99999999")
    assert result.exit_code == ExitCode.NOT_FOUND


def test_an_unknown_id_among_other_sources_is_one_failed_record(
    ctgov: CtgovServer, cache: Path, tmp_path: Path
) -> None:
    out = tmp_path / "bundle.json"
    result = run(ctgov, cache, "convert", "NCT06171568", "NCT99999999", "-o", str(out))
    assert result.exit_code == ExitCode.NOT_FOUND
    assert "error: NCT99999999: " in result.stderr
    assert result.stderr.splitlines()[-1] == "records read: 2, converted: 1, failed: 1"
    studies = [e for e in json.loads(out.read_bytes())["entry"] if e["resource"]["resourceType"] == "ResearchStudy"]
    assert len(studies) == 1


def test_a_query_url_on_another_server_is_refused(ctgov: CtgovServer, cache: Path, tmp_path: Path) -> None:
    result = run(ctgov, cache, "fetch", "--query", "https://mirror.example.org/api/v2/studies?query.cond=x",
                 "-o", str(tmp_path))
    assert result.exit_code == 2
    assert "--ctgov-url https://mirror.example.org/api/v2" in result.output
    assert ctgov.requests == []
