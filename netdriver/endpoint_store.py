"""Endpoints on disk: one small file per endpoint and one claim file per address.

Why not inside the network's record: with every attach and detach rewriting (and fsyncing)
one file per network under an exclusive lock, 50 containers starting or stopping at once
queued one after another (~11 ms each). Here the claims themselves are the mutual exclusion:

- ``<id>.e.<host veth>``: the endpoint (JSON). Created empty with ``O_CREAT|O_EXCL`` (which
  claims the endpoint id: one attach per container and network), then replaced atomically by
  its content once the veth exists. Readers skip empty files (an attach in progress).
- ``<id>.a.<ipv4>`` / ``<id>.6.<ipv6>``: an address claim, empty, ``O_CREAT|O_EXCL``: two
  attaches never get one address, with no lock around the choice.

``<id>`` is the start of the network's id, so a network removed and created again under the
same name never sees the old one's files. All files sit flat in the state directory, next to
the network records, so its mtime still changes on every attach and detach (the resolver
reloads on that, see engine.dns_server).

Nothing here is fsynced: an endpoint never outlives a crash of the machine (its owner and
its veth are gone after a reboot), and liveness pruning removes whatever a crash leaves, torn
or empty files included. Removal (detach, prune) runs under the driver's exclusive state
lock, attaches under the shared one (see :mod:`netdriver.api`), so a removal never deletes a
claim that a concurrent attach just made.
"""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from netdriver.model import Endpoint, Network

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

ID_CHARS = 16
_ENDPOINT = "e"
_ADDR4 = "a"
_ADDR6 = "6"
_EXCL_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC


def _prefix(net: Network) -> str:
    return net.id[:ID_CHARS] + "."


def endpoint_prefix(net: Network) -> str:
    """How the names of ``net``'s endpoint files start (for readers scanning the directory)."""
    return f"{_prefix(net)}{_ENDPOINT}."


@dataclass(frozen=True)
class StoredEndpoint:
    """An endpoint with the owner's start time (for liveness); ``None`` endpoint: empty or
    unreadable file (an attach in progress, or the leftover of a crash)."""

    host_ifname: str
    endpoint: Endpoint | None
    owner_start: int | None


@dataclass(frozen=True)
class Listing:
    """One directory listing, split by network id prefix."""

    names: frozenset[str]

    def of(self, net: Network) -> list[str]:
        prefix = _prefix(net)
        return sorted(n for n in self.names if n.startswith(prefix))


def encode(endpoint: Endpoint, owner_start: int | None) -> bytes:
    data: dict[str, Any] = {f: getattr(endpoint, f) for f in _ENDPOINT_FIELDS}
    data["names"] = list(endpoint.names)
    data["owner_start"] = owner_start
    return json.dumps(data, separators=(",", ":")).encode()


_ENDPOINT_FIELDS = tuple(Endpoint.__dataclass_fields__)


def decode(raw: bytes) -> tuple[Endpoint, int | None] | None:
    """The endpoint in ``raw``; None if empty or not readable (skipped by readers)."""
    if not raw:
        return None
    try:
        data = json.loads(raw)
        values = {k: v for k, v in data.items() if k in _ENDPOINT_FIELDS}  # newer builds' extras
        values["names"] = tuple(values.get("names", ()))
        return Endpoint(**values), data.get("owner_start")
    except (ValueError, TypeError, AttributeError):
        return None


class EndpointStore:
    """The endpoint and claim files of every network in ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.dir = Path(directory)

    def listing(self) -> Listing:
        try:
            return Listing(frozenset(os.listdir(self.dir)))
        except FileNotFoundError:
            return Listing(frozenset())

    def _endpoint_name(self, net: Network, host_ifname: str) -> str:
        return f"{_prefix(net)}{_ENDPOINT}.{host_ifname}"

    @staticmethod
    def _addr_name(net: Network, addr: str, v6: bool) -> str:
        return f"{_prefix(net)}{_ADDR6 if v6 else _ADDR4}.{addr}"

    # ---- reading

    @staticmethod
    def taken(net: Network, listing: Listing, *, v6: bool = False) -> set[str]:
        """Addresses claimed on ``net`` (from file names alone: no file is read)."""
        start = f"{_prefix(net)}{_ADDR6 if v6 else _ADDR4}."
        return {n[len(start):] for n in listing.names if n.startswith(start)}

    def read(self, net: Network, host_ifname: str) -> StoredEndpoint | None:
        """The endpoint file for ``host_ifname``; None if there is none."""
        try:
            raw = (self.dir / self._endpoint_name(net, host_ifname)).read_bytes()
        except FileNotFoundError:
            return None
        got = decode(raw)
        return StoredEndpoint(host_ifname, *(got if got else (None, None)))

    def endpoints(self, net: Network, listing: Listing | None = None) -> list[StoredEndpoint]:
        """Every endpoint file of ``net`` (empty ones included, as ``endpoint=None``)."""
        listing = listing or self.listing()
        start = f"{_prefix(net)}{_ENDPOINT}."
        out = []
        for name in listing.of(net):
            if name.startswith(start):
                with contextlib.suppress(FileNotFoundError):
                    got = decode((self.dir / name).read_bytes())
                    out.append(StoredEndpoint(name[len(start):], *(got if got else (None, None))))
        return out

    # ---- claiming (no lock needed: O_EXCL decides)

    def _create_excl(self, name: str) -> bool:
        try:
            fd = os.open(self.dir / name, _EXCL_FLAGS, 0o600)
        except FileExistsError:
            return False
        os.close(fd)
        return True

    def claim_endpoint(self, net: Network, host_ifname: str) -> bool:
        """Claim the endpoint (an empty file); False if one exists already."""
        return self._create_excl(self._endpoint_name(net, host_ifname))

    def claim_address(self, net: Network, addr: str, *, v6: bool = False) -> bool:
        """Claim ``addr`` on ``net``; False if it is taken."""
        return self._create_excl(self._addr_name(net, addr, v6))

    def complete(self, net: Network, endpoint: Endpoint, owner_start: int | None) -> None:
        """Give the claimed endpoint file its content, atomically (temp file + rename)."""
        final = self.dir / self._endpoint_name(net, endpoint.host_ifname)
        tmp = self.dir / f".{final.name}.{os.getpid()}.tmp"
        try:
            tmp.write_bytes(encode(endpoint, owner_start))
            os.replace(tmp, final)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
            raise

    # ---- removing (caller holds the exclusive state lock)

    def _unlink(self, name: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            (self.dir / name).unlink()

    def release_address(self, net: Network, addr: str, *, v6: bool = False) -> None:
        self._unlink(self._addr_name(net, addr, v6))

    def remove(self, net: Network, stored: StoredEndpoint) -> None:
        """Remove the endpoint file, then its address claims."""
        self._unlink(self._endpoint_name(net, stored.host_ifname))
        if stored.endpoint is not None:
            self.release_address(net, stored.endpoint.ipv4)
            if stored.endpoint.ipv6:
                self.release_address(net, stored.endpoint.ipv6, v6=True)

    def remove_orphan_claims(self, net: Network, live: list[Endpoint]) -> None:
        """Address claims no endpoint holds (a crash between claim and endpoint file)."""
        listing = self.listing()
        held4 = {e.ipv4 for e in live}
        held6 = {e.ipv6 for e in live if e.ipv6}
        for addr in self.taken(net, listing) - held4:
            self.release_address(net, addr)
        for addr in self.taken(net, listing, v6=True) - held6:
            self.release_address(net, addr, v6=True)

    def remove_unowned(self, networks: list[Network]) -> list[str]:
        """Files of networks that no longer have a record (a crash, or a record deleted by
        hand), and temp files of interrupted writes; the names removed. Caller holds the
        exclusive lock (no attach in progress)."""
        known = {_prefix(n) for n in networks}
        removed = []
        for name in self.listing().names:
            temp = name.startswith(".") and name.endswith(".tmp")
            stem = name[1:] if temp else name
            kind = stem[ID_CHARS + 1 : ID_CHARS + 3]
            if kind not in (f"{_ENDPOINT}.", f"{_ADDR4}.", f"{_ADDR6}."):
                continue  # a network record, or someone else's file
            if temp or stem[: ID_CHARS + 1] not in known:
                self._unlink(name)
                removed.append(name)
        return removed

    def remove_all(self, net: Network) -> None:
        """Every file of ``net`` (its record is being deleted)."""
        for name in self.listing().of(net):
            self._unlink(name)
