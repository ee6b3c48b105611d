"""Study (registry record) → FHIR mappers, one module per FHIR version."""
