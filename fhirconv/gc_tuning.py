"""Garbage-collector settings for a process that converts many records (the CLI, the benchmarks)."""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager

# Each record allocates tens of thousands of short-lived dicts and lists; at Python's default young-generation
# threshold (700) that triggers a collection every few hundred of them, each walking the long-lived
# fhir.resources model classes again. Measured on the corpus: ~12% of a run's CPU time.
RUN_THRESHOLD = 20_000


@contextmanager
def fewer_collections(threshold: int = RUN_THRESHOLD) -> Iterator[None]:
    """Raise the young-generation threshold for the block and give the previous settings back after it.
    Process-wide, so it belongs in entry points (a CLI command, a benchmark), not in library generators that
    a host program might suspend or abandon. A higher threshold, or automatic collection switched off (0),
    is left as it is."""
    saved = gc.get_threshold()
    if saved[0]:
        gc.set_threshold(max(saved[0], threshold), *saved[1:])
    try:
        yield
    finally:
        gc.set_threshold(*saved)
