"""Orchestration of the stages (read → map → validate → output): what the CLI and the API both call."""
