"""Output stage: bundles, NDJSON and atomic files."""
