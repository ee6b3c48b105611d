"""SDTM date-times carry no zone: --timezone gives one, as a fixed offset or as a zone name with DST."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.mapping.participants.common import fhir_datetime
from fhirconv.model.participants import SourceRef

SRC = SourceRef("lb.csv", 1)
EXAMPLE = Path(__file__).resolve().parents[1] / "examples" / "NCT04382547"


@pytest.mark.parametrize(
    ("value", "tz", "expected"),
    [
        ("2021-01-15T08:30", "Europe/Berlin", "2021-01-15T08:30:00+01:00"),  # winter time
        ("2021-07-15T08:30", "Europe/Berlin", "2021-07-15T08:30:00+02:00"),  # summer time
        ("2021-07-15T08:30", "America/New_York", "2021-07-15T08:30:00-04:00"),
        ("2021-07-15T08:30:15", "+03:00", "2021-07-15T08:30:15+03:00"),
        ("2021-07-15T08:30", "Z", "2021-07-15T08:30:00Z"),
        ("2021-07-15T08:30", None, "2021-07-15"),  # no zone known: the date only
        ("2021-07-15T08:30+05:30", "Europe/Berlin", "2021-07-15T08:30:00+05:30"),  # the value's own zone wins
        ("2021-07", "Europe/Berlin", "2021-07"),
    ],
)
def test_zone_applied_to_sdtm_date_times(value: str, tz: str | None, expected: str) -> None:
    assert fhir_datetime(value, SRC, "LBDTC", tz) == expected


def test_cli_accepts_zone_names_and_refuses_unknown_ones(tmp_path: Path) -> None:
    base = ["convert", str(EXAMPLE / "NCT04382547.txt"), "--participants", str(EXAMPLE / "participants" / "sdtm"),
            "-q", "-o", str(tmp_path / "out.json")]
    assert CliRunner().invoke(main, [*base, "--timezone", "Europe/Minsk"]).exit_code == 0
    refused = CliRunner().invoke(main, [*base, "--timezone", "Mars/Olympus_Mons"])
    assert refused.exit_code == 2
    assert "time zone name" in refused.output


@pytest.mark.parametrize(("tz", "ok"), [("+14:00", True), ("-13:59", True), ("Z", True), ("+14:30", False),
                                        ("+3:00", False), ("Europe/Minsk", True), ("Mars/Olympus_Mons", False)])
def test_one_zone_check_for_the_cli_and_the_api(tz: str, ok: bool) -> None:
    """The CLI and Context.for_study (the Python API) accept the same zones: FHIR's offsets (at most ±14:00;
    the CLI took +14:30 before, which the mapping then refused) and IANA names."""
    from fhirconv.errors import InputError
    from fhirconv.mapping.participants.common import Context
    from fhirconv.model.study import Study
    from fhirconv.timezone import check_timezone

    if ok:
        assert check_timezone(tz) == tz
        assert Context.for_study(Study("NCT04382547"), tz=tz).tz == tz
        return
    with pytest.raises(InputError, match="neither a zone offset"):
        check_timezone(tz)
    with pytest.raises(InputError, match="neither a zone offset"):
        Context.for_study(Study("NCT04382547"), tz=tz)
    refused = CliRunner().invoke(main, ["convert", "--participants", str(EXAMPLE / "participants" / "sdtm"),
                                        "--timezone", tz, "-o", "unused.json"])
    assert refused.exit_code == 2
    assert "neither a zone offset" in refused.output
