"""Benchmark: validate a converted corpus with all offline layers; prints resources/s per core, per layer.

    python benchmarks/bench_validate.py [--subjects 200] [--fhir-version R4] [FILE_OR_DIR ...]
    python benchmarks/bench_validate.py --records /work/shared/ctgov-corpus [--fhir-version R5]

FILE_OR_DIR: FHIR JSON/NDJSON to validate as is. --records: registry records (any format fhirconv reads),
converted first with fhirconv's converters (not timed), then validated. Neither: a synthetic corpus from the
clean test bundle: one study with `--subjects` participants, each a Patient, a ResearchSubject,
4 Observations and an AdverseEvent (the shape fhirconv writes).
Runs in one process; rates are from CPU time, so the figure is per core.
"""

from __future__ import annotations

import argparse
import copy
import json
import time
from pathlib import Path
from typing import Any

from fhirconv.validation.findings import Layer
from fhirconv.validation.run import OFFLINE_LAYERS, count_resources, iter_documents, validate_content
from fhirconv.versions import FhirVersion

CLEAN = Path(__file__).resolve().parent.parent / "tests" / "data" / "validate" / "clean"


def synthetic_bundle(version: FhirVersion, subjects: int) -> dict[str, Any]:
    base = json.loads((CLEAN / f"bundle.{version.value}.json").read_text(encoding="utf-8"))
    head = base["entry"][:7]  # study-level resources, and the first Patient
    per_subject = base["entry"][6:]  # Patient, ResearchSubject, Observation, AdverseEvent
    entries = list(head[:6])
    for n in range(subjects):
        group = copy.deepcopy(per_subject)
        old_patient = group[0]["fullUrl"]
        new_patient = f"urn:uuid:10000000-0000-5000-8000-{n:012d}"
        for k, e in enumerate(group):
            e["fullUrl"] = e["fullUrl"] if k == 0 and n == 0 else f"urn:uuid:{20 + k}000000-0000-5000-8000-{n:012d}"
        group[0]["fullUrl"] = new_patient
        text = json.dumps(group).replace(old_patient, new_patient).replace("01-701-1015", f"S-{n:05d}")
        group = json.loads(text)
        obs = group[2]
        for j in range(3):  # three more vital-sign observations per subject
            extra = copy.deepcopy(obs)
            extra["fullUrl"] = f"urn:uuid:3{j}000000-0000-5000-8000-{n:012d}"
            extra["resource"]["identifier"][0]["value"] += f"-{j}"
            extra["request"]["url"] += f"-{j}"
            group.append(extra)
        for e in group:
            if "id" in e["resource"]:
                e["resource"]["id"] = f"fc-{n}-{e['resource']['resourceType'].lower()}"
                e["request"]["url"] = f"{e['resource']['resourceType']}/{e['resource']['id']}"
        entries.extend(group)
    return {"resourceType": "Bundle", "type": "transaction", "entry": entries}


def converted(folder: Path, version: FhirVersion) -> list[Any]:
    """One bundle per registry record that converts (records the converters refuse are counted, not used)."""
    from fhirconv.errors import FhirconvError
    from fhirconv.pipeline.study import convert_study
    from fhirconv.readers import read_study

    bundles, refused = [], 0
    for path in sorted(p for p in folder.iterdir() if p.is_file() and p.suffix in (".json", ".xml", ".txt")):
        try:
            bundles.append(convert_study(read_study(path), version))
        except FhirconvError:
            refused += 1
    print(f"converted {len(bundles)} records ({refused} refused by the converters)")
    return bundles


def timed(documents: list[Any], version: FhirVersion, layers: tuple[Layer, ...]) -> tuple[float, int]:
    """CPU seconds of this process (not wall time: on a shared machine other work would skew a per-core rate)."""
    start = time.process_time()
    errors = 0
    for doc in documents:
        errors += sum(1 for f in validate_content(doc, version, layers=layers) if f.is_error)
    return time.process_time() - start, errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("paths", nargs="*")
    parser.add_argument("--subjects", type=int, default=200)
    parser.add_argument("--fhir-version", default="R4")
    parser.add_argument("--records", help="folder of registry records to convert, then validate")
    args = parser.parse_args()
    version = FhirVersion.parse(args.fhir_version)
    if args.records:
        documents = converted(Path(args.records), version)
    elif args.paths:
        documents = [d.content for d in iter_documents(args.paths)]
    else:
        documents = [synthetic_bundle(version, args.subjects)]
    resources = sum(count_resources(d) for d in documents)
    # Warm up: load the shipped schema and definitions, build the per-type validators and compile the
    # invariants once (a one-off cost of about a second per process, not part of the rate).
    timed(documents, version, OFFLINE_LAYERS)
    print(f"FHIR {version}: {len(documents)} document(s), {resources} resources")
    for layer in OFFLINE_LAYERS:
        seconds, _ = timed(documents, version, (layer,))
        print(f"  {layer.value:12} {resources / seconds:9.0f} resources/s")
    seconds, errors = timed(documents, version, OFFLINE_LAYERS)
    rate = resources / seconds
    print(f"  {'all offline':12} {rate:9.0f} resources/s per core ({seconds:.2f} CPU s, {errors} errors)")


if __name__ == "__main__":
    main()
