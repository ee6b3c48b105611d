"""Benchmark: push the CDISC SDTM pilot (~91k resources) to HAPI FHIR R4 and R5 with 1, 2 and 4 workers;
resources/s, and the share of wall time spent inside fhirconv versus waiting on the server.

Run: python benchmarks/bench_push.py [--versions R4 R5] [--workers 1 2 4] [--batch-size 500] [--limit N]
Needs ../shared/sdtm-cdiscpilot01 beside the repository (or /work/shared). Starts tests/hapi/serve (H2 in memory)
per version, with
HAPI's request validation off as in HAPI's default configuration (with it on, HAPI validates ~100 resources/s
per core and the benchmark would measure its validator), unless --server URL is given (then one version).
Each round pushes the pilot under a fresh study identifier, so every resource is a create; the first round
is followed by a re-run of the same content (all unchanged) and a verify.
"""

from __future__ import annotations

import argparse
import copy
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hapi_server import HapiServer, build  # noqa: E402  (test helpers live under tests/)

from fhirconv.output.bundle import build_bundle  # noqa: E402
from fhirconv.push import Pusher, PushOptions  # noqa: E402
from fhirconv.push.entries import bundle_entries  # noqa: E402
from fhirconv.push.verify import verify  # noqa: E402
from fhirconv.transport import FhirClient, ServerConfig, check_capability  # noqa: E402
from fhirconv.versions import FhirVersion  # noqa: E402

PILOT = next(
    (p for p in (ROOT.parent / "shared" / "sdtm-cdiscpilot01", Path("/work/shared/sdtm-cdiscpilot01")) if p.is_dir()),
    ROOT.parent / "shared" / "sdtm-cdiscpilot01",
)


def pilot_bundle(version: FhirVersion, limit: int | None) -> dict[str, Any]:
    import fhirconv

    run = fhirconv.convert_with_participants(None, [str(PILOT)], version)
    items = list(run.items)
    if limit:
        items = items[:limit]
    return build_bundle(items, kind="transaction", version=version)


def renamed(bundle: dict[str, Any], tag: str) -> dict[str, Any]:
    """The same content under identifier systems and fullUrls of its own: every resource new to the server."""
    import json

    text = json.dumps(bundle)
    text = text.replace("https://fhirconv.dev/fhir/sid/", f"https://fhirconv.dev/fhir/sid/bench-{tag}/")
    text = text.replace('"fc-', f'"fc{tag[:8]}-')  # R4 AdverseEvents: PUT to a deterministic id
    return copy.deepcopy(json.loads(text))


def one_round(server: str, version: FhirVersion, bundle: dict[str, Any], workers: int, batch: int, again: bool) -> None:
    entries = bundle_entries(bundle, "pilot")
    with FhirClient(ServerConfig(server, pool_size=workers, timeout=600)) as client:
        check_capability(client, version)
        pusher = Pusher(client, PushOptions(batch_size=batch, workers=workers, validate=False))
        rounds = [("create", pusher.push([("pilot", entries)]))]
        if again:
            rounds.append(("re-run", pusher.push([("pilot", entries)])))
            t0 = time.perf_counter()
            checked = verify([("pilot", entries)], client, batch_size=200)
            took = time.perf_counter() - t0
            print(f"  {version} verify  {checked.checked} resources in {took:6.1f} s = "
                  f"{checked.checked / took:6.0f} resources/s; problems {len(checked.problems)}")
    for label, report in rounds:
        n = report.resources
        # With one worker, wall time = waiting on the server + fhirconv's own work; with several, requests overlap
        # and the summed waiting exceeds the wall time (shown as the server's average concurrency).
        inside = max(0.0, report.elapsed - report.wait_seconds) if workers == 1 else None
        share = (
            f"inside fhirconv {inside / report.elapsed:5.1%}, waiting {report.wait_seconds / report.elapsed:5.1%}"
            if inside is not None
            else f"requests in flight on average {report.wait_seconds / report.elapsed:4.2f}"
        )
        print(f"  {version} {label:7} workers={workers} batch={batch}: {n} resources in {report.elapsed:6.1f} s = "
              f"{n / report.elapsed:6.0f} resources/s; {share}; transactions {report.chunks}, "
              f"retries {report.retries}, failed {report.total('failed')}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", nargs="+", default=["R4", "R5"])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2, 4])
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--limit", type=int, help="push only the first N resources")
    parser.add_argument("--server", help="an existing server (one version) instead of a local HAPI")
    args = parser.parse_args()
    if not PILOT.is_dir():
        print(f"the CDISC pilot is not at {PILOT}", file=sys.stderr)
        return 2
    if not args.server:
        build()
    for name in args.versions:
        version = FhirVersion.parse(name)
        t0 = time.perf_counter()
        bundle = pilot_bundle(version, args.limit)
        took = time.perf_counter() - t0
        print(f"{version}: {len(bundle['entry'])} resources converted in {took:.1f} s (not timed below)")
        local = None
        if args.server:
            server = args.server
        else:
            t0 = time.perf_counter()
            local = HapiServer(version, extra_args=("--no-request-validation",)).start().wait()
            print(f"  HAPI {version} answered /metadata after {time.perf_counter() - t0:.1f} s")
            server = local.base_url
        try:
            for i, workers in enumerate(args.workers):
                one_round(server, version, renamed(bundle, f"{version}w{workers}r{i}x"), workers, args.batch_size,
                          again=i == 0)
        finally:
            if local:
                local.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
