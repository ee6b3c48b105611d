"""Participant-level trial data: readers (SDTM, simple CSV, spec-driven tables) and their typed records."""
