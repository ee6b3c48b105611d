"""The typed, version-neutral records the readers produce and the mappers consume."""
