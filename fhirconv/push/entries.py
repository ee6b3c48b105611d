"""Bundle files as pushable entries: where each came from, its request, its references, its business key."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote

from fhirconv.errors import InputError, UsageError
from fhirconv.versions import FhirVersion
from fhirconv.versions import detect_version as detect_resources_version


@dataclass(slots=True)
class Entry:
    """One transaction entry of an input bundle. `position` is its index in the file's Bundle.entry."""

    file: str
    position: int
    full_url: str | None
    resource: dict[str, Any]
    method: str
    url: str
    if_none_exist: str | None = None
    refs: list[str] = field(default_factory=list)  # fullUrl-like references found in the resource

    @property
    def resource_type(self) -> str:
        return str(self.resource.get("resourceType", ""))

    @property
    def identifier(self) -> str:
        """The business key for messages: system|value of the conditional URL or the first identifier."""
        if "?" in self.url:
            query = self.url.split("?", 1)[1]
            for part in query.split("&"):
                name, _, value = part.partition("=")
                if name == "identifier":
                    return _unescape(unquote(value))
        ids = self.resource.get("identifier")
        first = ids[0] if isinstance(ids, list) and ids else ids
        if isinstance(first, dict) and first.get("value") is not None:
            return f"{first.get('system', '')}|{first['value']}"
        return f"{self.resource_type}/{self.resource.get('id', '?')}"

    def describe(self) -> str:
        return f"{self.file}: entry {self.position} ({self.resource_type} {self.identifier})"


def _unescape(token: str) -> str:
    # Show identifiers as written in the data, not with FHIR search escapes.
    out, i = [], 0
    while i < len(token):
        if token[i] == "\\" and i + 1 < len(token):
            i += 1
        out.append(token[i])
        i += 1
    return "".join(out)


def iter_references(node: Any) -> Iterator[dict[str, Any]]:
    """Every object holding a string `reference`, outside contained resources."""
    if isinstance(node, dict):
        if isinstance(node.get("reference"), str):
            yield node
        for key, value in node.items():
            if key != "contained" and isinstance(value, dict | list):
                yield from iter_references(value)
    elif isinstance(node, list):
        for item in node:
            yield from iter_references(item)


def expand_paths(paths: list[str]) -> list[Path]:
    """Files as given; a directory stands for the *.json bundle files inside it, in name order."""
    files: list[Path] = []
    for text in paths:
        path = Path(text)
        if path.is_dir():
            found = sorted(p for p in path.glob("*.json") if p.is_file())
            if not found:
                raise UsageError(f"no *.json bundle files in directory {path}", file=str(path))
            files.extend(found)
        elif path.is_file():
            files.append(path)
        else:
            raise UsageError(f"no such file or directory: {path}", file=str(path))
    return files


def load_bundle(path: Path) -> dict[str, Any]:
    try:
        bundle = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"cannot read a JSON bundle: {exc}", file=str(path)) from exc
    if not isinstance(bundle, dict):
        raise InputError("not a FHIR Bundle (expected a JSON object)", file=str(path))
    return bundle


def bundle_entries(bundle: dict[str, Any], source: str) -> list[Entry]:
    """The entries of a transaction (or batch) Bundle. Anything fhirconv could not push safely is refused
    here, before a single request is sent, so a push never stops half-way on its own input."""
    if bundle.get("resourceType") != "Bundle":
        raise InputError(f"not a FHIR Bundle (resourceType {bundle.get('resourceType')!r})", file=source)
    if bundle.get("type") not in ("transaction", "batch"):
        raise InputError(
            f"Bundle.type is {bundle.get('type')!r}; only transaction or batch bundles can be pushed",
            file=source,
            hint="push takes transaction or batch bundles: convert with the default --bundle transaction",
        )
    entries: list[Entry] = []
    full_urls: set[str] = set()
    for pos, raw in enumerate(bundle.get("entry") or []):
        resource = raw.get("resource") if isinstance(raw, dict) else None
        request = raw.get("request") if isinstance(raw, dict) else None
        if not isinstance(resource, dict) or not isinstance(request, dict) or not request.get("url"):
            raise InputError("entry has no resource or no request.url", file=source, record=f"entry {pos}")
        method = str(request.get("method", "")).upper()
        if method not in ("PUT", "POST"):
            raise InputError(
                f"request.method {method or '(none)'} is not supported by push (only PUT and POST)",
                file=source,
                record=f"entry {pos}",
            )
        if method == "POST" and not request.get("ifNoneExist"):
            raise InputError(
                "unconditional POST would create a duplicate on every run",
                file=source,
                record=f"entry {pos}",
                hint="use conditional PUT (Type?identifier=system|value) or POST with ifNoneExist",
            )
        full_url = raw.get("fullUrl")
        if full_url:
            if full_url in full_urls:
                raise InputError(f"fullUrl {full_url} appears twice", file=source, record=f"entry {pos}")
            full_urls.add(full_url)
        entry = Entry(source, pos, full_url, resource, method, str(request["url"]), request.get("ifNoneExist"))
        entry.refs = [r["reference"] for r in iter_references(resource) if r["reference"].startswith("urn:")]
        entries.append(entry)
    return entries


def detect_version(entries: list[Entry]) -> FhirVersion | None:
    """The FHIR version the entries' resources validate as, or None if they fit both or neither."""
    return detect_resources_version(e.resource for e in entries)
