"""Property-based fuzzing of every reader (Hypothesis): each mutant of a real corpus input gives a result
or a FhirconvError, within a time bound. Short and deterministic here (derandomize: the same inputs on
every run); `python tests/fuzz/campaign.py` runs the long campaign on demand."""

from __future__ import annotations

import random
import time

import pytest
from fuzz_targets import TARGETS, mutate, outcome
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

EXAMPLES = 25  # per reader: about 25 s in all on a loaded two-core machine
BOUND = 10.0  # seconds per input: generous for CI; a quadratic regex took minutes


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_a_result_or_a_fhirconv_error_in_bounded_time(name: str) -> None:
    target = TARGETS[name]
    seeds = target.seeds()
    assert seeds, f"{name}: no seeds found"
    outcome(target, seeds[0])  # warm-up outside the bound: first use loads the validation data

    @settings(
        max_examples=EXAMPLES,
        derandomize=True,
        deadline=None,  # timed below, with a bound that says why it failed
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(seed=st.sampled_from(seeds), salt=st.integers(0, 2**32 - 1))
    def check(seed: bytes, salt: int) -> None:
        data = mutate(target, seed, random.Random(salt))
        start = time.perf_counter()
        outcome(target, data)  # raises anything that is not a FhirconvError
        took = time.perf_counter() - start
        assert took < BOUND, f"{name}: {took:.1f} s on a {len(data):,}-byte input"

    check()


@pytest.mark.parametrize("name", sorted(TARGETS))
def test_every_seed_is_read_cleanly(name: str) -> None:
    """Unmutated seeds convert (the registry formats) or read (tables, specs): mutants start from valid data."""
    target = TARGETS[name]
    for seed in target.seeds():
        assert outcome(target, seed) == "ok"
