"""The one HTTP path to a FHIR server: a session with auth and TLS settings, retries, typed errors."""

from __future__ import annotations

import base64
import contextlib
import json
import random
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

from fhirconv import __version__
from fhirconv.retry_after import retry_after_seconds
from fhirconv.transport.errors import (
    AuthenticationFailed,
    PreconditionFailed,
    ResourceNotFound,
    ServerIncompatible,
    ServerRejected,
    ServerUnreachable,
    outcome_text,
)

FHIR_JSON = "application/fhir+json"
# Statuses that say "try again later"; everything else is an answer about the content and is not retried.
TRANSIENT = frozenset({429, 502, 503, 504})
# 409: HAPI's answer when two clients create the same conditional URL at the same moment (HAPI-2745, "conditional
# constraint failure": its search-URL index lets one win and rolls the other back). The loser's retry finds the
# winner's resource and updates it, so retrying is what makes concurrent pushes safe. Retried like a transient
# fault, but a 409 that persists is the server's answer about the content (exit 3), not an outage.
CONFLICT = 409


@dataclass(frozen=True)
class ServerConfig:
    """Where and how to reach a FHIR server. Secrets are kept out of repr so they never reach a log."""

    base_url: str
    token: str | None = field(default=None, repr=False)
    basic: tuple[str, str] | None = field(default=None, repr=False)
    ca_bundle: str | None = None
    insecure: bool = False
    timeout: float = 120.0  # seconds to wait for an answer: large transactions take a while on HAPI
    connect_timeout: float = 10.0
    retries: int = 6  # attempts after the first, for transient faults only
    backoff: float = 0.5  # first delay; doubles each attempt
    max_backoff: float = 60.0
    pool_size: int = 4

    @property
    def verify(self) -> bool | str:
        if self.insecure:
            return False
        return self.ca_bundle or True


@dataclass(slots=True)
class Answer:
    """A 2xx answer. `uncertain`: an earlier attempt of this request may have reached the server and been
    carried out (its connection broke or timed out after sending, or a gateway answered 502/504), so this
    answer may describe the second application of the request rather than the first."""

    status: int
    body: Any
    headers: Mapping[str, str]
    uncertain: bool = False


class FhirClient:
    """All HTTP to one server goes through `request`, which maps statuses to typed exceptions that keep the
    server's OperationOutcome. Transient faults are retried with exponential backoff, honouring Retry-After.
    Retrying a transaction is safe because fhirconv only sends idempotent (conditional or id-keyed) PUTs."""

    def __init__(self, config: ServerConfig, *, sleep: Callable[[float], None] = time.sleep) -> None:
        self.config = config
        self.base_url = config.base_url.rstrip("/")
        self._sleep = sleep
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=1, pool_maxsize=max(config.pool_size, 1))
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers.update(
            {
                "Accept": FHIR_JSON,
                "Content-Type": f"{FHIR_JSON}; charset=utf-8",
                "User-Agent": f"fhirconv/{__version__}",
            }
        )
        if config.token:
            self.session.headers["Authorization"] = f"Bearer {config.token}"
        elif config.basic:
            self.session.auth = config.basic
        self.session.verify = config.verify
        self._secrets = _secrets(config)
        self._lock = threading.Lock()
        self.first_date: float | None = None  # the server's clock (Date header) at its first answer
        self.wait_seconds = 0.0  # time spent waiting on the server, summed over requests (for benchmarks)
        self.requests_sent = 0
        self.retries_done = 0

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> FhirClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def url(self, path: str) -> str:
        # "?…" is a query on the base itself: HAPI's paging links (`next`) are `<base>?_getpages=…`.
        if not path or path.startswith("?"):
            return self.base_url + path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str = "",
        *,
        json_body: Any = None,
        params: Mapping[str, str] | None = None,
    ) -> Answer:
        url = self.url(path)
        data = None
        if json_body is not None:
            data = json.dumps(json_body, ensure_ascii=False).encode("utf-8")
        attempt = 0
        uncertain = False
        while True:
            started = time.perf_counter()
            try:
                resp = self._send(method, url, data, params)
            except requests.exceptions.SSLError as exc:
                # Not transient: retrying cannot make an untrusted certificate trusted.
                raise ServerUnreachable(
                    f"TLS verification failed for {self.base_url}: {_short(exc)}",
                    url=url,
                    hint="pass the server's CA certificate with --ca-bundle (or --insecure for a test server)",
                ) from exc
            except (requests.ConnectionError, requests.Timeout) as exc:
                self._count(started)
                uncertain = uncertain or _maybe_sent(exc)
                if attempt >= self.config.retries:
                    raise ServerUnreachable(
                        f"cannot reach {self.base_url} ({type(exc).__name__}) after {attempt + 1} attempts",
                        url=url,
                        hint="check the --server URL and that the server is up (a push can simply be run "
                        "again: it resumes without creating duplicates)",
                    ) from exc
                self._wait(attempt, None)
                attempt += 1
                continue
            except (requests.exceptions.InvalidURL, ValueError) as exc:
                raise ServerUnreachable(
                    f"{self.base_url} is not a usable URL ({_short(exc)})",
                    url=url,
                    hint="give --server as the FHIR base URL, e.g. https://hapi.fhir.org/baseR4",
                ) from exc
            except requests.RequestException as exc:  # redirect loops, broken chunked or compressed bodies
                raise ServerUnreachable(
                    f"no usable answer from {self.base_url} ({type(exc).__name__}: {_short(exc)})",
                    url=url,
                    hint="check the --server URL; run again to resume (a re-run creates no duplicates)",
                ) from exc
            self._count(started)
            self._note_date(resp)
            if (resp.status_code in TRANSIENT or resp.status_code == CONFLICT) and attempt < self.config.retries:
                # A gateway's 502/504 may come after the server behind it carried the request out.
                uncertain = uncertain or resp.status_code in (502, 504)
                self._wait(attempt, resp.headers.get("Retry-After"))
                attempt += 1
                continue
            answer = self._answer(resp, url, attempt)
            answer.uncertain = uncertain
            return answer

    def _send(self, method: str, url: str, data: bytes | None, params: Mapping[str, str] | None) -> requests.Response:
        """One attempt. Redirects are followed here, not by requests, and only within the server's origin: a
        redirect elsewhere would carry the bundle (307/308 resend the body) to a host nobody named."""
        for _ in range(MAX_REDIRECTS + 1):
            resp = self.session.request(
                method,
                url,
                data=data,
                params=params,
                timeout=(self.config.connect_timeout, self.config.timeout),
                # Per request: requests lets REQUESTS_CA_BUNDLE override a session-level `verify`.
                verify=self.config.verify,
                allow_redirects=False,
            )
            location = resp.headers.get("Location")
            if resp.status_code not in REDIRECTS or not location:
                return resp
            target = urljoin(resp.url, location)
            resp.close()
            if _origin(target) != _origin(url):
                raise ServerIncompatible(
                    f"{method} {url} is redirected to another origin, {_without_query(target)}: fhirconv does not "
                    "follow it with the content or the credentials",
                    url=url,
                    status=resp.status_code,
                    hint="if that is the server you mean, give its FHIR base URL as --server",
                )
            url, params = target, None  # same server: ask again there, the same way
        raise ServerRejected(f"{method} {url}: more than {MAX_REDIRECTS} redirects", url=url)

    def _mask(self, value: Any) -> Any:
        """The value with every credential this client sends replaced by ***: servers and gateways echo
        Authorization headers in error messages, and reports and logs are read by others."""
        if not self._secrets:
            return value
        if isinstance(value, str):
            for secret in self._secrets:
                value = value.replace(secret, "***")
            return value
        if isinstance(value, dict):
            return {k: self._mask(v) for k, v in value.items()}
        if isinstance(value, list):
            return [self._mask(v) for v in value]
        return value

    def _note_date(self, resp: requests.Response) -> None:
        if self.first_date is None:
            from email.utils import parsedate_to_datetime

            with contextlib.suppress(KeyError, TypeError, ValueError):
                self.first_date = parsedate_to_datetime(resp.headers["Date"]).timestamp()

    def _count(self, started: float) -> None:
        with self._lock:
            self.wait_seconds += time.perf_counter() - started
            self.requests_sent += 1

    def _wait(self, attempt: int, retry_after: str | None) -> None:
        delay = retry_after_seconds(retry_after)
        if delay is None:
            # Full jitter keeps concurrent workers from retrying in lock-step.
            delay = min(self.config.max_backoff, self.config.backoff * 2**attempt)
            delay = delay / 2 + random.uniform(0, delay / 2)  # noqa: S311 (not for security)
        with self._lock:
            self.retries_done += 1
        self._sleep(min(delay, self.config.max_backoff))

    def _answer(self, resp: requests.Response, url: str, attempts: int) -> Answer:
        body: Any
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = resp.text
        status = resp.status_code
        if 200 <= status < 300:
            if isinstance(body, dict) and isinstance(body.get("entry"), list) and self._secrets:
                # Per-entry outcomes of a transaction or batch are messages too; resources are content.
                for entry in body["entry"]:
                    if isinstance(entry, dict) and isinstance(entry.get("response"), dict):
                        entry["response"] = self._mask(entry["response"])
            return Answer(status, body, resp.headers)
        body = self._mask(body)
        outcome = body if isinstance(body, dict) and body.get("resourceType") == "OperationOutcome" else None
        detail = outcome_text(outcome) or (_short(body) if body else resp.reason or "")
        message = f"{resp.request.method} {url} answered {status}: {detail}".rstrip(": ")
        kwargs: dict[str, Any] = {"status": status, "outcome": outcome, "url": url}
        if status in TRANSIENT:
            raise ServerUnreachable(
                f"{message} (still failing after {attempts + 1} attempts)",
                hint="the server is overloaded or down; run again later to resume (a re-run creates no duplicates)",
                **kwargs,
            )
        if status in (401, 403):
            raise AuthenticationFailed(
                message, hint="check --token / FHIRCONV_TOKEN or --user and its rights on this server", **kwargs
            )
        if status in (404, 410):
            raise ResourceNotFound(message, **kwargs)
        if status == CONFLICT:
            raise ServerRejected(
                f"{message} (still conflicting after {attempts + 1} attempts)",
                hint="another client is writing the same resources at the same time; run the push again when it "
                "is done (a re-run creates no duplicates)",
                **kwargs,
            )
        if status == 412:
            raise PreconditionFailed(
                message,
                hint="a conditional request matched several resources: the server already holds duplicates "
                "of this identifier; remove them and push again",
                **kwargs,
            )
        raise ServerRejected(message, **kwargs)


REDIRECTS = frozenset({301, 302, 303, 307, 308})
MAX_REDIRECTS = 5


def _origin(url: str) -> tuple[str, str, int | None]:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return parts.scheme, (parts.hostname or "").lower(), port


def _without_query(url: str) -> str:
    return url.split("?", 1)[0]


def _secrets(config: ServerConfig) -> list[str]:
    """What to mask, longest first (a token inside `Bearer token` is masked with it). Short passwords are left:
    masking "pw" everywhere would garble messages, and a server echoes the header, not the bare password."""
    found: list[str] = []
    if config.token:
        found += [f"Bearer {config.token}", config.token]
    if config.basic:
        encoded = base64.b64encode(f"{config.basic[0]}:{config.basic[1]}".encode()).decode()
        found += [f"Basic {encoded}", encoded]
        if len(config.basic[1]) >= 6:
            found.append(config.basic[1])
    return sorted({s for s in found if s}, key=len, reverse=True)


def _maybe_sent(exc: Exception) -> bool:
    """False only when the request provably never left: the connection could not be opened."""
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        return False
    text = repr(exc)
    return not any(sign in text for sign in ("NewConnectionError", "ConnectionRefusedError", "Failed to resolve"))


def _short(value: object, limit: int = 300) -> str:
    text = str(value).replace("\n", " ")
    return text if len(text) <= limit else text[:limit] + "…"
