"""`run`: a one-off container for a service (labelled oneoff=True, named
`<project>-<service>-run-<hex>`), after starting what it depends on. Attached, it streams the
container's output and returns its exit code; `--rm` removes it afterwards."""

from __future__ import annotations

import dataclasses
import os
import secrets
import signal
import sys
from pathlib import Path
from typing import Any

import typer

from compose.cli.session import close_progress, orchestrator, parallel
from compose.errors import ComposeError


def _env(items: list[str]) -> dict[str, str]:
    """`-e KEY=VALUE`, or `-e KEY` to pass the caller's value along (Docker's rule)."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise ComposeError(f"invalid environment variable {item!r} (in -e)")
        if sep:
            env[key] = value
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def _mounts(items: list[str], project_volumes: dict[str, str], base: Path) -> tuple[Any, ...]:
    from compose.volume_syntax import parse_volume
    from engine.api import MountKind, MountSpec

    mounts = []
    for item in items:
        try:
            parsed = parse_volume(item, base)
        except ValueError as exc:
            raise ComposeError(f"{exc} (in -v)") from None
        kind = MountKind.BIND if parsed["type"] == "bind" else MountKind.VOLUME
        source = parsed.get("source")
        if kind is MountKind.VOLUME and source:
            source = project_volumes.get(source, source)
        mounts.append(
            MountSpec(kind, parsed["target"], source, bool(parsed.get("read_only", False)))
        )
    return tuple(mounts)


def _ports(items: list[str], service: str) -> tuple[Any, ...]:
    """`-p [[IP:]HOST:]CONTAINER[/PROTO]` in the stack file's short syntax."""
    from compose.port_syntax import parse_port
    from engine.ports import PortSpec

    specs = []
    for item in items:
        try:
            parsed = parse_port(item)
        except ValueError as exc:
            raise ComposeError(f"service {service}: invalid -p {item!r}: {exc}") from None
        for mapping in parsed:
            specs.append(
                PortSpec(
                    int(mapping["target"]),
                    str(mapping["published"]) if mapping.get("published") else None,
                    mapping.get("host_ip"),
                    mapping.get("protocol", "tcp"),
                )
            )
    return tuple(specs)


def run(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    command: list[str] = typer.Argument(None, help="Command and arguments"),
    detach: bool = typer.Option(False, "-d", "--detach", help="Run in the background"),
    name: str = typer.Option(None, "--name", help="Assign a name to the container"),
    rm: bool = typer.Option(False, "--rm", help="Remove the container when it exits"),
    env: list[str] = typer.Option(None, "-e", "--env", help="Set environment variables"),
    volume: list[str] = typer.Option(None, "-v", "--volume", help="Bind mount a volume"),
    entrypoint: str = typer.Option(None, "--entrypoint", help="Override the entrypoint"),
    workdir: str = typer.Option(None, "-w", "--workdir", help="Working directory inside"),
    user: str = typer.Option(None, "-u", "--user", help="Run as this user"),
    no_deps: bool = typer.Option(False, "--no-deps", help="Don't start linked services"),
    no_tty: bool = typer.Option(False, "-T", "--no-TTY", help="Accepted: no TTY is allocated"),
    label: list[str] = typer.Option(None, "-l", "--label", help="Add or override a label"),
    publish: list[str] = typer.Option(None, "-p", "--publish", help="Publish a port"),
    service_ports: bool = typer.Option(
        False, "--service-ports", help="Publish the service's ports (dropped by default)"
    ),
) -> None:
    """Run a one-off command on a service."""
    from compose import labels as L
    from compose.container_spec import build_container_spec
    from compose.normalize import shell_split
    from compose.orchestrator import UpOptions
    del no_tty
    orch = orchestrator(ctx)
    orch.check_services((service,))
    if service not in orch.project.services:
        raise ComposeError(f"service {service} is not enabled (check its profiles)")
    definition = orch.project.services[service]
    deps = [n for n in orch.service_names((service,)) if n != service]
    if deps and not no_deps:
        orch.up(UpOptions(services=tuple(deps), parallel=parallel(ctx)))
    image_id = orch._resolve_images([service])[service]
    orch.ensure_resources([service])
    spec = build_container_spec(orch.project, definition, 1, image_id)
    extra_labels = dict(item.partition("=")[::2] for item in label or ())
    volumes = {k: v.name for k, v in orch.project.volumes.items()}
    overrides: dict[str, object] = {
        "name": name or f"{orch.project.name}-{service}-run-{secrets.token_hex(6)}",
        "labels": {**spec.labels, **extra_labels, L.ONEOFF: "True"},
        "env": {**spec.env, **_env(env or [])},
        "mounts": spec.mounts + _mounts(volume or [], volumes, orch.project.working_dir),
    }
    if hasattr(spec, "ports"):  # docker: a one-off publishes only what it is asked to
        kept = tuple(spec.ports) if service_ports else ()
        overrides["ports"] = kept + _ports(publish or [], service)
    elif publish or service_ports:
        raise ComposeError("publishing ports is not supported by this engine yet")
    if command:
        overrides["command"] = tuple(command)
    if entrypoint is not None:
        overrides["entrypoint"] = tuple(shell_split(entrypoint) or ())
        if not command:
            overrides["command"] = None  # docker: --entrypoint resets the image's command too
    if workdir:
        overrides["working_dir"] = workdir
    if user:
        overrides["user"] = user
    spec = dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]
    spec = orch.name_anonymous_volumes(spec)
    for mount in spec.mounts:
        if mount.kind.value == "volume" and mount.source:
            orch.engine.ensure_volume(mount.source, {L.PROJECT: orch.project.name})
    close_progress(orch)
    engine = orch.engine
    info = engine.create_container(spec)
    try:
        engine.start_container(info.id)
    except BaseException:
        if rm:
            engine.remove_container(info.id, force=True)
        raise
    if detach:
        print(info.name)
        return
    code = _follow(orch, info.id, rm)
    raise typer.Exit(code)


def _follow(orch: object, container_id: str, remove: bool) -> int:
    """Stream the one-off's output until it exits; Ctrl-C / SIGTERM stop it."""
    from compose.orchestrator import Orchestrator

    assert isinstance(orch, Orchestrator)
    engine = orch.engine
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    try:
        for line in engine.logs(container_id, follow=True):
            stream = sys.stderr if line.stream == "stderr" else sys.stdout
            stream.write(line.text if line.text.endswith("\n") else line.text + "\n")
            stream.flush()
        code = engine.wait_container(container_id) or 0
    except KeyboardInterrupt:
        engine.stop_container(container_id, 0)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if remove:
            info = engine.inspect(container_id)
            engine.remove_container(container_id, force=True)
            orch.remove_anonymous_volumes(info)
    return code


def register(app: typer.Typer) -> None:
    # everything after SERVICE is the command, options included (`run web sh -c 'echo hi'`)
    app.command(context_settings={"allow_interspersed_args": False})(run)
