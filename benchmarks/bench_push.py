"""Benchmark: push 100,000 resources to the local FHIR test server; resources/s, and the share of wall time spent
inside fhirconv versus waiting on the server.

Run: python benchmarks/bench_push.py [--resources 100000] [--batch-size 500] [--workers 1 4] [--server URL]
Without --server (or FHIRCONV_TEST_SERVER) it starts tests/fhir_server/server.mjs on a free port (needs
`npm ci --prefix tests/fhir_server`). Each round pushes fresh data (new identifiers), so every resource is a create;
a last round pushes the same data again (all unchanged) to show the cost of an idempotent re-run.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from fhir_server.fixture import start_server  # noqa: E402  (test helpers live under tests/)
from fhir_server.sample import new_system, study_bundle  # noqa: E402

from fhirconv.push import Pusher, PushOptions  # noqa: E402
from fhirconv.push.entries import bundle_entries  # noqa: E402
from fhirconv.push.verify import verify  # noqa: E402
from fhirconv.transport import FhirClient, ServerConfig, check_capability  # noqa: E402
from fhirconv.versions import FhirVersion  # noqa: E402

PER_PARTICIPANT = 20  # Patient, ResearchSubject, 16 Observations, 2 AdverseEvents


def one_round(server: str, resources: int, batch_size: int, workers: int, again: bool = False) -> None:
    participants = max(1, (resources - 3) // PER_PARTICIPANT)
    t0 = time.perf_counter()
    bundle = study_bundle(new_system(), participants=participants, observations=16, events=2)
    entries = bundle_entries(bundle, "bench")
    build = time.perf_counter() - t0
    config = ServerConfig(server, pool_size=workers)
    with FhirClient(config) as client:
        check_capability(client, FhirVersion.R4)
        pusher = Pusher(client, PushOptions(batch_size=batch_size, workers=workers))
        rounds = [("create", pusher.push([("bench", entries)]))]
        if again:
            rounds.append(("re-run", pusher.push([("bench", entries)])))
            t0 = time.perf_counter()
            checked = verify([("bench", entries)], client, batch_size=200)
            took = time.perf_counter() - t0
            print(
                f"verify  {checked.checked} resources in {took:6.1f} s = {checked.checked / took:7.0f} resources/s; "
                f"problems {len(checked.problems)}"
            )
    for label, report in rounds:
        n = report.resources
        inside = report.elapsed - report.wait_seconds if workers == 1 else None
        share = (
            f"inside fhirconv {inside / report.elapsed:6.1%}, "
            f"waiting on server {report.wait_seconds / report.elapsed:6.1%}"
            if inside is not None
            else f"server busy (summed request time / wall) {report.wait_seconds / report.elapsed:5.2f}x"
        )
        print(
            f"{label:7} workers={workers} batch={batch_size}: {n} resources in {report.elapsed:6.1f} s = "
            f"{n / report.elapsed:7.0f} resources/s; {share}; transactions {report.chunks}, failed "
            f"{report.total('failed')}"
        )
    print(f"        (building the {len(entries)}-entry bundle, not timed above: {build:.1f} s)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--resources", type=int, default=100_000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--server", default=os.environ.get("FHIRCONV_TEST_SERVER"))
    args = parser.parse_args()
    local = None
    server = args.server
    if not server:
        local = start_server()
        server = local.base_url
    try:
        for i, workers in enumerate(args.workers):
            one_round(server, args.resources, args.batch_size, workers, again=i == 0)
    finally:
        if local:
            local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
