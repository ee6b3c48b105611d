"""Security cases that need no FHIR server: unsafe XML refused through the CLI, and credentials
(--token, FHIRCONV_TOKEN, --user, a URL's user:password) never printed, even when a server echoes them
or --traceback is on. (Against real HAPI, tests/test_push.py covers the same with an auth gateway.)"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.errors import ExitCode

ROOT = Path(__file__).resolve().parents[1]
BUNDLE = ROOT / "examples" / "NCT04382547" / "NCT04382547.R4.json"
TOKEN = "tok-8f2c-SECRET"
PASSWORD = "pw-77-SECRET"

XXE = b"""<?xml version="1.0"?>
<!DOCTYPE clinical_study [<!ENTITY secret SYSTEM "file:///etc/passwd">]>
<clinical_study><id_info><nct_id>NCT00000001</nct_id></id_info><brief_title>&secret;</brief_title></clinical_study>
"""
LAUGHS = (
    b'<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(f'<!ENTITY lol{i} "{(f"&lol{i - 1};" if i > 1 else "&lol;") * 10}">'.encode() for i in range(1, 10))
    + b"]>\n<clinical_study>&lol9;</clinical_study>\n"
)
EXTERNAL = b'<?xml version="1.0"?>\n<!DOCTYPE clinical_study SYSTEM "http://127.0.0.1:9/x.dtd">\n<clinical_study/>\n'
PARAMETER = b'<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY % p SYSTEM "file:///etc/passwd"> %p;]>\n<clinical_study/>\n'


@pytest.mark.parametrize(
    "data", [XXE, LAUGHS, EXTERNAL, PARAMETER], ids=["xxe", "billion-laughs", "external-dtd", "parameter-entity"]
)
def test_unsafe_xml_is_refused_by_convert(tmp_path: Path, data: bytes) -> None:
    path = tmp_path / "study.xml"
    path.write_bytes(data)
    start = time.perf_counter()
    result = CliRunner().invoke(main, ["convert", str(path), "-o", str(tmp_path / "out.json")])
    assert time.perf_counter() - start < 5
    assert result.exit_code == ExitCode.INVALID, result.output
    assert "unsafe XML refused" in result.stderr
    assert "root:" not in result.output  # nothing of /etc/passwd
    assert not (tmp_path / "out.json").exists()


class _EchoingServer(BaseHTTPRequestHandler):
    """Answers 401 with the request's credentials in the body, as careless gateways do."""

    def _answer(self) -> None:
        body = f"not authorized: {self.headers.get('Authorization')} for {self.path}".encode()
        self.send_response(401)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("WWW-Authenticate", f'Bearer realm="{self.headers.get("Authorization")}"')
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = _answer  # noqa: N815 - http.server's naming

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def echo_url() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _EchoingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def _secrets() -> list[str]:
    return [TOKEN, PASSWORD, base64.b64encode(f"alice:{PASSWORD}".encode()).decode()]


def _assert_no_secret(output: str) -> None:
    for secret in _secrets():
        assert secret not in output


@pytest.mark.parametrize("traceback", [False, True], ids=["plain", "traceback"])
@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["push", str(BUNDLE), "--no-validate", "--token", TOKEN], {}),
        (["push", str(BUNDLE), "--no-validate"], {"FHIRCONV_TOKEN": TOKEN}),
        (["push", str(BUNDLE), "--no-validate", "--user", f"alice:{PASSWORD}"], {}),
        (["verify", str(BUNDLE), "--token", TOKEN], {}),
        (["validate", str(BUNDLE), "--token", TOKEN], {}),
    ],
    ids=["push-token", "push-env-token", "push-basic", "verify-token", "validate-token"],
)
def test_credentials_are_never_printed(echo_url: str, args: list[str], env: dict[str, str], traceback: bool) -> None:
    argv = (["--traceback"] if traceback else []) + [*args, "--server", echo_url]
    result = CliRunner().invoke(main, argv, env=env)
    assert result.exit_code != 0
    assert result.exit_code != ExitCode.INTERNAL, result.output
    _assert_no_secret(result.output)


def test_a_password_in_the_server_url_is_never_printed() -> None:
    result = CliRunner().invoke(
        main,
        [
            "push",
            str(BUNDLE),
            "--no-validate",
            "--server",
            f"http://alice:{PASSWORD}@127.0.0.1:9/fhir",
            "--retries",
            "1",
        ],
    )
    assert result.exit_code == ExitCode.UNREACHABLE, result.output
    _assert_no_secret(result.output)


@pytest.mark.parametrize(
    "server",
    [
        f"http://127.0.0.1:9/fhir?api_key={TOKEN}",
        f"http://127.0.0.1:9/fhir#{TOKEN}",
        f"ftp://alice:{PASSWORD}@127.0.0.1/fhir",
        f"http://alice:{PASSWORD}@/fhir",
    ],
    ids=["query", "fragment", "not-http", "no-host"],
)
def test_a_server_url_refused_is_shown_without_its_secrets(server: str) -> None:
    result = CliRunner().invoke(main, ["push", str(BUNDLE), "--no-validate", "--server", server])
    assert result.exit_code == ExitCode.USAGE, result.output
    assert "--server" in result.output
    _assert_no_secret(result.output)
