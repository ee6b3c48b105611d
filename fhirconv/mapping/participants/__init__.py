"""Participant records → FHIR mappers, one module per FHIR version."""
