"""`publish REPOSITORY[:TAG]`: the project's compose files (and with --with-env its env files)
pushed to a registry as an OCI artifact that `-f oci://…` loads (compose.publish,
compose.oci_artifact)."""

from __future__ import annotations

import dataclasses
import sys

import typer

from compose.cli.context import GlobalOptions, global_options
from compose.errors import ComposeError
from compose.model import Project

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from compose.oci_artifact import Layer, OCIVersion
    from compose.publish import Confirm


def _say(flags: GlobalOptions, line: str) -> None:
    from compose.progress import DRY_RUN_PREFIX

    print((DRY_RUN_PREFIX if flags.dry_run else "") + line, file=sys.stderr)


def _confirmer(assume_yes: bool) -> Confirm:
    """docker compose's prompt: -y answers yes; a terminal is asked; without one the
    question is refused, as `rm` without -f is (a question nobody answers is no yes)."""

    def confirm(text: str) -> bool:
        if assume_yes:
            return True
        if not sys.stdin.isatty():
            raise ComposeError(
                f"{text}\nrefusing to publish without confirmation: no terminal to ask",
                hint="pass -y/--yes to accept",
            )
        return typer.confirm(text, default=False)

    return confirm


def _projects(flags: GlobalOptions) -> tuple[Project, Project]:
    """The project with every profile active (what docker compose publishes), resolved, and
    once more without env resolution (which keeps `env_file` entries visible)."""
    from pathlib import Path

    from compose.cli.session import warned
    from compose.loader import load_project
    from compose.project_cache import load_cached

    options = dataclasses.replace(flags.load_options(), profiles=("*",))
    project = warned(load_cached(options))
    if Path("-") in project.config_files:
        raise ComposeError("cannot publish a stack read from stdin (-f -)",
                           hint="publish reads the stack files again: name them with -f")
    unresolved = load_project(dataclasses.replace(options, resolve_env=False))
    return project, unresolved


def publish(
    ctx: typer.Context,
    repository: str = typer.Argument(..., metavar="REPOSITORY[:TAG]"),
    oci_version: str = typer.Option(
        None, "--oci-version",
        help="OCI image/artifact specification version (automatically determined by default)",
    ),
    resolve_image_digests: bool = typer.Option(
        False, "--resolve-image-digests", help="Pin image tags to digests"
    ),
    with_env: bool = typer.Option(
        False, "--with-env", help="Include environment variables in the published OCI artifact"
    ),
    yes: bool = typer.Option(False, "-y", "--yes", help='Assume "yes" as answer to all prompts'),
) -> None:
    """Publish compose application."""
    from compose.oci_artifact import parse_oci_version
    from compose.publish import (
        env_file_services,
        local_includes,
        pre_checks,
        project_layers,
    )
    from engine.api import EngineError, parse_reference

    flags = global_options(ctx)
    version = parse_oci_version(oci_version)
    try:
        reference = parse_reference(repository)
    except EngineError as exc:
        raise ComposeError(f"invalid repository {repository!r}: {exc}") from None
    project, unresolved = _projects(flags)
    if local_includes(project):
        raise ComposeError("cannot publish compose file with local includes")
    if not pre_checks(project, env_file_services(unresolved), with_env, _confirmer(yes)):
        return
    _push_built_images(flags, project)
    pinned = _pinned(project) if resolve_image_digests else None
    layers = project_layers(project, with_env, pinned)
    _say(flags, f" {repository} Publishing")
    if flags.debug:
        _print_layers(layers)
    if not flags.dry_run:
        _push_artifact(reference.familiar(), repository, layers, version)
    _say(flags, f" {repository} Published")


def _print_layers(layers: list[Layer]) -> None:
    import json

    from compose.publish import describe

    for descriptor in describe(layers):
        print(json.dumps(descriptor, indent=2), file=sys.stderr)


def _push_built_images(flags: GlobalOptions, project: Project) -> None:
    """The images the project builds go to their registries first (docker compose's publish
    pushes them, warning about the ones it cannot push)."""
    from compose.cli.image_cmds import progress_printer
    from compose.publish import services_to_push
    from engine.api import Engine, EngineError

    images = {name: project.services[name].image or "" for name in services_to_push(project)}
    if flags.dry_run:
        for image in images.values():
            _say(flags, f" {image} Pushing")
        return
    if not images:
        return
    engine = Engine()
    for name, image in images.items():
        try:
            engine.push_image(image, None, progress_printer())
        except EngineError as exc:
            print(f"WARN[0000] service {name}: failed to push {image}: {exc}", file=sys.stderr)


def _pinned(project: Project) -> dict[str, str]:
    from compose.image_digests import pinned_images
    from engine.api import Engine

    return pinned_images(Engine(), project)


def _push_artifact(
    reference: str, repository: str, layers: list[Layer], version: OCIVersion | None
) -> None:
    """OCI 1.1 unless asked otherwise; a registry refusing 1.1 (a 4xx other than auth) gets
    the 1.0 shape when no version was asked for, as docker compose falls back."""
    from compose.oci_artifact import OCI_MANIFEST_MEDIA_TYPE, OCIVersion, build_manifest
    from engine.api import ArtifactRepository, EngineError, RegistryRejectedError

    try:
        with ArtifactRepository(reference) as repo:
            manifest = build_manifest(layers, version or OCIVersion.V1_1)
            try:
                repo.push(manifest.blobs, manifest.data, OCI_MANIFEST_MEDIA_TYPE)
            except RegistryRejectedError:
                if version is not None:
                    raise
                older = build_manifest(layers, OCIVersion.V1_0)
                repo.push(older.blobs, older.data, OCI_MANIFEST_MEDIA_TYPE)
    except EngineError as exc:
        raise ComposeError(f"failed to publish {repository}: {exc}", hint=exc.hint) from None


def register(app: typer.Typer) -> None:
    app.command()(publish)
