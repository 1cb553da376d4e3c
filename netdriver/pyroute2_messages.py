"""pyroute2's rtnetlink message classes (the protocol's encoding and decoding) without
pyroute2's package ``__init__``.

Why the bare package: ``import pyroute2`` runs its ``__init__``, which loads ~240 modules
(IPRoute, NDB, the event loop machinery, every protocol family) in 70-120 ms, and every `up`,
`down` and container attach would pay that for a dozen requests. The message classes live in
``pyroute2.netlink`` and import in ~10 ms on their own. So, unless something in this process
already imported the real package (then it is used as is), ``pyroute2`` is registered as an
empty package module carrying the real ``__path__``: Python then finds the submodules in the
installed package without ever executing its ``__init__``.

Why the attribute patch: pyroute2 0.9.7's link message stops at IFLA_ALLMULTI (61), so it
cannot encode IFLA_GSO_IPV4_MAX_SIZE / IFLA_GRO_IPV4_MAX_SIZE (63/64, Linux 6.3+), which
container links carry for IPv4 BIG TCP (see :mod:`netdriver.offload`). They are appended to
the link messages' attribute table under the kernel's names and numbers; a pyroute2 that
already knows them is left alone, and one whose table has an unexpected shape fails loudly
here rather than sending wrong attribute numbers.
"""

from __future__ import annotations

import importlib.util
import sys
import types


def _bare_package() -> None:
    """Register ``pyroute2`` as a package without running its ``__init__`` (see above)."""
    if "pyroute2" in sys.modules:
        return
    spec = importlib.util.find_spec("pyroute2")
    if spec is None or spec.submodule_search_locations is None:
        raise ImportError("pyroute2 is not installed", name="pyroute2")
    package = types.ModuleType("pyroute2")
    package.__path__ = list(spec.submodule_search_locations)
    package.__spec__ = spec
    package.__file__ = spec.origin
    sys.modules["pyroute2"] = package


_bare_package()

# ruff: noqa: E402 - the bare package above must be registered before these imports
from pyroute2.netlink import (
    NLM_F_ACK,
    NLM_F_CREATE,
    NLM_F_DUMP,
    NLM_F_EXCL,
    NLM_F_MULTI,
    NLM_F_REQUEST,
    NLMSG_DONE,
    NLMSG_ERROR,
    nlmsg,
    nlmsgerr,
)
from pyroute2.netlink.rtnl import (
    RTM_DELLINK,
    RTM_GETADDR,
    RTM_GETROUTE,
    RTM_NEWADDR,
    RTM_NEWLINK,
    RTM_NEWROUTE,
)
from pyroute2.netlink.rtnl.ifaddrmsg import ifaddrmsg
from pyroute2.netlink.rtnl.rtmsg import rtmsg

TYPE_CHECKING = False
if TYPE_CHECKING:
    from typing import Any

    from pyroute2.netlink.rtnl.ifinfmsg import ifinfmsg

# (kernel number, name, pyroute2 type) of the link attributes pyroute2 0.9.7 lacks
_LINK_ATTRS_ADDED = (
    (62, "IFLA_DEVLINK_PORT", "hex"),
    (63, "IFLA_GSO_IPV4_MAX_SIZE", "uint32"),
    (64, "IFLA_GRO_IPV4_MAX_SIZE", "uint32"),
)


def _teach_big_tcp_attrs(ifinfbase: Any) -> None:
    """Append the BIG TCP IPv4 link attributes to pyroute2's link attribute table."""
    names = [entry[0] for entry in ifinfbase.nla_map]
    for number, name, _kind in _LINK_ATTRS_ADDED:
        if name in names and names.index(name) != number:
            raise ImportError(f"pyroute2 numbers {name} {names.index(name)}, not {number}")
    if all(name in names for _n, name, _k in _LINK_ATTRS_ADDED):
        return
    if len(names) != _LINK_ATTRS_ADDED[0][0]:
        raise ImportError(
            f"pyroute2's link attribute table has {len(names)} entries, expected "
            f"{_LINK_ATTRS_ADDED[0][0]}: cannot add IFLA_GSO_IPV4_MAX_SIZE safely"
        )
    ifinfbase.nla_map = tuple(ifinfbase.nla_map) + tuple(
        (name, kind) for _number, name, kind in _LINK_ATTRS_ADDED
    )


def __getattr__(name: str) -> object:
    """The link message class, loaded on first use: only tests decode link messages (requests
    are packed by netdriver.rtnl), and with its ~20 plugin modules and pyroute2.config
    (multiprocessing, pickle) it was ~60% of this module's import, ~23 ms of every `up` that
    makes a network (the address and route dumps need only the two classes above)."""
    if name != "ifinfmsg":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from pyroute2.netlink.rtnl.ifinfmsg import ifinfbase, ifinfmsg

    _teach_big_tcp_attrs(ifinfbase)
    globals()["ifinfmsg"] = ifinfmsg
    return ifinfmsg

__all__ = [
    "NLMSG_DONE",
    "NLMSG_ERROR",
    "NLM_F_ACK",
    "NLM_F_CREATE",
    "NLM_F_DUMP",
    "NLM_F_EXCL",
    "NLM_F_MULTI",
    "NLM_F_REQUEST",
    "RTM_DELLINK",
    "RTM_GETADDR",
    "RTM_GETROUTE",
    "RTM_NEWADDR",
    "RTM_NEWLINK",
    "RTM_NEWROUTE",
    "ifaddrmsg",
    "ifinfmsg",
    "nlmsg",
    "nlmsgerr",
    "rtmsg",
]
