"""push refuses input it could not deliver safely, before sending anything (no server needed)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from push_sample import study_bundle

from fhirconv.errors import ExitCode, FhirconvError
from fhirconv.push import load_files
from fhirconv.push.entries import bundle_entries


def _bundle(**change: Any) -> dict[str, Any]:
    bundle = study_bundle("urn:test", participants=1)
    bundle["entry"][0].update(change)
    return bundle


@pytest.mark.parametrize(
    ("bundle", "message"),
    [
        ({"resourceType": "Patient"}, "not a FHIR Bundle"),
        ({"resourceType": "Bundle", "type": "searchset"}, "only transaction or batch"),
        (_bundle(request={"method": "POST", "url": "Organization"}), "unconditional POST would create a duplicate"),
        (_bundle(request={"method": "DELETE", "url": "Organization/x"}), "DELETE is not supported"),
        (_bundle(request={"method": "PUT"}), "no resource or no request.url"),
        (_bundle(fullUrl=study_bundle("urn:test", participants=1)["entry"][1]["fullUrl"]), "appears twice"),
    ],
)
def test_unsafe_or_broken_bundles_are_refused(bundle: dict[str, Any], message: str) -> None:
    with pytest.raises(FhirconvError, match=message) as caught:
        bundle_entries(bundle, "in.json")
    assert caught.value.exit_code == ExitCode.INVALID
    assert caught.value.file == "in.json"


def test_conditional_post_is_accepted() -> None:
    bundle = _bundle(request={"method": "POST", "url": "Organization", "ifNoneExist": "identifier=urn:test|ORG-1"})
    entries = bundle_entries(bundle, "in.json")
    assert entries[0].method == "POST"
    assert entries[0].identifier == "urn:test|ORG-1"


def test_paths_directories_and_missing_files(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text(json.dumps(study_bundle("urn:test", participants=0)))
    (tmp_path / "a.json").write_text(json.dumps(study_bundle("urn:test2", participants=0)))
    (tmp_path / "notes.txt").write_text("not a bundle")
    loaded = load_files([str(tmp_path)])
    assert [Path(source).name for source, _ in loaded] == ["a.json", "b.json"]
    with pytest.raises(FhirconvError, match="no such file") as caught:
        load_files([str(tmp_path / "missing.json")])
    assert caught.value.exit_code == ExitCode.USAGE
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(FhirconvError, match=r"no \*\.json"):
        load_files([str(empty)])
    (tmp_path / "broken.json").write_text("{")
    with pytest.raises(FhirconvError, match="cannot read a JSON bundle"):
        load_files([str(tmp_path / "broken.json")])


def test_server_and_push_options_plug_into_another_command() -> None:
    import click
    from click.testing import CliRunner

    from fhirconv.cli.push import pop_push_options, pop_server_config, push_options, server_options

    seen: dict[str, object] = {}

    @click.command()
    @click.option("--push", "do_push", is_flag=True)
    @server_options
    @push_options
    def convert_like(do_push: bool, **kwargs: Any) -> None:
        seen["config"] = pop_server_config(kwargs)
        seen["options"] = pop_push_options(kwargs)
        seen["rest"] = kwargs

    env = {"FHIRCONV_SERVER": "https://fhir.example.org/r4", "FHIRCONV_TOKEN": "t0k"}
    result = CliRunner().invoke(convert_like, ["--push", "--workers", "3"], env=env)
    assert result.exit_code == 0, result.output
    config = seen["config"]
    assert config.base_url == "https://fhir.example.org/r4"  # type: ignore[attr-defined]
    assert config.token == "t0k"  # type: ignore[attr-defined]
    assert "t0k" not in repr(config)
    assert seen["options"].workers == 3  # type: ignore[attr-defined]
    assert seen["rest"] == {}
