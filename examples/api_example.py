"""Use fhirconv as a library: read the reference trial and its synthetic participants, build R5, validate.

Run: python examples/api_example.py   (CI runs it through tests/test_examples.py)
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import fhirconv

HERE = Path(__file__).resolve().parent / "NCT04382547"


def main() -> None:
    study = fhirconv.read_study(HERE / "NCT04382547.txt")
    print(f"{study.nct_id}: {study.brief_title}")
    print(f"arms: {[arm.label for arm in study.arm_groups]}; enrollment: {study.design.enrollment}")

    # The registry record alone, as an R4 transaction (conditional updates, deterministic fullUrls).
    bundle = fhirconv.convert_study(study, fhirconv.FhirVersion.R4)
    print(f"R4 study bundle: {len(bundle['entry'])} entries")

    # Study + participant data (SDTM domains), R5, streamed; then every offline validation layer.
    run = fhirconv.convert_with_participants(study, [HERE / "participants" / "sdtm"], fhirconv.FhirVersion.R5)
    items = list(run.items)
    full = fhirconv.build_bundle(items, kind="transaction", version=fhirconv.FhirVersion.R5)
    errors = [f for f in fhirconv.validate_content(full, fhirconv.FhirVersion.R5) if f.is_error]
    counts = Counter(item.resource_type for item in items)
    print("R5 bundle:", ", ".join(f"{t} {n}" for t, n in sorted(counts.items())), f"— {len(errors)} validation errors")


if __name__ == "__main__":
    main()
