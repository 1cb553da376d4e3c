"""Turn a loaded project into running containers and back: up, down, start, stop, restart, kill,
rm, and the condition waits between services.

Uses the engine only through `engine.api`. `up` walks the dependency graph with the scheduler
(`compose.scheduler`): each service starts as soon as its dependencies meet their conditions;
each service's containers are converged with the pure planner (`compose.convergence`). Like
docker compose, what a failed `up` made stays (so `logs` can tell why); `down` removes it.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

from compose import labels as L
from compose.container_spec import build_container_spec, config_hash, container_name
from compose.convergence import (
    Action,
    ActionKind,
    RecreatePolicy,
    container_number,
    plan_service,
)
from compose.drivers import check_drivers
from compose.errors import ComposeError, ServiceFailedError, ServiceNotFoundError
from compose.events import Event, Phase, Reporter, ResourceKind, ignore
from compose.graph import dependencies, dependency_graph
from compose.model import DependencyCondition, Project, Service
from compose.scheduler import DEFAULT_PARALLEL, DependencyError, Edge, Outcome, waiting, walk
from compose.static_addresses import check_static_addresses
from engine.api import (
    ANONYMOUS_VOLUME_LABEL,
    AlreadyExistsError,
    ContainerInfo,
    ContainerNotFoundError,
    ContainerSpec,
    ContainerStatus,
    Engine,
    EngineError,
    ImageInUseError,
    MountKind,
    MountSpec,
    NetworkError,
    NetworkInUseError,
    NetworkNotFoundError,
    NetworkOptions,
    VolumeInUseError,
    VolumeNotFoundError,
)

# A service's key naming another's namespace (`service:X`) -> the ContainerSpec field for it
JOINED_NAMESPACE_FIELDS = (("network_mode", "network_mode"), ("ipc", "ipc_mode"))

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from compose.model import NetworkDef
    from engine.api import Network

    T = TypeVar("T")

POLL_INTERVAL = 0.05
# How long a container without a healthcheck must have been running to count as ready.
SETTLE_SECONDS = 0.3
# Marks the volumes compose named for anonymous mounts (`rm -v` and `run --rm` remove them).
ANONYMOUS_VOLUME = ANONYMOUS_VOLUME_LABEL
_NO_HEALTH_SUPPORT = object()
# Still alive for the purpose of waiting: running, or between runs under a restart policy.
_LIVE = frozenset(
    s for s in ContainerStatus if s.value in ("running", "restarting")
)


@dataclass(frozen=True)
class UpOptions:
    """The `up` flags as the orchestrator takes them: the CLI, `run`'s dependencies and the
    Python Stack API all start a project through this one value."""

    services: tuple[str, ...] = ()
    force_recreate: bool = False
    no_recreate: bool = False
    no_start: bool = False
    no_deps: bool = False
    remove_orphans: bool = False
    timeout: float | None = None
    # --scale SERVICE=N overrides deploy.replicas / scale for that service
    scale: tuple[tuple[str, int], ...] = ()
    wait: bool = False
    wait_timeout: float | None = None
    parallel: int = DEFAULT_PARALLEL
    build: bool = False  # --build: build every service that has a build section
    no_build: bool = False  # --no-build: never build, even an image that is missing
    pull: str | None = None  # --pull always|missing|never: overrides services' pull_policy
    quiet_pull: bool = False  # --quiet-pull: pull without progress lines
    quiet_build: bool = False  # --quiet-build: build without its output
    renew_anon_volumes: bool = False  # -V: a recreated container gets fresh anonymous volumes
    always_recreate_deps: bool = False  # dependencies not named are recreated too

    @property
    def policy(self) -> RecreatePolicy:
        if self.force_recreate:
            return RecreatePolicy.FORCE
        if self.no_recreate:
            return RecreatePolicy.NEVER
        return RecreatePolicy.DIVERGED

    def policy_for(self, service: str) -> RecreatePolicy:
        """docker compose's two strategies: the services named on the command line (all of
        them when none is) follow --force-recreate/--no-recreate; a dependency pulled in only
        as one is recreated when it diverged, or always with --always-recreate-deps."""
        if not self.services or service in self.services:
            return self.policy
        if self.no_recreate:
            return RecreatePolicy.NEVER
        if self.always_recreate_deps:
            return RecreatePolicy.FORCE
        return RecreatePolicy.DIVERGED


@dataclass(frozen=True)
class DownOptions:
    """The `down` flags as the orchestrator takes them (--rmi checked, parallelism resolved),
    for the CLI and Stack.down alike."""

    volumes: bool = False
    remove_orphans: bool = False
    timeout: float | None = None
    rmi: str | None = None  # "local" | "all"
    parallel: int = DEFAULT_PARALLEL
    services: tuple[str, ...] = ()  # `down SERVICE...`: these services' containers only


@dataclass
class _UpRun:
    """Shared by the workers of one `up`: the containers found before, and what changed."""

    options: UpOptions
    images: dict[str, str]
    existing: dict[str, list[ContainerInfo]]
    recreated: set[str] = field(default_factory=set)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _age_seconds(started_at: str | None) -> float:
    if not started_at:
        return 0.0
    from compose.human_time import parse_rfc3339

    return (datetime.now(UTC) - parse_rfc3339(started_at)).total_seconds()


def _env_true(value: str | None) -> bool:
    """docker compose's reading of a boolean variable (Go's strconv.ParseBool, lower-cased)."""
    return (value or "").strip().lower() in ("1", "t", "true")


def _number(info: ContainerInfo) -> int:
    return container_number(info)


def _health(info: ContainerInfo) -> object:
    """The container's health as a lowercase string, None without a healthcheck, or
    _NO_HEALTH_SUPPORT while the engine does not report health at all."""
    if hasattr(info.state, "health_status"):
        value = info.state.health_status
    elif hasattr(info.state, "health"):
        value = info.state.health
    else:
        return _NO_HEALTH_SUPPORT
    if value is None:
        return None
    text = getattr(value, "value", value)
    if isinstance(text, str) and text.lower() in ("", "none"):
        return None
    return str(text).lower()


def _batch_unrelated(
    nodes: dict[str, list[Edge]], by_service: dict[str, list[ContainerInfo]]
) -> None:
    """Make the services that no other service waits for, and that wait for none, one node
    of the reverse walk (in place): their containers are then signalled in one loop and
    waited for together, instead of one walk item (a thread hand-off, a wait) per service;
    for 50 such services that was most of `down`'s time in the CLI."""
    waited_for = {edge.dependency for edges in nodes.values() for edge in edges}
    unrelated = sorted(n for n, edges in nodes.items() if not edges and n not in waited_for)
    if len(unrelated) < 2:
        return
    batch = ", ".join(unrelated)
    nodes[batch] = []
    by_service[batch] = []
    for name in unrelated:
        del nodes[name]
        by_service[batch].extend(by_service.pop(name))


def _failure(
    errors: Mapping[str, str], verb: str = "start", ran: Sequence[str] = ()
) -> ServiceFailedError:
    """`ran`: the services whose containers ran and then failed (exited, unhealthy): only
    then do their logs say more. A container refused at create or start (a relative
    working_dir, an unknown user, a missing device) wrote nothing: no hint to look there."""
    lines = [f"service {name}: {reason}" for name, reason in sorted(errors.items())]
    return ServiceFailedError(
        f"failed to {verb} {lines[0]}" if len(lines) == 1
        else f"failed to {verb}:\n  " + "\n  ".join(lines),
        hint=f"see `pycompose logs {' '.join(ran)}` for the output of what failed"
        if ran else None,
    )


class Orchestrator:
    def __init__(self, engine: Engine, project: Project, report: Reporter = ignore) -> None:
        self.engine = engine
        self.project = project
        self.report = report

    def _event(self, name: str, phase: Phase, detail: str = "") -> None:
        self.report(Event(ResourceKind.CONTAINER, name, phase, detail))

    # ---- queries ------------------------------------------------------------------------
    def containers(
        self,
        services: tuple[str, ...] = (),
        include_oneoff: bool = False,
        oneoff_only: bool = False,
    ) -> list[ContainerInfo]:
        found = self.engine.list_containers({L.PROJECT: self.project.name})
        if oneoff_only:
            found = [c for c in found if c.labels.get(L.ONEOFF, "False") == "True"]
        elif not include_oneoff:
            found = [c for c in found if c.labels.get(L.ONEOFF, "False") != "True"]
        if services:
            found = [c for c in found if c.labels.get(L.SERVICE) in services]
        return sorted(found, key=lambda c: (c.labels.get(L.SERVICE, ""), _number(c), c.name))

    def check_services(self, services: tuple[str, ...]) -> None:
        known = set(self.project.all_service_names) | set(self.project.services)
        for name in services:
            if name not in known:
                raise ServiceNotFoundError(f"no such service: {name}")

    def orphans(self, found: list[ContainerInfo] | None = None) -> list[ContainerInfo]:
        """docker compose's orphans: containers of services no longer in the stack file, and
        one-off (`run`) containers that have exited. `found`: the project's containers
        (one-offs included) when the caller listed them already."""
        known = set(self.project.all_service_names) | set(self.project.services)
        return [
            c for c in (self.containers(include_oneoff=True) if found is None else found)
            if (c.status in (ContainerStatus.EXITED, ContainerStatus.DEAD)
                if c.labels.get(L.ONEOFF) == "True" else c.labels.get(L.SERVICE) not in known)
        ]

    def service_names(self, services: tuple[str, ...] = (), with_deps: bool = True) -> list[str]:
        """The services a command acts on: those named (all when none), plus what they need."""
        if not services:
            return sorted(self.project.services)
        for name in services:
            if name not in self.project.services:
                raise ComposeError(
                    f"service {name} is not enabled (check its profiles)"
                    if name in self.project.all_service_names
                    else f"no such service: {name}"
                )
        wanted = set(services)
        if with_deps:
            todo = list(services)
            while todo:
                service = self.project.services[todo.pop()]
                deps = [d.service for d in service.depends_on] + self._implied_deps(service)
                for dep in deps:
                    if dep in self.project.services and dep not in wanted:
                        wanted.add(dep)
                        todo.append(dep)
        return sorted(wanted)

    @staticmethod
    def _namespace_deps(service: Service) -> list[str]:
        """Services whose namespaces this one joins (`network_mode`, `ipc`, `pid`:
        `service:X`): it must follow them when they are recreated."""
        kinds = ("network_mode", "ipc", "pid")
        return [d.service for d in dependencies(service) if d.kind in kinds]

    @staticmethod
    def _implied_deps(service: Service) -> list[str]:
        """Start-order dependencies besides depends_on: links, volumes_from and shared
        namespaces, as docker compose orders them."""
        return [d.service for d in dependencies(service) if d.kind != "depends_on"]

    def _edges(self, name: str) -> tuple[Edge, ...]:
        service = self.project.services[name]
        edges = []
        for dep in service.depends_on:
            if dep.service not in self.project.services:
                if dep.required:
                    raise ComposeError(
                        f"service {name} depends on service {dep.service}, which is not enabled "
                        "or not defined",
                        hint="enable its profile, or mark the dependency `required: false`",
                    )
                continue
            edges.append(Edge(dep.service, dep.condition, dep.required))
        known = {e.dependency for e in edges}
        edges += [
            Edge(d) for d in dict.fromkeys(self._implied_deps(service))
            if d not in known and d in self.project.services
        ]
        return tuple(edges)

    # ---- up -----------------------------------------------------------------------------
    def _check_acyclic(self) -> None:
        """Kahn's check over the same edges as `compose.graph`; only a cycle builds the networkx
        graph (whose error names it): importing networkx costs ~60 ms of every `up`."""
        services = self.project.services
        needs = {
            name: {d.service for d in dependencies(s) if d.service in services}
            for name, s in services.items()
        }
        dependents: dict[str, list[str]] = {name: [] for name in services}
        for name, deps in needs.items():
            for dep in deps:
                dependents[dep].append(name)
        waiting = {name: len(deps) for name, deps in needs.items()}
        ready = [name for name, count in waiting.items() if count == 0]
        done = 0
        while ready:
            done += 1
            for dependent in dependents[ready.pop()]:
                waiting[dependent] -= 1
                if waiting[dependent] == 0:
                    ready.append(dependent)
        if done != len(services):
            dependency_graph(self.project)  # raises, naming the cycle

    def up(
        self, options: UpOptions = UpOptions(), cancel: threading.Event | None = None
    ) -> list[ContainerInfo]:
        self.check_services(options.services)
        self._check_acyclic()  # a cycle is an error before anything is made
        scale = dict(options.scale)
        for name, count in scale.items():
            if name not in self.project.services:
                raise ServiceNotFoundError(f"no such service: {name} (in --scale {name}={count})")
            if count < 0:
                raise ComposeError(f"invalid scale for service {name}: {count}")
        wanted = self.service_names(options.services, with_deps=not options.no_deps)
        for name in wanted:
            service = self.project.services[name]
            if service.container_name and scale.get(name, service.scale) > 1:
                raise ComposeError(
                    f'service "{name}" uses the custom container name '
                    f'"{service.container_name}": it cannot be scaled beyond 1 replica'
                )
        check_static_addresses(self.project, wanted)  # before anything is made
        check_drivers(self.project, wanted)
        self.check_models(wanted)
        self.check_service_files(wanted)
        self.warn_unsupported(wanted)
        nodes = {name: self._edges(name) for name in wanted}
        # One listing serves the whole plan (each reads every container's record and state):
        # removing orphans below touches no container of a wanted service.
        found = self.containers(include_oneoff=True)
        current = [c for c in found if c.labels.get(L.ONEOFF, "False") != "True"]
        if self._will_start(wanted, options, current):
            self.engine.prepare_to_start()  # the supervisors' fork server boots meanwhile
        images = self._resolve_images(
            wanted, build=options.build, pull=options.pull, no_build=options.no_build,
            quiet_pull=options.quiet_pull, quiet_build=options.quiet_build,
        )
        self._handle_orphans(options, found)
        self._ensure_networks(wanted)
        self._ensure_volumes(wanted)
        existing: dict[str, list[ContainerInfo]] = {}
        for info in current:
            existing.setdefault(info.labels.get(L.SERVICE, ""), []).append(info)
        run = _UpRun(options, images, existing)
        # `--wait --wait-timeout N` bounds every wait of this `up`, a dependency's too: a
        # healthcheck that never passes would otherwise hold the walk until its retries run out.
        limit = options.wait_timeout if options.wait else None

        def waiter(service: str, condition: DependencyCondition, stop: threading.Event) -> None:
            if not options.no_start:
                self.wait_condition(service, condition, stop, limit)

        outcome = walk(
            nodes,
            lambda name: self._converge_service(name, run),
            waiter,
            parallel=options.parallel,
            cancel=cancel,
            on_skip=lambda name, reason: self.report(
                Event(ResourceKind.CONTAINER, name, Phase.SKIPPED, reason)
            ),
        )
        self._warn(outcome)
        if not outcome.ok:
            raise _failure(outcome.failed, ran=outcome.unmet)
        if not options.no_start:
            # Containers left running need the resolver too: one killed since comes back.
            self.engine.ensure_name_resolution()
        if options.wait and not options.no_start:
            self.wait_running(
                tuple(options.services) or tuple(wanted), options.wait_timeout, cancel
            )
        return self.containers(options.services)

    def _will_start(
        self, wanted: list[str], options: UpOptions, current: list[ContainerInfo]
    ) -> bool:
        """Whether this `up` is likely to start a container (a replica missing or not running,
        or --force-recreate): only then is booting the supervisor fork server early worth it.
        `current`: the project's containers (no one-offs)."""
        if options.no_start:
            return False
        if options.policy is RecreatePolicy.FORCE or options.always_recreate_deps:
            return True
        scale = dict(options.scale)
        running: dict[str, int] = {}
        for info in current:
            if info.status is ContainerStatus.RUNNING:
                service = info.labels.get(L.SERVICE, "")
                running[service] = running.get(service, 0) + 1
        return any(
            running.get(name, 0) < scale.get(name, self.project.services[name].scale)
            for name in wanted
        )

    def _warn(self, outcome: Outcome) -> None:
        for warning in outcome.warnings:
            self.report(Event(ResourceKind.CONTAINER, "", Phase.WARNING, warning))

    @property
    def dry_run(self) -> bool:
        """Whether the engine only pretends (--dry-run: engine.api.dry_run_engine)."""
        return bool(getattr(self.engine, "dry_run", False))

    # Build/pull output lines (the CLI points this at stderr).
    image_report: Callable[[str], None] = staticmethod(lambda _line: None)
    # (container name without the project, line) of what a hook printed; None: not shown
    # (docker compose shows it only when attached).
    hook_output: Callable[[str, str], None] | None = None
    # The services an attached `up` follows: docker compose attaches to their containers
    # before it starts them (Docker's `attach` event comes between `create` and `start`).
    attach_on_start: frozenset[str] = frozenset()

    def _resolve_images(
        self, services: list[str], *, build: bool = False, pull: str | None = None,
        no_build: bool = False, quiet_pull: bool = False, quiet_build: bool = False,
    ) -> dict[str, str]:
        """Build, pull or find every image before creating anything (compose.image_policy)."""
        from compose.image_policy import ensure_images

        return ensure_images(
            self.engine, self.project, services, build=build, pull=pull,
            report=self.image_report, no_build=no_build, quiet_pull=quiet_pull,
            quiet_build=quiet_build,
        )

    def warn_unsupported(self, services: Sequence[str]) -> None:
        """Keys these services set that the engine ignores (compose.unsupported)."""
        from compose.unsupported import unsupported_warnings

        for name in services:
            service = self.project.services[name]
            texts = unsupported_warnings(service)
            if service.raw.get("secrets") or service.raw.get("configs"):
                from compose.secret_files import ignored_option_warnings

                texts += ignored_option_warnings(self.project, service)
            for text in texts:
                self.report(Event(ResourceKind.CONTAINER, name, Phase.WARNING, text))

    def check_models(self, services: Sequence[str]) -> None:
        """docker compose runs a service's `models` with the Docker Model plugin and fails
        without it, before anything is made; pycompose has no model runner, so a service that
        uses models cannot get the endpoint variables it expects."""
        for name in services:
            models = self.project.services[name].raw.get("models")
            if models:
                raise ComposeError(
                    "'models' support requires Docker Model plugin: "
                    f'service "{name}" uses models ({", ".join(models)}) and pycompose has no '
                    "model runner",
                    hint=f'remove the "models" key of service "{name}" (or run the stack '
                    "with docker compose and the Docker Model plugin)",
                )

    def check_service_files(self, services: Sequence[str]) -> None:
        """The services' secrets and configs are all there (files, variables), before anything
        is made (compose.secret_files)."""
        if any(self.project.services[n].raw.get(k) for n in services
               for k in ("secrets", "configs")):
            from compose.secret_files import check

            check(self.project, services)

    def inject_service_files(self, info: ContainerInfo, service: Service | None = None) -> None:
        """Copy the environment and inline secrets/configs of the container's service into
        it (not running), as docker compose does at create and before each start."""
        service = service or self.project.services.get(info.labels.get(L.SERVICE, ""))
        if service is None or not (service.raw.get("secrets") or service.raw.get("configs")):
            return
        from compose.secret_files import inject

        inject(self.engine, info.id, self.project, service)

    def remove_orphans(self, timeout: float | None = None) -> None:
        """`run --remove-orphans` without dependencies to start."""
        self._remove_containers(self.orphans(), timeout)

    def _handle_orphans(self, options: UpOptions, found: list[ContainerInfo]) -> None:
        orphans = self.orphans(found)
        if not orphans or _env_true(self.project.environment.get("COMPOSE_IGNORE_ORPHANS")):
            return
        if options.remove_orphans:
            self._remove_containers(orphans, options.timeout)
        else:
            names = " ".join(c.name for c in orphans)  # Go's %s of a []string: [a b]
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

    def ensure_resources(self, services: list[str]) -> None:
        """The networks and volumes these services need (`run` without `up` before it)."""
        check_static_addresses(self.project, services)
        check_drivers(self.project, services)
        self._ensure_networks(services, sweep_first=False)
        self._ensure_volumes(services)

    # The global --all-resources: `up` makes the networks and volumes no service uses too.
    all_resources: bool = False

    def _used_networks(self, services: list[str]) -> list[str]:
        keys: list[str] = list(self.project.networks) if self.all_resources else []
        for name in services:
            service = self.project.services[name]
            if service.network_mode:
                continue
            for attachment in service.networks:
                if attachment.name not in keys:
                    keys.append(attachment.name)
        return keys

    def _ensure_networks(self, services: list[str], sweep_first: bool = True) -> None:
        """`sweep_first=False` (a one-off `run`): sweep crash leftovers only before creating a
        network, where they could be in the way, not on every run (it takes the host-wide
        subnet lock and reads every data root's network records)."""
        swept = sweep_first
        if sweep_first:
            self.engine.sweep_network_orphans()  # repair what a crashed `up`/`down` left
            self.engine.sweep_cgroup_orphans()  # and what killed supervisors left
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
                self._check_unchanged(definition, existing)
                self._warn_if_foreign(ResourceKind.NETWORK, definition.name, existing.labels)
                continue
            if not swept:
                self.engine.sweep_network_orphans()
                swept = True
            self.report(Event(ResourceKind.NETWORK, definition.name, Phase.CREATING))
            self.engine.ensure_network(
                definition.name,
                labels={**definition.labels, L.PROJECT: self.project.name, L.NETWORK: key},
                internal=definition.internal,
                subnet=next((s for s in definition.subnets if ":" not in s), None),
                gateway=definition.gateway,
                options=NetworkOptions(
                    ip_range=definition.ip_range, aux_addresses=definition.aux_addresses,
                    mtu=definition.mtu, bridge_name=definition.bridge_name,
                    attachable=definition.attachable, enable_ipv6=definition.enable_ipv6,
                    ipv6_subnet=definition.ipv6_subnet,
                    ipv6_gateway=definition.ipv6_gateway,
                ),
            )
            self.report(Event(ResourceKind.NETWORK, definition.name, Phase.CREATED))

    def _warn_if_foreign(self, kind: ResourceKind, name: str, labels: Mapping[str, str]) -> None:
        """docker compose's warnings for a network or volume that exists under the name the
        file gives but belongs to another project (or to none): it is used as it is."""
        owner = labels.get(L.PROJECT)
        if owner == self.project.name:
            return
        what = kind.value.lower()
        made = (
            "was not created by Docker Compose" if owner is None
            else f'was created for project "{owner}" (expected "{self.project.name}")'
        )
        self.report(Event(kind, name, Phase.WARNING, (
            f'{what} "{name}" already exists but {made}. Use `external: true` to use an '
            f"existing {what}"
        )))

    @staticmethod
    def _check_unchanged(definition: NetworkDef, existing: Network) -> None:
        from compose.network_options import differences

        found = differences(definition, existing)
        if found:
            raise ComposeError(
                f'network {definition.name} was created with another configuration than '
                f'networks.{definition.key} asks for: {"; ".join(found)}',
                hint="`pycompose down` removes it (and its containers); the next `up` "
                "creates it as the file says",
            )

    def _ensure_volumes(self, services: list[str]) -> None:
        keys = {
            v.source
            for name in services
            for v in self.project.services[name].volumes
            if v.source and v.type.value == "volume"
        } | (set(self.project.volumes) if self.all_resources else set())
        for key in sorted(keys):
            definition = self.project.volumes[key]
            if definition.external:
                if self.engine.volumes.find(definition.name) is None:
                    raise ComposeError(f'external volume "{definition.name}" not found')
                continue
            found = self.engine.volumes.find(definition.name)
            if found is not None:
                self._warn_if_foreign(ResourceKind.VOLUME, definition.name, found.labels)
            else:
                self.report(Event(ResourceKind.VOLUME, definition.name, Phase.CREATING))
                self.engine.ensure_volume(
                    definition.name,
                    {**definition.labels, L.PROJECT: self.project.name, L.VOLUME: key},
                    definition.driver_opts,
                )
                self.report(Event(ResourceKind.VOLUME, definition.name, Phase.CREATED))

    def _converge_service(self, name: str, run: _UpRun) -> None:
        """One service's containers to the desired state; raises a message naming the cause."""
        options = run.options
        service = self.project.services[name]
        image_id = run.images[name]
        policy = options.policy_for(name)
        # A container sharing a recreated service's network namespace must follow it; one that
        # depends on a recreated service with `restart: true` is restarted (docker compose).
        if policy is not RecreatePolicy.NEVER and any(
            d in run.recreated for d in self._namespace_deps(service)
        ):
            policy = RecreatePolicy.FORCE
        if policy is RecreatePolicy.DIVERGED and self._joins_replaced(
            service, run.existing.get(name, [])
        ):
            policy = RecreatePolicy.FORCE
        restart = any(d.restart and d.service in run.recreated for d in service.depends_on)
        scale = dict(options.scale).get(name, service.scale)
        actions = plan_service(
            run.existing.get(name, []), scale, config_hash(service, image_id), policy
        )
        removals = [a for a in actions if a.kind is ActionKind.REMOVE]
        self._remove_containers([a.container for a in removals if a.container], options.timeout)
        kept = [a for a in actions if a.kind is not ActionKind.REMOVE]
        if any(a.kind is ActionKind.RECREATE for a in kept):
            with run.lock:
                run.recreated.add(name)
        try:
            self._each(kept, lambda a: self._converge_one(service, a, image_id, restart, options))
        except (EngineError, NetworkError, ComposeError) as exc:
            raise ComposeError(str(exc)) from exc

    def _joined_containers(self, service: Service) -> dict[str, ContainerInfo]:
        """ContainerSpec field -> the container whose namespace `network_mode: service:X` or
        `ipc: service:X` joins (X's first replica), for those that exist."""
        found = {}
        for key, spec_field in JOINED_NAMESPACE_FIELDS:
            mode = str(service.raw.get(key) or "")
            other = self.project.services.get(mode.removeprefix("service:"))
            if mode.startswith("service:") and other is not None:
                info = self.engine.find_container(container_name(self.project, other, 1))
                if info is not None:
                    found[spec_field] = info
        return found

    def _joins_replaced(self, service: Service, existing: Sequence[ContainerInfo]) -> bool:
        """Whether a container of `service` joined the namespace of an X container that has
        been replaced since (`up X` recreated it alone): it is left with a namespace nothing
        else uses (for the network's, one no network reaches). docker compose recreates it,
        its config naming X's container id."""
        return any(
            str(getattr(c.record.spec, spec_field) or "").removeprefix("container:")
            not in (target.id, target.name)
            for spec_field, target in self._joined_containers(service).items()
            for c in existing
        )

    def _converge_one(
        self, service: Service, action: Action, image_id: str, restart: bool, options: UpOptions
    ) -> None:
        info = action.container
        created = action.kind in (ActionKind.RECREATE, ActionKind.CREATE) or info is None
        if action.kind is ActionKind.RECREATE and info is not None:
            self._event(info.name, Phase.RECREATE)
            if info.status is ContainerStatus.RUNNING:
                self.run_lifecycle_hooks(info, "pre_stop")
                with waiting():  # the grace period holds no parallel slot
                    self.engine.stop_container(info.id, options.timeout)
            # Docker's order: the new container takes the old one's volumes and name before
            # the old one goes, so that some container always holds its anonymous volumes
            # (a CLI killed in between leaves the old one for the next `up` to recreate).
            old = info
            info = self._create(
                service, action.number, image_id, quiet=True,
                previous=None if options.renew_anon_volumes else old, replacing=old.id,
            )
            self.engine.remove_container(old.id, force=True)
            self._event(info.name, Phase.RECREATED)
        elif action.kind is ActionKind.CREATE or info is None:
            info, created = self._create_or_adopt(service, action.number, image_id)
        elif restart and not options.no_start and info.status is ContainerStatus.RUNNING:
            self._event(info.name, Phase.RESTARTING)
            with waiting():  # the grace period holds no parallel slot; the start below does
                self.engine.stop_container(info.id, options.timeout)
            self.engine.restart_container(info.id, options.timeout)
            self._event(info.name, Phase.RESTARTED)
            return
        if not options.no_start:
            self._start(info, created)

    def _create_or_adopt(
        self, service: Service, number: int, image_id: str
    ) -> tuple[ContainerInfo, bool]:
        """The container, and whether this call made it. Another `up` of the project may have
        made the very same one meanwhile (two test workers bringing up one shared stack): that
        one, of the same service, replica and configuration, is adopted and started (the engine
        lets concurrent starts run it once), so both `up`s succeed. Any other container under
        the name is still a conflict."""
        try:
            return self._create(service, number, image_id), True
        except AlreadyExistsError:
            twin = self.engine.find_container(container_name(self.project, service, number))
            if twin is None or not self._made_by_a_twin_up(twin, service, number, image_id):
                raise
            self._event(twin.name, Phase.CREATED)
            return twin, False

    def _made_by_a_twin_up(
        self, info: ContainerInfo, service: Service, number: int, image_id: str
    ) -> bool:
        wanted = {
            L.PROJECT: self.project.name,
            L.SERVICE: service.name,
            L.NUMBER: str(number),
            L.ONEOFF: "False",
            L.CONFIG_HASH: config_hash(service, image_id),
        }
        return all(info.labels.get(key) == value for key, value in wanted.items())

    def _create(
        self,
        service: Service,
        number: int,
        image_id: str,
        quiet: bool = False,
        previous: ContainerInfo | None = None,
        replacing: str | None = None,
    ) -> ContainerInfo:
        spec = build_container_spec(self.project, service, number, image_id)
        for spec_field, joined in self._joined_containers(service).items():
            # by id, as Docker stores it: see _joins_replaced
            by_id: dict[str, Any] = {spec_field: f"container:{joined.id}"}
            spec = dataclasses.replace(spec, **by_id)
        made: list[str] = []
        spec = self.name_anonymous_volumes(spec, previous, made)
        if not quiet:
            self._event(spec.name, Phase.CREATING)
        try:
            info = self.engine.create_container(spec, replacing)
        except BaseException:
            self.release_fresh_volumes(made)
            raise
        try:
            self.inject_service_files(info, service)
        except BaseException:
            self.engine.remove_container(info.id, force=True)
            self.release_fresh_volumes(made)
            raise
        if not quiet:
            self._event(spec.name, Phase.CREATED)
        return info

    def _start(self, info: ContainerInfo, created: bool = False) -> None:
        """`created`: just made by `_create`, which copied its secrets/configs in already."""
        if info.labels.get(L.SERVICE) in self.attach_on_start:
            self.engine.record_attach(info.id)
        if info.status is ContainerStatus.RUNNING:
            self._event(info.name, Phase.RUNNING)
            return
        self._event(info.name, Phase.STARTING)
        try:
            # Not into a container another process is starting: start_container waits for it.
            if not created and not info.status.active and not info.state.starting:
                self.inject_service_files(info)  # docker compose's startService: fresh content
            self.engine.start_container(info.id)
            self.run_lifecycle_hooks(info, "post_start")
        except (EngineError, ComposeError) as exc:
            self._event(info.name, Phase.ERROR, str(exc))
            raise
        self._event(info.name, Phase.STARTED)

    def has_lifecycle_hooks(self, info: ContainerInfo, which: str) -> bool:
        """Whether the container's service has `which` ("post_start" or "pre_stop") hooks."""
        service = self.project.services.get(info.labels.get(L.SERVICE, ""))
        return bool(getattr(service, which, ())) if service is not None else False

    def run_lifecycle_hooks(
        self, info: ContainerInfo, which: str, skip_if_gone: bool | None = None
    ) -> None:
        """The container's service's `post_start` or `pre_stop` hooks (compose.lifecycle_hooks);
        nothing for an orphan or a service without them. `skip_if_gone` (default: for
        pre_stop): a container no longer running is no error."""
        if self.dry_run or not self.has_lifecycle_hooks(info, which):
            return  # a dry run execs nothing in a container
        from compose.lifecycle_hooks import run_hooks

        service = self.project.services[info.labels[L.SERVICE]]
        show = self.hook_output
        source = info.name.removeprefix(f"{self.project.name}-")
        run_hooks(self.engine, info, service, getattr(service, which),
                  skip_if_gone=which == "pre_stop" if skip_if_gone is None else skip_if_gone,
                  output=None if show is None else (lambda line: show(source, line)))

    # ---- conditions -----------------------------------------------------------------------
    def wait_condition(
        self,
        service: str,
        condition: DependencyCondition,
        cancel: threading.Event,
        timeout: float | None = None,
    ) -> None:
        """Block until every container of `service` meets `condition` (a dependency edge);
        with `timeout`, a DependencyError once that many seconds passed without it."""
        if condition is DependencyCondition.STARTED or self.dry_run:
            return  # a dry run's containers are made up: nothing runs to wait for
        infos = self.containers((service,))
        if not infos:
            raise DependencyError(f"service {service} has no container")
        deadline = None if timeout is None else time.monotonic() + timeout
        for info in infos:
            self._event(info.name, Phase.WAITING)
            if condition is DependencyCondition.HEALTHY:
                self._wait_healthy(info, cancel, deadline)
                self._event(info.name, Phase.HEALTHY)
            else:
                code = self._wait_exit(info, cancel, deadline)
                self._event(info.name, Phase.EXITED, f"exit code {code}")
                if code != 0:
                    raise DependencyError(
                        f'service "{service}" didn\'t complete successfully: exit {code}'
                    )

    def _inspect_waited(self, info: ContainerInfo) -> ContainerInfo:
        """The container a wait is for, now; removed meanwhile (a `down` while this `up` waits),
        an error naming it rather than its 64-digit id."""
        try:
            return self.engine.inspect(info.id)
        except ContainerNotFoundError:
            raise DependencyError(f"container {info.name} was removed while waited for") from None

    def _wait_exit(
        self, info: ContainerInfo, cancel: threading.Event, deadline: float | None = None
    ) -> int | None:
        while not cancel.is_set():
            current = self._inspect_waited(info)
            if current.status not in _LIVE:
                if current.status is ContainerStatus.CREATED:
                    raise DependencyError(f"container {info.name} was never started")
                return current.state.exit_code
            if deadline is not None and time.monotonic() > deadline:
                raise DependencyError(f"container {info.name} has not exited yet")
            try:
                self.engine.wait_container(info.id, timeout=0.25)
            except ContainerNotFoundError:
                continue  # removed meanwhile: the next inspection says so by name
        raise DependencyError("interrupted")

    def _wait_healthy(
        self, info: ContainerInfo, cancel: threading.Event | None, deadline: float | None
    ) -> None:
        """Healthy (or, for a container without a healthcheck, running); raise otherwise."""
        while cancel is None or not cancel.is_set():
            current = self._inspect_waited(info)
            if current.status not in _LIVE:
                raise DependencyError(
                    f"container {info.name} exited ({current.state.exit_code})"
                )
            health = _health(current)
            if current.status is not ContainerStatus.RUNNING:
                health = "starting"  # restarting: not healthy yet
            if health is _NO_HEALTH_SUPPORT or health == "healthy":
                return
            if health is None:
                raise DependencyError(f"container {info.name} has no healthcheck configured")
            if health == "unhealthy":
                raise DependencyError(f"container {info.name} is unhealthy")
            if deadline is not None and time.monotonic() > deadline:
                raise DependencyError(f"container {info.name} is not healthy yet ({health})")
            time.sleep(POLL_INTERVAL)
        raise DependencyError("interrupted")

    def _wait_stays_running(self, info: ContainerInfo) -> None:
        """Without a healthcheck, "ready" means running and not crashing at once: a container
        that exits within the settle time after it started is reported, not waved through."""
        started = info.state.started_at
        settle_until = time.monotonic() + (SETTLE_SECONDS - _age_seconds(started))
        while True:
            current = self._inspect_waited(info)
            if current.status is not ContainerStatus.RUNNING:
                raise DependencyError(f"container {info.name} exited ({current.state.exit_code})")
            if time.monotonic() >= settle_until:
                return
            time.sleep(POLL_INTERVAL)

    def wait_running(
        self,
        services: tuple[str, ...],
        timeout: float | None = None,
        cancel: threading.Event | None = None,
    ) -> None:
        """`up --wait`: every container running (and healthy where it has a healthcheck);
        a one-shot that others wait on with service_completed_successfully may have exited 0."""
        if self.dry_run:
            return  # nothing was started to wait for
        deadline = None if timeout is None else time.monotonic() + timeout
        completed_ok = {
            d.service
            for s in self.project.services.values()
            for d in s.depends_on
            if d.condition is DependencyCondition.COMPLETED_SUCCESSFULLY
        }
        problems: dict[str, str] = {}
        for info in self.containers(services):
            try:
                current = self._inspect_waited(info)
                service = info.labels.get(L.SERVICE, "")
                if (
                    current.status is ContainerStatus.EXITED
                    and current.state.exit_code == 0
                    and service in completed_ok
                ):
                    continue
                health = _health(current)
                self._event(info.name, Phase.WAITING)
                if health is None or health is _NO_HEALTH_SUPPORT:
                    self._wait_stays_running(current)
                else:
                    self._wait_healthy(current, cancel, deadline)
                self._event(info.name, Phase.HEALTHY)
            except DependencyError as exc:
                self._event(info.name, Phase.ERROR, str(exc))
                problems[info.labels.get(L.SERVICE, info.name)] = str(exc)
        if problems:
            raise _failure(problems, "wait for", ran=sorted(problems))

    # ---- start / stop / restart / kill / rm / down ----------------------------------------
    def create(self, options: UpOptions) -> list[ContainerInfo]:
        """`create`: converge without starting."""
        return self.up(dataclasses.replace(options, no_start=True, wait=False))

    def start(
        self,
        services: tuple[str, ...] = (),
        parallel: int = DEFAULT_PARALLEL,
        cancel: threading.Event | None = None,
        wait_timeout: float | None = None,
    ) -> None:
        """Start existing containers, each service once its dependencies meet their conditions
        (`wait_timeout`: the longest wait for one, as `start --wait --wait-timeout` asks)."""
        self.check_services(services)
        infos = self.containers(services)
        if any(c.status is not ContainerStatus.RUNNING for c in infos):
            self.engine.prepare_to_start()  # the supervisors' fork server boots meanwhile
        by_service: dict[str, list[ContainerInfo]] = {}
        for info in infos:
            by_service.setdefault(info.labels.get(L.SERVICE, ""), []).append(info)
        nodes = {
            name: self._edges(name) if name in self.project.services else ()
            for name in by_service
        }

        def work(name: str) -> None:
            try:
                self._each(by_service[name], self._start)
            except EngineError as exc:
                raise ComposeError(str(exc)) from exc

        outcome = walk(
            nodes, work, lambda s, c, e: self.wait_condition(s, c, e, wait_timeout),
            parallel=parallel, cancel=cancel,
        )
        self._warn(outcome)
        if not outcome.ok:
            raise _failure(outcome.failed, ran=outcome.unmet)

    def _reverse_walk(
        self,
        infos: list[ContainerInfo],
        action: Callable[[list[ContainerInfo]], None],
        parallel: int = DEFAULT_PARALLEL,
        verb: str = "stop",
    ) -> None:
        """Dependents before their dependencies, independent services in parallel; `action`
        gets one service's containers at once (their stops overlap, see `_stop_containers`)."""
        by_service: dict[str, list[ContainerInfo]] = {}
        for info in infos:
            by_service.setdefault(info.labels.get(L.SERVICE, ""), []).append(info)
        nodes: dict[str, list[Edge]] = {name: [] for name in by_service}
        for name in by_service:
            service = self.project.services.get(name)
            if service is None:
                continue
            deps = [d.service for d in service.depends_on] + self._implied_deps(service)
            for dep in deps:
                if dep in nodes:
                    nodes[dep].append(Edge(name))  # `dep` stops after `name`
        _batch_unrelated(nodes, by_service)

        def work(name: str) -> None:
            try:
                action(by_service[name])
            except (EngineError, NetworkError) as exc:
                raise ComposeError(str(exc)) from exc

        outcome = walk(
            {n: tuple(e) for n, e in nodes.items()},
            work,
            lambda _s, _c, _e: None,
            parallel=parallel,
        )
        if not outcome.ok:
            raise _failure(outcome.failed, verb)

    def stop(
        self,
        services: tuple[str, ...] = (),
        timeout: float | None = None,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        self.check_services(services)
        active = [c for c in self.containers(services) if c.status.active]
        self._reverse_walk(active, lambda batch: self._stop_containers(batch, timeout), parallel)

    def _stop_containers(
        self, infos: Sequence[ContainerInfo], timeout: float | None, quiet: bool = False,
        count_stops: bool = True, remove: bool = False,
    ) -> None:
        """Stop the running ones together: all are signalled, then their grace periods overlap
        (engine.stop_containers), and the wait lends the walk's parallel slot to other services
        (scheduler.waiting), so 50 containers ignoring SIGTERM stop in ~one grace period."""
        running = [i for i in infos if i.status.active]
        if not running:
            return
        if not quiet:
            for info in running:
                self._event(info.name, Phase.STOPPING)
        hooked = [i for i in running if self.has_lifecycle_hooks(i, "pre_stop")]
        self._each(hooked, lambda info: self.run_lifecycle_hooks(info, "pre_stop"))
        with waiting():
            self.engine.stop_containers(running, timeout, count_stops=count_stops, remove=remove)
        if not quiet:
            for info in running:
                self._event(info.name, Phase.STOPPED)

    def restart(
        self,
        services: tuple[str, ...] = (),
        timeout: float | None = None,
        no_deps: bool = False,
        parallel: int = DEFAULT_PARALLEL,
    ) -> None:
        """docker compose `restart`: the named services plus (unless `no_deps`) what depends on
        them with `restart: true`, dependencies first (compose.restart_plan)."""
        from compose.restart_plan import restart_nodes

        self.check_services(services)
        nodes = restart_nodes(self.project, services, no_deps)
        by_service: dict[str, list[ContainerInfo]] = {}
        for info in self.containers(tuple(nodes)):
            by_service.setdefault(info.labels.get(L.SERVICE, ""), []).append(info)

        def one(info: ContainerInfo) -> None:
            self.engine.restart_container(info.id, timeout)  # stopped already: starts it
            self._event(info.name, Phase.RESTARTED)
            self.run_lifecycle_hooks(info, "post_start")

        def work(name: str) -> None:
            infos = by_service.get(name, [])
            running = [i for i in infos if i.status is ContainerStatus.RUNNING]
            for info in infos:
                self._event(info.name, Phase.RESTARTING)
            try:
                # docker compose's restart.go: pre_stop before the restart, post_start after
                self._each([i for i in running if self.has_lifecycle_hooks(i, "pre_stop")],
                           lambda info: self.run_lifecycle_hooks(info, "pre_stop"))
                with waiting():  # every replica's grace period at once, not one slot each
                    self.engine.stop_containers(running, timeout)
                self._each(infos, one)
            except (EngineError, NetworkError) as exc:
                raise ComposeError(str(exc)) from exc

        outcome = walk(
            nodes, work, lambda s, c, e: self.wait_condition(s, c, e), parallel=parallel
        )
        self._warn(outcome)
        if not outcome.ok:
            raise _failure(outcome.failed, "restart", ran=outcome.unmet)

    def kill(self, services: tuple[str, ...] = (), sig: str = "SIGKILL") -> None:
        from engine import signal_problem

        self.check_services(services)
        problem = signal_problem(sig)  # before any container is reported as being killed
        if problem:
            raise ComposeError(problem)
        running = [c for c in self.containers(services) if c.status is ContainerStatus.RUNNING]

        def one(info: ContainerInfo) -> None:
            self._event(info.name, Phase.KILLING)
            self.engine.kill_container(info.id, sig)
            self._event(info.name, Phase.KILLED)

        try:
            self._parallel(running, one)
        except EngineError as exc:
            raise ComposeError(str(exc)) from exc

    def remove(
        self,
        services: tuple[str, ...] = (),
        stop: bool = False,
        timeout: float | None = None,
        volumes: bool = False,
    ) -> list[ContainerInfo]:
        """`rm`: remove stopped containers (with `stop`, running ones too after stopping)."""
        self.check_services(services)
        infos = self.containers(services)
        if stop:
            self.stop(services, timeout)
            infos = self.containers(services)
        gone = [c for c in infos if c.status is not ContainerStatus.RUNNING]

        def one(info: ContainerInfo) -> None:
            self._event(info.name, Phase.REMOVING)
            self.engine.remove_container(info.id)
            if volumes:
                self.remove_anonymous_volumes(info)
            self._event(info.name, Phase.REMOVED)

        self._parallel(gone, one)
        return gone

    def name_anonymous_volumes(
        self, spec: ContainerSpec, previous: ContainerInfo | None = None,
        made: list[str] | None = None,
    ) -> ContainerSpec:
        """Give each anonymous volume (`volumes: [/data]`) a random 64-hex name, like Docker,
        labelled with the project and marked anonymous; a recreated container takes over its
        predecessor's anonymous volumes so their data survives (docker compose does so). The
        image's VOLUMEs that no mount covers get one too, as Docker makes them. `made` gets
        the names of the volumes made here (not inherited): if the create fails they are
        nobody's (`release_fresh_volumes`)."""
        spec = self._with_image_volumes(spec)
        if not any(m.kind is MountKind.VOLUME and not m.source for m in spec.mounts):
            return spec
        inherited: dict[str, str] = {}
        for mount in previous.record.spec.mounts if previous else ():
            if mount.kind is MountKind.VOLUME and mount.source and self._is_anonymous(mount.source):
                inherited[mount.target] = mount.source
        mounts = []
        for mount in spec.mounts:
            if mount.kind is MountKind.VOLUME and not mount.source:
                import secrets  # not at the top: OpenSSL's ~2 ms, a one-off `run` seldom needs it

                name = inherited.get(mount.target) or secrets.token_hex(32)
                self.engine.ensure_volume(
                    name, {L.PROJECT: self.project.name, ANONYMOUS_VOLUME: "True"}
                )
                if made is not None and mount.target not in inherited:
                    made.append(name)
                mount = dataclasses.replace(mount, source=name)
            mounts.append(mount)
        return dataclasses.replace(spec, mounts=tuple(mounts))

    def release_fresh_volumes(self, names: Sequence[str]) -> None:
        """Remove the anonymous volumes a failed create made (`name_anonymous_volumes`'s
        `made`), e.g. the loser of two concurrent `up`s whose container name was taken: they
        are new, empty and named at random, so no data is lost; one a container mounts after
        all (the engine refuses) stays."""
        for name in names:
            try:
                self.engine.remove_volume(name)
            except EngineError:
                continue

    def _with_image_volumes(self, spec: ContainerSpec) -> ContainerSpec:
        try:
            declared = self.engine.images.get(spec.image).config.volumes
        except EngineError:
            return spec  # no such image: the create that follows says so
        covered = {m.target.rstrip("/") or "/" for m in spec.mounts}
        extra = tuple(
            MountSpec(MountKind.VOLUME, target)
            for target in dict.fromkeys(v.rstrip("/") or "/" for v in declared)
            if target not in covered
        )
        return dataclasses.replace(spec, mounts=spec.mounts + extra) if extra else spec

    def _is_anonymous(self, volume_name: str) -> bool:
        volume = self.engine.volumes.find(volume_name)
        return volume is not None and volume.labels.get(ANONYMOUS_VOLUME) == "True"

    def remove_anonymous_volumes(self, info: ContainerInfo) -> None:
        """`rm -v`, `run --rm`: drop the anonymous volumes the container had (the engine's
        rule, which the supervisor of a `run --rm` container killed mid-way applies too)."""
        self.engine.remove_anonymous_volumes(info)

    def _remove_containers(
        self, infos: Sequence[ContainerInfo], timeout: float | None, quiet: bool = False
    ) -> None:
        """Stop (together) and remove: `down`, `--remove-orphans`, scale-down. Each stop is
        counted (Docker's `stop` event) with the removal: one state write less per container.
        A running container is removed by its own supervisor once down (in parallel); the
        rest here."""
        self._stop_containers(infos, timeout, quiet, count_stops=False, remove=True)
        stopped = {i.id for i in infos if i.status is ContainerStatus.RUNNING}

        def remove(info: ContainerInfo) -> None:
            if not quiet:
                self._event(info.name, Phase.REMOVING)
            self.engine.remove_container(
                info.id, force=True, count_stop=info.id in stopped,
                removed_by_supervisor=info.id in stopped,
            )
            if not quiet:
                self._event(info.name, Phase.REMOVED)

        self._each(list(infos), remove)

    @staticmethod
    def _each(items: Sequence[T], work: Callable[[T], None]) -> None:
        """Run `work` over a service's replicas, in parallel when there are several."""
        if len(items) <= 1:
            for item in items:
                work(item)
            return
        from concurrent.futures import ThreadPoolExecutor  # with logging, ~3 ms: not on `run`

        with ThreadPoolExecutor(max_workers=min(len(items), DEFAULT_PARALLEL)) as pool:
            futures = [pool.submit(work, item) for item in items]
        errors = [f.exception() for f in futures if f.exception() is not None]
        if errors:
            raise errors[0]  # type: ignore[misc]

    @staticmethod
    def _parallel(items: list[ContainerInfo], work: Callable[[ContainerInfo], None]) -> None:
        Orchestrator._each(items, work)

    def down(self, options: DownOptions = DownOptions()) -> None:
        infos = self.containers(include_oneoff=True)
        if options.services:
            self._down_services(options, infos)
            return
        known = set(self.project.all_service_names) | set(self.project.services)
        # `-p NAME down` without a stack file: the project is what its labels say (docker
        # compose rebuilds it from them), so none of its containers is an orphan.
        orphans = [
            c
            for c in infos
            if c.labels.get(L.SERVICE) not in known and c.labels.get(L.ONEOFF) != "True"
        ] if self.project.config_files else []
        if not options.remove_orphans:
            infos = [c for c in infos if c not in orphans]
            if orphans:
                names = ", ".join(c.name for c in orphans)
                self.report(
                    Event(
                        ResourceKind.CONTAINER,
                        names,
                        Phase.WARNING,
                        f"Found orphan containers ([{names}]) for this project. If you removed "
                        "or renamed this service in your compose file, you can run this command "
                        "with the --remove-orphans flag to clean it up.",
                    )
                )
        oneoffs = [c for c in infos if c.labels.get(L.ONEOFF) == "True"]
        self._remove_containers(oneoffs, options.timeout)
        services = [c for c in infos if c not in oneoffs]
        self._reverse_walk(
            services, lambda batch: self._remove_containers(batch, options.timeout),
            options.parallel,
            "remove",
        )
        # Networks and volumes do not depend on each other: their removals overlap (a bridge's
        # iptables commit and kernel unregistering are waits), as docker compose's do.
        from concurrent.futures import ThreadPoolExecutor

        failures: list[str] = []
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="compose-volumes") as pool:
            volumes = pool.submit(self._remove_volumes) if options.volumes else None
            if not orphans or options.remove_orphans:
                failures += self._remove_networks()
            if volumes is not None:
                failures += volumes.result()
        if options.rmi:
            self._remove_images(options.rmi, used=infos)
        if failures:  # each reported in place; the command fails, as docker compose's does
            raise ComposeError("; ".join(failures))

    def _down_services(self, options: DownOptions, infos: list[ContainerInfo]) -> None:
        """`down SERVICE...` (docker compose 2.20): those services' containers (one-offs too),
        then the networks and, with -v, the volumes they used that nothing left uses; one
        still in use is reported as such and kept."""
        self.check_services(options.services)
        chosen = [c for c in infos if c.labels.get(L.SERVICE) in options.services]
        if options.remove_orphans:
            chosen += [c for c in self.orphans(infos) if c not in chosen]
        self._reverse_walk(
            chosen, lambda batch: self._remove_containers(batch, options.timeout),
            options.parallel, "remove",
        )
        if options.volumes:  # docker removes a container's anonymous volumes with it (-v)
            for info in chosen:
                self.remove_anonymous_volumes(info)
        left = self.engine.list_containers()  # any project's: a volume may be shared
        services = [
            self.project.services[n] for n in options.services if n in self.project.services
        ]
        networks = {
            self.project.networks[a.name].name
            for service in services if not service.network_mode
            for a in service.networks
            if a.name in self.project.networks and not self.project.networks[a.name].external
        }
        in_use = {a.network for c in left for a in c.record.spec.networks}
        failures = self._remove_unused(ResourceKind.NETWORK, networks, in_use)
        if options.volumes:
            volumes = {
                self.project.volumes[v.source].name
                for service in services for v in service.volumes
                if v.type.value == "volume" and v.source in self.project.volumes
                and not self.project.volumes[v.source].external
            }
            mounted = {
                m.source for c in left for m in c.record.spec.mounts
                if m.kind is MountKind.VOLUME and m.source
            }
            failures += self._remove_unused(ResourceKind.VOLUME, volumes, mounted)
        if options.rmi:
            self._remove_images(options.rmi, options.services)
        if failures:
            raise ComposeError("; ".join(failures))

    def _remove_unused(self, kind: ResourceKind, names: set[str], in_use: set[str]) -> list[str]:
        """Remove the project's networks or volumes among `names` that exist and nothing in
        `in_use` holds; warn about the rest, as docker compose's "Resource is still in use"."""
        if kind is ResourceKind.NETWORK:
            existing = {n.name: n.labels for n in self.engine.networks.list_networks()}
            remove: Callable[[str], None] = self.engine.remove_network
        else:
            existing = {v.name: v.labels for v in self.engine.volumes.list()}
            remove = self.engine.remove_volume
        free: list[tuple[str, dict[str, str]]] = []
        for name in sorted(names):
            if name not in existing:
                continue
            if name in in_use:
                self.report(Event(kind, name, Phase.IN_USE))
            else:
                free.append((name, existing[name]))
        return self._remove_project_objects(kind, free, remove)

    def _remove_networks(self) -> list[str]:
        networks = self.engine.networks.list_networks()
        failures = self._remove_project_objects(
            ResourceKind.NETWORK, [(n.name, n.labels) for n in networks], self.engine.remove_network
        )
        self.engine.sweep_network_orphans()
        return failures

    def _remove_volumes(self) -> list[str]:
        volumes = self.engine.volumes.list()
        return self._remove_project_objects(
            ResourceKind.VOLUME, [(v.name, v.labels) for v in volumes], self.engine.remove_volume
        )

    def _remove_project_objects(
        self,
        kind: ResourceKind,
        objects: list[tuple[str, dict[str, str]]],
        remove: Callable[[str], None],
    ) -> list[str]:
        """Remove this project's networks or volumes (found by label); report each failure in
        place and go on with the rest, like docker compose's down; the failures' messages.
        Networks go in parallel: each waits ~30 ms on the kernel to delete its bridge, and
        those waits overlap."""
        failures: list[str] = []

        def remove_one(name: str) -> None:
            self.report(Event(kind, name, Phase.REMOVING))
            try:
                remove(name)
            except (NetworkInUseError, VolumeInUseError):
                # docker compose: another project's container still uses it; not a failure
                self.report(Event(kind, name, Phase.IN_USE))
                return
            except (NetworkNotFoundError, VolumeNotFoundError):
                # a concurrent `down` of the project removed it first: gone is what was asked
                self.report(Event(kind, name, Phase.NOT_FOUND))
                return
            except (EngineError, NetworkError) as exc:
                self.report(Event(kind, name, Phase.ERROR, str(exc)))
                failures.append(f"failed to remove {kind.value.lower()} {name}: {exc}")
                return
            self.report(Event(kind, name, Phase.REMOVED))

        ours = [name for name, labels in objects if labels.get(L.PROJECT) == self.project.name]
        if kind is ResourceKind.NETWORK:
            self._each(ours, remove_one)
        else:
            for name in ours:
                remove_one(name)
        return failures

    def _remove_images(
        self, mode: str, services: tuple[str, ...] = (), used: Sequence[ContainerInfo] = ()
    ) -> None:
        """`down --rmi all` removes every service's image (or the named services'); `local`
        only the images compose named itself (a `build` without `image:`, tagged
        `<project>-<service>`). Without a stack file (`-p NAME down`), the services are what
        the `used` containers' labels say, as docker compose rebuilds the project from them."""
        from compose.image_policy import image_name

        if mode not in ("local", "all"):
            raise ComposeError(f"invalid --rmi value {mode!r}: use local or all")
        if self.project.config_files:
            references = sorted(
                {
                    image_name(self.project, s)
                    for s in self.project.services.values()
                    if (mode == "all" or not s.image) and (not services or s.name in services)
                }
            )
        else:
            references = sorted({
                c.record.spec.image for c in used
                if mode == "all"
                or c.record.spec.image == f"{self.project.name}-{c.labels.get(L.SERVICE)}"
            })
        for reference in references:
            if self.engine.images.find(reference) is None:
                continue
            try:
                self.engine.remove_image(reference)
            except ImageInUseError:  # another project's container (docker compose's words)
                self.report(Event(
                    ResourceKind.IMAGE, reference, Phase.WARNING, "Resource is still in use"
                ))
                continue
            except EngineError as exc:
                self.report(Event(ResourceKind.CONTAINER, reference, Phase.WARNING, str(exc)))
                continue
            self.report(Event(ResourceKind.IMAGE, reference, Phase.REMOVED))

    # ---- logs ---------------------------------------------------------------------------
    def log_lines(
        self, info: ContainerInfo, follow: bool = False, tail: int | None = None
    ) -> Iterator[str]:
        for line in self.engine.logs(info.id, follow=follow, tail=tail):
            yield line.text
