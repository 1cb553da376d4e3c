"""`ps` as a Typer command (help, templates, unusual spellings); its listing is
compose.cli.ps_listing, which the fast path (compose.cli.fast_ps) runs without Typer."""

from __future__ import annotations

import functools
from typing import TYPE_CHECKING

import typer

from compose.cli import ps_listing
from compose.cli.context import global_options
from compose.cli.ps_listing import (  # noqa: F401  (state_word, command_column: other commands')
    HEADERS,
    PsRequest,
    command_column,
    exposed_for,
    label_method,
    row,
    state_word,
)

if TYPE_CHECKING:
    from compose.cli import go_template
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo


def render_template(
    template: str, rows: list[dict[str, object]], headers: dict[str, str] = HEADERS,
    methods: dict[str, go_template.Method] | None = None,
) -> str:
    """docker's `--format TEMPLATE` over the rows (compose.cli.go_template); a template that
    does not parse or fails on a row is the --format value's fault."""
    from compose.cli import go_template

    try:
        return go_template.render(template, rows, headers, methods)
    except go_template.TemplateError as exc:
        raise typer.BadParameter(f"template: {exc}", param_hint="--format") from None


def ps(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    all_: bool = typer.Option(
        False, "-a", "--all",
        help="Show all stopped containers (including those created by the run command)",
    ),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display IDs"),
    show_services: bool = typer.Option(False, "--services", help="Display services"),
    fmt: str = typer.Option(
        "table", "--format", help="table, json, or a Go template such as '{{.Name}}'"
    ),
    status: list[str] = typer.Option(
        None, "--status",
        help="Filter services by status: paused|restarting|removing|running|dead|created|exited",
    ),
    filters: list[str] = typer.Option(
        None, "--filter", help="Filter services by a property (supported filters: status)"
    ),
    no_trunc: bool = typer.Option(False, "--no-trunc", help="Don't truncate output"),
    orphans: bool = typer.Option(
        True, "--orphans/--no-orphans", help="Include orphaned services (not declared by project)"
    ),
) -> None:
    """List containers."""
    request = PsRequest(
        services=tuple(services or ()), all=all_, quiet=quiet, services_only=show_services,
        format=fmt, status=tuple(status or ()), filters=tuple(filters or ()),
        no_trunc=no_trunc, orphans=orphans,
    )
    ps_listing.execute(global_options(ctx), request, functools.partial(_render, request))


def _render(request: PsRequest, orch: Orchestrator, infos: list[ContainerInfo]) -> None:
    rows = [
        row(c, not request.no_trunc, orch.engine.command_of(c), exposed_for(orch, c))
        for c in infos
    ]
    output = render_template(request.format, rows, methods=label_method(infos))
    if output:
        print(output)
