"""Results → R5: Groups, EvidenceVariables, Evidence and the EvidenceReport ResearchStudy.result points at."""

from __future__ import annotations

from fhirconv.mapping.results.build import build
from fhirconv.mapping.results.report import evidence_report_r5
from fhirconv.model.study import Study
from fhirconv.output.bundle import Keyed


def map_results_r5(study: Study) -> tuple[list[Keyed], Keyed | None]:
    """(every results resource, referenced ones first and the report last; the report), or ([], None)."""
    if study.results is None:
        return [], None
    built = build(study.nct_id, study.results)
    report = evidence_report_r5(study, built.sections)
    return [*built.resources, report], report
