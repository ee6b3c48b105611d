"""Push: deliver transaction bundles to a FHIR server (chunking, reference rewriting, report) and verify them."""

from __future__ import annotations

from collections.abc import Callable, Iterable
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
    "check_content",
    "load_files",
    "push_bundles",
    "push_files",
    "verify_bundles",
    "verify_files",
]

Loaded = list[tuple[str, list[Entry]]]
Bundles = list[tuple[str, dict[str, Any]]]
REPORT_LIMIT = 50  # errors quoted in a refusal; the rest are counted (`fhirconv validate` lists them all)


def load_files(paths: Iterable[str]) -> Loaded:
    """Read and check every bundle file before anything is sent (a bad file stops the run up front)."""
    return _entries_of(_read_files(paths))


def _read_files(paths: Iterable[str]) -> Bundles:
    return [(str(p), load_bundle(p)) for p in expand_paths(list(paths))]


def _entries_of(bundles: Iterable[tuple[str, dict[str, Any]]]) -> Loaded:
    return [(source, bundle_entries(bundle, source)) for source, bundle in bundles]


def check_content(bundles: Bundles, version: FhirVersion | None) -> None:
    """Refuse content that fails fhirconv's offline validation layers, before a single request: a server
    rejects such a transaction anyway, after part of the upload may have landed. `version` None: the content
    passes if it is valid FHIR of either version (the report shows the version with fewer errors)."""
    from fhirconv.errors import ValidationFailed
    from fhirconv.validation import validate_content
    from fhirconv.validation.report import text_report

    worst: list[Any] = []
    for candidate in [version] if version else list(FhirVersion):
        errors = [
            f.with_context(file=source)
            for source, bundle in bundles
            for f in validate_content(bundle, candidate)
            if f.is_error
        ]
        if not errors:
            return
        if not worst or len(errors) < len(worst[1]):
            worst = [candidate, errors]
    candidate, errors = worst
    shown = text_report(errors[:REPORT_LIMIT]).rstrip()
    more = f"\n... and {len(errors) - REPORT_LIMIT} more errors" if len(errors) > REPORT_LIMIT else ""
    raise ValidationFailed(
        f"the content fails FHIR {candidate} validation ({len(errors)} error(s)); nothing was sent:\n{shown}{more}",
        hint="fix the content (`fhirconv validate` lists every error), or push it anyway with --no-validate",
    )


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
    """Public API: push (source name, Bundle dict) pairs in order; `version` None means detect it. The content
    is validated first unless `options.validate` is False."""
    bundles = list(bundles)
    options = options or PushOptions()
    loaded = _entries_of(bundles)  # push's own refusals (bundle type, requests) come first
    if options.validate:
        check_content(bundles, version)
    return _push(loaded, config, options, version)


def push_files(
    paths: Iterable[str],
    config: ServerConfig,
    *,
    options: PushOptions | None = None,
    version: FhirVersion | None = None,
) -> PushReport:
    return push_bundles(_read_files(paths), config, options=options, version=version)


def _push(loaded: Loaded, config: ServerConfig, options: PushOptions, version: FhirVersion | None) -> PushReport:
    with FhirClient(_pooled(config, options.workers)) as client:
        _check(client, loaded, version)
        return Pusher(client, options).push(loaded)


def verify_files(
    paths: Iterable[str],
    config: ServerConfig,
    *,
    batch_size: int = 100,
    on_batch: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    return verify_bundles([], config, batch_size=batch_size, loaded=load_files(paths), on_batch=on_batch)


def verify_bundles(
    bundles: Iterable[tuple[str, dict[str, Any]]],
    config: ServerConfig,
    *,
    batch_size: int = 100,
    loaded: Loaded | None = None,
    on_batch: Callable[[int, int], None] | None = None,
) -> VerifyReport:
    content = loaded if loaded is not None else _entries_of(bundles)
    with FhirClient(config) as client:
        # Reading R5 content back from an R4 server would report every resource as "different".
        check_version(client, detect_version([e for _, entries in content for e in entries]))
        return verify(content, client, batch_size=batch_size, on_batch=on_batch)


def _pooled(config: ServerConfig, workers: int) -> ServerConfig:
    from dataclasses import replace

    return replace(config, pool_size=max(config.pool_size, workers))
