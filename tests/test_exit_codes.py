"""The exit-status contract, tested on its own: scripts depend on these numbers."""

from __future__ import annotations

from fhirconv.errors import (
    ExitCode,
    FhirconvError,
    InputError,
    MappingDataError,
    UnmappedCodeError,
    UsageError,
    ValidationFailed,
)


def test_exit_code_numbers_are_stable() -> None:
    assert {c.name: int(c) for c in ExitCode} == {
        "OK": 0,
        "INVALID": 1,
        "USAGE": 2,
        "REJECTED": 3,
        "UNREACHABLE": 4,
        "PARTIAL": 5,
        "NOT_FOUND": 6,
        "INTERNAL": 70,
    }


def test_each_error_class_has_its_exit_code() -> None:
    assert UsageError("x").exit_code is ExitCode.USAGE
    assert InputError("x").exit_code is ExitCode.INVALID
    assert UnmappedCodeError("x").exit_code is ExitCode.INVALID
    assert ValidationFailed("x").exit_code is ExitCode.INVALID
    assert MappingDataError("x").exit_code is ExitCode.USAGE


def test_message_names_file_record_and_field() -> None:
    err = InputError("unknown value 'FOO'", file="a.json", record="2 (NCT00000001)", field="overallStatus")
    assert str(err) == "a.json: record 2 (NCT00000001): field overallStatus: unknown value 'FOO'"


def test_located_fills_only_missing_parts() -> None:
    err = FhirconvError("bad", field="phase", file="inner.json")
    err.located(file="outer.json", record="NCT1")
    assert (err.file, err.record, err.field) == ("inner.json", "NCT1", "phase")


def test_public_api_names_match_the_lazy_table() -> None:
    import fhirconv

    assert set(fhirconv.__all__) == {"__version__", *fhirconv._EXPORTS}
    for name in fhirconv._EXPORTS:
        assert getattr(fhirconv, name) is not None
