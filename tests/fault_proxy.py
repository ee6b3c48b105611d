"""A local HTTP proxy that injects faults between fhirconv and a FHIR server (503, 429, drops, delays, restarts,
redirects), and plays the authenticating gateway that production FHIR servers sit behind."""

from __future__ import annotations

import contextlib
import http.client
import json
import socket
import ssl
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass(frozen=True)
class Fault:
    """What to do with one request.

    kind: "status" (answer `status` without forwarding, with Retry-After if given), "drop" (close the
    connection without forwarding), "drop-after" (forward, so the server commits, then close without
    answering), "slow" (forward, then wait `delay` seconds before answering), "restart" (forward, then call
    the proxy's `on_restart` and close without answering), "restart-before" (call `on_restart`, then close
    without forwarding: the request is lost with the old server process), "redirect" (answer `status`
    (a 3xx) with `Location: location`, without forwarding)."""

    kind: str
    status: int = 503
    retry_after: str | None = None
    delay: float = 0.0
    location: str | None = None


@dataclass
class Seen:
    number: int
    method: str
    path: str
    fault: str | None
    at: float


@dataclass
class FaultProxy:
    """Faults are keyed by the 1-based sequence number of POST requests (transactions and batches);
    `from_post` applies one fault to every POST from that number on (a long outage).

    `require_auth`: every request must carry exactly this Authorization header, else 401 (as a gateway in
    front of HAPI answers); with `echo_auth` the 401 quotes the header it got, as careless servers do.
    `hide_transactions`: /metadata loses its `transaction` interaction (a server that does not take them)."""

    upstream: str
    faults: dict[int, Fault] = field(default_factory=dict)
    from_post: tuple[int, Fault] | None = None
    on_restart: Callable[[], None] | None = None
    tls: tuple[str, str] | None = None  # (certificate, key) PEM files: serve https
    require_auth: str | None = None
    echo_auth: bool = False
    hide_transactions: bool = False
    log: list[Seen] = field(default_factory=list)
    _server: ThreadingHTTPServer | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _posts: int = 0

    @property
    def url(self) -> str:
        assert self._server is not None
        host, port = self._server.server_address[:2]
        return f"{'https' if self.tls else 'http'}://{host!s}:{port}"

    def start(self) -> FaultProxy:
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: object) -> None:  # quiet test output
                pass

            def do_GET(self) -> None:
                proxy._handle(self)

            def do_POST(self) -> None:
                proxy._handle(self)

            def do_PUT(self) -> None:
                proxy._handle(self)

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        if self.tls:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(*self.tls)
            self._server.socket = context.wrap_socket(self._server.socket, server_side=True)
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def faults_hit(self) -> list[str]:
        return [s.fault for s in self.log if s.fault]

    # -- request handling ---------------------------------------------------------------------------------

    def _pick(self, method: str, path: str) -> tuple[int, Fault | None]:
        with self._lock:
            number = 0
            fault = None
            if method == "POST":
                self._posts += 1
                number = self._posts
                fault = self.faults.get(number)
                if fault is None and self.from_post and number >= self.from_post[0]:
                    fault = self.from_post[1]
            self.log.append(Seen(number, method, path, fault.kind if fault else None, time.monotonic()))
            return number, fault

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        length = int(h.headers.get("Content-Length") or 0)
        body = h.rfile.read(length) if length else b""
        _, fault = self._pick(h.command, h.path)
        if self.require_auth is not None and h.headers.get("Authorization") != self.require_auth:
            got = h.headers.get("Authorization")
            text = f"not authorized: {got}" if self.echo_auth else "authentication required"
            issue = {"severity": "error", "code": "login", "diagnostics": text}
            outcome = {"resourceType": "OperationOutcome", "issue": [issue]}
            self._reply(h, 401, json.dumps(outcome).encode(), {"WWW-Authenticate": 'Bearer realm="fhir"'})
            return
        if fault and fault.kind == "redirect":
            self._reply(h, fault.status, b"", {"Location": fault.location or "/"})
            return
        if fault and fault.kind == "status":
            extra = {"Retry-After": fault.retry_after} if fault.retry_after is not None else {}
            self._reply(h, fault.status, b'{"resourceType":"OperationOutcome","issue":[]}', extra)
            return
        if fault and fault.kind == "drop":
            self._drop(h)
            return
        if fault and fault.kind == "restart-before":
            assert self.on_restart is not None
            self.on_restart()  # the request dies with the old server process
            self._drop(h)
            return
        try:
            status, headers, data = self._forward(h, body)
        except OSError:
            # Upstream down (e.g. restarting): answer as a reverse proxy would.
            self._reply(h, 502, b"bad gateway", {"Content-Type": "text/plain"})
            return
        if fault and fault.kind == "drop-after":
            self._drop(h)
            return
        if fault and fault.kind == "restart":
            assert self.on_restart is not None
            self._drop(h)
            self.on_restart()
            return
        if fault and fault.kind == "slow":
            time.sleep(fault.delay)
        if self.hide_transactions and h.command == "GET" and h.path.split("?")[0].rstrip("/") == "/metadata":
            data = _without_transactions(data)
        self._reply(h, status, data, headers)

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        target = urlsplit(self.upstream)
        conn = http.client.HTTPConnection(target.hostname or "127.0.0.1", target.port or 80, timeout=60)
        try:
            # Without Accept-Encoding: HAPI would gzip its answer, and the proxy reads and rewrites bodies.
            hop = ("host", "connection", "keep-alive", "accept-encoding")
            headers = {k: v for k, v in h.headers.items() if k.lower() not in hop}
            conn.request(h.command, target.path.rstrip("/") + h.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            keep = {k: v for k, v in resp.getheaders() if k.lower() in ("content-type", "location", "etag")}
            return resp.status, keep, data
        finally:
            conn.close()

    @staticmethod
    def _reply(h: BaseHTTPRequestHandler, status: int, data: bytes, headers: dict[str, str]) -> None:
        h.send_response(status)
        headers = {"Content-Type": "application/fhir+json", **headers}
        for k, v in headers.items():
            h.send_header(k, v)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    @staticmethod
    def _drop(h: BaseHTTPRequestHandler) -> None:
        h.close_connection = True
        with contextlib.suppress(OSError):
            h.connection.shutdown(socket.SHUT_RDWR)


def _without_transactions(data: bytes) -> bytes:
    statement = json.loads(data)
    for rest in statement.get("rest", []):
        rest["interaction"] = [i for i in rest.get("interaction", []) if i.get("code") != "transaction"]
    return json.dumps(statement).encode()
