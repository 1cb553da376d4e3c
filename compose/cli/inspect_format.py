"""`inspect -f/--format TEMPLATE` of `container`, `image` and `volume`: docker's way to pull
one value out of an inspect document in a script (`{{.State.Status}}`, `{{json .Config}}`)."""

from __future__ import annotations

import json

import typer

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Sequence

FORMAT_HELP = "Format output using a Go template, e.g. '{{.State.Status}}' or '{{json .Config}}'"


def print_documents(documents: Sequence[object], template: str | None) -> None:
    """The documents as docker prints them: a JSON array indented by 4, or each one through
    the template on its own line; a template that fails is the --format value's fault."""
    if not template:
        print(json.dumps(list(documents), indent=4))
        return
    from compose.cli import go_template

    try:
        text = go_template.render_documents(template, documents)
    except go_template.TemplateError as exc:
        raise typer.BadParameter(f"template: {exc}", param_hint="--format") from None
    print(text)
