"""Deterministic kernel interface names.

Names are derived from ids by hashing so that teardown after a crash (or a reboot that lost
the state of the kernel but not our files) finds every object again without any lookup
table. Linux limits interface names to IFNAMSIZ - 1 = 15 bytes.
"""

from __future__ import annotations

import re

try:  # CPython's own SHA-256 (same digests): hashlib's maps OpenSSL (3.4 MB resident) into the
    from _sha256 import sha256  # supervisors' fork server, so into every supervisor
except ImportError:  # pragma: no cover - other Pythons (3.12 names it _sha2)
    from hashlib import sha256

IFNAME_MAX = 15
BRIDGE_PREFIX = "pcbr"
VETH_PREFIX = "pcv"

_IFNAME_RE = re.compile(r"^[A-Za-z0-9_.\-]{1,15}$")


def _digest(*parts: str) -> str:
    """Hex sha256 of the parts; a NUL separator keeps ("ab","c") and ("a","bc") apart."""
    return sha256("\0".join(parts).encode()).hexdigest()


def bridge_name(network_id: str) -> str:
    """Bridge ifname for a network id: ``pcbr`` + 11 hex chars (15 chars)."""
    if not network_id:
        raise ValueError("network id must not be empty")
    return BRIDGE_PREFIX + _digest("bridge", network_id)[: IFNAME_MAX - len(BRIDGE_PREFIX)]


def host_veth_name(network_id: str, endpoint_id: str) -> str:
    """Host-side veth ifname for an attachment: ``pcv`` + 12 hex chars (15 chars).

    Both ids enter the hash so one container on two networks gets two distinct names.
    """
    if not network_id or not endpoint_id:
        raise ValueError("network id and endpoint id must not be empty")
    return VETH_PREFIX + _digest("veth", network_id, endpoint_id)[: IFNAME_MAX - len(VETH_PREFIX)]


def is_valid_ifname(name: str) -> bool:
    """True if ``name`` is usable as an interface name inside a container namespace."""
    return bool(_IFNAME_RE.match(name)) and name not in (".", "..")
