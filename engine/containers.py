"""Container records (immutable spec, written once at create) and observed state.

The record's labels are the Compose project's database: there is no other per-project file.
"""

from __future__ import annotations

import enum
import json
import os
import secrets
import shutil
from dataclasses import asdict, dataclass, field, replace
from datetime import UTC, datetime
from typing import Any

from engine.atomic_files import locked, write_json
from engine.errors import AlreadyExistsError, ContainerNotFoundError, InvalidArgumentError
from engine.layout import Layout
from engine.ports import PortSpec, PublishedPort, port_spec_from_json, published_from_json
from engine.runtime_spec import HealthcheckConfig


class ContainerStatus(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    DEAD = "dead"
    RESTARTING = "restarting"  # exited; the supervisor restarts it after the back-off delay


class MountKind(enum.Enum):
    VOLUME = "volume"
    BIND = "bind"
    TMPFS = "tmpfs"


@dataclass(frozen=True)
class MountSpec:
    kind: MountKind
    target: str
    source: str | None = None  # volume name or host path
    read_only: bool = False


@dataclass(frozen=True)
class NetworkAttachment:
    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None


@dataclass(frozen=True)
class ContainerSpec:
    """What a caller asks for; Docker's container create body, trimmed to what we support."""

    name: str
    image: str
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    env: dict[str, str] = field(default_factory=dict)
    labels: dict[str, str] = field(default_factory=dict)
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    mounts: tuple[MountSpec, ...] = ()
    networks: tuple[NetworkAttachment, ...] = ()
    network_mode: str = "bridge"
    memory_limit: int | None = None
    pids_limit: int | None = None
    stop_signal: str | None = None
    stop_timeout: float | None = None
    read_only: bool = False
    # Networking (issue 5): published ports, resolv.conf options, extra /etc/hosts lines.
    ports: tuple[PortSpec, ...] = ()
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # "name:address" (address may be "host-gateway")
    # Runtime (issue 4): security, resources, supervision. Docker's HostConfig names.
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    privileged: bool = False
    security_opt: tuple[str, ...] = ()
    group_add: tuple[str, ...] = ()
    domainname: str | None = None
    tmpfs: dict[str, str] = field(default_factory=dict)  # target -> "size=64m,mode=1777"
    mount_options: dict[str, str] = field(default_factory=dict)  # tmpfs mount target -> options
    shm_size: int | None = None
    sysctls: dict[str, str] = field(default_factory=dict)
    ulimits: dict[str, tuple[int, int]] = field(default_factory=dict)  # name -> (soft, hard)
    devices: tuple[str, ...] = ()  # "/dev/host[:/dev/container[:rwm]]"
    init: bool = False
    tty: bool = False
    stdin_open: bool = False
    cpus: float | None = None
    cpu_shares: int | None = None
    cpu_quota: int | None = None
    cpu_period: int | None = None
    cpuset_cpus: str | None = None
    cpuset_mems: str | None = None
    mem_reservation: int | None = None
    memswap_limit: int | None = None
    oom_kill_disable: bool = False
    oom_score_adj: int | None = None
    blkio_weight: int | None = None
    restart_policy: str = "no"  # no | always | unless-stopped | on-failure[:N]
    healthcheck: HealthcheckConfig | None = None
    log_max_size: int | None = None
    log_max_file: int | None = None
    pid_mode: str | None = None  # None/"private" | "host"
    ipc_mode: str | None = None  # None/"private"/"shareable" | "host" | "container:NAME"


@dataclass(frozen=True)
class ContainerRecord:
    id: str
    name: str
    created: str
    image_id: str
    spec: ContainerSpec


@dataclass(frozen=True)
class ContainerState:
    status: ContainerStatus = ContainerStatus.CREATED
    pid: int | None = None
    pid_start: int | None = None
    supervisor_pid: int | None = None
    supervisor_start: int | None = None
    exit_code: int | None = None
    started_at: str | None = None
    finished_at: str | None = None
    oom_killed: bool = False
    error: str | None = None
    addresses: dict[str, str] = field(default_factory=dict)
    ports: tuple[PublishedPort, ...] = ()
    # Supervision (issue 4).
    restart_count: int = 0
    stop_requested: bool = False  # set before a stop signal: the restart loop must not fight it
    paused: bool = False
    health_status: str | None = None  # starting | healthy | unhealthy (None: no healthcheck)
    health_failing_streak: int = 0
    health_log: list[dict[str, Any]] = field(default_factory=list)  # last 5 probe results


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spec_from_dict(raw: dict[str, Any]) -> ContainerSpec:
    raw = dict(raw)
    for key in ("command", "entrypoint"):
        if raw.get(key) is not None:
            raw[key] = tuple(raw[key])
    raw["mounts"] = tuple(
        MountSpec(MountKind(m["kind"]), m["target"], m["source"], m["read_only"])
        for m in raw["mounts"]
    )
    raw["ports"] = tuple(port_spec_from_json(p) for p in raw.get("ports", ()))
    for key in ("dns", "dns_search", "dns_opt", "extra_hosts"):
        raw[key] = tuple(raw.get(key, ()))
    for key in ("cap_add", "cap_drop", "security_opt", "group_add", "devices"):
        raw[key] = tuple(raw.get(key, ()))
    raw["ulimits"] = {k: (int(v[0]), int(v[1])) for k, v in (raw.get("ulimits") or {}).items()}
    if raw.get("healthcheck"):
        raw["healthcheck"] = HealthcheckConfig.from_dict(raw["healthcheck"])
    raw["networks"] = tuple(
        NetworkAttachment(n["network"], tuple(n["aliases"]), n["ipv4"]) for n in raw["networks"]
    )
    return ContainerSpec(**raw)


def _to_jsonable(value: Any) -> Any:
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, dict):
        return {k: _to_jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_to_jsonable(v) for v in value]
    return value


VALID_NAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


class ContainerStore:
    """Records under <root>/containers/<id>/: config.json (immutable) and state.json."""

    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def create(self, spec: ContainerSpec, image_id: str) -> ContainerRecord:
        if not spec.name or not set(spec.name) <= VALID_NAME or not spec.name[0].isalnum():
            raise InvalidArgumentError(f"invalid container name {spec.name!r}", subject=spec.name)
        with locked(self.layout.locks / "containers.lock"):
            if self.find(spec.name) is not None:
                raise AlreadyExistsError(
                    f'container name "{spec.name}" is already in use', subject=spec.name
                )
            record = ContainerRecord(
                id=secrets.token_hex(32),
                name=spec.name,
                created=now_rfc3339(),
                image_id=image_id,
                spec=spec,
            )
            directory = self.layout.container_dir(record.id)
            directory.mkdir(parents=True)
            self.save_state(record.id, ContainerState())
            write_json(directory / "config.json", _to_jsonable(asdict(record)))
        return record

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.layout.containers)
        except FileNotFoundError:
            return []
        return [n for n in names if (self.layout.containers / n / "config.json").exists()]

    def load(self, container_id: str) -> ContainerRecord:
        path = self.layout.container_dir(container_id) / "config.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ContainerNotFoundError(
                f"no such container: {container_id}", subject=container_id
            ) from None
        raw["spec"] = _spec_from_dict(raw["spec"])
        return ContainerRecord(**raw)

    def all(self) -> list[ContainerRecord]:
        records = []
        for container_id in self.ids():
            try:
                records.append(self.load(container_id))
            except ContainerNotFoundError:
                continue  # removed while we listed
        return records

    def find(self, name_or_id: str) -> ContainerRecord | None:
        records = self.all()
        for record in records:
            if record.name == name_or_id or record.id == name_or_id:
                return record
        matches = [r for r in records if len(name_or_id) >= 4 and r.id.startswith(name_or_id)]
        return matches[0] if len(matches) == 1 else None

    def get(self, name_or_id: str) -> ContainerRecord:
        record = self.find(name_or_id)
        if record is None:
            raise ContainerNotFoundError(f"no such container: {name_or_id}", subject=name_or_id)
        return record

    def load_state(self, container_id: str) -> ContainerState:
        path = self.layout.container_dir(container_id) / "state.json"
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return ContainerState(status=ContainerStatus.DEAD)
        raw["status"] = ContainerStatus(raw["status"])
        raw["ports"] = tuple(published_from_json(p) for p in raw.get("ports", ()))
        return ContainerState(**raw)

    def save_state(self, container_id: str, state: ContainerState) -> None:
        path = self.layout.container_dir(container_id) / "state.json"
        write_json(path, _to_jsonable(asdict(state)))

    def update_state(self, container_id: str, **changes: Any) -> ContainerState:
        with locked(self.layout.container_dir(container_id) / "state.lock"):
            state = replace(self.load_state(container_id), **changes)
            self.save_state(container_id, state)
            return state

    def delete(self, container_id: str) -> None:
        shutil.rmtree(self.layout.container_dir(container_id), ignore_errors=True)
