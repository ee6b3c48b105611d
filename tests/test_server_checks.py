"""Before talking FHIR, push and verify check that the server is a FHIR server of the content's version."""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from click.testing import CliRunner, Result
from fault_proxy import FaultProxy
from push_sample import new_system, study_bundle, write_bundle

from fhirconv.cli import main

EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"


def run(*args: str) -> Result:
    return CliRunner().invoke(main, list(args), env={})


@pytest.fixture(scope="module")
def web_server() -> Iterator[str]:
    """A plain web server (not FHIR): GET /metadata is a 404 page, POST a 501."""

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *_: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Quiet)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("command", ["push", "verify"])
def test_a_web_server_that_is_not_fhir_is_named_as_such(web_server: str, command: str) -> None:
    result = run(command, str(EXAMPLE / "NCT04382547.R4.json"), "--server", web_server, "--retries", "0")
    assert result.exit_code == 2, result.output
    assert "does not look like a FHIR server" in result.stderr
    assert "FHIR base URL" in result.stderr


@pytest.mark.server
def test_verify_refuses_r5_content_on_an_r4_server(fhir_server: str) -> None:
    result = run("verify", str(EXAMPLE / "NCT04382547.R5.json"), "--server", fhir_server)
    assert result.exit_code == 2, result.output
    assert "speaks FHIR 4.0.1, but the content is FHIR R5" in result.stderr


@pytest.mark.server
def test_push_refuses_r4_content_on_an_r5_server(fhir_server_r5: str) -> None:
    result = run("push", str(EXAMPLE / "NCT04382547.R4.json"), "--server", fhir_server_r5)
    assert result.exit_code == 2, result.output
    assert "speaks FHIR 5.0.0, but the content is FHIR R4" in result.stderr


@pytest.mark.server
def test_validate_refuses_a_server_of_another_version(fhir_server: str) -> None:
    result = run("validate", str(EXAMPLE / "NCT04382547.R5.json"), "--fhir-version", "R5", "--server", fhir_server)
    assert result.exit_code == 2, result.output
    assert "speaks FHIR 4.0.1" in result.stderr


def test_validate_names_a_web_server_that_is_not_fhir(web_server: str) -> None:
    result = run("validate", str(EXAMPLE / "NCT04382547.R4.json"), "--server", web_server)
    assert result.exit_code == 2, result.output
    assert "does not look like a FHIR server" in result.stderr


def test_credentials_in_the_server_url_become_basic_auth_and_are_never_printed() -> None:
    result = run("push", str(EXAMPLE / "NCT04382547.R4.json"), "--server", "http://alice:pw123@127.0.0.1:9",
                 "--retries", "0")
    assert result.exit_code == 4
    assert "pw123" not in result.output
    assert "http://127.0.0.1:9" in result.stderr


@pytest.mark.server
def test_verify_text_report_shows_the_first_problems_and_counts_the_rest(fhir_server: str, tmp_path: Path) -> None:
    # Never pushed (identifiers of its own): every resource is missing.
    bundle = write_bundle(tmp_path / "study.json", study_bundle(new_system(), participants=20))
    result = run("verify", str(bundle), "--server", fhir_server)
    assert result.exit_code == 5
    assert "verified against" in result.stderr
    assert "0 of 103 resources found once" in result.stderr
    assert "... and 53 more problems (--format json lists them all)" in result.stderr
    assert result.stderr.count("nothing found by") == 50


@pytest.mark.parametrize("server", ["http://", "http://[::1", "ftp://example.org/fhir"])
def test_an_unusable_server_url_is_a_usage_error(server: str) -> None:
    result = run("push", str(EXAMPLE / "NCT04382547.R4.json"), "--server", server)
    assert result.exit_code == 2, result.output
    assert "--server" in result.stderr
    assert "internal error" not in result.stderr


@pytest.mark.server
def test_validate_server_with_a_token(fhir_server: str) -> None:
    bundle = str(EXAMPLE.parent.parent / "tests" / "data" / "validate" / "clean" / "bundle.R4.json")
    with FaultProxy(fhir_server, require_auth="Bearer sekret") as proxy:
        refused = run("validate", "--server", proxy.url, bundle)
        accepted = run("validate", "--server", proxy.url, "--token", "sekret", bundle)
    assert refused.exit_code == 3, refused.output  # an authentication failure, not a finding about the content
    assert "INVALID" not in refused.output
    assert "sekret" not in refused.output + accepted.output
    assert accepted.exit_code == 0, accepted.output
    assert accepted.stdout.splitlines()[-1].startswith("valid:")
