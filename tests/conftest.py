"""Fixtures shared by several test modules: the ClinicalTrials.gov stand-in and the HAPI FHIR servers."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ctgov_server import CtgovServer
from hapi_server import HapiServer, external, require_hapi, start_servers

from fhirconv.versions import FhirVersion


@pytest.fixture(scope="session")
def ctgov_stand_in() -> Iterator[CtgovServer]:
    """The local stand-in for the ClinicalTrials.gov API v2 (tests/ctgov_server.py), one per run."""
    running = CtgovServer().start()
    yield running
    running.stop()


@pytest.fixture
def ctgov(ctgov_stand_in: CtgovServer) -> CtgovServer:
    """The stand-in with its request log and scripted faults cleared for this test."""
    ctgov_stand_in.reset()
    return ctgov_stand_in


@pytest.fixture(scope="session")
def fhir_servers() -> Iterator[dict[FhirVersion, str]]:
    """Base URLs of a HAPI FHIR R4 and R5 server for the whole session: FHIRCONV_TEST_SERVER and
    FHIRCONV_TEST_SERVER_R5 if set, else local HAPI servers (tests/hapi/serve, H2 in memory), started in
    parallel the first time a test needs one. Each test keys its resources on identifiers of its own."""
    urls = {v: url for v in FhirVersion if (url := external(v))}
    local = start_servers([v for v in FhirVersion if v not in urls])
    urls.update({v: s.base_url for v, s in local.items()})
    yield urls
    for server in local.values():
        server.stop()


@pytest.fixture(scope="session")
def fhir_server(fhir_servers: dict[FhirVersion, str]) -> str:
    """Base URL of the session's FHIR R4 server."""
    return fhir_servers[FhirVersion.R4]


@pytest.fixture(scope="session")
def fhir_server_r5(fhir_servers: dict[FhirVersion, str]) -> str:
    """Base URL of the session's FHIR R5 server."""
    return fhir_servers[FhirVersion.R5]


@pytest.fixture(params=list(FhirVersion), ids=lambda v: v.value)
def any_server(request: pytest.FixtureRequest, fhir_servers: dict[FhirVersion, str]) -> tuple[FhirVersion, str]:
    """(version, base URL), once for R4 and once for R5."""
    version: FhirVersion = request.param
    return version, fhir_servers[version]


@pytest.fixture(scope="session")
def restartable_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[HapiServer]:
    """A private HAPI R4 on a file database, for tests that kill and restart it (never an external server).
    One per session (a HAPI start costs 20-60 s): each test keys its resources on identifiers of its own."""
    if external(FhirVersion.R4):
        pytest.skip("restarts a local server (FHIRCONV_TEST_SERVER is set)")
    require_hapi()
    server = HapiServer(FhirVersion.R4, data=tmp_path_factory.mktemp("hapi-db")).start()
    try:
        yield server.wait()
    finally:
        server.stop()
