"""Push: deliver transaction bundles to a FHIR server (chunking, reference rewriting, report) and verify them."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from fhirconv.push.entries import Entry, bundle_entries, detect_version, expand_paths, load_bundle
from fhirconv.push.pusher import Pusher, PushOptions
from fhirconv.push.report import Failure, PushReport
from fhirconv.push.verify import VerifyReport, verify
from fhirconv.transport import FhirClient, ServerConfig, check_capability
from fhirconv.transport.capability import check_version
from fhirconv.versions import FhirVersion

__all__ = [
    "Entry",
    "Failure",
    "PushOptions",
    "PushReport",
    "Pusher",
    "VerifyReport",
    "load_files",
    "push_bundles",
    "push_files",
    "verify_bundles",
    "verify_files",
]

Loaded = list[tuple[str, list[Entry]]]


def load_files(paths: Iterable[str]) -> Loaded:
    """Read and check every bundle file before anything is sent (a bad file stops the run up front)."""
    return [(str(p), bundle_entries(load_bundle(p), str(p))) for p in expand_paths(list(paths))]


def _entries_of(bundles: Iterable[tuple[str, dict[str, Any]]]) -> Loaded:
    return [(source, bundle_entries(bundle, source)) for source, bundle in bundles]


def _check(client: FhirClient, loaded: Loaded, version: FhirVersion | None) -> None:
    if version is None:
        version = detect_version([e for _, entries in loaded for e in entries])
    check_capability(client, version)


def push_bundles(
    bundles: Iterable[tuple[str, dict[str, Any]]],
    config: ServerConfig,
    *,
    options: PushOptions | None = None,
    version: FhirVersion | None = None,
) -> PushReport:
    """Public API: push (source name, Bundle dict) pairs in order; `version` None means detect it."""
    return _push(_entries_of(bundles), config, options or PushOptions(), version)


def push_files(
    paths: Iterable[str],
    config: ServerConfig,
    *,
    options: PushOptions | None = None,
    version: FhirVersion | None = None,
) -> PushReport:
    return _push(load_files(paths), config, options or PushOptions(), version)


def _push(loaded: Loaded, config: ServerConfig, options: PushOptions, version: FhirVersion | None) -> PushReport:
    with FhirClient(_pooled(config, options.workers)) as client:
        _check(client, loaded, version)
        return Pusher(client, options).push(loaded)


def verify_files(paths: Iterable[str], config: ServerConfig, *, batch_size: int = 100) -> VerifyReport:
    return verify_bundles([], config, batch_size=batch_size, loaded=load_files(paths))


def verify_bundles(
    bundles: Iterable[tuple[str, dict[str, Any]]],
    config: ServerConfig,
    *,
    batch_size: int = 100,
    loaded: Loaded | None = None,
) -> VerifyReport:
    content = loaded if loaded is not None else _entries_of(bundles)
    with FhirClient(config) as client:
        # Reading R5 content back from an R4 server would report every resource as "different".
        check_version(client, detect_version([e for _, entries in content for e in entries]))
        return verify(content, client, batch_size=batch_size)


def _pooled(config: ServerConfig, workers: int) -> ServerConfig:
    from dataclasses import replace

    return replace(config, pool_size=max(config.pool_size, workers))
