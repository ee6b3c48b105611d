"""Fixtures shared by several test modules."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from ctgov_server import CtgovServer


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
