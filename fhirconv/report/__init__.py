"""`fhirconv report`: one self-contained HTML page about a converted study (registry record + participants)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

from fhirconv.report.data import Content, Gatherer

__all__ = ["build_report", "not_carried_over", "read_resources"]


def read_resources(paths: list[str]) -> Iterator[tuple[dict[str, Any], str | None]]:
    """The resources of our own output, one at a time, each with the fullUrl of its Bundle entry (for
    references): Bundles, NDJSON, or directories of them. Unreadable files are refused (UsageError naming
    the file), as validate does. A Bundle file is parsed whole; NDJSON line by line."""
    from fhirconv.validation.run import iter_documents

    for doc in iter_documents(paths):
        content = doc.content
        if content.get("resourceType") == "Bundle":
            for entry in content.get("entry") or []:
                if isinstance(entry, dict) and isinstance(entry.get("resource"), dict):
                    yield entry["resource"], entry.get("fullUrl")
        else:
            yield content, None


_ROW = re.compile(r"^\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*(.+?)\s*\|\s*(.*?)\s*\|\s*$")


def not_carried_over() -> list[tuple[str, str, str]]:
    """The registry fields fhirconv reads but does not write: the rows of the field table in
    mappings/README.md whose R4 and R5 columns are both "—", with the table's own reason. One table is the
    truth for the documentation and the report, so they cannot disagree."""
    from fhirconv.mapping.conceptmaps import mapping_root

    readme = mapping_root() / "README.md"
    try:
        text = readme.read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for line in text.splitlines():
        m = _ROW.match(line)
        if m and m.group(2) == "—" and m.group(3) == "—":
            rows.append((m.group(1).replace("`", ""), "(none in R4 or R5)", m.group(4).replace("`", "")))
    return rows


def build_report(
    resources: Iterable[tuple[dict[str, Any], str | None]], *, source: str, read: Callable[[], None] | None = None
) -> tuple[str, Content]:
    """The page (HTML text) and the numbers it shows, from (resource, fullUrl) pairs read once, as they
    come: only the summaries are kept (report.data.Gatherer). `read` is called after each resource."""
    from fhirconv.report.page import render

    gatherer = Gatherer()
    for resource, full_url in resources:
        gatherer.add(resource, full_url)
        if read is not None:
            read()
    content = gatherer.content()
    return render(content, not_carried=not_carried_over(), source=source), content


def write_report(html: str, output: Path) -> None:
    from fhirconv.output.files import write_text

    write_text(str(output), html)
