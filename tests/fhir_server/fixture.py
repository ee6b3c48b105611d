"""Pytest fixtures for the local FHIR test server (Node adapter over Medplum's engine) or FHIRCONV_TEST_SERVER."""

from __future__ import annotations

import atexit
import os
import shutil
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

HERE = Path(__file__).resolve().parent
SERVER_JS = HERE / "server.mjs"
NODE_MODULES = HERE / "node_modules"
START_TIMEOUT = 30.0


@dataclass
class LocalServer:
    """One Node server process; `restart()` keeps its port and (with a data file) its content."""

    base_url: str
    port: int
    data_file: Path | None = None
    extra_args: tuple[str, ...] = ()
    process: subprocess.Popen[str] | None = field(default=None, repr=False)

    def kill(self) -> None:
        """Hard stop (SIGKILL), as a crash would: nothing is flushed beyond what was committed."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=10)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=10)

    def restart(self) -> None:
        self.kill()
        fresh = start_server(port=self.port, data_file=self.data_file, extra_args=self.extra_args)
        self.process = fresh.process


def server_unavailable_reason() -> str | None:
    """Why the local server cannot run here, or None. Under CI a missing server is a failure, not a skip."""
    if shutil.which("node") is None:
        return "node is not installed"
    if not NODE_MODULES.is_dir():
        return "tests/fhir_server/node_modules is missing (run: npm ci --prefix tests/fhir_server)"
    return None


def require_local_server() -> None:
    reason = server_unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"local FHIR test server cannot start under CI: {reason}")
    pytest.skip(reason)


def start_server(*, port: int = 0, data_file: Path | None = None, extra_args: tuple[str, ...] = ()) -> LocalServer:
    """Start `node server.mjs`, read the port it prints, wait until /metadata answers."""
    require_local_server()
    cmd = ["node", str(SERVER_JS), "--port", str(port), *extra_args]
    if data_file is not None:
        cmd += ["--data", str(data_file)]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    assert proc.stdout is not None
    line = proc.stdout.readline()  # blocks until the server prints its address (or dies)
    proc.stdout.close()  # the server prints nothing else on stdout
    if not line.startswith("listening on "):
        proc.kill()
        proc.wait(timeout=10)
        raise RuntimeError(f"FHIR test server did not start: {line!r}")
    base_url = line.split("listening on ", 1)[1].strip()
    server = LocalServer(
        base_url=base_url,
        port=int(base_url.rsplit(":", 1)[1]),
        data_file=data_file,
        extra_args=extra_args,
        process=proc,
    )
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            if requests.get(f"{base_url}/metadata", timeout=5).status_code == 200:
                return server
        except requests.ConnectionError:
            pass
        if time.monotonic() > deadline:
            server.stop()
            raise RuntimeError(f"FHIR test server at {base_url} did not answer /metadata")
        time.sleep(0.1)


_shared: dict[str, LocalServer] = {}


def shared_server_url() -> str:
    """The one server of the test session: FHIRCONV_TEST_SERVER if set, else a local server started once.

    Kept at module level (not only in a session fixture) because each test module imports the fixture,
    and pytest would otherwise start one server per importing module."""
    external = os.environ.get("FHIRCONV_TEST_SERVER")
    if external:
        return external.rstrip("/")
    if "local" not in _shared:
        server = start_server()
        _shared["local"] = server
        atexit.register(server.stop)
    return _shared["local"].base_url


@pytest.fixture(scope="session")
def fhir_server() -> str:
    """Base URL of a FHIR R4 server taking transactions."""
    return shared_server_url()


@pytest.fixture
def local_server(tmp_path: Path) -> Iterator[LocalServer]:
    """A private local server with persistence, for tests that restart it (never an external server)."""
    server = start_server(data_file=tmp_path / "journal.jsonl")
    try:
        yield server
    finally:
        server.stop()
