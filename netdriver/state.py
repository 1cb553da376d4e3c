"""On-disk state of the driver: one JSON file per network (written when the network is
created; its ``endpoints`` list stays empty: endpoints have files of their own, see
:mod:`netdriver.endpoint_store`).

Network changes happen under an exclusive ``fcntl.flock`` on one lock file per state
directory (attaches hold it shared), and every write is atomic (temp file + fsync + rename +
dir fsync): a crash leaves the old or the new file, never half of one.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, fields, replace
from pathlib import Path

from netdriver.errors import InvalidNetworkConfigError, NetworkError
from netdriver.locks import flocked, run_dir
from netdriver.model import Endpoint, Network

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

FORMAT_VERSION = 1
_NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,254}$")


def check_network_name(name: str) -> None:
    """Reject names that are not valid network names (they also become file names)."""
    if not _NAME_RE.match(name):
        raise InvalidNetworkConfigError(
            f"invalid network name {name!r}", subject=name,
            hint="use letters, digits, '_', '.', '-', starting with a letter or digit",
        )


@dataclass(frozen=True)
class EndpointRecord:
    """An endpoint plus what liveness checks need but callers do not."""

    endpoint: Endpoint
    owner_start: int | None


@dataclass(frozen=True)
class NetworkRecord:
    """A network and its endpoints, the unit stored in one file."""

    network: Network
    endpoints: tuple[EndpointRecord, ...] = ()

    def find(self, endpoint_id: str) -> EndpointRecord | None:
        """The endpoint record with that id, if any."""
        return next((e for e in self.endpoints if e.endpoint.endpoint_id == endpoint_id), None)

    def with_endpoint(self, rec: EndpointRecord) -> NetworkRecord:
        """A copy with ``rec`` added (replacing one with the same id)."""
        rest = self.without({rec.endpoint.endpoint_id}).endpoints
        return replace(self, endpoints=(*rest, rec))

    def without(self, endpoint_ids: set[str]) -> NetworkRecord:
        """A copy without the given endpoints."""
        kept = tuple(e for e in self.endpoints if e.endpoint.endpoint_id not in endpoint_ids)
        return replace(self, endpoints=kept)


def _to_json(rec: NetworkRecord) -> dict[str, Any]:
    # Field by field rather than asdict (which deep-copies): the values are JSON types already.
    return {
        "version": FORMAT_VERSION,
        "network": _fields_of(rec.network),
        "endpoints": [
            {**_fields_of(e.endpoint), "names": list(e.endpoint.names),
             "owner_start": e.owner_start}
            for e in rec.endpoints
        ],
    }


def _fields_of(value: Network | Endpoint) -> dict[str, Any]:
    return {name: getattr(value, name) for name in _field_names(type(value))}


def _from_json(data: dict[str, Any]) -> NetworkRecord:
    if data.get("version") != FORMAT_VERSION:
        raise NetworkError(f"unsupported network state version {data.get('version')!r}")
    # Unknown keys are skipped: processes of two builds share state files (a long-lived
    # supervisor, another root's record read by the orphan sweep), and a newer build's extra
    # field must not make an older reader fail.
    net_fields = _known(Network, data["network"])
    net = Network(**{**net_fields, "labels": dict(net_fields.get("labels", {}))})
    eps = []
    for raw in data.get("endpoints", []):
        values = _known(Endpoint, raw)
        values["names"] = tuple(values.get("names", ()))
        eps.append(EndpointRecord(Endpoint(**values), raw.get("owner_start")))
    return NetworkRecord(net, tuple(eps))


def _known(cls: type, raw: dict[str, Any]) -> dict[str, Any]:
    names = _field_names(cls)
    return {k: v for k, v in raw.items() if k in names}


_FIELD_NAMES: dict[type, frozenset[str]] = {}


def _field_names(cls: type) -> frozenset[str]:
    """Asked once per record and endpoint read: dataclasses.fields is not cheap."""
    names = _FIELD_NAMES.get(cls)
    if names is None:
        names = _FIELD_NAMES[cls] = frozenset(f.name for f in fields(cls))
    return names


class StateStore:
    """JSON files under ``root/networks``; callers hold :meth:`locked` around read-modify-write.

    The lock is not re-entrant: public driver methods take it once and call helpers that
    assume it is held. Each :meth:`locked` opens its own file description, so threads of one
    process exclude each other as well as separate processes do.
    """

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.dir = self.root / "networks"
        self._lock_path = self.root / "networks.lock"

    def _ensure_dirs(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True, mode=0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive state lock of this directory for the duration of the block."""
        self._ensure_dirs()
        with flocked(self._lock_path):
            yield

    @contextlib.contextmanager
    def shared(self) -> Iterator[None]:
        """Hold the state lock shared: attaches run together, each deciding by O_EXCL claims
        (:mod:`netdriver.endpoint_store`), while removals (exclusive) wait for them."""
        self._ensure_dirs()
        with flocked(self._lock_path, shared=True):
            yield

    def _path(self, name: str) -> Path:
        check_network_name(name)
        return self.dir / f"{name}.json"

    def load(self, name: str) -> NetworkRecord | None:
        """The record of network ``name``, or None if there is none."""
        try:
            text = self._path(name).read_text()
        except FileNotFoundError:
            return None
        return _from_json(json.loads(text))

    def load_all(self) -> list[NetworkRecord]:
        """Every network record, sorted by name."""
        if not self.dir.is_dir():
            return []
        out = []
        for path in sorted(self.dir.glob("*.json")):
            with contextlib.suppress(FileNotFoundError):
                out.append(_from_json(json.loads(path.read_text())))
        return out

    def save(self, rec: NetworkRecord, *, sync_dir: bool = True) -> None:
        """Write the record atomically.

        ``sync_dir=False`` skips the directory fsync that makes the *rename* durable: after a
        power loss the file is then the old or the new version, never torn (the data itself
        is always fsynced before the rename). Endpoint changes use it: endpoints never outlive
        a reboot (their owners are dead and get pruned), so losing the latest version of one
        costs nothing, while the fsync costs about a millisecond per attach.
        """
        self._ensure_dirs()
        path = self._path(rec.network.name)
        # Compact: `indent` would make json use its pure-Python encoder (CPU per attach).
        data = json.dumps(_to_json(rec), sort_keys=True, separators=(",", ":")).encode()
        import tempfile  # here: with random, ~2.5 ms of every command and fork server start

        fd, tmp = tempfile.mkstemp(dir=self.dir, prefix=f".{rec.network.name}.", suffix=".tmp")
        try:
            with os.fdopen(fd, "wb") as f:
                f.write(data)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp)
            raise
        if sync_dir:
            self._fsync_dir()

    def delete(self, name: str) -> None:
        """Remove the record of ``name`` (no error if it is already gone)."""
        with contextlib.suppress(FileNotFoundError):
            self._path(name).unlink()
            self._fsync_dir()

    def _fsync_dir(self) -> None:
        dfd = os.open(self.dir, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dfd)
        finally:
            os.close(dfd)


def host_subnet_lock() -> contextlib.AbstractContextManager[None]:
    """One lock per kernel (not per data root) around subnet choice and bridge creation."""
    return flocked(run_dir() / "subnets.lock")
