"""`port`: print the public address a container port is published on (`docker compose port`)."""

from __future__ import annotations

import typer

from compose.cli.ps_listing import container_ports
from compose.cli.service_container import running_container
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
    info = running_container(orch, service, index)
    ports = container_ports(info, orch.engine.exposed_ports_of(info))
    for host_ip, host_port, port_target, port_protocol in ports:
        if port_target == target and port_protocol == proto:
            # an exposed port with no binding prints ":0", as docker compose prints it
            print(f"{host_ip}:{host_port}")
            return
    # compose's portNotFoundError, listing the container's ports by their published number
    # (0 for one only exposed)
    listed = ", ".join(f"{host_port}/{protocol}" for _, host_port, _, protocol in ports)
    raise ComposeError(f"no port {target}/{proto} for container {info.name}: {listed}")


def register(app: typer.Typer) -> None:
    app.command()(port)
