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
    # ipam.config extras: dynamic addresses come only from ip_range; aux addresses are held.
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)
    mtu: int | None = None  # driver_opts com.docker.network.driver.mtu; None: kernel default
    attachable: bool = False  # recorded; a bridge network takes any container (Docker's too)
    subnet6: str | None = None  # enable_ipv6: the IPv6 subnet and its gateway on the bridge
    gateway6: str | None = None


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
    ipv6: str | None = None  # on networks with an IPv6 subnet


@dataclass(frozen=True)
class NetworkOptions:
    """What a new network may ask for beyond subnet, gateway and internal (all optional).

    ``bridge_name`` is driver_opts ``com.docker.network.bridge.name``: the kernel name of the
    bridge instead of the derived ``pcbr…`` one.
    """

    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)
    mtu: int | None = None
    bridge_name: str | None = None
    attachable: bool = False
    enable_ipv6: bool = False
    ipv6_subnet: str | None = None
    ipv6_gateway: str | None = None
