"""An in-memory stand-in for `engine.api.Engine` at the seam the orchestrator uses.

It speaks the engine's own types (ContainerRecord, ContainerState, ContainerInfo), so the
orchestration logic under test is the real one; the same scenarios run for real through the CLI
in tests/e2e/test_orchestration.py. Behaviour per service is scripted: how long a start takes,
whether it fails, when a one-shot exits and with which code, which health it reports.
"""

from __future__ import annotations

import dataclasses
import itertools
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import Any

from engine.api import ANONYMOUS_VOLUME_LABEL, ContainerInfo, ContainerSpec, ContainerStatus
from engine.containers import ContainerRecord, ContainerState, now_rfc3339
from engine.errors import (
    AlreadyExistsError,
    ContainerNotFoundError,
    ContainerStartError,
    InvalidStateError,
)
from engine.exec import ExecResult
from netdriver.api import Network


@dataclass
class Script:
    start_delay: float = 0.0
    fail_start: str | None = None
    exit_after: float | None = None  # a one-shot: exits this long after start
    exit_code: int = 0
    health: str | None = "healthy"  # reported while running (None: no healthcheck)
    healthy_after: float = 0.0  # "starting" until then
    exec_code: int = 0  # what every exec in its containers exits with (lifecycle hooks)


@dataclass
class _Container:
    record: ContainerRecord
    state: ContainerState
    started_mono: float | None = None


@dataclass
class FakeEngine:
    scripts: dict[str, Script] = field(default_factory=dict)
    images: Any = None
    timeline: list[tuple[float, str, str]] = field(default_factory=list)  # (t, action, name)
    _containers: dict[str, _Container] = field(default_factory=dict)
    _ids: Any = field(default_factory=itertools.count)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    concurrent_starts: int = 0
    max_concurrent_starts: int = 0

    def __post_init__(self) -> None:
        self.execs: list[tuple[str, tuple[str, ...], dict[str, Any]]] = []
        self.commits: list[tuple[str, Any]] = []
        self.stdin_reads: dict[str, int] = {}
        self.resizes: list[tuple[str, int, int]] = []
        self.extracted: list[tuple[str, str, dict[str, bytes | None]]] = []
        # (container name, member name, mode, uid, gid, keep_owner) of every member extracted
        self.extracted_headers: list[tuple[str, str, int, int, int, bool]] = []
        self.networks_made: dict[str, dict[str, str]] = {}
        self.network_records: dict[str, Network] = {}
        self.volumes_made: dict[str, dict[str, str]] = {}
        self.networks = SimpleNamespace(
            find_network=self.network_records.get,
            list_networks=lambda: list(self.network_records.values()),
        )
        self.volumes = SimpleNamespace(
            find=lambda n: (
                SimpleNamespace(name=n, labels=self.volumes_made[n])
                if n in self.volumes_made
                else None
            ),
            list=lambda: [
                SimpleNamespace(name=n, labels=labels) for n, labels in self.volumes_made.items()
            ],
        )
        # every reference is "present locally" (image policy: found, neither built nor pulled)
        self.images = SimpleNamespace(
            find=self.get_image, get=self.get_image, remove=lambda r: None
        )

    # ---- helpers ----------------------------------------------------------------------------
    def _log(self, action: str, name: str) -> None:
        with self._lock:
            self.timeline.append((time.monotonic(), action, name))

    def _script(self, record: ContainerRecord) -> Script:
        service = record.spec.labels.get("com.docker.compose.service", "")
        return self.scripts.get(service, Script())

    def _observe(self, c: _Container) -> ContainerState:
        script = self._script(c.record)
        state = c.state
        if state.status is ContainerStatus.RUNNING and c.started_mono is not None:
            age = time.monotonic() - c.started_mono
            if script.exit_after is not None and age >= script.exit_after:
                state = c.state = dataclasses.replace(
                    state,
                    status=ContainerStatus.EXITED,
                    exit_code=script.exit_code,
                    finished_at=now_rfc3339(),
                )
                self._log("exit", c.record.name)
            elif script.health is not None:
                health = "starting" if age < script.healthy_after else script.health
                state = c.state = dataclasses.replace(state, health_status=health)
        return state

    def _get(self, name_or_id: str) -> _Container:
        with self._lock:
            for c in self._containers.values():
                if name_or_id in (c.record.id, c.record.name):
                    return c
        raise ContainerNotFoundError(f"no such container: {name_or_id}", subject=name_or_id)

    def _info(self, c: _Container) -> ContainerInfo:
        return ContainerInfo(record=c.record, state=self._observe(c), log_path=Path("/dev/null"))

    # ---- the Engine surface -----------------------------------------------------------------
    def get_image(self, reference: str) -> Any:
        return SimpleNamespace(
            id="sha256:" + reference.encode().hex().ljust(64, "0")[:64],
            config=SimpleNamespace(volumes=(), entrypoint=None, cmd=None),
        )

    def ensure_network(
        self, name: str, labels: dict[str, str] | None = None, internal: bool = False,
        subnet: str | None = None, gateway: str | None = None, options: Any = None,
    ) -> Any:
        """Recorded as the driver would (an address plan of its own when none is asked), so
        that `up` can compare it with the file (compose.network_options.differences)."""
        self.networks_made[name] = dict(labels or {})
        record = Network(
            id=f"{len(self.network_records):064x}", name=name, bridge="pcbrfake",
            subnet=subnet or "172.31.0.0/16", gateway=gateway or "172.31.0.1",
            internal=internal, labels=dict(labels or {}),
            ip_range=getattr(options, "ip_range", None), mtu=getattr(options, "mtu", None),
            subnet6="fd00::/64" if getattr(options, "enable_ipv6", False) else None,
        )
        self.network_records[name] = record
        return record

    def remove_network(self, name: str) -> None:
        self.networks_made.pop(name, None)
        self.network_records.pop(name, None)

    def sweep_cgroup_orphans(self) -> list[str]:
        return []  # no kernel objects in the fake

    def sweep_build_orphans(self) -> list[str]:
        return []  # the fake runs no builds

    def sweep_network_orphans(self) -> list[str]:
        return []  # no kernel objects in the fake

    def ensure_volume(
        self, name: str, labels: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
    ) -> Any:
        self.volumes_made[name] = dict(labels or {})

    def remove_image(self, reference: str, force: bool = False) -> None:
        self.images.remove(reference)

    def remove_volume(self, name: str) -> None:
        self.volumes_made.pop(name, None)

    def remove_anonymous_volumes(self, info: ContainerInfo) -> list[str]:
        """The engine's rule (engine.anonymous_volumes) on the fake's volumes: the labelled
        ones the container mounts that no other container mounts."""
        others = {
            m.source for c in self.list_containers() if c.id != info.id
            for m in c.record.spec.mounts
        }
        removed = [
            m.source for m in info.record.spec.mounts
            if m.source and m.source not in others
            and self.volumes_made.get(m.source, {}).get(ANONYMOUS_VOLUME_LABEL) == "True"
        ]
        for name in removed:
            self.volumes_made.pop(name, None)
        return removed

    def prepare_to_start(self) -> None:
        self._log("prepare_to_start", "")

    def ensure_name_resolution(self) -> None:
        self._log("ensure_name_resolution", "")

    def create_container(
        self, spec: ContainerSpec, replacing: str | None = None
    ) -> ContainerInfo:
        with self._lock:
            if any(
                c.record.name == spec.name and c.record.id != replacing
                for c in self._containers.values()
            ):
                raise AlreadyExistsError(f'container name "{spec.name}" is already in use')
            cid = f"{next(self._ids):064x}"
            record = ContainerRecord(cid, spec.name, now_rfc3339(), "sha256:x", spec)
            self._containers[cid] = _Container(record, ContainerState())
        self._log("create", spec.name)
        return self.inspect(cid)

    def start_container(self, name_or_id: str) -> ContainerInfo:
        c = self._get(name_or_id)
        script = self._script(c.record)
        with self._lock:
            self.concurrent_starts += 1
            self.max_concurrent_starts = max(self.max_concurrent_starts, self.concurrent_starts)
        try:
            self._log("start", c.record.name)
            time.sleep(script.start_delay)
            if script.fail_start:
                c.state = dataclasses.replace(c.state, status=ContainerStatus.EXITED, exit_code=1)
                raise ContainerStartError(
                    f"container {c.record.name} failed to start: {script.fail_start}"
                )
            c.started_mono = time.monotonic()
            c.state = dataclasses.replace(
                c.state,
                status=ContainerStatus.RUNNING,
                started_at=now_rfc3339(),
                exit_code=None,
                health_status="starting" if script.health else None,
            )
            self._log("started", c.record.name)
        finally:
            with self._lock:
                self.concurrent_starts -= 1
        return self._info(c)

    @staticmethod
    def with_live_oom(info: ContainerInfo) -> ContainerInfo:
        return info

    def exec_in_container(
        self, name_or_id: str, argv: list[str] | tuple[str, ...], *,
        env: dict[str, str] | None = None, workdir: str | None = None,
        user: str | None = None, stdin: bytes | None = None, privileged: bool = False,
    ) -> ExecResult:
        """Logged as `exec <argv…>` (with `user=…` when given) on the timeline and recorded
        in `execs` (container name, argv, options); exits with the script's `exec_code`."""
        c = self._get(name_or_id)
        if self._observe(c).status is not ContainerStatus.RUNNING:
            raise InvalidStateError(f"container {c.record.name} is not running")
        self.execs.append((c.record.name, tuple(argv), {
            "env": env, "workdir": workdir, "user": user, "privileged": privileged,
        }))
        self._log(" ".join(["exec", *argv, *([f"user={user}"] if user else [])]), c.record.name)
        code = self._script(c.record).exec_code
        return ExecResult(code, "hook said no\n" if code else "")

    def stop_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        c = self._get(name_or_id)
        if self._observe(c).status is ContainerStatus.RUNNING:
            c.state = dataclasses.replace(c.state, status=ContainerStatus.EXITED, exit_code=137)
            self._log("stop", c.record.name)
        return self._info(c)

    def stop_containers(
        self, containers: Sequence[str | ContainerInfo], timeout: float | None = None, *,
        count_stops: bool = True, remove: bool = False,
    ) -> list[ContainerInfo]:
        # remove=True: the real engine's supervisors remove the records; here remove_container
        # (which the orchestrator calls next either way) does it.
        return [self.stop_container(c if isinstance(c, str) else c.id, timeout)
                for c in containers]

    def restart_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        self.stop_container(name_or_id, timeout)
        return self.start_container(name_or_id)

    def kill_container(self, name_or_id: str, sig: str = "SIGKILL") -> None:
        self.stop_container(name_or_id)

    def record_attach(self, name_or_id: str) -> None:
        c = self._get(name_or_id)
        c.state = dataclasses.replace(c.state, attach_count=c.state.attach_count + 1)
        self._log("attach", c.record.name)

    def remove_container(
        self, name_or_id: str, force: bool = False, *, count_stop: bool = False,
        removed_by_supervisor: bool = False,
    ) -> None:
        c = self._get(name_or_id)
        self.stop_container(c.record.id)
        with self._lock:
            del self._containers[c.record.id]
        self._log("remove", c.record.name)

    def inspect(self, name_or_id: str) -> ContainerInfo:
        return self._info(self._get(name_or_id))

    def find_container(self, name_or_id: str) -> ContainerInfo | None:
        try:
            return self.inspect(name_or_id)
        except ContainerNotFoundError:
            return None

    def list_containers(self, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        with self._lock:
            found = list(self._containers.values())
        wanted = labels or {}
        return [
            self._info(c)
            for c in found
            if all(c.record.spec.labels.get(k) == v for k, v in wanted.items())
        ]

    def wait_container(self, name_or_id: str, timeout: float | None = None) -> int | None:
        deadline = time.monotonic() + (timeout if timeout is not None else 1e9)
        while time.monotonic() < deadline:
            info = self.inspect(name_or_id)
            if info.status is not ContainerStatus.RUNNING:
                return info.state.exit_code
            time.sleep(0.01)
        return None

    def extract_into(
        self, name_or_id: str, dest: str, feed: Any, *,
        rename: str | None = None, keep_owner: bool = False,
    ) -> None:
        """The tar `feed` writes, kept in `extracted` as (container name, dest, member names
        with their file contents: None for a directory), their owners and modes in
        `extracted_headers`."""
        import io
        import tarfile

        c = self._get(name_or_id)
        buffer = io.BytesIO()
        feed(buffer)
        buffer.seek(0)
        members: dict[str, bytes | None] = {}
        with tarfile.open(fileobj=buffer, mode="r|") as tar:
            for member in tar:
                data = tar.extractfile(member) if member.isfile() else None
                members[member.name] = data.read() if data is not None else None
                self.extracted_headers.append(
                    (c.record.name, member.name, member.mode, member.uid, member.gid, keep_owner)
                )
        self.extracted.append((c.record.name, dest, members))
        self._log("extract", c.record.name)

    def commit_image(self, name_or_id: str, request: Any) -> Any:
        """Recorded in `commits` as (container name, request); the image id is made up."""
        request.validate()
        c = self._get(name_or_id)
        self.commits.append((c.record.name, request))
        self._log("commit", c.record.name)
        return SimpleNamespace(id=f"sha256:{len(self.commits):064x}")

    def resize_tty(self, name_or_id: str, rows: int, columns: int) -> None:
        """Recorded in `resizes` as (container name, rows, columns)."""
        c = self._get(name_or_id)
        if not c.record.spec.tty:
            raise InvalidStateError(f"container {c.record.name} has no tty")
        self.resizes.append((c.record.name, rows, columns))

    def open_running_stdin(self, name_or_id: str) -> int:
        """A pipe's write end; what is written is read from `stdin_reads[name]`'s end."""
        import os

        c = self._get(name_or_id)
        if not c.record.spec.stdin_open:
            raise InvalidStateError(f"container {c.record.name} has no stdin to attach to")
        read_end, write_end = os.pipe()
        self.stdin_reads[c.record.name] = read_end
        return write_end

    # ---- for assertions ---------------------------------------------------------------------
    def first(self, action: str, name: str) -> float:
        return next(t for t, a, n in self.timeline if a == action and n == name)

    def actions(self, action: str) -> list[str]:
        return [n for _, a, n in self.timeline if a == action]
