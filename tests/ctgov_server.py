"""A local stand-in for the ClinicalTrials.gov API v2, serving real corpus records, for the fetch tests.

Normal answers are built from the study files in tests/data/fetch/: `GET /api/v2/studies/{nctId}`
(optionally `fields=LastUpdatePostDate`) and `GET /api/v2/studies?...` paged with opaque
nextPageTokens. Faults are scripted per path with `script(path, Reply(...), ...)`: each scripted
reply is served once, in order, before normal answers resume. Every request is recorded.
"""

from __future__ import annotations

import base64
import json
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

DATA = Path(__file__).parent / "data" / "fetch"
PREFIX = "/api/v2"
# Parameters the real API accepts on /studies that this stand-in understands.
_SEARCH_PARAMS = {"query.cond", "query.term", "filter.overallStatus", "pageSize", "pageToken", "format", "countTotal"}


@dataclass
class Reply:
    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to wait before answering (a slow server)
    cut_short: bool = False  # announce the full length, send half, close (a dropped connection)


def load_studies() -> dict[str, bytes]:
    """The raw bytes of each corpus study file, by NCT ID."""
    return {p.stem: p.read_bytes() for p in sorted(DATA.glob("NCT*.json"))}


class CtgovServer:
    def __init__(self, studies: dict[str, bytes] | None = None) -> None:
        self.studies: dict[str, bytes] = dict(studies if studies is not None else load_studies())
        self.requests: list[str] = []  # path?query of every request, in order
        self.user_agents: list[str] = []
        self._scripts: dict[str, list[Reply]] = {}
        self._lock = threading.Lock()
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    # -- control ---------------------------------------------------------------------------
    @property
    def url(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}{PREFIX}"

    def start(self) -> CtgovServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def reset(self) -> None:
        with self._lock:
            self.requests.clear()
            self.user_agents.clear()
            self._scripts.clear()
        self.studies = load_studies()

    def script(self, path: str, *replies: Reply) -> None:
        """Serve these replies (once each, in order) to the next requests for `path` (e.g. '/studies')."""
        with self._lock:
            self._scripts.setdefault(PREFIX + path, []).extend(replies)

    def requests_for(self, path: str) -> list[str]:
        return [r for r in self.requests if urlsplit(r).path == PREFIX + path]

    # -- answers ---------------------------------------------------------------------------
    def _next_scripted(self, path: str) -> Reply | None:
        with self._lock:
            queue = self._scripts.get(path)
            return queue.pop(0) if queue else None

    def answer(self, path: str, params: list[tuple[str, str]]) -> Reply:
        scripted = self._next_scripted(path)
        if scripted is not None:
            return scripted
        if path == PREFIX + "/version":  # as the real API answers it
            return _json({"apiVersion": "2.0.5", "dataTimestamp": "2026-01-01T00:00:00"})
        if path == PREFIX + "/studies":
            return self._search(dict(params))
        if path.startswith(PREFIX + "/studies/"):
            return self._study(path.rsplit("/", 1)[1].upper(), dict(params))
        return _text(404, f"no such endpoint: {path}")

    def _study(self, nct_id: str, params: dict[str, str]) -> Reply:
        raw = self.studies.get(nct_id)
        if raw is None:
            return _text(404, f"Study not found: {nct_id}")
        fields = params.get("fields")
        if fields is None:
            return Reply(200, raw, {"Content-Type": "application/json"})
        if fields != "LastUpdatePostDate":
            return _text(400, f"this test server only knows fields=LastUpdatePostDate, not {fields}")
        status = json.loads(raw)["protocolSection"]["statusModule"]
        subset = {"protocolSection": {"statusModule": {"lastUpdatePostDateStruct": status["lastUpdatePostDateStruct"]}}}
        return _json(subset)

    def _search(self, params: dict[str, str]) -> Reply:
        unknown = set(params) - _SEARCH_PARAMS
        if unknown:
            return _text(400, f"unknown parameter(s): {', '.join(sorted(unknown))}")
        matches = [json.loads(raw) for _, raw in sorted(self.studies.items()) if _matches(json.loads(raw), params)]
        size = int(params.get("pageSize") or 10)
        start = 0
        if "pageToken" in params:
            try:
                start = int(base64.urlsafe_b64decode(params["pageToken"]).decode().removeprefix("offset:"))
            except ValueError:
                return _text(400, "invalid pageToken")
        page: dict[str, Any] = {"studies": matches[start : start + size]}
        if params.get("countTotal") == "true" and start == 0:
            page["totalCount"] = len(matches)
        if start + size < len(matches):
            page["nextPageToken"] = base64.urlsafe_b64encode(f"offset:{start + size}".encode()).decode()
        return _json(page)

    # -- HTTP plumbing ---------------------------------------------------------------------
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            disable_nagle_algorithm = True  # headers and body go out in two writes; no 40 ms stall between

            def do_GET(self) -> None:
                parts = urlsplit(self.path)
                with server._lock:
                    server.requests.append(self.path)
                    server.user_agents.append(self.headers.get("User-Agent", ""))
                reply = server.answer(parts.path, parse_qsl(parts.query, keep_blank_values=True))
                if reply.delay:
                    time.sleep(reply.delay)
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(reply.body)))
                    if reply.cut_short:
                        self.send_header("Connection", "close")
                    self.end_headers()
                    self.wfile.write(reply.body[: len(reply.body) // 2] if reply.cut_short else reply.body)
                    self.wfile.flush()
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (a timeout test); nothing to answer to
                if reply.cut_short:
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test output quiet

        return Handler


def _matches(study: dict[str, Any], params: dict[str, str]) -> bool:
    protocol = study["protocolSection"]
    cond = params.get("query.cond")
    if cond:
        conditions = protocol.get("conditionsModule", {})
        words = [*conditions.get("conditions", []), *conditions.get("keywords", [])]
        if not any(cond.lower() in w.lower() for w in words):
            return False
    term = params.get("query.term")
    if term and term.lower() not in json.dumps(study).lower():
        return False
    statuses = params.get("filter.overallStatus")
    if statuses:
        wanted = {s.strip() for s in statuses.replace("|", ",").split(",")}
        if protocol["statusModule"]["overallStatus"] not in wanted:
            return False
    return True


def _json(value: Any) -> Reply:
    return Reply(200, json.dumps(value).encode(), {"Content-Type": "application/json"})


def _text(status: int, text: str) -> Reply:
    return Reply(status, text.encode(), {"Content-Type": "text/plain"})
