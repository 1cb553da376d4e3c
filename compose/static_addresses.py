"""Static addresses (`ipv4_address` / `ipv6_address`) need a subnet the user chose.

Docker refuses them on a network whose subnet came from the default pools ("user specified
IP address is supported only when connecting to networks with user configured subnets"):
such a subnet may differ from one `up` to the next, so the address would be meaningless.
`docker compose config` accepts the file, so validation does too; `up` and `run` call
:func:`check_static_addresses` before any network or container is made, so a refusal
leaves nothing behind. Addresses outside a configured subnet are validation's business
(:mod:`compose.network_options`).
"""

from __future__ import annotations

from collections.abc import Iterable

from compose.errors import ComposeError
from compose.model import NetworkDef, Project


def _has_subnet(network: NetworkDef, *, ipv6: bool) -> bool:
    if ipv6:
        return network.ipv6_subnet is not None or any(":" in s for s in network.subnets)
    return any(":" not in s for s in network.subnets)


def _is_address(text: str, *, ipv6: bool) -> bool:
    import ipaddress

    try:
        return ipaddress.ip_address(text).version == (6 if ipv6 else 4)
    except ValueError:
        return False


def static_address_problems(project: Project, services: Iterable[str]) -> list[str]:
    """One line per static address on a network without a user-configured subnet."""
    problems = []
    for name in services:
        service = project.services.get(name)
        if service is None:
            continue
        for attachment in service.networks:
            network = project.networks.get(attachment.name)
            if network is None or network.external:
                continue  # unknown: validation's; external: the engine checks at attach
            for key, value, v6 in (
                ("ipv4_address", attachment.ipv4_address, False),
                ("ipv6_address", attachment.ipv6_address, True),
            ):
                where = f"{key} {value} on network {attachment.name} (services.{name}.networks." \
                    f"{attachment.name}.{key})"
                if value and not _is_address(value, ipv6=v6):  # Docker's create says this first
                    problems.append(f"service {name}: {where}: invalid IPv{6 if v6 else 4} "
                                    f"address: {value}")
                elif value and not _has_subnet(network, ipv6=v6):
                    problems.append(
                        f"service {name}: {where}: user specified IP address is supported only "
                        "when connecting to networks with user configured subnets"
                    )
    return problems


def check_static_addresses(project: Project, services: Iterable[str]) -> None:
    """Raise ComposeError naming every offending service, network and key."""
    problems = static_address_problems(project, services)
    if problems:
        raise ComposeError(
            "\n".join(problems),
            hint="add an ipam.config entry with a subnet to the network, or drop the address",
        )
