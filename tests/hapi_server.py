"""The tests' FHIR servers: real HAPI FHIR JPA (tests/hapi/serve), R4 and R5, started once per session."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import requests

from fhirconv.versions import FhirVersion

SERVE = Path(__file__).resolve().parent / "hapi" / "serve"
START_TIMEOUT = 600.0  # two JVMs at once take ~1 minute on a quiet 2-core machine, and 310-320 s at load average 13-18
ENV = {FhirVersion.R4: "FHIRCONV_TEST_SERVER", FhirVersion.R5: "FHIRCONV_TEST_SERVER_R5"}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class HapiServer:
    """One `tests/hapi/serve` process. `restart()` keeps its port and, with `data`, its database."""

    version: FhirVersion
    port: int = field(default_factory=free_port)
    data: Path | None = None
    extra_args: tuple[str, ...] = ()
    log: Path = field(default_factory=lambda: Path(tempfile.mkstemp(prefix="hapi-", suffix=".log")[1]))
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/fhir"

    def start(self) -> HapiServer:
        """Start the JVM and return at once; `wait()` blocks until it answers."""
        cmd = [str(SERVE), "--fhir-version", self.version.value, "--port", str(self.port), *self.extra_args]
        if self.data is not None:
            cmd += ["--data", str(self.data)]
        with self.log.open("ab") as out:
            self.process = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        return self

    def wait(self, timeout: float = START_TIMEOUT) -> HapiServer:
        """Until GET /metadata answers 200. A server that dies or never answers fails with its log's tail."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"HAPI {self.version} exited before answering /metadata:\n{self.log_tail()}")
            try:
                if requests.get(f"{self.base_url}/metadata", timeout=10).status_code == 200:
                    return self
            except requests.RequestException:
                pass
            if time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(
                    f"HAPI {self.version} did not answer /metadata in {timeout:.0f} s:\n{self.log_tail()}"
                )
            time.sleep(0.5)

    def log_tail(self, lines: int = 40) -> str:
        try:
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return "(no log)"

    def kill(self) -> None:
        """Hard stop (SIGKILL), as a crash would: only what the database committed survives."""
        if self.process and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)

    def stop(self) -> None:
        if self.process and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()

    def restart(self) -> None:
        self.kill()
        self.start().wait()


def unavailable_reason() -> str | None:
    """Why HAPI cannot run here, or None. Under CI a missing server is a failure, not a skip."""
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed (tests/hapi needs Java 17 and Maven)"
    return None


def require_hapi() -> None:
    reason = unavailable_reason()
    if reason is None:
        return
    if os.environ.get("CI"):
        pytest.fail(f"the HAPI test server cannot start under CI: {reason}")
    pytest.skip(reason)


def build() -> None:
    """Compile tests/hapi once, before two servers start (the build is locked, but one is enough)."""
    result = subprocess.run([str(SERVE), "--build-only"], capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"building tests/hapi failed:\n{(result.stdout + result.stderr)[-4000:]}")


def external(version: FhirVersion) -> str | None:
    url = os.environ.get(ENV[version])
    return url.rstrip("/") if url else None


def start_servers(versions: list[FhirVersion]) -> dict[FhirVersion, HapiServer]:
    """Start one server per version in parallel and wait for all of them."""
    require_hapi()
    build()
    servers = {v: HapiServer(v).start() for v in versions}
    try:
        for server in servers.values():
            server.wait()
    except BaseException:
        for server in servers.values():
            server.stop()
        raise
    return servers
