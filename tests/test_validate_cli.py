"""`fhirconv validate`: exit codes 0/1/2, text and OperationOutcome reports, NDJSON and directories, --server."""

from __future__ import annotations

import json
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any, ClassVar

import pytest
from click.testing import CliRunner

from fhirconv.cli import main
from fhirconv.cli.validate import offline_findings
from fhirconv.validation.schema import schema_findings
from fhirconv.versions import FhirVersion

CORPUS = Path(__file__).parent / "data" / "validate"
CLEAN_R4 = CORPUS / "clean" / "bundle.R4.json"
CLEAN_R5 = CORPUS / "clean" / "bundle.R5.json"
BAD_R4 = CORPUS / "defects" / "R4" / "bad-status-code.json"


def run(*args: str) -> Any:
    return CliRunner().invoke(main, ["validate", *args])


def test_valid_bundle_exits_0() -> None:
    result = run(str(CLEAN_R4))
    assert result.exit_code == 0, result.output
    assert result.stdout.startswith("valid: 1 file(s), 11 resource(s) checked: 0 error(s)")


def test_the_version_is_detected_from_the_content_as_push_does() -> None:
    for path, version in ((CLEAN_R5, "R5"), (CLEAN_R4, "R4")):
        result = run(str(path))
        assert result.exit_code == 0, result.output
        assert f"checked as FHIR {version} (detected from the content" in result.stderr
    assert run("--fhir-version", "R5", str(CLEAN_R5)).exit_code == 0
    # Forcing the other version still checks as told: R5 content read as R4 is invalid.
    forced = run("--fhir-version", "R4", str(CLEAN_R5))
    assert forced.exit_code == 1
    assert "checked as" not in forced.stderr


def test_invalid_bundle_exits_1_and_names_file_resource_path_layer() -> None:
    result = run(str(BAD_R4))
    assert result.exit_code == 1
    lines = result.stdout.splitlines()
    assert lines[0] == str(BAD_R4)
    assert lines[1].startswith("  Observation (entry 8, urn:uuid:")
    assert lines[2].startswith("    error [terminology+schema] Observation.status: code 'done' is not in")
    assert lines[-1].startswith("INVALID: 1 file(s), 11 resource(s) checked: 1 error(s)")


@pytest.mark.parametrize("version", ["R4", "R5"])
@pytest.mark.parametrize("bad", [["http://x"], 5, {"a": 1}, True])
def test_a_value_the_models_crash_on_is_a_finding_not_an_internal_error(
    tmp_path: Path, version: str, bad: Any
) -> None:
    # fhir_core's R4 models raise TypeError/AttributeError (not a ValidationError) for a url of the wrong JSON
    # type; both the check and the version detection (no --fhir-version) meet it.
    bundle = json.loads((CLEAN_R5 if version == "R5" else CLEAN_R4).read_text())
    study = next(e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] == "ResearchStudy")
    study["relatedArtifact"] = [{"type": "citation", "url": bad}]
    target = tmp_path / "bad.json"
    target.write_text(json.dumps(bundle))
    for args in (["--fhir-version", version], []):
        result = run(*args, str(target))
        assert result.exit_code == 1, result.output
        assert "internal error" not in result.output
        assert "ResearchStudy.relatedArtifact[0].url" in result.stdout


def test_json_format_is_an_operation_outcome_with_expressions() -> None:
    result = run("--format", "json", str(BAD_R4))
    assert result.exit_code == 1
    outcome = json.loads(result.stdout)
    assert schema_findings(outcome, FhirVersion.R4) == []
    assert schema_findings(outcome, FhirVersion.R5) == []
    [issue] = outcome["issue"]
    assert issue["severity"] == "error"
    assert issue["code"] == "code-invalid"
    assert issue["expression"] == ["Bundle.entry[8].resource.status"]
    assert "layer=terminology" in issue["diagnostics"]


def test_json_format_of_valid_content_has_one_informational_issue() -> None:
    result = run("--format", "json", str(CLEAN_R4))
    assert result.exit_code == 0
    assert json.loads(result.stdout)["issue"] == [
        {"severity": "information", "code": "informational", "details": {"text": "no problems found"}}
    ]


def test_ndjson_findings_carry_the_line(tmp_path: Path) -> None:
    bundle = json.loads(CLEAN_R4.read_text(encoding="utf-8"))
    resources = [e["resource"] for e in bundle["entry"] if e["resource"]["resourceType"] in ("Patient", "Group")]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    resources.append({**patient, "gender": "unknown-ish"})
    ndjson = tmp_path / "patients.ndjson"
    ndjson.write_text("".join(json.dumps(r) + "\n" for r in resources), encoding="utf-8")
    result = run(str(ndjson))
    assert result.exit_code == 1
    assert "  Patient (line 3)" in result.output
    assert "Patient.gender: code 'unknown-ish'" in result.output


def test_directory_is_walked(tmp_path: Path) -> None:
    shutil.copy(CLEAN_R4, tmp_path / "a.json")
    (tmp_path / "sub").mkdir()
    shutil.copy(BAD_R4, tmp_path / "sub" / "b.json")
    result = run(str(tmp_path))
    assert result.exit_code == 1
    assert str(tmp_path / "sub" / "b.json") in result.output
    assert "2 file(s), 22 resource(s)" in result.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "not valid JSON"),
        ("[1, 2]", "not a FHIR resource"),
        ('{"a": 1}', "not a FHIR resource"),
    ],
)
def test_unusable_input_exits_2(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "x.json"
    path.write_text(content, encoding="utf-8")
    result = run(str(path))
    assert result.exit_code == 2
    assert message in result.output
    assert "hint:" in result.output


def test_missing_path_and_bad_arguments_exit_2(tmp_path: Path) -> None:
    assert run(str(tmp_path / "nope.json")).exit_code == 2
    assert run("--fhir-version", "R3", str(CLEAN_R4)).exit_code == 2
    assert run("--format", "xml", str(CLEAN_R4)).exit_code == 2
    assert run().exit_code == 2
    assert run("--server", "ftp://x", str(CLEAN_R4)).exit_code == 2


def test_offline_findings_is_what_convert_calls() -> None:
    bad = json.loads(BAD_R4.read_text(encoding="utf-8"))
    [finding] = offline_findings(bad, FhirVersion.R4)
    assert finding.expression == "Bundle.entry[8].resource.status"
    assert offline_findings(json.loads(CLEAN_R4.read_text(encoding="utf-8")), FhirVersion.R4) == []


class _FakeServer(BaseHTTPRequestHandler):
    """A $validate endpoint that flags the Patient entry, the way HAPI reports it."""

    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:  # /metadata: validate --server first checks the server's FHIR version
        data = json.dumps({"resourceType": "CapabilityStatement", "fhirVersion": "4.0.1"}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers["Content-Length"])
        body = json.loads(self.rfile.read(length))
        type(self).seen.append(f"{self.path} {body['resourceType']}")
        outcome = {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "error",
                    "code": "processing",
                    "diagnostics": "Patient.birthDate: server says no",
                    "expression": ["Bundle.entry[6].resource.birthDate"],
                },
                {"severity": "information", "code": "informational", "diagnostics": "All OK"},
            ],
        }
        data = json.dumps(outcome).encode()
        self.send_response(422)
        self.send_header("Content-Type", "application/fhir+json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args  # keep test output quiet


@pytest.fixture
def fake_server() -> Iterator[str]:
    server = HTTPServer(("127.0.0.1", 0), _FakeServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/fhir"
    finally:
        server.shutdown()
        server.server_close()


def test_server_outcome_is_merged_into_the_report(fake_server: str) -> None:
    _FakeServer.seen.clear()
    result = run("--server", fake_server, "--format", "json", str(CLEAN_R4))
    assert result.exit_code == 1
    assert _FakeServer.seen == ["/fhir/Bundle/$validate Bundle"]
    [issue] = json.loads(result.stdout)["issue"]
    assert issue["expression"] == ["Bundle.entry[6].resource.birthDate"]
    assert issue["details"]["text"] == "Patient.birthDate: server says no"
    assert "layer=server" in issue["diagnostics"]
    assert "resource=Patient (entry 6, urn:uuid:" in issue["diagnostics"]


def test_unreachable_server_exits_4() -> None:
    result = run("--server", "http://127.0.0.1:9/fhir", str(CLEAN_R4))
    assert result.exit_code == 4
    assert "cannot reach http://127.0.0.1:9/fhir" in result.output


def test_show_skipped_lists_what_is_not_checked() -> None:
    result = run("--show-skipped", "--fhir-version", "R5")
    assert result.exit_code == 0
    assert "http://hl7.org/fhir/ValueSet/all-languages: CodeSystem urn:ietf:bcp:47" in result.output
    assert "  Range rng-2: fhirpathpy lacks comparable()" in result.output


def test_ensure_valid_refuses_with_the_report() -> None:
    from fhirconv.errors import ExitCode, ValidationFailed
    from fhirconv.validation import ensure_valid

    bad = json.loads(BAD_R4.read_text(encoding="utf-8"))
    with pytest.raises(ValidationFailed) as refused:
        ensure_valid(bad, FhirVersion.R4, file="out.json")
    assert refused.value.exit_code is ExitCode.INVALID
    assert "Observation.status: code 'done'" in refused.value.message
    assert "--allow-invalid" in (refused.value.hint or "")
    assert ensure_valid(json.loads(CLEAN_R4.read_text(encoding="utf-8")), FhirVersion.R4) == []


def test_an_element_of_the_other_version_gets_a_hint() -> None:
    result = run("--fhir-version", "R5", str(CORPUS / "defects" / "R5" / "r4-shaped-in-r5.json"))
    assert result.exit_code == 1
    assert "ResearchStudy.sponsor: unknown element 'sponsor'" in result.output
    assert "(FHIR R4 has it: is this R4 content? see --fhir-version)" in result.output
    plain = run(str(CORPUS / "defects" / "R4" / "unknown-element.json"))
    assert "has it" not in plain.output


def test_a_directory_with_an_unreadable_file_still_reports_the_others(tmp_path: Path) -> None:
    (tmp_path / "a.json").write_text(CLEAN_R4.read_text(encoding="utf-8"), encoding="utf-8")
    (tmp_path / "b.json").write_text("", encoding="utf-8")
    (tmp_path / "c.json").write_text("[" * 100_000, encoding="utf-8")
    result = run(str(tmp_path))
    assert result.exit_code == 2
    assert "INCOMPLETE: 1 file(s), " in result.stdout  # a.json was checked, no verdict on the whole
    assert "2 file(s) could not be read" in result.stdout
    assert "b.json" in result.stderr
    assert "nested too deeply" in result.stderr
    assert "Traceback" not in result.output


def test_stdin_json_and_ndjson() -> None:
    bundle = CLEAN_R4.read_text(encoding="utf-8")
    assert CliRunner().invoke(main, ["validate", "-"], input=bundle).exit_code == 0
    lines = "\n".join(json.dumps(e["resource"]) for e in json.loads(bundle)["entry"][:3]) + "\n"
    result = CliRunner().invoke(main, ["validate", "-"], input=lines)
    assert "3 resource(s)" in result.stdout


@pytest.mark.parametrize("version", ["R4", "R5"])
def test_jobs_give_the_same_report_as_one_job(version: str) -> None:
    folder = str(CORPUS / "defects" / version)
    reports = []
    for jobs in ("1", "2"):
        for fmt in ("text", "json"):
            result = CliRunner().invoke(main, ["validate", folder, "--fhir-version", version, "--jobs", jobs,
                                               "--format", fmt])
            assert result.exit_code == 1  # the defect corpus: every file has a defect
            reports.append(result.output)
    assert reports[0] == reports[2]
    assert reports[1] == reports[3]
    assert "error" in reports[0]
