"""`watch`: follow the host paths of the services' `develop.watch` rules and apply each batch
of changes to the running services, as docker compose's watch does (pkg/compose/watch.go).

One batch (compose.watch_batch: changes debounced over a quiet period) is applied in compose's
order: services to rebuild are built and recreated first, then files are synced into each
running container of their service, then sync+restart services are restarted, then the
sync+exec hooks run in every container. A failure is reported and the watch goes on: the next
save gets another try. File events come from compose.watch_events (`watchfiles`), imported
only when the watch starts so that no other command pays for it.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass

from compose.develop import WatchAction, WatchRule, watch_rules
from compose.errors import ComposeError
from compose.model import MountType, Service
from compose.watch_batch import Debouncer, ServiceWork, plan_batch
from compose.watch_events import watch_roots
from compose.watch_paths import PathMapping, RootedPatterns, RuleMatcher, read_dockerignore
from compose.watch_sync import sync_into

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Callable

    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo

NOT_CONFIGURED = (
    "none of the selected services is configured for watch, consider setting a 'develop' "
    "section"
)
# Never copied by an initial sync: what builds the image or describes the project.
_INITIAL_SYNC_SKIPPED = frozenset((
    "Dockerfile", "compose.yaml", "compose.yml", "docker-compose.yaml", "docker-compose.yml",
    "compose.override.yaml", "compose.override.yml", "docker-compose.override.yaml",
    "docker-compose.override.yml",
))
LARGE_BATCH = 1000  # more changed files than this in one batch: compose's warning


@dataclass(frozen=True)
class WatchOptions:
    """`watch`'s flags as the session takes them."""

    services: tuple[str, ...] = ()
    prune: bool = True  # remove the image a rebuild left dangling
    quiet: bool = False  # hide build output


def go_quoted_list(names: list[str]) -> str:
    """Go's `%q` of a []string, as compose prints service lists: `["a" "b"]`."""
    return "[" + " ".join(f'"{name}"' for name in names) + "]"


def _bind_mounted(path: str, service: Service) -> bool:
    """Whether a bind mount already shows `path` in the container (nothing to sync then)."""
    for volume in service.volumes:
        source = volume.source
        if volume.type is MountType.BIND and source and (
            path == source or path.startswith(source.rstrip("/") + "/")
        ):
            return True
    return False


def _build_ignore(service: Service) -> RootedPatterns | None:
    build = service.raw.get("build")
    if not isinstance(build, dict) or not isinstance(build.get("context"), str):
        return None
    from engine.api import DockerIgnore

    context = build["context"]
    return RootedPatterns(
        context, DockerIgnore(read_dockerignore(context, build.get("dockerfile")))
    )


class WatchSession:
    """The rules of the selected services, compiled, and what applies a batch to them."""

    def __init__(
        self, orch: Orchestrator, options: WatchOptions, log: Callable[[str], None],
        warn: Callable[[str], None],
    ) -> None:
        self.orch = orch
        self.options = options
        self.log = log
        self.warn = warn
        # Called with the containers a rebuild made (`up --watch` follows their output).
        self.recreated: Callable[[list[ContainerInfo]], None] = lambda _infos: None
        self.matchers: list[RuleMatcher] = []
        self.paths: list[str] = []
        project = orch.project
        orch.check_services(options.services)
        for name in orch.service_names(options.services, with_deps=True):
            service = project.services[name]
            rules = watch_rules(service)
            build_ignore = _build_ignore(service) if rules else None
            for rule in rules:
                if rule.action is WatchAction.REBUILD and not service.raw.get("build"):
                    raise ComposeError(
                        f'can\'t watch service "{name}" with action rebuild without a build '
                        "context"
                    )
                if rule.action.syncs and _bind_mounted(rule.path, service):
                    warn(f"path '{rule.path}' also declared by a bind mount volume, this path "
                         "won't be monitored!")
                    continue
                self.matchers.append(RuleMatcher(rule, build_ignore))
                if rule.path not in self.paths:
                    self.paths.append(rule.path)
        if not self.matchers:
            raise ComposeError(NOT_CONFIGURED)
        watch_roots(self.paths)  # a path that cannot be watched is refused before the up

    # ---- applying a batch ----------------------------------------------------------------
    def _running(self, service: str) -> list[str]:
        from engine.api import ContainerStatus

        return [
            info.id for info in self.orch.containers((service,))
            if info.status is ContainerStatus.RUNNING
        ]

    def sync(self, service: str, mappings: list[PathMapping]) -> None:
        for container in self._running(service):
            sync_into(self.orch.engine, container, mappings)

    def rebuild(self, services: list[str]) -> None:
        from compose.orchestrator import UpOptions

        self.log(f"Rebuilding service(s) {go_quoted_list(services)} after changes were "
                 "detected...")
        before = {info.record.image_id for info in self.orch.containers(tuple(services))}
        made = self.orch.up(UpOptions(services=tuple(services), build=True,
                                      force_recreate=True, no_deps=True))
        self.recreated(made)
        self.log(f"service(s) {go_quoted_list(services)} successfully built")
        if self.options.prune:
            self._prune(before)

    def _prune(self, images: set[str]) -> None:
        """Remove the images the rebuild left without a name and without a container."""
        used = {info.record.image_id for info in self.orch.engine.list_containers()}
        for image_id in images - used:
            image = self.orch.engine.images.find(image_id)
            if image is not None and not image.repo_tags:
                self.orch.engine.images.remove(image_id)

    def run_hook(self, service: str, rule: WatchRule) -> None:
        hook = rule.exec
        assert hook is not None  # validated at load
        env = {k: v for k, v in hook.environment.items() if v is not None}
        for container in self._running(service):
            result = self.orch.engine.exec_in_container(
                container, list(hook.command), env=env or None, workdir=hook.working_dir,
                user=hook.user, privileged=hook.privileged,
            )
            if result.output:
                print(result.output, end="" if result.output.endswith("\n") else "\n",
                      flush=True)
            if result.exit_code != 0:
                raise ComposeError(f"exit code {result.exit_code}")

    def apply(self, work: dict[str, ServiceWork]) -> None:
        """One batch's work, in docker compose's order: rebuild, sync, restart, exec."""
        rebuild = sorted(name for name, todo in work.items() if todo.rebuild)
        if rebuild:
            self.rebuild(rebuild)
        for name in sorted(work):
            mappings = work[name].syncs
            if mappings:
                self.log(f'Syncing service "{name}" after {len(mappings)} changes were detected')
                self.sync(name, mappings)
        restart = sorted(name for name, todo in work.items() if todo.restart)
        if restart:
            self.orch.restart(tuple(restart))
            self.log(f"service(s) {go_quoted_list(restart)} restarted")
        for name in sorted(work):
            for index in work[name].execs:
                self.run_hook(name, self.matchers[index].rule)

    def handle(self, paths: list[str]) -> None:
        """Apply a batch; what fails is reported and the watch goes on (as compose's)."""
        from engine.api import EngineError

        if len(paths) > LARGE_BATCH:
            self.warn(f"Very large batch of file changes detected: {len(paths)} files. This may "
                      "impact performance.")
            self.log("Large batch of file changes detected. If you just switched branches, this "
                     "is expected.")
        work = plan_batch(paths, self.matchers)
        try:
            self.apply(work)
        except (ComposeError, EngineError, OSError) as exc:
            self.warn(f"Error handling changed files: {exc}")

    # ---- initial sync ----------------------------------------------------------------------
    def initial_sync(self) -> None:
        """`initial_sync: true` sync rules copy their whole path before watching starts."""
        for matcher in self.matchers:
            rule = matcher.rule
            if not (rule.initial_sync and rule.action.syncs):
                continue
            mappings = list(self._files_of(matcher))
            if mappings:
                self.sync(rule.service, mappings)

    def _files_of(self, matcher: RuleMatcher) -> list[PathMapping]:
        root = matcher.root
        if os.path.isfile(root):
            mapping = matcher.mapping(root)
            return [mapping] if mapping else []
        found = []
        for directory, dirs, files in os.walk(root):
            dirs[:] = [d for d in dirs if not matcher.ignored(os.path.join(directory, d))]
            for name in files:
                if name in _INITIAL_SYNC_SKIPPED:
                    continue
                mapping = matcher.mapping(os.path.join(directory, name))
                if mapping is not None:
                    found.append(mapping)
        return found

    # ---- the loop -------------------------------------------------------------------------
    def run(self, stop: threading.Event) -> None:
        """Watch until `stop` is set; each batch is applied before the next is read. A failed
        watcher ends the watch: WatchFailed."""
        from compose.watch_events import POLL_MS, FileEvents

        events = FileEvents(self.paths, stop)
        events.start()
        debouncer = Debouncer()
        self.log("Watch enabled")
        try:
            while not stop.is_set():
                wait = debouncer.wait_time(time.monotonic())
                timeout = POLL_MS / 1000 if wait is None else min(wait, POLL_MS / 1000)
                debouncer.add(events.next_changes(timeout), time.monotonic())
                batch = debouncer.take(time.monotonic())
                if batch and not stop.is_set():
                    self.handle(batch)
        finally:
            stop.set()
            events.join(timeout=2 * POLL_MS / 1000 + 1)
        self.log("Watch disabled")
