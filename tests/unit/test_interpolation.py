"""Variable substitution: every operator, nesting, escapes, errors."""

from __future__ import annotations

import pytest

from compose.interpolation import InterpolationError, interpolate, interpolate_tree
from compose.yaml_source import Locations, parse_documents

ENV = {"SET": "value", "EMPTY": ""}


def lookup(name: str) -> str | None:
    return ENV.get(name)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("plain", "plain"),
        ("$SET", "value"),
        ("${SET}", "value"),
        ("pre-${SET}-post", "pre-value-post"),
        ("$UNSET", ""),
        ("${UNSET:-def}", "def"),
        ("${EMPTY:-def}", "def"),
        ("${EMPTY-def}", ""),
        ("${UNSET-def}", "def"),
        ("${SET:+alt}", "alt"),
        ("${EMPTY:+alt}", ""),
        ("${EMPTY+alt}", "alt"),
        ("${UNSET+alt}", ""),
        ("${UNSET:-${SET}}", "value"),
        ("${UNSET:-${ALSO_UNSET:-deep}}", "deep"),
        ("$$SET", "$SET"),
        ("$${SET}", "${SET}"),
        ("cost: 5$", "cost: 5$"),
        ("${SET:-a:b}", "value"),
    ],
)
def test_interpolate(text: str, expected: str) -> None:
    assert interpolate(text, lookup) == expected


@pytest.mark.parametrize("text", ["${UNSET:?need it}", "${UNSET?need it}", "${EMPTY:?need it}"])
def test_required_variable(text: str) -> None:
    with pytest.raises(InterpolationError, match="need it"):
        interpolate(text, lookup)


def test_required_but_empty_allowed_without_colon() -> None:
    assert interpolate("${EMPTY?x}", lookup) == ""


@pytest.mark.parametrize("text", ["${", "${SET", "${1BAD}", "${SET:x}"])
def test_bad_syntax(text: str) -> None:
    with pytest.raises(InterpolationError, match="invalid interpolation format"):
        interpolate(text, lookup)


def test_tree_reports_problem_with_line() -> None:
    text = "services:\n  web:\n    image: ok\n    command: ${NOPE:?missing}\n"
    doc = parse_documents(text, "compose.yaml")[0]
    data, problems = interpolate_tree(doc.data, lookup, doc.locations)
    assert len(problems) == 1
    assert problems[0].line == 4
    assert problems[0].key == "services.web.command"
    assert "missing" in problems[0].message
    assert data["services"]["web"]["image"] == "ok"


def test_tree_leaves_keys_and_non_strings() -> None:
    data, problems = interpolate_tree({"$SET": [1, True, "$SET"]}, lookup, Locations())
    assert problems == []
    assert data == {"$SET": [1, True, "value"]}
