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


@pytest.mark.parametrize("template", ["{{upper .Name}}", "{{.Name", "{{range .}}x{{end}}"])
def test_unsupported_actions_are_refused(template: str) -> None:
    with pytest.raises(typer.BadParameter, match="only"):
        render_template(template, ROWS)


def test_command_column_quotes_as_docker_does() -> None:
    from compose.cli.ps_cmd import command_column

    assert command_column(("sh", "-c", "echo $HOME"), trunc=False) == "\"sh -c 'echo $HOME'\""
    assert command_column(("echo", "a$b"), trunc=False) == '"echo a$b"'
    assert command_column(("sh", "-c", "for attempt in 1 2 3"), trunc=True) == (
        "\"sh -c 'for attempt …\""
    )
