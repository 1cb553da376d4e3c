"""Value types the driver hands out (re-exported by :mod:`netdriver.api`)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Network:
    """A bridge network as recorded on disk; the bridge itself may need re-creating."""

    id: str
    name: str
    bridge: str
    subnet: str
    gateway: str
    internal: bool
    labels: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Endpoint:
    """One attachment of a network namespace to a network."""

    network: str
    endpoint_id: str
    ifname: str
    host_ifname: str
    ipv4: str
    prefixlen: int
    gateway: str
    mac: str
    names: tuple[str, ...]
    owner_pid: int | None
