"""`ps --format TEMPLATE`: the Go-template subset scripts use, and a clear refusal of the rest
(the template was printed literally before, once per container)."""

from __future__ import annotations

import json

import pytest
import typer

from compose.cli.ps_cmd import render_template

ROWS: list[dict[str, object]] = [
    {"Name": "p-web-1", "State": "running", "Publishers": []},
    {"Name": "p-db-1", "State": "exited", "Publishers": []},
]


def test_json_dot_is_one_json_object_per_row() -> None:
    lines = render_template("{{json .}}", ROWS).splitlines()
    assert [json.loads(line) for line in lines] == ROWS


def test_fields_tabs_and_json_fields() -> None:
    text = render_template("{{.Name}}\\t{{ json .Publishers }}", ROWS)
    assert text == "p-web-1\t[]\np-db-1\t[]"


@pytest.mark.parametrize("template", ["{{nosuch .Name}}", "{{.Name", "{{if .Name}}x", "{{.Nope}}"])
def test_bad_templates_are_the_format_value_s_fault(template: str) -> None:
    with pytest.raises(typer.BadParameter, match="template: "):
        render_template(template, ROWS)


def test_functions_conditions_and_ranges_scripts_use() -> None:
    text = render_template(
        '{{.Name | upper}} {{if eq .State "running"}}up{{else}}down{{end}}'
        "{{range .Publishers}} {{.PublishedPort}}{{end}}", ROWS,
    )
    assert text == "P-WEB-1 up\nP-DB-1 down"


def test_command_column_quotes_as_docker_does() -> None:
    from compose.cli.ps_cmd import command_column

    assert command_column(("sh", "-c", "echo $HOME"), trunc=False) == "\"sh -c 'echo $HOME'\""
    assert command_column(("echo", "a$b"), trunc=False) == '"echo a$b"'
    assert command_column(("sh", "-c", "for attempt in 1 2 3"), trunc=True) == (
        "\"sh -c 'for attempt …\""
    )
