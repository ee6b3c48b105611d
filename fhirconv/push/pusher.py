"""Deliver transaction bundles to a FHIR server in chunks, concurrently where references allow, and record
what happened to every entry."""

from __future__ import annotations

import copy
import re
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import Any

from fhirconv.push.entries import Entry, iter_references
from fhirconv.push.plan import Chunk, plan_chunks
from fhirconv.push.report import Failure, PushReport
from fhirconv.transport.client import Answer, FhirClient
from fhirconv.transport.errors import (
    AuthenticationFailed,
    ServerIncompatible,
    ServerUnreachable,
    TransportError,
    outcome_text,
)

# HAPI marks no-op writes in the entry's outcome (https://hapifhir.io/fhir/CodeSystem/hapi-fhir-storage-response-code:
# SUCCESSFUL_UPDATE_NO_CHANGE, SUCCESSFUL_CONDITIONAL_UPDATE_NO_CHANGE, ...). Servers that do not say so
# report a no-op update as 200, which is counted as "updated".
UNCHANGED_CODES = frozenset({"SUCCESSFUL_UPDATE_NO_CHANGE", "SUCCESSFUL_CREATE_WITH_CONDITIONAL_MATCH"})
_CHUNK_PATH = re.compile(r"Bundle\.entry\[(\d+)\](\.resource)?")
_QUOTED = re.compile(r'"([^"]{3,200})"')
_ENTRY_INDEX = re.compile(r"[Ee]ntry\s*\[?\s*(\d+)\s*\]?")
_LOCATION = re.compile(r"(?:^|/)([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(?:/_history/[^/]*)?/?$")


@dataclass(frozen=True, slots=True)
class PushOptions:
    batch_size: int = 200
    workers: int = 1
    validate: bool = True  # check the content with the offline validation layers before sending anything
    # Told (entries of a chunk just answered, entries in all) as each chunk is answered: the CLI's progress.
    on_chunk: Callable[[int, int], None] | None = field(default=None, compare=False)


class Pusher:
    """Pushes the chunks of all files on `workers` threads, each as soon as the chunks it refers to have landed.

    References across chunks: an entry whose urn:uuid target landed in an earlier chunk (or an earlier file)
    gets that reference rewritten to the server's id for it (`Type/id`, from the earlier transaction
    response). Server ids work on every server, while conditional references (`Type?identifier=...`) are an
    optional HAPI feature; they are the fallback only when a server's response carries no location."""

    def __init__(self, client: FhirClient, options: PushOptions | None = None) -> None:
        self.client = client
        self.options = options or PushOptions()
        self.locations: dict[str, str] = {}  # fullUrl -> Type/id on the server
        self._lock = threading.Lock()
        self._fatal: TransportError | None = None
        self._since = 0.0  # the server's clock when this run started (see _this_run)

    def push(self, files: Iterable[tuple[str, list[Entry]]]) -> PushReport:
        report = PushReport(self.client.base_url)
        started = time.perf_counter()
        # The server's own clock (its first Date header, 1 s resolution), else ours a little early.
        self._since = self.client.first_date if self.client.first_date is not None else time.time() - 2
        wait0, req0, retry0 = self.client.wait_seconds, self.client.requests_sent, self.client.retries_done
        chunks = plan_files(files, self.options.batch_size)
        report.chunks += len(chunks)
        self._run(chunks, report)
        if isinstance(self._fatal, ServerIncompatible):
            raise self._fatal  # e.g. a redirect to another origin: the server named is not the one to push to
        report.elapsed = time.perf_counter() - started
        report.wait_seconds = self.client.wait_seconds - wait0
        report.requests = self.client.requests_sent - req0
        report.retries = self.client.retries_done - retry0
        return report

    # -- scheduling -------------------------------------------------------------------------------------------

    def _run(self, chunks: list[Chunk], report: PushReport) -> None:
        self._fatal = None  # a Pusher may be reused: an earlier run's fatal error is not this run's
        pending = list(chunks)
        total = sum(len(c.entries) for c in chunks)
        landed: set[int] = set()
        failed: set[int] = set()
        with ThreadPoolExecutor(max_workers=max(1, self.options.workers)) as pool:
            running: dict[Future[Answer], Chunk] = {}
            while pending or running:
                for chunk in list(pending):
                    if self._fatal is not None:
                        break
                    if chunk.depends_on & failed:
                        pending.remove(chunk)
                        failed.add(chunk.number)
                        needed = min(chunk.depends_on & failed) + 1
                        self._not_written(chunk, report, f"not sent: it depends on chunk {needed}, which failed")
                    elif chunk.depends_on <= landed and len(running) < max(1, self.options.workers):
                        pending.remove(chunk)
                        running[pool.submit(self._send, chunk)] = chunk
                if not running:
                    # Either a fatal error stopped the run, or what is left waits on chunks that never land
                    # (references that go round in a circle across chunks): say which.
                    reason = (
                        str(self._fatal)
                        if self._fatal
                        else "its references go round in a circle across chunks; a larger --batch-size keeps "
                        "them in one transaction"
                    )
                    for chunk in pending:
                        self._not_written(chunk, report, f"not sent: {reason}")
                    pending.clear()
                    break
                done, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in done:
                    chunk = running.pop(future)
                    if self.options.on_chunk is not None:
                        self.options.on_chunk(len(chunk.entries), total)
                    try:
                        answer = future.result()
                    except TransportError as exc:
                        failed.add(chunk.number)
                        self._rejected(chunk, exc, report)
                        if isinstance(exc, ServerUnreachable | AuthenticationFailed | ServerIncompatible):
                            self._fatal = exc  # every further request would fail the same way
                        continue
                    if self._record(chunk, answer, report):
                        landed.add(chunk.number)
                        report.chunks_ok += 1
                    else:
                        failed.add(chunk.number)

    def _send(self, chunk: Chunk) -> Answer:
        return self.client.request("POST", "", json_body=self._bundle(chunk))

    def _bundle(self, chunk: Chunk) -> dict[str, Any]:
        local = {e.full_url for e in chunk.entries if e.full_url}
        with self._lock:
            known = dict(self.locations)
        entries = []
        for e in chunk.entries:
            resource = e.resource
            if any(r not in local and r in known for r in e.refs):
                resource = copy.deepcopy(resource)
                for holder in iter_references(resource):
                    ref = holder["reference"]
                    if ref not in local and ref in known:
                        holder["reference"] = known[ref]
            request: dict[str, str] = {"method": e.method, "url": e.url}
            if e.if_none_exist:
                request["ifNoneExist"] = e.if_none_exist
            entry: dict[str, Any] = {"resource": resource, "request": request}
            if e.full_url:
                entry = {"fullUrl": e.full_url, **entry}
            entries.append(entry)
        return {"resourceType": "Bundle", "type": "transaction", "entry": entries}

    # -- outcomes ---------------------------------------------------------------------------------------------

    def _record(self, chunk: Chunk, answer: Answer, report: PushReport) -> bool:
        body = answer.body
        results = body.get("entry") if isinstance(body, dict) else None
        if not isinstance(results, list) or len(results) != len(chunk.entries):
            self._not_written(
                chunk,
                report,
                "the server's transaction response does not list one result per entry; run verify to see what landed",
                cause=True,
            )
            return False
        learned: dict[str, str] = {}
        doubtful: list[tuple[Entry, str]] = []
        for e, result in zip(chunk.entries, results, strict=True):
            response = result.get("response") or {}
            status = _status(response.get("status"))
            if not 200 <= status < 300:
                report.add(e.resource_type, "failed")
                report.failures.append(
                    _entry_failure(e, f"server answered {status}: {outcome_text(response.get('outcome'))}")
                )
                continue
            location = _location(response.get("location"))
            if status == 201:
                report.add(e.resource_type, "created")
            elif any(c in UNCHANGED_CODES or c.endswith("_NO_CHANGE") for c in _codes(response.get("outcome"))):
                if answer.uncertain and location:
                    doubtful.append((e, location))  # maybe "unchanged" only because our first attempt wrote it
                else:
                    report.add(e.resource_type, "unchanged")
            else:
                report.add(e.resource_type, "updated")
            if e.full_url:
                learned[e.full_url] = location or _fallback_reference(e)
        with self._lock:
            self.locations.update(learned)
        if doubtful:
            for e, outcome in zip((e for e, _ in doubtful), self._this_run([ref for _, ref in doubtful]), strict=True):
                report.add(e.resource_type, outcome)
        return True

    def _this_run(self, refs: list[str]) -> list[str]:
        """What this run did to resources a retried transaction found unchanged. The attempt before the retry may
        have been carried out although its answer was lost: then the resource was created (version 1) or updated
        by this run, at or after its start on the server's clock. One batch of reads, only after such faults."""
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": ref}} for ref in refs],
        }
        try:
            results = self.client.request("POST", "", json_body=bundle).body.get("entry") or []
        except (TransportError, AttributeError):
            results = []
        outcomes = []
        for i in range(len(refs)):
            resource = results[i].get("resource") if i < len(results) and isinstance(results[i], dict) else None
            meta = resource.get("meta") if isinstance(resource, dict) else None
            updated = _timestamp(meta.get("lastUpdated")) if isinstance(meta, dict) else None
            if updated is None or updated < self._since:
                outcomes.append("unchanged")
            else:
                outcomes.append("created" if str(meta.get("versionId")) == "1" else "updated")  # type: ignore[union-attr]
        return outcomes

    def _rejected(self, chunk: Chunk, exc: TransportError, report: PushReport) -> None:
        if isinstance(exc, ServerUnreachable | AuthenticationFailed):
            report.unreachable = report.unreachable or isinstance(exc, ServerUnreachable)
            report.failures.append(_chunk_failure(chunk, str(exc)))
            self._not_written(chunk, report, "not written: the transaction did not reach the server")
            return
        blamed = blame(chunk.entries, exc)
        for i, e in enumerate(chunk.entries):
            report.add(e.resource_type, "failed")
            if i in blamed:
                report.failures.append(_entry_failure(e, blamed[i]))
            elif blamed:
                message = "not written: its transaction was rejected because of another entry"
                report.failures.append(_entry_failure(e, message, cause=False))
        if not blamed:
            report.failures.append(_chunk_failure(
                chunk,
                f"{exc} (the server did not say which entry; all {len(chunk.entries)} entries were not written)",
            ))

    @staticmethod
    def _not_written(chunk: Chunk, report: PushReport, message: str, *, cause: bool = False) -> None:
        for e in chunk.entries:
            report.add(e.resource_type, "failed")
            report.failures.append(_entry_failure(e, message, cause=cause))


def _entry_failure(e: Entry, message: str, *, cause: bool = True) -> Failure:
    return Failure(e.file, e.position, e.resource_type, e.identifier, message, cause=cause)


def _chunk_failure(chunk: Chunk, message: str) -> Failure:
    """A failure of a whole transaction that no entry can be blamed for: reported once, against the chunk."""
    return Failure(chunk.entries[0].file, None, "Bundle", chunk.describe(), message)


def plan_files(files: Iterable[tuple[str, list[Entry]]], batch_size: int) -> list[Chunk]:
    """Chunks of all files, numbered in one sequence, so workers can run chunks of several files at once.

    Across files two more dependencies are added: a reference to a fullUrl defined in an earlier file waits for
    that file's chunk, and an entry with the same request URL as an entry of an earlier file (a sponsor
    Organization shared by two study bundles) waits for the first one, because two concurrent conditional
    updates of one identifier that does not exist yet would each create it."""
    out: list[Chunk] = []
    owner_url: dict[str, int] = {}
    owner_request: dict[str, int] = {}
    for _source, entries in files:
        if not entries:
            continue
        base = len(out)
        chunks = plan_chunks(entries, batch_size)
        in_file = {e.full_url for e in entries if e.full_url}
        for chunk in chunks:
            chunk.number += base
            chunk.depends_on = {d + base for d in chunk.depends_on}
            for e in chunk.entries:
                chunk.depends_on.update(owner_url[r] for r in e.refs if r not in in_file and r in owner_url)
                if e.url in owner_request:
                    chunk.depends_on.add(owner_request[e.url])
        for chunk in chunks:
            for e in chunk.entries:
                if e.full_url:
                    owner_url.setdefault(e.full_url, chunk.number)
                owner_request.setdefault(e.url, chunk.number)
        out.extend(chunks)
    return out


def blame(entries: list[Entry], exc: TransportError) -> dict[int, str]:
    """Map the issues of a rejected transaction to the chunk entries that caused them: by `Bundle.entry[n]` in
    expression/location/diagnostics (HAPI and our test server), else by a fullUrl, request URL or identifier
    quoted in the diagnostics, else by a quoted value that only one entry holds. Unattributed issues are
    reported against the whole chunk by the caller."""
    issues = (exc.outcome or {}).get("issue") or []
    if not issues:
        issues = [{"severity": "error", "diagnostics": exc.message}]
    found: dict[int, list[str]] = {}
    status = f"server answered {exc.status}: " if exc.status else ""
    for issue in issues:
        if issue.get("severity") not in ("error", "fatal", None):
            continue
        text = outcome_text({"issue": [issue]}) or exc.message
        where = " ".join(map(str, [*(issue.get("expression") or []), *(issue.get("location") or [])]))
        blob = f"{where} {issue.get('diagnostics', '')} {(issue.get('details') or {}).get('text', '')}"
        targets = {int(m) for m in _ENTRY_INDEX.findall(blob) if int(m) < len(entries)}
        if not targets:
            targets = {
                i
                for i, e in enumerate(entries)
                if (e.full_url and e.full_url in blob) or e.url in blob or (e.identifier and e.identifier in blob)
            }
        if not targets:
            targets = _by_quoted_value(entries, blob)
        for i in targets:
            found.setdefault(i, []).append(text)
    return {i: status + _local_names("; ".join(texts), entries) for i, texts in found.items()}


def _local_names(text: str, entries: list[Entry]) -> str:
    """`Bundle.entry[2].resource.code` means entry 2 of the chunk, not of the file: name it by type instead."""

    def name(m: re.Match[str]) -> str:
        i = int(m.group(1))
        rtype = entries[i].resource_type if i < len(entries) else "entry"
        return rtype if m.group(2) else f"entry {entries[i].position}" if i < len(entries) else m.group(0)

    return _CHUNK_PATH.sub(name, text)


def _by_quoted_value(entries: list[Entry], text: str) -> set[int]:
    """HAPI's parse errors quote the bad value (`Invalid attribute value "1999-13-45"`) but not the entry:
    blame the one entry whose resource holds that exact value, if exactly one does."""
    quoted = set(_QUOTED.findall(text))
    if not quoted:
        return set()
    hits = {i for i, e in enumerate(entries) if quoted & set(_string_values(e.resource))}
    return hits if len(hits) == 1 else set()


def _string_values(node: Any) -> list[str]:
    if isinstance(node, dict):
        return [s for v in node.values() for s in _string_values(v)]
    if isinstance(node, list):
        return [s for v in node for s in _string_values(v)]
    return [node] if isinstance(node, str) else []


def _status(text: object) -> int:
    try:
        return int(str(text).split()[0])
    except (ValueError, IndexError):
        return 0


def _codes(outcome: object) -> set[str]:
    codes: set[str] = set()
    if isinstance(outcome, dict):
        for issue in outcome.get("issue") or []:
            for coding in (issue.get("details") or {}).get("coding") or []:
                codes.add(str(coding.get("code")))
    return codes


def _location(location: object) -> str | None:
    if not isinstance(location, str):
        return None
    m = _LOCATION.search(location.split("?", 1)[0])
    return f"{m.group(1)}/{m.group(2)}" if m else None


def _timestamp(text: object) -> float | None:
    from datetime import datetime

    try:
        return datetime.fromisoformat(str(text).replace("Z", "+00:00")).timestamp()
    except ValueError:
        return None


def _fallback_reference(e: Entry) -> str:
    # PUT Type/id names the id itself; a conditional URL works as a conditional reference on HAPI.
    return e.url
