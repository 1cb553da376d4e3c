"""An engine for docker compose's `--dry-run`: it reads the real containers, networks, volumes
and images, and answers every change as if it had been made, without making it.

docker compose does the same one level down (its DryRunClient answers the Docker API's writes
with made-up results). Here the change calls the orchestrator makes are answered from an overlay:
containers "created" get a made-up id and record, starts and stops change only the overlay's
status, removals hide a container, network or volume from later reads. Only the calls listed
here exist; any other attribute is an AttributeError, so a change added to the orchestrator
later cannot slip through to the kernel unnoticed (it fails the dry run instead).
"""

from __future__ import annotations

import dataclasses
import secrets
import threading
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

from engine.containers import (
    ContainerRecord,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    now_rfc3339,
)
from engine.errors import ContainerNotFoundError
from engine.volumes import Volume
from netdriver.model import Network, NetworkOptions

TYPE_CHECKING = False
if TYPE_CHECKING:
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from engine.api import ContainerInfo, Engine
    from engine.images import Image
    from engine.logs import LogLine

def _made_up_id() -> str:
    return secrets.token_hex(32)


@dataclass
class _Overlay:
    """What the dry run pretends to have done, on top of the real state."""

    created: dict[str, ContainerInfo] = dataclasses.field(default_factory=dict)
    statuses: dict[str, ContainerStatus] = dataclasses.field(default_factory=dict)
    removed: set[str] = dataclasses.field(default_factory=set)
    networks: dict[str, Network] = dataclasses.field(default_factory=dict)
    removed_networks: set[str] = dataclasses.field(default_factory=set)
    volumes: dict[str, Volume] = dataclasses.field(default_factory=dict)
    removed_volumes: set[str] = dataclasses.field(default_factory=set)
    removed_images: set[str] = dataclasses.field(default_factory=set)


class DryRunEngine:
    """The calls `up`, `create`, `start`, `stop`, `restart`, `kill`, `rm` and `down` make, on
    the real engine's state, changing nothing (see the module docstring)."""

    dry_run = True

    def __init__(self, real: Engine) -> None:
        self._real = real
        self._overlay = _Overlay()
        self._lock = threading.Lock()
        self.images = _Images(self)
        self.volumes = _Volumes(self)
        self.networks = _Networks(self)

    # ---- containers: reads ------------------------------------------------------------------
    def _seen(self, info: ContainerInfo) -> ContainerInfo | None:
        """`info` as the dry run has left it: None once removed, its status once changed."""
        if info.id in self._overlay.removed:
            return None
        status = self._overlay.statuses.get(info.id)
        if status is None or status is info.status:
            return info
        exit_code = None if status in (ContainerStatus.RUNNING, ContainerStatus.CREATED) else 0
        state = dataclasses.replace(info.state, status=status, exit_code=exit_code)
        return dataclasses.replace(info, state=state)

    def list_containers(self, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        wanted = labels or {}
        found = self._real.list_containers(labels)
        made = [
            info for info in self._overlay.created.values()
            if all(info.labels.get(k) == v for k, v in wanted.items())
        ]
        return [seen for info in [*found, *made] if (seen := self._seen(info)) is not None]

    def find_container(self, name_or_id: str) -> ContainerInfo | None:
        for info in self._overlay.created.values():
            if name_or_id in (info.id, info.name):
                return self._seen(info)
        found = self._real.find_container(name_or_id)
        return None if found is None else self._seen(found)

    def inspect(self, name_or_id: str) -> ContainerInfo:
        found = self.find_container(name_or_id)
        if found is None:
            raise ContainerNotFoundError(f"No such container: {name_or_id}", subject=name_or_id)
        return found

    def wait_container(self, name_or_id: str, timeout: float | None = None) -> int | None:
        found = self.inspect(name_or_id)
        return found.state.exit_code if not found.status.active else None

    def logs(self, name_or_id: str, **options: Any) -> Iterator[LogLine]:
        if name_or_id in self._overlay.created:
            return iter(())  # a made-up container said nothing
        return self._real.logs(name_or_id, **options)

    # ---- containers: changes, answered from the overlay -----------------------------------
    def create_container(self, spec: ContainerSpec, replacing: str | None = None) -> ContainerInfo:
        from engine.api import ContainerInfo

        with self._lock:
            if any(
                c.name == spec.name and c.id != replacing for c in self.list_containers()
            ):
                from engine.errors import AlreadyExistsError

                raise AlreadyExistsError(
                    f'container name "{spec.name}" is already in use', subject=spec.name
                )
            record = ContainerRecord(
                id=_made_up_id(), name=spec.name, created=now_rfc3339(), image_id=spec.image,
                spec=spec,
            )
            info = ContainerInfo(record, ContainerState(), Path("/dev/null"))
            self._overlay.created[record.id] = info
            return info

    def _set_status(self, name_or_id: str, status: ContainerStatus) -> ContainerInfo:
        info = self.inspect(name_or_id)
        with self._lock:
            self._overlay.statuses[info.id] = status
        return self.inspect(info.id)

    def start_container(self, name_or_id: str) -> ContainerInfo:
        return self._set_status(name_or_id, ContainerStatus.RUNNING)

    def restart_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        return self._set_status(name_or_id, ContainerStatus.RUNNING)

    def stop_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        return self._set_status(name_or_id, ContainerStatus.EXITED)

    def stop_containers(
        self, containers: Sequence[str | ContainerInfo], timeout: float | None = None, *,
        count_stops: bool = True, remove: bool = False,
    ) -> list[ContainerInfo]:
        stopped = []
        for container in containers:
            name_or_id = container if isinstance(container, str) else container.id
            stopped.append(self.stop_container(name_or_id, timeout))
            if remove:
                self.remove_container(name_or_id, force=True)
        return stopped

    def kill_container(self, name_or_id: str, sig: str = "SIGKILL") -> None:
        self._set_status(name_or_id, ContainerStatus.EXITED)

    def record_attach(self, name_or_id: str) -> None:
        """Nothing attaches in a dry run."""

    def remove_container(
        self, name_or_id: str, force: bool = False, *, count_stop: bool = False,
        removed_by_supervisor: bool = False,
    ) -> None:
        info = self.find_container(name_or_id)
        if info is None:
            return  # already gone (a `stop_containers(remove=True)` before): as the engine
        from engine.errors import InvalidStateError

        if info.status.active and not force:
            raise InvalidStateError(
                f"cannot remove container {info.name}: it is running (stop it first)",
                subject=info.name,
            )
        with self._lock:
            self._overlay.removed.add(info.id)

    def extract_into(
        self, name_or_id: str, dest: str, feed: Callable[[BinaryIO], None], *,
        rename: str | None = None, keep_owner: bool = False,
    ) -> None:
        self.inspect(name_or_id)  # secrets and configs would be copied into it: nothing to do

    # ---- networks and volumes ---------------------------------------------------------------
    def ensure_network(
        self, name: str, labels: dict[str, str] | None = None, internal: bool = False,
        subnet: str | None = None, gateway: str | None = None,
        options: NetworkOptions | None = None,
    ) -> Network:
        found = self.networks.find_network(name)
        if found is not None:
            return found
        network = Network(
            id=_made_up_id(), name=name, bridge="", subnet=subnet or "", gateway=gateway or "",
            internal=internal, labels=dict(labels or {}),
        )
        with self._lock:
            self._overlay.networks[name] = network
            self._overlay.removed_networks.discard(name)
        return network

    def remove_network(self, name: str) -> None:
        with self._lock:
            self._overlay.networks.pop(name, None)
            self._overlay.removed_networks.add(name)

    def ensure_volume(
        self, name: str, labels: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
    ) -> Volume:
        found = self.volumes.find(name)
        if found is not None:
            return found
        volume = Volume(
            name=name, driver="local", mountpoint=Path("/dev/null"), created=now_rfc3339(),
            labels=dict(labels or {}), options=dict(options or {}),
        )
        with self._lock:
            self._overlay.volumes[name] = volume
            self._overlay.removed_volumes.discard(name)
        return volume

    def remove_anonymous_volumes(self, info: ContainerInfo) -> list[str]:
        """The volumes `rm -v` / `run --rm` would drop, dropped from the dry run's view only
        (engine.anonymous_volumes decides which: the real volumes, the containers of the dry
        run's view)."""
        from engine.anonymous_volumes import removable_anonymous_volumes

        others = (c.record for c in self.list_containers() if c.id != info.id)
        names = [] if info.id in self._overlay.created else removable_anonymous_volumes(
            info.record, self._real.volumes, others)
        for name in names:
            self.remove_volume(name)
        return names

    def remove_volume(self, name: str) -> None:
        with self._lock:
            self._overlay.volumes.pop(name, None)
            self._overlay.removed_volumes.add(name)

    # ---- images -----------------------------------------------------------------------------
    def remove_image(self, reference: str, force: bool = False) -> None:
        """Docker's in-use refusal as for real, then the image is only hidden."""
        from engine.image_removal import check_removal

        image = self.images.get(reference)
        users = [c for c in self.list_containers() if c.record.image_id == image.id]
        check_removal(image, reference, users, force)
        self._overlay.removed_images.add(reference)

    def build_image(
        self, options: Any, report: Callable[[str], None] | None = None
    ) -> Any:
        return SimpleNamespace(image=SimpleNamespace(id=f"sha256:{_made_up_id()}"))

    def pull_image(
        self, reference: str, platform: str | None = None, report: Any = None
    ) -> Any:
        return SimpleNamespace(id=f"sha256:{_made_up_id()}")

    # ---- what the real engine would start or sweep: nothing here ----------------------------
    def prepare_to_start(self) -> None:
        """(The real one starts the supervisors' fork server.)"""

    def ensure_name_resolution(self) -> None:
        """(The real one starts the bridges' DNS resolvers.)"""

    def sweep_network_orphans(self) -> list[str]:
        return []

    def sweep_cgroup_orphans(self) -> list[str]:
        return []


class _Images:
    """The image store's reads; `remove` only hides the image from this dry run."""

    def __init__(self, engine: DryRunEngine) -> None:
        self._engine = engine

    def _real(self) -> Any:
        return self._engine._real.images

    def find(self, reference_or_id: str) -> Image | None:
        if reference_or_id in self._engine._overlay.removed_images:
            return None
        found: Image | None = self._real().find(reference_or_id)
        return found

    def get(self, reference_or_id: str) -> Image:
        image: Image = self._real().get(reference_or_id)
        return image

    def list(self) -> Any:
        return self._real().list()

    def repo_digests(self, image: Image) -> tuple[str, ...]:
        digests: tuple[str, ...] = self._real().repo_digests(image)
        return digests

    def remove(self, reference: str) -> None:
        self._real().get(reference)  # a missing image is the same error as for real
        self._engine._overlay.removed_images.add(reference)


class _Volumes:
    def __init__(self, engine: DryRunEngine) -> None:
        self._engine = engine

    def find(self, name: str) -> Volume | None:
        overlay = self._engine._overlay
        if name in overlay.removed_volumes:
            return None
        return overlay.volumes.get(name) or self._engine._real.volumes.find(name)

    def list(self) -> list[Volume]:
        overlay = self._engine._overlay
        real = [v for v in self._engine._real.volumes.list() if v.name not in overlay.volumes]
        gone = overlay.removed_volumes
        return [v for v in [*real, *overlay.volumes.values()] if v.name not in gone]


class _Networks:
    def __init__(self, engine: DryRunEngine) -> None:
        self._engine = engine

    def find_network(self, name: str) -> Network | None:
        overlay = self._engine._overlay
        if name in overlay.removed_networks:
            return None
        return overlay.networks.get(name) or self._engine._real.networks.find_network(name)

    def list_networks(self) -> list[Network]:
        overlay = self._engine._overlay
        real = [
            n for n in self._engine._real.networks.list_networks()
            if n.name not in overlay.networks
        ]
        return [
            n for n in [*real, *overlay.networks.values()] if n.name not in overlay.removed_networks
        ]
