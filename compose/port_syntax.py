"""Service `ports` entries, short and long syntax, to docker compose's long form.

Short syntax is `[[host_ip:]published:]target[/protocol]` where published and target may be
ranges; equal-length ranges pair up one entry per port, as docker compose expands them.
"""

from __future__ import annotations

import ipaddress
import re

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any
# Compiled on first use (re caches it): at import it cost every command ~0.4 ms.
_SHORT = (
    r"^(?:(?:(?P<ip>\[[^\]]+\]|[^:\[\]]*):)?(?P<published>[^:]*):)?(?P<target>[^:/]+)"
    r"(?:/(?P<protocol>[a-z]+))?$"
)


def _range(text: str) -> tuple[int, int]:
    if "-" in text:
        low, high = text.split("-", 1)
        start, end = int(low), int(high)
    else:
        start = end = int(text)
    if not (0 <= start <= end <= 65535):
        raise ValueError(f"invalid port range: {text}")
    return start, end


def _invalid(text: str, why: str = "") -> ValueError:
    return ValueError(f'"{text}" is not a valid port mapping{": " + why if why else ""}')


def _check_ip(ip: str | None, text: str) -> None:
    if ip is None:
        return
    try:
        ipaddress.ip_address(ip)
    except ValueError:
        raise _invalid(text, f"{ip!r} is not an IP address") from None


_PROTOCOLS = ("tcp", "udp", "sctp")


def parse_port(entry: Any) -> list[dict[str, Any]]:
    """One `ports` item to one or more long-syntax mappings; ValueError when malformed (a port
    out of 1-65535 or an unknown protocol included: Docker refuses them at create)."""
    items = _parse(entry)
    for item in items:
        if not 0 < item["target"] <= 65535:
            raise ValueError(f"invalid container port {item['target']}: must be 1-65535")
        if item["protocol"] not in _PROTOCOLS:
            raise ValueError(f"invalid protocol {item['protocol']!r}: tcp, udp or sctp")
    return items


def _parse(entry: Any) -> list[dict[str, Any]]:
    if isinstance(entry, bool):
        raise ValueError(f"invalid port: {entry!r}")
    if isinstance(entry, int | float):
        return [{"mode": "ingress", "target": int(entry), "protocol": "tcp"}]
    if isinstance(entry, dict):
        return [_long(entry)]
    text = str(entry).strip()
    match = re.match(_SHORT, text)
    if not match:
        raise _invalid(text)
    try:
        t_start, t_end = _range(match.group("target"))
        published = match.group("published") or ""
        p_range = _range(published) if published else None
    except ValueError:
        raise _invalid(text) from None
    ip = (match.group("ip") or "").strip("[]") or None
    _check_ip(ip, text)
    protocol = match.group("protocol") or "tcp"
    count = t_end - t_start + 1
    out: list[dict[str, Any]] = []
    for i in range(count):
        item: dict[str, Any] = {"mode": "ingress"}
        if ip:
            item["host_ip"] = ip
        item["target"] = t_start + i
        if p_range is not None:
            p_start, p_end = p_range
            if count == 1:
                item["published"] = str(p_start) if p_start == p_end else f"{p_start}-{p_end}"
            elif p_end - p_start + 1 == count:
                item["published"] = str(p_start + i)
            else:
                raise _invalid(text, "ranges of different sizes")
        item["protocol"] = protocol
        out.append(item)
    return out


def _long(entry: dict[str, Any]) -> dict[str, Any]:
    item: dict[str, Any] = {}
    if entry.get("name") is not None:
        item["name"] = str(entry["name"])
    item["mode"] = str(entry.get("mode") or "ingress")
    if entry.get("host_ip"):
        item["host_ip"] = str(entry["host_ip"])
    if entry.get("target") is None:
        raise ValueError("port is missing a target")
    item["target"] = int(entry["target"])
    if entry.get("published") not in (None, ""):
        item["published"] = str(entry["published"])
    item["protocol"] = str(entry.get("protocol") or "tcp")
    if entry.get("app_protocol"):
        item["app_protocol"] = str(entry["app_protocol"])
    return item
