"""`--format` of `ls` and `images`, as docker compose's formatter.Print writes them."""

from __future__ import annotations

import pytest

from compose.cli.list_format import FormatError, pretty_section, render_list

ROWS: list[dict[str, object]] = [
    {"Name": "app", "Status": "running(2)", "ConfigFiles": "/srv/app/compose.yaml"},
    {"Name": "é", "Status": "exited(1)", "ConfigFiles": ""},
]
HEADERS = ("NAME", "STATUS", "CONFIG FILES")
CELLS = [[str(v) for v in r.values()] for r in ROWS]


def test_table_columns_are_at_least_twenty_wide_and_the_last_is_not_padded() -> None:
    assert render_list(ROWS, "table", HEADERS, CELLS) == (
        "NAME                STATUS              CONFIG FILES\n"
        "app                 running(2)          /srv/app/compose.yaml\n"
        "é                   exited(1)           \n"
    )


def test_a_wide_cell_widens_its_column_by_three_spaces() -> None:
    text = pretty_section(("A", "B"), [["x" * 25, "y"]])
    assert text.splitlines() == ["A" + " " * 27 + "B", "x" * 25 + "   y"]


@pytest.mark.parametrize("fmt", ["table", "TABLE", "pretty", ""])
def test_table_words_are_any_case(fmt: str) -> None:
    assert render_list(ROWS, fmt, HEADERS, CELLS).startswith("NAME ")


def test_json_is_one_array_on_one_line_without_ascii_escapes() -> None:
    assert render_list(ROWS, "JSON", HEADERS, CELLS) == (
        '[{"Name":"app","Status":"running(2)","ConfigFiles":"/srv/app/compose.yaml"},'
        '{"Name":"é","Status":"exited(1)","ConfigFiles":""}]\n'
    )


def test_json_of_nothing_is_an_empty_array_or_go_s_null() -> None:
    assert render_list([], "json", HEADERS, []) == "[]\n"
    assert render_list(None, "json", HEADERS, []) == "null\n"


def test_json_dot_template_is_one_object_per_line() -> None:
    lines = render_list(ROWS, "{{json .}}", HEADERS, CELLS).splitlines()
    assert lines[0] == '{"Name":"app","Status":"running(2)","ConfigFiles":"/srv/app/compose.yaml"}'
    assert len(lines) == 2


@pytest.mark.parametrize("fmt", ["yaml", "{{.Name}}", " json"])
def test_other_formats_are_refused_in_compose_s_words(fmt: str) -> None:
    with pytest.raises(FormatError) as caught:
        render_list(ROWS, fmt, HEADERS, CELLS)
    assert str(caught.value) == f'format value "{fmt}" could not be parsed: parsing failed'
