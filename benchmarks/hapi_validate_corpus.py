"""HAPI as an oracle over the whole shared corpus: every study record (all formats) and the example's participant
data, converted to R4 and R5, through HAPI's `$validate`; prints the counts and every distinct error.

Run: python benchmarks/hapi_validate_corpus.py [--corpus DIR] [--versions R4 R5] [--server-r4 URL] [--server-r5 URL]
Without a server URL it starts tests/hapi/serve for the version. Exit 1 if HAPI reports an error-level issue
that DOCUMENTED does not list.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from hapi_oracle import add, check_records  # noqa: E402  (test helpers live under tests/)
from hapi_server import HapiServer, build  # noqa: E402

from fhirconv.versions import FhirVersion  # noqa: E402

CORPORA = (
    ROOT.parent / "shared" / "ctgov-corpus",
    Path("/work/shared/ctgov-corpus"),
    ROOT / "tests" / "data" / "ctgov-corpus",
)
EXAMPLE = ROOT / "examples" / "NCT04382547"

# HAPI findings we keep on purpose, by HAPI's exact message (mappings/README.md says why). Anything else fails.
DOCUMENTED = {
    "ResearchStudy.status: No code provided, and a code is required from the value set":
        "R4 WITHHELD / UNKNOWN (the last known status is progress, not current): no honest R4 code; data-absent-reason",
}


def example_bundle(version: FhirVersion) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "example.json"
        subprocess.run(
            [sys.executable, "-c", "from fhirconv.cli import run; run()", "convert", str(EXAMPLE / "NCT04382547.txt"),
             "--participants", str(EXAMPLE / "participants" / "sdtm"), "--fhir-version", version.value, "-o", str(out)],
            check=True, capture_output=True,
        )
        return dict(json.loads(out.read_text()))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=next((c for c in CORPORA if c.is_dir()), CORPORA[-1]))
    parser.add_argument("--versions", nargs="+", default=["R4", "R5"])
    parser.add_argument("--server-r4")
    parser.add_argument("--server-r5")
    args = parser.parse_args()
    given = {FhirVersion.R4: args.server_r4, FhirVersion.R5: args.server_r5}
    failed = False
    for name in args.versions:
        version = FhirVersion.parse(name)
        local = None
        server = given[version]
        if not server:
            build()
            local = HapiServer(version).start().wait()
            server = local.base_url
        try:
            t0 = time.perf_counter()
            tally = check_records(server, [str(args.corpus)], version)
            add(tally, server, example_bundle(version), "example NCT04382547 with participants")
            took = time.perf_counter() - t0
        finally:
            if local:
                local.stop()
        print(f"{version}: {tally.records} bundles ({tally.resources} resources) from {args.corpus} + the example's "
              f"participants, {tally.unreadable} files or records fhirconv itself refuses; HAPI $validate: "
              f"{tally.error_count} error-level issues, {len(tally.errors)} distinct ({took:.0f} s)")
        for message, count in tally.errors.most_common():
            why = f" -- documented: {DOCUMENTED[message]}" if message in DOCUMENTED else ""
            print(f"  {count:5d} x {message}   (first in {tally.examples[message]}){why}")
        failed = failed or any(message not in DOCUMENTED for message in tally.errors)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
