"""Turn a loaded project into running containers and back: up, down, ps, logs.

Uses the engine only through `engine.api`. Services start level by level along the dependency
graph, each level in parallel; a failure undoes what this call created (never volume data).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from compose import labels as L
from compose.container_spec import build_container_spec, config_hash
from compose.errors import ComposeError, ServiceFailedError, ServiceNotFoundError
from compose.events import Event, Phase, Reporter, ResourceKind, ignore
from compose.graph import dependency_graph, start_levels, stop_levels
from compose.model import Project, Service
from engine.api import ContainerInfo, ContainerStatus, Engine
from engine.errors import EngineError
from netdriver.errors import NetworkError

DEFAULT_PARALLEL = 8


@dataclass(frozen=True)
class UpOptions:
    services: tuple[str, ...] = ()
    force_recreate: bool = False
    no_recreate: bool = False
    no_start: bool = False
    remove_orphans: bool = False
    timeout: float | None = None


@dataclass(frozen=True)
class DownOptions:
    volumes: bool = False
    remove_orphans: bool = False
    timeout: float | None = None


@dataclass
class _Created:
    """What one `up` made, so a failure half-way can take exactly that back."""

    containers: list[str] = field(default_factory=list)
    networks: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _number(info: ContainerInfo) -> int:
    try:
        return int(info.labels.get(L.NUMBER, "0"))
    except ValueError:
        return 0


class Orchestrator:
    def __init__(self, engine: Engine, project: Project, report: Reporter = ignore) -> None:
        self.engine = engine
        self.project = project
        self.report = report

    # ---- queries ------------------------------------------------------------------------
    def containers(
        self, services: tuple[str, ...] = (), include_oneoff: bool = False
    ) -> list[ContainerInfo]:
        found = self.engine.list_containers({L.PROJECT: self.project.name})
        if not include_oneoff:
            found = [c for c in found if c.labels.get(L.ONEOFF, "False") != "True"]
        if services:
            found = [c for c in found if c.labels.get(L.SERVICE) in services]
        return sorted(found, key=lambda c: (c.labels.get(L.SERVICE, ""), _number(c)))

    def check_services(self, services: tuple[str, ...]) -> None:
        known = set(self.project.all_service_names) | set(self.project.services)
        for name in services:
            if name not in known:
                raise ServiceNotFoundError(f"no such service: {name}")

    def orphans(self) -> list[ContainerInfo]:
        known = set(self.project.all_service_names) | set(self.project.services)
        return [c for c in self.containers() if c.labels.get(L.SERVICE) not in known]

    # ---- up -----------------------------------------------------------------------------
    def up(self, options: UpOptions = UpOptions()) -> list[ContainerInfo]:
        self.check_services(options.services)
        graph = dependency_graph(self.project)
        levels = start_levels(graph, list(options.services) or None)
        wanted = [name for level in levels for name in level]
        images = self._resolve_images(wanted)
        self._handle_orphans(options)
        created = _Created()
        try:
            self._ensure_networks(wanted, created)
            self._ensure_volumes(wanted)
            with ThreadPoolExecutor(max_workers=DEFAULT_PARALLEL) as pool:
                for level in levels:
                    futures = [
                        pool.submit(
                            self._converge_service,
                            self.project.services[name],
                            images[name],
                            options,
                            created,
                        )
                        for name in level
                    ]
                    errors = [f.exception() for f in futures if f.exception() is not None]
                    if errors:
                        raise errors[0]  # type: ignore[misc]
        except (ComposeError, EngineError, NetworkError) as exc:
            self._undo(created)
            if isinstance(exc, ComposeError):
                raise
            raise ServiceFailedError(str(exc), hint=exc.hint) from exc
        return self.containers(options.services)

    def _resolve_images(self, services: list[str]) -> dict[str, str]:
        """Check every image before creating anything: a missing one fails fast and clean."""
        images: dict[str, str] = {}
        problems = []
        for name in services:
            service = self.project.services[name]
            if not service.image:
                problems.append(f"service {name} has neither an image nor a build context")
                continue
            try:
                images[name] = self.engine.get_image(service.image).id
            except EngineError as exc:
                problems.append(f"service {name}: {exc}")
        if problems:
            raise ComposeError(
                "\n".join(problems), hint="import an image with `pycompose image import`"
            )
        return images

    def _handle_orphans(self, options: UpOptions) -> None:
        orphans = self.orphans()
        if not orphans:
            return
        if options.remove_orphans:
            for info in orphans:
                self._remove_container(info, options.timeout)
        else:
            names = ", ".join(c.name for c in orphans)
            self.report(
                Event(
                    ResourceKind.CONTAINER,
                    names,
                    Phase.WARNING,
                    f"Found orphan containers ([{names}]) for this project. If you removed or "
                    "renamed this service in your compose file, you can run this command with the "
                    "--remove-orphans flag to clean it up.",
                )
            )

    def _used_networks(self, services: list[str]) -> list[str]:
        keys: list[str] = []
        for name in services:
            service = self.project.services[name]
            if service.network_mode:
                continue
            for attachment in service.networks:
                if attachment.name not in keys:
                    keys.append(attachment.name)
        return keys

    def _ensure_networks(self, services: list[str], created: _Created) -> None:
        for key in self._used_networks(services):
            definition = self.project.networks[key]
            existing = self.engine.networks.find_network(definition.name)
            if definition.external:
                if existing is None:
                    raise ComposeError(
                        f"network {definition.name} declared as external, but could not be found"
                    )
                continue
            if existing is not None:
                continue
            self.report(Event(ResourceKind.NETWORK, definition.name, Phase.CREATING))
            self.engine.ensure_network(
                definition.name,
                labels={**definition.labels, L.PROJECT: self.project.name, L.NETWORK: key},
                internal=definition.internal,
                subnet=definition.subnets[0] if definition.subnets else None,
            )
            created.networks.append(definition.name)
            self.report(Event(ResourceKind.NETWORK, definition.name, Phase.CREATED))

    def _ensure_volumes(self, services: list[str]) -> None:
        keys = {
            v.source
            for name in services
            for v in self.project.services[name].volumes
            if v.source and v.type.value == "volume"
        }
        for key in sorted(keys):
            definition = self.project.volumes[key]
            if definition.external:
                if self.engine.volumes.find(definition.name) is None:
                    raise ComposeError(f'external volume "{definition.name}" not found')
                continue
            if self.engine.volumes.find(definition.name) is None:
                self.report(Event(ResourceKind.VOLUME, definition.name, Phase.CREATING))
                self.engine.ensure_volume(
                    definition.name,
                    {**definition.labels, L.PROJECT: self.project.name, L.VOLUME: key},
                )
                self.report(Event(ResourceKind.VOLUME, definition.name, Phase.CREATED))

    def _converge_service(
        self, service: Service, image_id: str, options: UpOptions, created: _Created
    ) -> None:
        existing = {_number(c): c for c in self.containers((service.name,))}
        desired_hash = config_hash(service, image_id)
        for number in range(1, service.scale + 1):
            info = existing.pop(number, None)
            if info is not None and (
                options.force_recreate
                or (not options.no_recreate and info.labels.get(L.CONFIG_HASH) != desired_hash)
            ):
                self.report(Event(ResourceKind.CONTAINER, info.name, Phase.RECREATE))
                self._remove_container(info, options.timeout, quiet=True)
                info = None
            if info is None:
                info = self._create(service, number, image_id, created)
            if not options.no_start:
                self._start(info)
        for extra in existing.values():  # scaled down: highest numbers go
            self._remove_container(extra, options.timeout)

    def _create(
        self, service: Service, number: int, image_id: str, created: _Created
    ) -> ContainerInfo:
        spec = build_container_spec(self.project, service, number, image_id)
        self.report(Event(ResourceKind.CONTAINER, spec.name, Phase.CREATING))
        info = self.engine.create_container(spec)
        with created.lock:
            created.containers.append(info.id)
        self.report(Event(ResourceKind.CONTAINER, spec.name, Phase.CREATED))
        return info

    def _start(self, info: ContainerInfo) -> None:
        if info.status is ContainerStatus.RUNNING:
            self.report(Event(ResourceKind.CONTAINER, info.name, Phase.RUNNING))
            return
        self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STARTING))
        try:
            self.engine.start_container(info.id)
        except EngineError as exc:
            self.report(Event(ResourceKind.CONTAINER, info.name, Phase.ERROR, str(exc)))
            raise
        self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STARTED))

    def _undo(self, created: _Created) -> None:
        for container_id in reversed(created.containers):
            with contextlib.suppress(EngineError):
                self.engine.remove_container(container_id, force=True)
        for network in created.networks:
            with contextlib.suppress(EngineError, NetworkError):
                self.engine.remove_network(network)

    # ---- stop / down --------------------------------------------------------------------
    def _remove_container(
        self, info: ContainerInfo, timeout: float | None, quiet: bool = False
    ) -> None:
        if info.status is ContainerStatus.RUNNING:
            if not quiet:
                self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STOPPING))
            self.engine.stop_container(info.id, timeout)
            if not quiet:
                self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STOPPED))
        if not quiet:
            self.report(Event(ResourceKind.CONTAINER, info.name, Phase.REMOVING))
        self.engine.remove_container(info.id, force=True)
        if not quiet:
            self.report(Event(ResourceKind.CONTAINER, info.name, Phase.REMOVED))

    def _by_stop_levels(self, infos: list[ContainerInfo]) -> list[list[ContainerInfo]]:
        try:
            levels = stop_levels(dependency_graph(self.project))
        except ComposeError:
            levels = []
        placed: set[str] = set()
        grouped: list[list[ContainerInfo]] = []
        for level in levels:
            group = [c for c in infos if c.labels.get(L.SERVICE) in level]
            placed.update(c.id for c in group)
            grouped.append(group)
        rest = [c for c in infos if c.id not in placed]
        return [rest, *grouped] if rest else grouped

    def start(self, services: tuple[str, ...] = ()) -> None:
        """Start existing containers in dependency order (no create, no recreate)."""
        self.check_services(services)
        infos = self.containers(services)
        for group in reversed(self._by_stop_levels(infos)):
            self._parallel(group, self._start)

    def stop(self, services: tuple[str, ...] = (), timeout: float | None = None) -> None:
        self.check_services(services)
        running = [c for c in self.containers(services) if c.status is ContainerStatus.RUNNING]
        for group in self._by_stop_levels(running):
            self._parallel(group, lambda c: self._stop_one(c, timeout))

    def _stop_one(self, info: ContainerInfo, timeout: float | None) -> None:
        self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STOPPING))
        self.engine.stop_container(info.id, timeout)
        self.report(Event(ResourceKind.CONTAINER, info.name, Phase.STOPPED))

    @staticmethod
    def _parallel(items: list[ContainerInfo], work: Callable[[ContainerInfo], None]) -> None:
        if not items:
            return
        with ThreadPoolExecutor(max_workers=DEFAULT_PARALLEL) as pool:
            for future in [pool.submit(work, item) for item in items]:
                future.result()

    def down(self, options: DownOptions = DownOptions()) -> None:
        infos = self.containers(include_oneoff=True)
        known = set(self.project.all_service_names) | set(self.project.services)
        if not options.remove_orphans:
            orphans = [c for c in infos if c.labels.get(L.SERVICE) not in known]
            infos = [c for c in infos if c.labels.get(L.SERVICE) in known]
            if orphans:
                names = ", ".join(c.name for c in orphans)
                self.report(
                    Event(
                        ResourceKind.CONTAINER,
                        names,
                        Phase.WARNING,
                        f"Found orphan containers ([{names}]) for this project.",
                    )
                )
        for group in self._by_stop_levels(infos):
            self._parallel(group, lambda c: self._remove_container(c, options.timeout))
        self._remove_networks()
        if options.volumes:
            self._remove_volumes()

    def _remove_networks(self) -> None:
        for network in self.engine.networks.list_networks():
            if network.labels.get(L.PROJECT) != self.project.name:
                continue
            self.report(Event(ResourceKind.NETWORK, network.name, Phase.REMOVING))
            try:
                self.engine.remove_network(network.name)
            except NetworkError as exc:
                self.report(Event(ResourceKind.NETWORK, network.name, Phase.ERROR, str(exc)))
                continue
            self.report(Event(ResourceKind.NETWORK, network.name, Phase.REMOVED))

    def _remove_volumes(self) -> None:
        for volume in self.engine.volumes.list():
            if volume.labels.get(L.PROJECT) != self.project.name:
                continue
            self.report(Event(ResourceKind.VOLUME, volume.name, Phase.REMOVING))
            self.engine.remove_volume(volume.name)
            self.report(Event(ResourceKind.VOLUME, volume.name, Phase.REMOVED))

    # ---- logs ---------------------------------------------------------------------------
    def log_lines(
        self, info: ContainerInfo, follow: bool = False, tail: int | None = None
    ) -> Iterator[str]:
        for line in self.engine.logs(info.id, follow=follow, tail=tail):
            yield line.text
