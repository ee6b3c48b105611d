"""The data build script's logic, on small synthetic packages (the real run needs the npm tarballs)."""

from __future__ import annotations

from typing import Any

import pytest

from fhirconv.validation.build_definitions import Expander, Unexpandable, _constraints, _elements

CS = "http://example.org/cs"


def _terms() -> list[dict[str, Any]]:
    codesystem = {
        "resourceType": "CodeSystem",
        "url": CS,
        "content": "complete",
        "concept": [
            {"code": "a", "concept": [{"code": "a1"}, {"code": "a2", "concept": [{"code": "a2x"}]}]},
            {"code": "b"},
        ],
    }
    partial = {"resourceType": "CodeSystem", "url": "http://example.org/frag", "content": "fragment"}

    def vs(name: str, compose: dict[str, Any]) -> dict[str, Any]:
        return {"resourceType": "ValueSet", "url": f"http://example.org/vs/{name}", "compose": compose}

    return [
        codesystem,
        partial,
        vs("all", {"include": [{"system": CS}]}),
        vs("listed", {"include": [{"system": CS, "concept": [{"code": "b"}]}]}),
        vs("is-a", {"include": [{"system": CS, "filter": [{"property": "concept", "op": "is-a", "value": "a2"}]}]}),
        vs(
            "below",
            {"include": [{"system": CS, "filter": [{"property": "concept", "op": "descendent-of", "value": "a"}]}]},
        ),
        vs("minus", {"include": [{"system": CS}], "exclude": [{"system": CS, "concept": [{"code": "a1"}]}]}),
        vs("nested", {"include": [{"valueSet": ["http://example.org/vs/listed"]}]}),
        vs("fragment", {"include": [{"system": "http://example.org/frag"}]}),
        vs("external", {"include": [{"system": "urn:ietf:bcp:47"}]}),
        vs("regex", {"include": [{"system": CS, "filter": [{"property": "code", "op": "regex", "value": "a.*"}]}]}),
    ]


@pytest.mark.parametrize(
    ("name", "codes"),
    [
        ("all", {"a", "a1", "a2", "a2x", "b"}),
        ("listed", {"b"}),
        ("is-a", {"a2", "a2x"}),
        ("below", {"a1", "a2", "a2x"}),
        ("minus", {"a", "a2", "a2x", "b"}),
        ("nested", {"b"}),
    ],
)
def test_value_sets_expand_from_the_package(name: str, codes: set[str]) -> None:
    assert Expander(_terms()).expand(f"http://example.org/vs/{name}|4.0.1") == {CS: codes}


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("fragment", "has content 'fragment'"),
        ("external", "CodeSystem urn:ietf:bcp:47"),
        ("regex", "needs a terminology server"),
        ("missing", "is not in the package"),
    ],
)
def test_value_sets_that_need_a_server_say_why(name: str, reason: str) -> None:
    with pytest.raises(Unexpandable, match=reason):
        Expander(_terms()).expand(f"http://example.org/vs/{name}")


def test_element_table_follows_types_choices_backbones_and_bindings() -> None:
    sd = {
        "id": "Thing",
        "snapshot": {
            "element": [
                {
                    "id": "Thing",
                    "path": "Thing",
                    "constraint": [
                        {"key": "thg-1", "severity": "error", "human": "h", "expression": "a.exists()"},
                        {
                            "key": "thg-2",
                            "severity": "warning",
                            "human": "h",
                            "expression": "a.exists()",
                            "extension": [
                                {
                                    "url": "http://hl7.org/fhir/StructureDefinition/elementdefinition-bestpractice",
                                    "valueBoolean": True,
                                }
                            ],
                        },
                        {"key": "thg-3", "severity": "error", "human": "h", "expression": "a.conformsTo('x')"},
                    ],
                },
                {
                    "id": "Thing.status",
                    "path": "Thing.status",
                    "type": [{"code": "code"}],
                    "binding": {"strength": "required", "valueSet": "http://example.org/vs/all|1"},
                },
                {"id": "Thing.note", "path": "Thing.note", "type": [{"code": "string"}]},
                {"id": "Thing.value[x]", "path": "Thing.value[x]", "type": [{"code": "Quantity"}, {"code": "string"}]},
                {"id": "Thing.part", "path": "Thing.part", "type": [{"code": "BackboneElement"}]},
                {
                    "id": "Thing.part.who",
                    "path": "Thing.part.who",
                    "type": [
                        {"code": "Reference", "targetProfile": ["http://hl7.org/fhir/StructureDefinition/Patient"]}
                    ],
                },
                {"id": "Thing.part.part", "path": "Thing.part.part", "contentReference": "#Thing.part"},
            ]
        },
    }
    table, info = _elements({"Thing": sd})
    assert table["Thing"] == {
        "status": ["code", "http://example.org/vs/all", None],
        "valueQuantity": ["Quantity", None, None],
        "part": ["Thing.part", None, None],
    }
    assert table["Thing.part"] == {"who": ["Reference", None, ["Patient"]], "part": ["Thing.part", None, None]}
    kept, skipped = _constraints(["Thing"], info)
    assert kept == {"Thing": [["thg-1", "error", "h", "a.exists()"]]}
    assert [s[:2] for s in skipped] == [["Thing", "thg-2"], ["Thing", "thg-3"]]
