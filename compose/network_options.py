"""Top-level `networks:` details the schema cannot check: ipam.config addresses, driver_opts.

Pure (ipaddress only). The model builder reads the entries through :func:`ipam_entry`; the
validator reports every problem with the key it sits under (file and line come from the
caller's locations), so a bad subnet or MTU is a one-line error, never a kernel failure
half-way through `up`.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any
DRIVER_OPT_MTU = "com.docker.network.driver.mtu"
DRIVER_OPT_BRIDGE = "com.docker.network.bridge.name"
MIN_MTU, MAX_MTU = 68, 65535
IFNAME_MAX = 15

KeyPath = tuple[str | int, ...]
Report = Callable[[str, KeyPath], None]


def _is_v6(entry: dict[str, Any]) -> bool:
    return ":" in str(entry.get("subnet") or "")


def ipam_entry(spec: dict[str, Any], *, ipv6: bool) -> dict[str, Any]:
    """The first `ipam.config` entry of that family ({} if none); v4 is any non-v6 entry."""
    for entry in (spec.get("ipam") or {}).get("config") or []:
        if isinstance(entry, dict) and _is_v6(entry) == ipv6:
            return entry
    return {}


def network_problems(name: str, spec: dict[str, Any], report: Report) -> None:
    """Report the problems of network ``name`` (its normalized mapping) to ``report``."""
    base: KeyPath = ("networks", name)
    entries = (spec.get("ipam") or {}).get("config") or []
    for index, entry in enumerate(entries):
        if isinstance(entry, dict):
            _entry_problems(name, entry, (*base, "ipam", "config", index), report)
    opts = spec.get("driver_opts") or {}
    if DRIVER_OPT_MTU in opts:
        text = str(opts[DRIVER_OPT_MTU]).strip()
        if not text.isdigit() or not MIN_MTU <= int(text) <= MAX_MTU:
            report(
                f"network {name}: driver_opts {DRIVER_OPT_MTU} must be a number between "
                f"{MIN_MTU} and {MAX_MTU}, not {opts[DRIVER_OPT_MTU]!r}",
                (*base, "driver_opts", DRIVER_OPT_MTU),
            )
    if DRIVER_OPT_BRIDGE in opts:
        bridge = str(opts[DRIVER_OPT_BRIDGE])
        ok = 0 < len(bridge) <= IFNAME_MAX and all(c.isalnum() or c in "_.-" for c in bridge)
        if not ok or bridge in (".", ".."):
            report(
                f"network {name}: driver_opts {DRIVER_OPT_BRIDGE} {bridge!r} is not a valid "
                f"interface name (at most {IFNAME_MAX} letters, digits, '_', '.', '-')",
                (*base, "driver_opts", DRIVER_OPT_BRIDGE),
            )


def _entry_problems(name: str, entry: dict[str, Any], path: KeyPath, report: Report) -> None:
    subnet_text = entry.get("subnet")
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network | None = None
    if subnet_text is not None:
        try:
            subnet = ipaddress.ip_network(str(subnet_text), strict=True)
        except ValueError as exc:
            report(f"network {name}: invalid subnet {subnet_text!r}: {exc}", (*path, "subnet"))
            return
    elif any(entry.get(k) for k in ("ip_range", "gateway", "aux_addresses")):
        report(f"network {name}: ip_range, gateway and aux_addresses need a subnet",
               (*path, "subnet"))
        return
    if subnet is None:
        return
    if entry.get("ip_range"):
        text = str(entry["ip_range"])
        try:
            block = ipaddress.ip_network(text, strict=True)
        except ValueError as exc:
            report(f"network {name}: invalid ip_range {text!r}: {exc}", (*path, "ip_range"))
        else:
            if block.version != subnet.version or not block.subnet_of(subnet):  # type: ignore[arg-type]
                report(f"network {name}: ip_range {text} is not inside subnet {subnet}",
                       (*path, "ip_range"))
    if entry.get("gateway"):
        _address_problem(name, "gateway", str(entry["gateway"]), subnet, (*path, "gateway"),
                         report)
    for host, text in (entry.get("aux_addresses") or {}).items():
        _address_problem(name, f"aux_addresses {host}", str(text), subnet,
                         (*path, "aux_addresses", str(host)), report)


def _address_problem(
    name: str,
    what: str,
    text: str,
    subnet: ipaddress.IPv4Network | ipaddress.IPv6Network,
    path: KeyPath,
    report: Report,
) -> None:
    try:
        address = ipaddress.ip_address(text)
    except ValueError:
        report(f"network {name}: {what} {text!r} is not an IP address", path)
        return
    if address.version != subnet.version or address not in subnet:
        report(f"network {name}: {what} {text} is not inside subnet {subnet}", path)


def service_address_problems(
    service: str,
    network: str,
    attachment: dict[str, Any],
    spec: dict[str, Any],
    report: Report,
) -> None:
    """`ipv4_address` / `ipv6_address` of a service on ``network`` against its subnets.

    An address on a network without a configured subnet is the engine's to refuse when the
    container starts (as `docker compose config` accepts it): only contradictions are here.
    """
    path: KeyPath = ("services", service, "networks", network)
    for key, v6 in (("ipv4_address", False), ("ipv6_address", True)):
        text = attachment.get(key)
        entry = ipam_entry(spec, ipv6=v6)
        if not text or not entry.get("subnet"):
            continue
        try:
            subnet = ipaddress.ip_network(str(entry["subnet"]), strict=True)
        except ValueError:
            continue  # reported with the network
        _address_problem(f"{network} (service {service})", key, str(text), subnet, (*path, key),
                         report)


def differences(definition: Any, existing: Any) -> list[str]:
    """How an existing network (netdriver's record) differs from its stack-file definition
    (compose.model.NetworkDef), in what the file asks for explicitly: `up` refuses to go on
    (as docker compose v1 did: "needs to be recreated") rather than start containers on a
    network that is not what the file says, or, worse, recreate them to fail on it."""
    found: list[str] = []

    def same(asked: str | None, have: str | None, parse: Callable[[str], object]) -> bool:
        try:
            return asked is None or (have is not None and parse(asked) == parse(have))
        except ValueError:
            return False

    def network(text: str) -> object:
        return ipaddress.ip_network(text, strict=False)

    v4 = next((s for s in definition.subnets if ":" not in s), None)
    if not same(v4, existing.subnet, network):
        found.append(f"subnet {existing.subnet} (the file asks {v4})")
    if not same(definition.gateway, existing.gateway, ipaddress.ip_address):
        found.append(f"gateway {existing.gateway} (the file asks {definition.gateway})")
    if not same(definition.ip_range, existing.ip_range, network):
        found.append(f"ip_range {existing.ip_range} (the file asks {definition.ip_range})")
    if bool(definition.internal) != bool(existing.internal):
        found.append(f"internal: {str(existing.internal).lower()} (the file asks "
                     f"{str(definition.internal).lower()})")
    if bool(definition.enable_ipv6) != bool(existing.subnet6):
        found.append(f"enable_ipv6: {str(bool(existing.subnet6)).lower()} (the file asks "
                     f"{str(bool(definition.enable_ipv6)).lower()})")
    if definition.mtu is not None and definition.mtu != existing.mtu:
        found.append(f"mtu {existing.mtu} (the file asks {definition.mtu})")
    return found
