"""A conversion run collects garbage less often while it runs and gives the caller's gc thresholds back."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from pathlib import Path

import pytest

from fhirconv.convert import Converted, Summary, convert_records
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "ctgov-corpus"
SOURCES = [str(CORPUS / "NCT00001177.xml"), str(CORPUS / "NCT00002475.xml")]


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_run_raises_young_threshold_and_restores_it(thresholds: tuple[int, int, int]) -> None:
    seen = []
    summary = Summary()
    for result in convert_records(SOURCES, FhirVersion.R4, summary):
        assert isinstance(result, Converted)
        seen.append(gc.get_threshold())
    assert summary.converted == 2
    assert seen == [(20_000, 10, 10)] * 2
    assert gc.get_threshold() == thresholds


def test_run_left_early_restores_thresholds(thresholds: tuple[int, int, int]) -> None:
    run = convert_records(SOURCES, FhirVersion.R4, Summary())
    next(run)
    assert gc.get_threshold()[0] == 20_000
    run.close()
    assert gc.get_threshold() == thresholds


def test_run_keeps_higher_or_disabled_thresholds(thresholds: tuple[int, int, int]) -> None:
    for chosen in ((50_000, 5, 5), (0, 10, 10)):
        gc.set_threshold(*chosen)
        during = [gc.get_threshold() for _ in convert_records(SOURCES[:1], FhirVersion.R4, Summary())]
        assert during == [chosen]
        assert gc.get_threshold() == chosen
