"""The study read back from a FHIR server for `fhirconv report --server`: searches through the one HTTP door
(transport.FhirClient: auth, retries, OperationOutcomes), following `next` links, one resource at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

from fhirconv.errors import UsageError
from fhirconv.transport import FhirClient
from fhirconv.transport.errors import ServerRejected

__all__ = ["read_study"]

NCT_SYSTEM = "https://clinicaltrials.gov"
Pair = tuple[dict[str, Any], str | None]
PAGE_SIZE = 200  # matches per search page (_count); HAPI's own default is 20


def read_study(client: FhirClient, identifier: str | None) -> Iterator[Pair]:
    """The ResearchStudy with `identifier` (an NCT ID, or `system|value`), the resources it references
    (sponsor, sites, eligibility Group), its ResearchSubjects, their Patients, and the Observations and
    AdverseEvents of those Patients. Without `identifier` the server must hold exactly one study."""
    params = {}
    if identifier:
        params["identifier"] = identifier if "|" in identifier else f"{NCT_SYSTEM}|{identifier}"
    studies = list(search(client, "ResearchStudy", params))
    if len(studies) != 1:
        which = f"with identifier {params['identifier']}" if identifier else "at all"
        raise UsageError(
            f"{client.base_url} holds {len(studies)} ResearchStudy resources {which}; the report needs one",
            hint="name the study with --identifier NCT…" if len(studies) > 1 else "push the study first",
        )
    study, url = studies[0]
    yield study, url
    for ref in _references(study):
        yield client.request("GET", ref).body, None
    patients: list[str] = []
    for subject, url in search(client, "ResearchSubject", {"study": f"ResearchStudy/{study['id']}"}):
        yield subject, url
        patient = (subject.get("individual") or subject.get("subject") or {}).get("reference")
        if patient:
            patients.append(patient)
    for patient in patients:
        yield client.request("GET", patient).body, None
        for rtype in ("Observation", "AdverseEvent"):
            yield from search(client, rtype, {"subject": patient})


def _references(study: dict[str, Any]) -> list[str]:
    """The relative references the page resolves: sponsor, sites, the eligibility Group (R4 enrollment,
    R5 recruitment.eligibility). Contained (#…) and absolute ones are left alone."""
    refs = [(study.get("sponsor") or {}).get("reference")]
    refs += [s.get("reference") for s in study.get("site") or []]
    refs += [e.get("reference") for e in study.get("enrollment") or []]
    refs.append(((study.get("recruitment") or {}).get("eligibility") or {}).get("reference"))
    out: list[str] = []
    for ref in refs:
        if ref and not ref.startswith("#") and "://" not in ref and ref not in out:
            out.append(ref)
    return out


def search(client: FhirClient, rtype: str, params: dict[str, str]) -> Iterator[Pair]:
    """Every match of a search, page by page. A `next` link is followed only on the server's own base URL:
    a link elsewhere would carry the credentials to another host."""
    answer = client.request("GET", rtype, params={**params, "_count": str(PAGE_SIZE)})
    while True:
        bundle = answer.body
        if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
            raise ServerRejected(f"{client.base_url} answered a {rtype} search with something not a Bundle")
        for entry in bundle.get("entry") or []:
            if isinstance(entry.get("resource"), dict) and (entry.get("search") or {}).get("mode", "match") == "match":
                yield entry["resource"], entry.get("fullUrl")
        link = next((x.get("url") for x in bundle.get("link") or [] if x.get("relation") == "next"), None)
        if not link:
            return
        answer = client.request("GET", _own_path(client, str(link)))


def _own_path(client: FhirClient, link: str) -> str:
    base = urlsplit(client.base_url)
    target = urlsplit(link)
    if (target.scheme, target.netloc) != (base.scheme, base.netloc) or not target.path.startswith(base.path):
        raise ServerRejected(f"{client.base_url} gave a next link to another address; not followed")
    path = target.path[len(base.path):]
    return f"{path}?{target.query}" if target.query else path
