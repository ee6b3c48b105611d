"""Validation of FHIR content in layers: structure, JSON Schema, terminology, invariants, bundle integrity, server."""
