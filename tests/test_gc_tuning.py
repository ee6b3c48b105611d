"""The CLI's conversion runs collect garbage less often and give the previous gc thresholds back."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest

from fhirconv.gc_tuning import RUN_THRESHOLD, fewer_collections


@pytest.fixture
def thresholds() -> Iterator[tuple[int, int, int]]:
    saved = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    yield gc.get_threshold()
    gc.set_threshold(*saved)


def test_raises_the_young_threshold_and_restores_it(thresholds: tuple[int, int, int]) -> None:
    with fewer_collections():
        assert gc.get_threshold() == (RUN_THRESHOLD, 10, 10)
    assert gc.get_threshold() == thresholds


def test_restores_after_an_error(thresholds: tuple[int, int, int]) -> None:
    def fail() -> None:
        with fewer_collections():
            raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        fail()
    assert gc.get_threshold() == thresholds


@pytest.mark.parametrize("chosen", [(50_000, 5, 5), (0, 10, 10)])
def test_keeps_a_higher_threshold_or_collection_switched_off(
    thresholds: tuple[int, int, int], chosen: tuple[int, int, int]
) -> None:
    gc.set_threshold(*chosen)
    with fewer_collections():
        assert gc.get_threshold() == chosen
    assert gc.get_threshold() == chosen
