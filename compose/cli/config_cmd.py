"""`pycompose config`: validate the stack file(s) and print the resolved project."""

from __future__ import annotations

from pathlib import Path

import typer

from compose.cli.context import global_options
from compose.errors import ComposeError, ServiceNotFoundError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

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


def _print_hashes(project: Project, selection: str) -> str:
    """`config --hash`: `service hash` lines; a warning for a service whose image is not here
    (its hash would change once the image is pulled or built)."""
    import sys

    from compose.service_hashes import service_hashes
    from engine.api import Engine

    lines = []
    for entry in service_hashes(Engine(), project, selection):
        if entry.image_id is None:
            print(f"WARN[0000] service {entry.service}: its image is not present: the hash "
                  "will differ once it is pulled or built", file=sys.stderr)
        lines.append(f"{entry.service} {entry.hash}\n")
    return "".join(lines)


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
        models: bool = typer.Option(
            False, "--models", help="Print the model names, one per line"),
        variables: bool = typer.Option(
            False, "--variables", help="Print the variables the files use, with their defaults"
        ),
        environment: bool = typer.Option(
            False, "--environment", help="Print the environment used for interpolation"
        ),
        hash_of: str = typer.Option(
            None, "--hash", metavar="SERVICE[,SERVICE...]|*",
            help="Print the services' config hash, one per line (equal to a container's "
            "com.docker.compose.config-hash label: `up` leaves that container alone)"),
        no_interpolate: bool = typer.Option(
            False, "--no-interpolate", help="Don't interpolate environment variables"),
        no_normalize: bool = typer.Option(
            False, "--no-normalize", help="Don't normalize compose model"),
        no_path_resolution: bool = typer.Option(
            False, "--no-path-resolution", help="Don't resolve file paths"),
        no_env_resolution: bool = typer.Option(
            False, "--no-env-resolution", help="Don't resolve service env files"),
        resolve_image_digests: bool = typer.Option(
            False, "--resolve-image-digests",
            help="Pin image tags to the digests they were pulled with"),
        lock_image_digests: bool = typer.Option(
            False, "--lock-image-digests",
            help="Produces an override file with image digests"),
        no_consistency: bool = typer.Option(
            False, "--no-consistency",
            help="Don't check model consistency - warning: may produce invalid Compose output"),
        quiet: bool = typer.Option(False, "-q", "--quiet", help="Only validate, print nothing"),
        output: str = typer.Option(None, "-o", "--output", help="Save to file"),
        names: list[str] = typer.Argument(
            None, metavar="[SERVICE...]",
            help="Only these services and what they depend on (a service of an inactive "
            "profile included)"),
    ) -> None:
        """Parse, resolve and render the compose file in canonical format."""
        import dataclasses

        if fmt not in ("yaml", "json"):
            raise ComposeError(f'unsupported format "{fmt}"', hint="use --format yaml or json")
        from compose import config_render
        from compose.cli.session import warned
        from compose.project_cache import load_cached  # a hit is the same Project, pickled

        flags = global_options(ctx)
        options = dataclasses.replace(
            flags.load_options(), consistency=not no_consistency,
            resolve_paths=not no_path_resolution, resolve_env=not no_env_resolution,
        )
        project = warned(load_cached(options))
        full = project
        if names:
            full = _with_named_services_enabled(project, options, names)
            project = config_render.select_services(full, list(names))
        if not flags.all_resources:  # docker compose's default since --all-resources exists
            full = config_render.without_unused_resources(full)
            project = config_render.without_unused_resources(project)
        pins = _pinned(project) if resolve_image_digests or lock_image_digests else {}
        project = _with_images(project, pins)
        if quiet:
            return
        if hash_of:
            text = _print_hashes(full, hash_of)
        elif services:  # these three list the whole project, as docker compose's do
            text = config_render.render_services(full)
        elif volumes:
            text = config_render.render_volumes(full)
        elif profiles:
            text = config_render.render_profiles(project)
        elif images:
            text = config_render.render_images(project)
        elif networks:
            text = config_render.render_networks(full)
        elif models:
            text = config_render.render_models(full)
        elif variables:
            text = config_render.render_variables(project)
        elif environment:
            text = config_render.render_environment(project)
        elif lock_image_digests:
            text = config_render.render_model(_locked(project), fmt)
        elif no_normalize or no_interpolate:
            text = _as_merged(
                dataclasses.replace(options, interpolate=not no_interpolate), project, fmt, pins)
        else:
            text = config_render.render_project(project, fmt)
        if output:
            if not text:
                return
            try:
                Path(output).write_text(text, encoding="utf-8")
            except OSError as exc:
                raise ComposeError(f"cannot write {output}: {exc}") from None
        else:
            typer.echo(text, nl=False)


def _pinned(project: Project) -> dict[str, str]:
    """`--resolve-image-digests`: service -> `name:tag@digest` (compose.image_digests)."""
    from compose.image_digests import pinned_images
    from engine.api import Engine

    return pinned_images(Engine(), project)


def _locked(project: Project) -> dict[str, Any]:
    """`--lock-image-digests`: an override file of the services' pinned images (and their
    `type: image` volumes), nothing else, as compose's imagesOnly leaves the project."""
    services: dict[str, Any] = {}
    for name, svc in (project.raw.get("services") or {}).items():
        entry: dict[str, Any] = {"image": svc["image"]} if svc.get("image") else {}
        volumes = [v for v in svc.get("volumes") or [] if v.get("type") == "image"]
        if volumes:
            entry["volumes"] = volumes
        services[name] = entry
    return {"services": services}


def _pin(services: dict[str, Any], pins: dict[str, str]) -> dict[str, Any]:
    return {name: ({**svc, "image": pins[name]} if name in pins and isinstance(svc, dict)
                   else svc) for name, svc in services.items()}


def _with_images(project: Project, pins: dict[str, str]) -> Project:
    import dataclasses

    if not pins:
        return project
    services = _pin(project.raw.get("services") or {}, pins)
    return dataclasses.replace(project, raw={**project.raw, "services": services})


def _as_merged(
    options: LoadOptions, project: Project, fmt: str, pins: dict[str, str]
) -> str:
    """`config --no-normalize` / `--no-interpolate`: the merged model (short syntax and
    relative paths as written; `${VAR}` too with `--no-interpolate`, and then no `$$`) of the
    services and resources `project` kept. `project` was loaded first, so the files are valid:
    a value that is a variable cannot be checked nor normalized before it is substituted."""
    from compose import config_render
    from compose.loader import load_model

    model = load_model(options)
    for section in ("services", "networks", "volumes", "secrets", "configs", "models"):
        kept = project.raw.get(section) or {}
        if isinstance(model.get(section), dict):
            model[section] = {k: v for k, v in model[section].items() if k in kept}
            if not model[section] and section != "services":
                del model[section]
    model["services"] = _pin(model.get("services") or {}, pins)
    return config_render.render_model(model, fmt, escape=options.interpolate)
