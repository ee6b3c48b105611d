"""Posted results (model.results) → EBM-on-FHIR Group, EvidenceVariable, Evidence and the report that gathers them."""
