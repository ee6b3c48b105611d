"""Bundle assembly: deterministic fullUrls, conditional requests, client ids where search cannot work."""

from __future__ import annotations

import json

from fhirconv.output.bundle import Keyed, build_bundle, client_id, dumps, full_url, reference
from fhirconv.versions import FhirVersion

SYS = "https://clinicaltrials.gov"


def _study(value: str = "NCT00000001") -> Keyed:
    return Keyed({"resourceType": "ResearchStudy", "status": "active"}, SYS, value)


def test_full_url_is_a_stable_name_based_uuid() -> None:
    a = full_url("ResearchStudy", SYS, "NCT00000001")
    assert a == full_url("ResearchStudy", SYS, "NCT00000001")
    assert a.startswith("urn:uuid:")
    assert a != full_url("ResearchStudy", SYS, "NCT00000002")
    assert a != full_url("Organization", SYS, "NCT00000001")


def test_reference_points_at_the_full_url() -> None:
    ref = reference("ResearchStudy", SYS, "NCT00000001", "Title")
    assert ref == {"reference": full_url("ResearchStudy", SYS, "NCT00000001"), "display": "Title"}


def test_transaction_entries_are_conditional_updates_on_the_identifier() -> None:
    bundle = build_bundle([_study()], kind="transaction", version=FhirVersion.R4)
    entry = bundle["entry"][0]
    assert entry["request"] == {"method": "PUT", "url": f"ResearchStudy?identifier={SYS}|NCT00000001"}
    assert entry["fullUrl"] == full_url("ResearchStudy", SYS, "NCT00000001")


def test_search_token_escapes_separators_in_values() -> None:
    item = Keyed({"resourceType": "Organization"}, "urn:x", "A|B,C")
    url = build_bundle([item], kind="batch", version=FhirVersion.R5)["entry"][0]["request"]["url"]
    assert url == "Organization?identifier=urn:x|A%5C|B%5C%2CC"


def test_collection_has_no_requests() -> None:
    bundle = build_bundle([_study()], kind="collection", version=FhirVersion.R5)
    assert "request" not in bundle["entry"][0]
    assert bundle["type"] == "collection"


def test_r4_adverse_event_gets_a_client_id_and_plain_put() -> None:
    ae = Keyed({"resourceType": "AdverseEvent", "actuality": "actual"}, "urn:sys", "S1-7")
    bundle = build_bundle([ae], kind="transaction", version=FhirVersion.R4)
    entry = bundle["entry"][0]
    cid = client_id("AdverseEvent", "urn:sys", "S1-7")
    assert entry["resource"]["id"] == cid
    assert not cid.isdigit()  # HAPI refuses purely numeric client ids
    assert entry["request"] == {"method": "PUT", "url": f"AdverseEvent/{cid}"}
    assert next(iter(entry["resource"])) == "resourceType"
    # R5 AdverseEvent can be searched by identifier: conditional update as usual.
    r5 = build_bundle([ae], kind="transaction", version=FhirVersion.R5)["entry"][0]
    assert r5["request"]["url"] == "AdverseEvent?identifier=urn:sys|S1-7"
    assert "id" not in r5["resource"]


def test_same_input_gives_byte_identical_text() -> None:
    one = dumps(build_bundle([_study()], kind="transaction", version=FhirVersion.R4))
    two = dumps(build_bundle([_study()], kind="transaction", version=FhirVersion.R4))
    assert one == two
    assert json.loads(one)["entry"][0]["resource"]["status"] == "active"
