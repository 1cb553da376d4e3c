"""`port`: print the public address a container port is published on (`docker compose port`)."""

from __future__ import annotations

import typer

from compose import labels as L
from compose.cli.session import orchestrator
from compose.errors import ComposeError


def port(
    ctx: typer.Context,
    service: str = typer.Argument(..., help="Service name"),
    private_port: str = typer.Argument(..., help="Container port (e.g. 80 or 80/udp)"),
    protocol: str = typer.Option("tcp", "--protocol", help="tcp or udp"),
    index: int = typer.Option(0, "--index", help="Index of the container if there are several"),
) -> None:
    """Print the public port for a port binding."""
    target_text, _, proto_suffix = private_port.partition("/")
    proto = (proto_suffix or protocol).lower()
    try:
        target = int(target_text)
    except ValueError:
        raise typer.BadParameter(
            f"invalid port {private_port!r}", param_hint="PRIVATE_PORT"
        ) from None
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    orch.check_services((service,))
    infos = sorted(orch.containers((service,)), key=lambda c: int(c.labels.get(L.NUMBER, "0")))
    if index:
        infos = [c for c in infos if c.labels.get(L.NUMBER) == str(index)]
    if not infos:
        raise ComposeError(f"service {service!r} has no container" + (
            f" with index {index}" if index else ""
        ))
    ports = infos[0].state.ports
    for published in ports:
        if published.target == target and published.protocol == proto:
            print(f"{published.host_ip}:{published.host_port}")
            return
    # compose's portNotFoundError, its listing of the published (not target) ports included
    listed = ", ".join(f"{p.host_port}/{p.protocol}" for p in ports)
    raise ComposeError(f"no port {target}/{proto} for container {infos[0].name}: {listed}")


def register(app: typer.Typer) -> None:
    app.command()(port)
