"""Layer 5: bundle integrity: unique fullUrls, references that resolve to an allowed type, consistent requests."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from fhirconv.validation.definitions import Definitions, Walks, load_definitions, walk
from fhirconv.validation.findings import Finding, Layer, Severity, resource_context
from fhirconv.versions import FhirVersion

_RELATIVE = re.compile(r"^([A-Z][A-Za-z]+)/([A-Za-z0-9\-.]{1,64})(/_history/[A-Za-z0-9\-.]{1,64})?$")
_CONDITIONAL = re.compile(r"^([A-Z][A-Za-z]+)\?.+")
_ABSOLUTE = re.compile(r"^[a-z][a-z0-9+.\-]*://")
_METHODS = ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")


@dataclass(frozen=True, slots=True)
class _Target:
    resource_type: str
    entry: int


def integrity_findings(content: Any, version: FhirVersion, walks: Walks | None = None) -> list[Finding]:
    """A Bundle: fullUrls, references between entries, transaction requests. A single resource: only its
    references to contained resources can be resolved offline, so only those are checked."""
    if not isinstance(content, dict):
        return []
    defs = load_definitions(version)
    if content.get("resourceType") != "Bundle" or not isinstance(content.get("entry"), list):
        return _references(defs, content, {}, None, None, conditional_ok=True, in_bundle=False, walks=walks)
    bundle_ctx = resource_context(content)
    kind = content.get("type")
    entries = content["entry"]
    findings: list[Finding] = []
    by_url: dict[str, _Target] = {}
    first_seen: dict[str, int] = {}
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        url = entry.get("fullUrl")
        resource = entry.get("resource")
        rtype = resource.get("resourceType") if isinstance(resource, dict) else None
        if isinstance(url, str):
            if url in first_seen:
                findings.append(
                    _finding(
                        f"Bundle.entry[{i}].fullUrl",
                        f"duplicate fullUrl {url!r}: entry {first_seen[url]} has it already; fullUrls must be unique",
                        "duplicate-fullurl",
                        bundle_ctx,
                    )
                )
                continue
            first_seen[url] = i
            if isinstance(rtype, str):
                by_url[url] = _Target(rtype, i)
        if isinstance(rtype, str) and isinstance(resource, dict) and isinstance(resource.get("id"), str):
            # A relative reference Type/id also resolves to an entry holding that resource.
            by_url.setdefault(f"{rtype}/{resource['id']}", _Target(rtype, i))
    for i, entry in enumerate(entries):
        if not isinstance(entry, dict):
            continue
        resource = entry.get("resource")
        if isinstance(resource, dict):
            full_url = entry.get("fullUrl") if isinstance(entry.get("fullUrl"), str) else None
            findings += _references(
                defs, resource, by_url, i, full_url, conditional_ok=kind in ("transaction", "batch"), in_bundle=True,
                walks=walks,
            )
        findings += _entry_shape(entry, i, kind, version, bundle_ctx)
        if kind in ("transaction", "batch"):
            findings += _request(entry, i, bundle_ctx)
    return findings


_WRITES = ("POST", "PATCH", "PUT")


def _entry_shape(
    entry: dict[str, Any], i: int, kind: Any, version: FhirVersion, bundle_ctx: dict[str, Any]
) -> list[Finding]:
    """Invariants bdl-3 and bdl-4 (R4), bdl-3a-d (R5), checked entry by entry so the report can name the entry:
    which entries carry a request or a response, and whether a write has a resource."""
    has = {key: entry.get(key) not in (None, {}, []) for key in ("resource", "request", "response")}
    request = entry.get("request")
    method = request.get("method") if isinstance(request, dict) else None
    at = f"Bundle.entry[{i}]"
    out: list[tuple[str, str, str]] = []
    if version is FhirVersion.R4:
        wants_request = kind in ("batch", "transaction", "history")
        if has["request"] != wants_request:
            needs = "needs a request" if wants_request else "must not have a request"
            out.append(("bdl-3", f"{at}.request", f"an entry of a {kind} Bundle {needs}"))
        wants_response = kind in ("batch-response", "transaction-response", "history")
        if has["response"] != wants_response:
            needs = "needs a response" if wants_response else "must not have a response"
            out.append(("bdl-4", f"{at}.response", f"an entry of a {kind} Bundle {needs}"))
    elif kind in ("document", "message", "searchset", "collection"):
        if not has["resource"]:
            out.append(("bdl-3a", f"{at}.resource", f"an entry of a {kind} Bundle needs a resource"))
        for key in ("request", "response"):
            if has[key]:
                out.append(("bdl-3a", f"{at}.{key}", f"an entry of a {kind} Bundle must not have a {key}"))
    elif kind in ("transaction", "batch", "history"):
        if kind == "history":
            for key in ("request", "response"):
                if not has[key]:
                    out.append(("bdl-3b", f"{at}.{key}", f"an entry of a history Bundle needs a {key}"))
        rule = "bdl-3b" if kind == "history" else "bdl-3c"
        if not isinstance(method, str):
            if kind != "history" or has["request"]:
                out.append((rule, f"{at}.request.method", f"an entry of a {kind} Bundle needs request.method"))
        elif (method in _WRITES) != has["resource"]:
            wrong = f"a {method} carries no resource" if method in _WRITES else f"a {method} must not carry a resource"
            out.append((rule, f"{at}.resource", wrong))
    elif kind in ("transaction-response", "batch-response") and not has["response"]:
        out.append(("bdl-3d", f"{at}.response", f"an entry of a {kind} Bundle needs a response"))
    return [_finding(path, f"{key}: {text}", key, bundle_ctx) for key, path, text in out]


def _references(
    defs: Definitions,
    resource: dict[str, Any],
    by_url: dict[str, _Target],
    entry: int | None,
    full_url: str | None,
    *,
    conditional_ok: bool,
    in_bundle: bool,
    walks: Walks | None = None,
) -> list[Finding]:
    context = resource_context(resource)
    if entry is not None:
        context["entry"] = entry
    if full_url:
        context["full_url"] = full_url
    contained = (
        {
            c["id"]: c.get("resourceType")
            for c in resource.get("contained", [])
            if isinstance(c, dict) and isinstance(c.get("id"), str)
        }
        if isinstance(resource.get("contained"), list)
        else {}
    )
    findings: list[Finding] = []
    for node in walk(defs, resource, walks):
        if node.type != "Reference" or not isinstance(node.value.get("reference"), str):
            continue
        ref: str = node.value["reference"]
        allowed = node.spec[2] if node.spec and node.spec[2] else None
        path = f"{node.path}.reference"
        target_type: str | None = None
        if ref.startswith("#"):
            if ref == "#":
                continue  # the containing resource itself
            if ref[1:] not in contained:
                findings.append(
                    _finding(
                        path,
                        f"reference {ref!r}: no contained resource has id {ref[1:]!r}",
                        "dangling-reference",
                        context,
                    )
                )
                continue
            target_type = contained[ref[1:]]
        elif ref in by_url:
            target_type = by_url[ref].resource_type
        elif _CONDITIONAL.match(ref):
            if not conditional_ok:
                findings.append(
                    _finding(
                        path,
                        f"conditional reference {ref!r} only resolves in a transaction or batch Bundle",
                        "conditional-outside-transaction",
                        context,
                    )
                )
                continue
            target_type = _CONDITIONAL.match(ref).group(1)  # type: ignore[union-attr]
        elif (relative := _RELATIVE.match(ref)) is not None:
            key = f"{relative.group(1)}/{relative.group(2)}"
            if in_bundle and key not in by_url:
                findings.append(
                    _finding(
                        path,
                        f"reference {ref!r} does not resolve to any entry of the Bundle",
                        "dangling-reference",
                        context,
                    )
                )
                continue
            target_type = relative.group(1)
        elif ref.startswith(("urn:uuid:", "urn:oid:")):
            findings.append(
                _finding(
                    path, f"reference {ref!r} does not match the fullUrl of any entry", "dangling-reference", context
                )
            )
            continue
        elif _ABSOLUTE.match(ref):
            target_type = _type_in_url(ref)  # an external resource: cannot be resolved offline, type from URL
        else:
            findings.append(
                _finding(
                    path,
                    f"reference {ref!r} is neither a relative, absolute, conditional, contained nor urn: reference",
                    "bad-reference",
                    context,
                )
            )
            continue
        declared = node.value.get("type")
        if isinstance(declared, str) and target_type and declared != target_type:
            findings.append(
                _finding(
                    f"{node.path}.type",
                    f"Reference.type is {declared!r} but the reference points at {_a(target_type)}",
                    "reference-type-mismatch",
                    context,
                )
            )
        if allowed and target_type and "Resource" not in allowed and target_type not in allowed:
            findings.append(
                _finding(
                    path,
                    f"points at {_a(target_type)}, but this element may only refer to {', '.join(allowed)}",
                    "wrong-target-type",
                    context,
                )
            )
    return findings


def _type_in_url(url: str) -> str | None:
    parts = url.rstrip("/").split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    return parts[-2] if len(parts) >= 2 and _RELATIVE.match(f"{parts[-2]}/{parts[-1]}") else None


def _request(entry: dict[str, Any], i: int, bundle_ctx: dict[str, Any]) -> list[Finding]:
    """Method and url agree with each other and with the entry's resource (presence is invariant bdl-3)."""
    request = entry.get("request")
    if not isinstance(request, dict):
        return []
    method, url = request.get("method"), request.get("url")
    resource = entry.get("resource")
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    at = f"Bundle.entry[{i}].request"
    if method not in _METHODS or not isinstance(url, str):
        return []  # the schema and structure layers report a bad method or a missing url
    path_part = url.split("?", 1)[0]
    url_type = path_part.split("/", 1)[0]
    if method in ("PUT", "POST", "PATCH") and isinstance(rtype, str) and url_type != rtype:
        return [
            _finding(
                f"{at}.url",
                f"{method} {url!r} names {url_type!r}, but the entry holds {_a(rtype)}",
                "request-url-type",
                bundle_ctx,
            )
        ]
    if method == "POST" and "/" in path_part:
        return [
            _finding(
                f"{at}.url",
                f"POST {url!r}: a create goes to the type ({url_type}), not to an id",
                "request-method-url",
                bundle_ctx,
            )
        ]
    if method in ("PUT", "DELETE", "PATCH") and "?" not in url and "/" not in path_part:
        return [
            _finding(
                f"{at}.url",
                f"{method} {url!r} needs an id (Type/id) or a search (Type?...)",
                "request-method-url",
                bundle_ctx,
            )
        ]
    if method == "PUT" and "?" not in url and isinstance(resource, dict):
        url_id = path_part.split("/")[1] if "/" in path_part else None
        if url_id and resource.get("id") != url_id:
            return [
                _finding(
                    f"{at}.url",
                    f"PUT {url!r} but the resource's id is {resource.get('id')!r}",
                    "request-id-mismatch",
                    bundle_ctx,
                )
            ]
    return []


def _a(word: str) -> str:
    return f"an {word}" if word[:1] in "AEIOU" else f"a {word}"


def _finding(path: str, message: str, code: str, context: dict[str, Any]) -> Finding:
    return Finding(Severity.ERROR, Layer.INTEGRITY, path, message, code, **context)
