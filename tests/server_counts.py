"""Count, on a FHIR server, the copies of every entry of a bundle: one batch of `_summary=count` searches."""

from __future__ import annotations

from typing import Any

import requests


def copies(server: str, entries: list[dict[str, Any]], *, batch: int = 200) -> list[int]:
    """For each entry, how many resources the server holds under the key it was written with: the conditional
    URL's search (`Type?identifier=...`), or `Type?_id=id` for a PUT to `Type/id`."""
    searches = []
    for entry in entries:
        url = entry["request"]["url"]
        if "?" not in url:
            rtype, _, rid = url.partition("/")
            url = f"{rtype}?_id={rid}"
        searches.append(f"{url}&_summary=count")
    counts: list[int] = []
    for start in range(0, len(searches), batch):
        part = searches[start : start + batch]
        bundle = {
            "resourceType": "Bundle",
            "type": "batch",
            "entry": [{"request": {"method": "GET", "url": url}} for url in part],
        }
        answer = requests.post(server, json=bundle, headers={"Content-Type": "application/fhir+json"}, timeout=300)
        answer.raise_for_status()
        results = answer.json()["entry"]
        assert len(results) == len(part)
        counts += [int(r["resource"]["total"]) for r in results]
    return counts
