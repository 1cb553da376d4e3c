"""`pycompose config`: validate the stack file(s) and print the resolved project."""

from __future__ import annotations

from pathlib import Path

import typer

from compose.cli.context import global_options
from compose.errors import ComposeError, ServiceNotFoundError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.model import LoadOptions, Project


def _with_named_services_enabled(
    project: Project, options: LoadOptions, names: list[str]
) -> Project:
    """The project again with every profile active when a named service is outside the active
    ones: naming a service enables it (compose-go's WithServicesEnabled); the selection then
    keeps only it and what it depends on."""
    import dataclasses

    from compose.project_cache import load_cached

    for name in names:
        if name not in project.all_service_names:
            raise ServiceNotFoundError(f"no such service: {name}")
    if all(name in project.services for name in names):
        return project
    return load_cached(dataclasses.replace(options, profiles=(*options.profiles, "*")))


def register(app: typer.Typer) -> None:
    """Add the `config` command to the app."""

    @app.command("config")
    def config(
        ctx: typer.Context,
        fmt: str = typer.Option("yaml", "--format", help="Format the output: yaml or json"),
        services: bool = typer.Option(False, "--services", help="Print the service names"),
        volumes: bool = typer.Option(False, "--volumes", help="Print the volume names"),
        profiles: bool = typer.Option(False, "--profiles", help="Print the profile names"),
        images: bool = typer.Option(False, "--images", help="Print the image names"),
        networks: bool = typer.Option(False, "--networks", help="Print the network names"),
        variables: bool = typer.Option(
            False, "--variables", help="Print the variables the files use, with their defaults"
        ),
        environment: bool = typer.Option(
            False, "--environment", help="Print the environment used for interpolation"
        ),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="Only validate, print nothing"),
        output: str = typer.Option(None, "-o", "--output", help="Save to file"),
        names: list[str] = typer.Argument(
            None, metavar="[SERVICE...]",
            help="Only these services and what they depend on (a service of an inactive "
            "profile included)"),
    ) -> None:
        """Parse, resolve and render the compose file in canonical format."""
        if fmt not in ("yaml", "json"):
            raise ComposeError(f"unsupported format {fmt!r}", hint="use --format yaml or json")
        from compose import config_render
        from compose.cli.session import warned
        from compose.project_cache import load_cached  # a hit is the same Project, pickled

        options = global_options(ctx).load_options()
        project = warned(load_cached(options))
        full = project
        if names:
            full = _with_named_services_enabled(project, options, names)
            project = config_render.select_services(full, list(names))
        if quiet:
            return
        if services:  # these three list the whole project, as docker compose's do
            text = config_render.render_services(full)
        elif volumes:
            text = config_render.render_volumes(full)
        elif profiles:
            text = config_render.render_profiles(project)
        elif images:
            text = config_render.render_images(project)
        elif networks:
            text = config_render.render_networks(full)
        elif variables:
            text = config_render.render_variables(project)
        elif environment:
            text = config_render.render_environment(project)
        else:
            text = config_render.render_project(project, fmt)
        if output:
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ComposeError(f"cannot write {output}: {exc}") from None
        else:
            typer.echo(text, nl=False)
