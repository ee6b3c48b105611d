"""Bundles: deterministic fullUrls, conditional (idempotent) transaction requests, stable output."""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Literal

import orjson

from fhirconv.versions import FhirVersion

BundleKind = Literal["transaction", "batch", "collection"]

# Namespace for fhirconv's name-based (v5) UUIDs: the same business key always gives the
# same fullUrl, so the same input gives byte-identical bundles.
NAMESPACE = uuid.UUID("6f1c3c7e-1f0c-5a7e-9a55-2b4f0d3c9e11")

# Resource types whose version has no `identifier` search parameter: conditional update on
# identifier cannot work there, so they get a deterministic client-assigned id and a plain PUT.
# (R4 AdverseEvent: identifier is 0..1 and not searchable; see fhir.resources/R4 SearchParameters. Provenance
# has no identifier at all, in R4 or R5.)
NO_IDENTIFIER_SEARCH: dict[FhirVersion, frozenset[str]] = {
    FhirVersion.R4: frozenset({"AdverseEvent", "Provenance"}),
    FhirVersion.R5: frozenset({"Provenance"}),
}


@dataclass(frozen=True, slots=True)
class Keyed:
    """A resource with the business identifier it is keyed on (system + value)."""

    resource: dict[str, Any]
    system: str
    value: str

    @property
    def resource_type(self) -> str:
        return str(self.resource["resourceType"])

    @property
    def full_url(self) -> str:
        return full_url(self.resource_type, self.system, self.value)


@lru_cache(maxsize=16384)  # site-heavy studies ask for the same keys several times (reference, entry, request)
def key_uuid(resource_type: str, system: str, value: str) -> uuid.UUID:
    return uuid.uuid5(NAMESPACE, f"{resource_type}|{system}|{value}")


@lru_cache(maxsize=16384)  # asked for each entry and each reference to it; the text, not only the uuid, is kept
def full_url(resource_type: str, system: str, value: str) -> str:
    return f"urn:uuid:{key_uuid(resource_type, system, value)}"


def client_id(resource_type: str, system: str, value: str) -> str:
    """Deterministic logical id; starts with a letter because HAPI refuses purely numeric client ids."""
    return f"fc-{key_uuid(resource_type, system, value).hex}"


def reference(resource_type: str, system: str, value: str, display: str | None = None) -> dict[str, Any]:
    """A reference to another resource of the same bundle, by its deterministic fullUrl."""
    ref: dict[str, Any] = {"reference": full_url(resource_type, system, value)}
    if display:
        ref["display"] = display
    return ref


def _search_value(text: str) -> str:
    # In a search URL the token is system|value; ',', '$' and '|' inside a value must be escaped
    # with a backslash (FHIR search, "Escaping search parameters").
    return text.replace("\\", "\\\\").replace(",", "\\,").replace("$", "\\$").replace("|", "\\|")


def request_for(item: Keyed, version: FhirVersion) -> dict[str, str]:
    """The transaction/batch request of one entry: conditional update on the business identifier,
    or a PUT to a deterministic id where the type cannot be searched by identifier."""
    rtype = item.resource_type
    if rtype in NO_IDENTIFIER_SEARCH[version]:
        return {"method": "PUT", "url": f"{rtype}/{client_id(rtype, item.system, item.value)}"}
    return {"method": "PUT", "url": f"{rtype}?identifier={_token(item.system)}|{_token(item.value)}"}


def _quoted(c: str) -> str:
    from urllib.parse import quote

    return quote(_search_value(c), safe="/:|")


# Each ASCII character's search escape, then percent-encoding (as quote(..., safe="/:|") does it), in one
# table: str.translate runs in C, where quote() loops over the bytes in Python (a site key has ~100).
_ASCII_TOKEN = str.maketrans({chr(c): _quoted(chr(c)) for c in range(128)})


def _token(text: str) -> str:
    """quote(_search_value(text), safe="/:|"), the half of an identifier search token on one side of '|'."""
    if text.isascii():
        return text.translate(_ASCII_TOKEN)
    return _quoted(text)


def build_bundle(items: Iterable[Keyed], *, kind: BundleKind, version: FhirVersion) -> dict[str, Any]:
    """Assemble a Bundle. Entries keep the order given (referenced resources first)."""
    entries: list[dict[str, Any]] = []
    for item in items:
        resource = item.resource
        if item.resource_type in NO_IDENTIFIER_SEARCH[version]:
            resource = {**resource, "id": client_id(item.resource_type, item.system, item.value)}
            resource = {"resourceType": resource.pop("resourceType"), **resource}
        entry: dict[str, Any] = {"fullUrl": item.full_url, "resource": resource}
        if kind != "collection":
            entry["request"] = request_for(item, version)
        entries.append(entry)
    return {"resourceType": "Bundle", "type": kind, "entry": entries}


# Why orjson: with an indent, json.dumps encodes in Python (its C encoder is for compact text only), ~0.7 ms
# for a study's bundle, as much as reading, mapping and checking the study; orjson takes a twentieth of that.
# The text must stay json.dumps(indent=2, ensure_ascii=False)'s, byte for byte. orjson writes the same layout,
# escapes and shortest float digits, except where it refuses (integers beyond 64 bits, keys that are not
# strings, lone surrogates, nesting deeper than 255; subclasses of str/int/dict/list, dataclasses and datetimes
# are passed to `default`, which refuses them) or where a value token shows it (below): a float json writes
# with an exponent below 1e-4 (orjson writes 0.00001 and 1e-7 where json writes 1e-05 and 1e-07; from 1e16
# on, both write 1e+16) and NaN or infinity (orjson: null). Those go to json.dumps (so does None, also null: it costs
# time, never bytes). tests/test_mapping_dumps.py checks both ways agree on the corpus and on each case.
_ORJSON_OPTIONS = (
    orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_PASSTHROUGH_SUBCLASS
    | orjson.OPT_PASSTHROUGH_DATACLASS | orjson.OPT_PASSTHROUGH_DATETIME
)
# Number and null values as they end a line of indented text: a string ends in a quote (a raw line break never
# occurs inside one), true/false in "e". One search each, each starting with a literal: the regex engine skips
# ahead to it, where a character class or an alternation in front costs more than orjson's whole encoding.
_SPELT_OTHERWISE = (
    re.compile(rb"e-[0-9]+,?\n"),  # orjson writes 1e-7, json 1e-07 (both write 1e+16, 2.5e-300)
    re.compile(rb"0\.0000[0-9]*,?\n"),  # below 1e-4: json writes an exponent (also matches 10.00001: harmless)
    re.compile(rb"null,?\n"),  # NaN, infinity (json: NaN, Infinity) or None
)


def _refuse(value: Any) -> Any:
    raise TypeError(type(value).__name__)


def _json_spells_same(data: bytes) -> bool:
    return not any(pattern.search(data) for pattern in _SPELT_OTHERWISE)


def entry_text(entry: dict[str, Any]) -> str:
    """One entry's text as it sits in the bundle dumps() writes (indented to its level, no comma). A raw line
    break never occurs inside a JSON string, so indenting the entry's own text line by line gives it."""
    return "    " + dumps(entry)[:-1].replace("\n", "\n    ")


def bundle_text(kind: BundleKind, entries: Iterable[str]) -> Iterator[str]:
    """The text dumps() gives for a Bundle of these entries (each from entry_text), in pieces: a combined
    bundle of any number of studies is written without holding it."""
    yield f'{{\n  "resourceType": "Bundle",\n  "type": {orjson.dumps(kind).decode()},\n  "entry": ['
    empty = True
    for text in entries:
        yield ("\n" if empty else ",\n") + text
        empty = False
    yield "]\n}\n" if empty else "\n  ]\n}\n"


def dumps(resource: dict[str, Any]) -> str:
    """Canonical JSON text for output files: stable key order as built, UTF-8, 2-space indent."""
    try:
        data = orjson.dumps(resource, default=_refuse, option=_ORJSON_OPTIONS)
    except TypeError:  # orjson.JSONEncodeError is one
        data = b"null\n"  # json.dumps decides: it writes the value or raises its own error
    if _json_spells_same(data):
        return data.decode()
    return json.dumps(resource, ensure_ascii=False, indent=2) + "\n"
