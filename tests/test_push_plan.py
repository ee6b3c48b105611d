"""Chunk planning, blame mapping and response parsing of push, without a server."""

from __future__ import annotations

import email.utils
import time

import pytest
from push_sample import study_bundle

from fhirconv.push.entries import bundle_entries
from fhirconv.push.plan import plan_chunks
from fhirconv.push.pusher import _location, blame, plan_files
from fhirconv.retry_after import retry_after_seconds as _retry_after_seconds
from fhirconv.transport.errors import ServerRejected

SYSTEM = "urn:test"


def entries(participants: int = 3, observations: int = 2, events: int = 1):  # type: ignore[no-untyped-def]
    bundle = study_bundle(SYSTEM, participants=participants, observations=observations, events=events)
    return bundle_entries(bundle, "study.json")


def test_study_level_first_alone_then_whole_participants() -> None:
    es = entries(participants=4)
    chunks = plan_chunks(es, batch_size=12)
    assert [e.resource_type for e in chunks[0].entries] == ["Organization", "Location", "ResearchStudy"]
    assert chunks[0].depends_on == set()
    # 5 entries per participant: two participants fit in 12, a third would not.
    assert [len(c.entries) for c in chunks[1:]] == [10, 10]
    for chunk in chunks[1:]:
        assert chunk.depends_on == {0}
        patients = [e for e in chunk.entries if e.resource_type == "Patient"]
        by_patient = {p.full_url for p in patients}
        for e in chunk.entries:
            if e.resource_type in ("Observation", "AdverseEvent"):
                assert e.refs[0] in by_patient  # subject is in the same chunk
    assert sum(len(c.entries) for c in chunks) == len(es)


def test_referenced_entries_come_before_their_referrers() -> None:
    es = entries(participants=2)
    es.reverse()  # a badly ordered bundle
    chunks = plan_chunks(es, batch_size=100)
    order = [e.full_url for c in chunks for e in c.entries]
    for c in chunks:
        for e in c.entries:
            for ref in e.refs:
                assert order.index(ref) < order.index(e.full_url)


def test_a_participant_larger_than_a_chunk_is_split_in_order() -> None:
    es = entries(participants=1, observations=9)
    chunks = plan_chunks(es, batch_size=4)
    sizes = [len(c.entries) for c in chunks]
    assert sizes == [3, 4, 4, 4]  # study; Patient, ResearchSubject, 9 Observations, 1 AdverseEvent
    assert chunks[1].entries[0].resource_type == "Patient"
    assert chunks[2].depends_on == {1}  # observations whose Patient landed in chunk 1
    with pytest.raises(ValueError, match="at least 1"):
        plan_chunks(es, batch_size=0)


def test_blame_by_entry_index_then_by_quoted_url() -> None:
    es = entries(participants=1)[3:]  # one participant's chunk
    indexed = ServerRejected(
        "rejected",
        status=400,
        outcome={"issue": [{"severity": "error", "expression": ["Bundle.entry[2].resource.code"]}]},
    )
    assert list(blame(es, indexed)) == [2]
    hapi_style = ServerRejected(
        "rejected",
        status=412,
        outcome={
            "issue": [
                {"severity": "error", "diagnostics": f"HAPI-2207: Multiple resources match this search: {es[1].url}"}
            ]
        },
    )
    assert list(blame(es, hapi_style)) == [1]
    assert blame(es, ServerRejected("nothing useful", status=400)) == {}
    es[0].resource["birthDate"] = "1999-13-45"
    parse_error = ServerRejected(
        "rejected",
        status=400,
        outcome={
            "issue": [
                {
                    "severity": "error",
                    "diagnostics": 'HAPI-1821: [element="birthDate"] Invalid attribute value "1999-13-45"',
                }
            ]
        },
    )
    assert list(blame(es, parse_error)) == [0]


def test_location_parsing() -> None:
    assert _location("Patient/12/_history/3") == "Patient/12"
    assert _location("https://hapi.example.org/fhir/Observation/fc-ab12/_history/1") == "Observation/fc-ab12"
    assert _location(None) is None


def test_retry_after_seconds_and_http_date() -> None:
    assert _retry_after_seconds("3") == 3.0
    assert _retry_after_seconds(None) is None
    assert _retry_after_seconds("soon") is None
    when = email.utils.formatdate(time.time() + 30, usegmt=True)
    assert 25 < (_retry_after_seconds(when) or 0) <= 30


def test_chunks_of_later_files_wait_for_shared_resources_of_earlier_files() -> None:
    a = bundle_entries(study_bundle(SYSTEM, participants=1, study_id="NCT1"), "a.json")
    b = bundle_entries(study_bundle(SYSTEM, participants=1, study_id="NCT2"), "b.json")
    chunks = plan_files([("a.json", a), ("b.json", b)], batch_size=10)
    assert [c.number for c in chunks] == [0, 1, 2, 3]
    assert [c.entries[0].file for c in chunks] == ["a.json", "a.json", "b.json", "b.json"]
    # b's study chunk PUTs the same Organization?identifier=... and Location as a's study chunk.
    assert chunks[2].depends_on == {0}
    assert chunks[3].depends_on == {2}


def test_a_long_reference_chain_plans_without_recursion_limits() -> None:
    # 5,000 Observations, each deriving from the previous one, all about one Patient: a chain far deeper
    # than Python's recursion limit. Every entry is placed once, referenced entries first.
    patient = {"fullUrl": "urn:uuid:p", "resource": {"resourceType": "Patient", "identifier": [{"system": SYSTEM,
               "value": "p"}]}, "request": {"method": "PUT", "url": f"Patient?identifier={SYSTEM}|p"}}
    chain = [patient]
    for n in range(5000):
        resource = {"resourceType": "Observation", "identifier": [{"system": SYSTEM, "value": f"o{n}"}],
                    "status": "final", "code": {"text": "x"}, "subject": {"reference": "urn:uuid:p"}}
        if n:
            resource["derivedFrom"] = [{"reference": f"urn:uuid:o{n - 1}"}]
        chain.append({"fullUrl": f"urn:uuid:o{n}", "resource": resource,
                      "request": {"method": "PUT", "url": f"Observation?identifier={SYSTEM}|o{n}"}})
    chain.reverse()  # worst case: every referrer before what it refers to
    es = bundle_entries({"resourceType": "Bundle", "type": "transaction", "entry": chain}, "chain.json")
    chunks = plan_chunks(es, batch_size=10_000)
    order = [e.full_url for c in chunks for e in c.entries]
    assert len(order) == len(set(order)) == 5001
    assert order[0] == "urn:uuid:p"
    assert order[1:3] == ["urn:uuid:o0", "urn:uuid:o1"]
