"""Container records (immutable spec, written once at create) and observed state.

The record's labels are the Compose project's database: there is no other per-project file.
"""

from __future__ import annotations

import contextlib
import enum
import fcntl
import json
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path

from engine.atomic_files import encode_json, json_default, locked, write_json
from engine.errors import (
    AlreadyExistsError,
    ContainerNotFoundError,
    InvalidArgumentError,
    StartClaimedError,
)
from engine.layout import Layout
from engine.ports import PortSpec, PublishedPort, port_spec_from_json, published_from_json
from engine.processes import gone_reason, is_alive, start_time
from engine.runtime_spec import HealthcheckConfig
from engine.tree_removal import remove_tree

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class ContainerStatus(enum.Enum):
    CREATED = "created"
    RUNNING = "running"
    EXITED = "exited"
    DEAD = "dead"
    RESTARTING = "restarting"  # exited; the supervisor restarts it after the back-off delay

    @property
    def active(self) -> bool:
        """A supervisor owns it: running, or waiting to restart (what `stop` must end)."""
        return self in (ContainerStatus.RUNNING, ContainerStatus.RESTARTING)


class MountKind(enum.Enum):
    VOLUME = "volume"
    BIND = "bind"
    TMPFS = "tmpfs"


@dataclass(frozen=True)
class MountSpec:
    """A mount as the caller asks for it (Docker's Mounts entry): a volume stays a name here
    and becomes a host path only at start, in the runtime spec's BindMounts."""

    kind: MountKind
    target: str
    source: str | None = None  # volume name or host path
    read_only: bool = False
    create_host_path: bool = False  # bind: make a missing source directory (else an error)
    # bind: shared|slave|private|rshared|rslave|rprivate; None = Docker's default (rprivate)
    propagation: str | None = None
    no_copy: bool = False  # volume: `volume.nocopy`, no copy-up of the image's files into it


@dataclass(frozen=True)
class NetworkAttachment:
    """A network the container asks to join, with its aliases and requested addresses; start adds
    the container's name and short id to the names it answers to (runtime_spec.NetworkRequest)."""

    network: str
    aliases: tuple[str, ...] = ()
    ipv4: str | None = None
    ipv6: str | None = None
    mac: str | None = None  # None: derived from the address (netdriver.ipam.mac_for)
    gw_priority: int = 0  # the default route goes through the highest (engine.supervisor)


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
    expose: tuple[str, ...] = ()  # "80/tcp": Docker's ExposedPorts beyond the image's and `ports`
    dns: tuple[str, ...] = ()
    dns_search: tuple[str, ...] = ()
    dns_opt: tuple[str, ...] = ()
    extra_hosts: tuple[str, ...] = ()  # "name:address" (address may be "host-gateway")
    links: tuple[str, ...] = ()  # "service[:alias]": alias resolves for this container only
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
    # Docker's StdinOnce: stdin is what the attached client (`run`) writes into the record's
    # stdin FIFO (Engine.open_stdin), and ends when the client closes it or goes away.
    stdin_once: bool = False
    # Docker's AutoRemove (`run --rm`): its supervisor removes it once it has exited for good
    # and no attached client holds it (Engine.hold_attached); a client removes it itself.
    auto_remove: bool = False
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
    # "NAME[:ro|:rw]": mount what container NAME mounts (resolved into `mounts` at create).
    volumes_from: tuple[str, ...] = ()
    mem_swappiness: int | None = None  # 0-100 (v1 memory.swappiness; v2 has none: None)
    cgroup_parent: str | None = None  # the container's cgroup goes under it (default ours)
    device_cgroup_rules: tuple[str, ...] = ()  # "c 1:3 rwm" more devices allowed
    uts_mode: str | None = None  # None/"private" | "host"
    cgroupns_mode: str | None = None  # None/"private" | "host"


@dataclass(frozen=True)
class ContainerRecord:
    """The container as created: written once to config.json and never changed, so a process
    may cache it by id; everything that changes lives in ContainerState."""

    id: str
    name: str
    created: str
    image_id: str
    spec: ContainerSpec


@dataclass(frozen=True)
class ContainerState:
    """What has been observed of a container since create (state.json): rewritten by the
    supervisor and commands on every change, re-derived from liveness when missing or torn."""

    status: ContainerStatus = ContainerStatus.CREATED
    pid: int | None = None
    pid_start: int | None = None
    supervisor_pid: int | None = None
    supervisor_start: int | None = None
    # A first start under way (ContainerStore.claim_start): the supervisor named above owns
    # it until it records the container running or the start failed. The status stays what
    # Docker shows meanwhile (created, or exited); a start whose supervisor is dead is over.
    starting: bool = False
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
    # `down`: the supervisor removes the record once the container is down, in parallel with
    # the others' (each removal is ~2 ms of Python that the CLI would run one at a time).
    remove_requested: bool = False
    paused: bool = False
    health_status: str | None = None  # starting | healthy | unhealthy (None: no healthcheck)
    health_failing_streak: int = 0
    health_log: list[dict[str, Any]] = field(default_factory=list)  # last 5 probe results
    # Counted for `events` (a daemonless engine is observed by polling): signals sent by
    # kill/stop (the last few numbers kept), and stops completed.
    kill_count: int = 0
    recent_signals: list[int] = field(default_factory=list)
    stop_count: int = 0
    # Runs ended (Docker's `die`, with the last few exit codes: a restart policy may start the
    # next run before a poller looks) and restarts asked for (Docker's `restart`, after `start`).
    die_count: int = 0
    recent_exit_codes: list[int] = field(default_factory=list)
    restart_requests: int = 0
    # Commits of the container (Docker's `commit`), the last few with their event attributes.
    commit_count: int = 0
    recent_commits: list[dict[str, str]] = field(default_factory=list)
    # Freezes and thaws (Docker's `pause` / `unpause`): a commit's are over before a poller
    # may look, so the paused flag alone does not show them.
    pause_count: int = 0
    unpause_count: int = 0
    # Clients attached to its output (Docker's `attach`: `attach`, an attached `up`, `run`),
    # with when the last few attached (RFC 3339), for `events --since` to replay them.
    attach_count: int = 0
    recent_attaches: list[str] = field(default_factory=list)


def now_rfc3339() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _spec_from_dict(raw: dict[str, Any]) -> ContainerSpec:
    raw = dict(raw)
    for key in ("command", "entrypoint"):
        if raw.get(key) is not None:
            raw[key] = tuple(raw[key])
    raw["mounts"] = tuple(
        MountSpec(MountKind(m["kind"]), m["target"], m["source"], m["read_only"],
                  bool(m.get("create_host_path", False)), m.get("propagation"),
                  bool(m.get("no_copy", False)))
        for m in raw["mounts"]
    )
    raw["ports"] = tuple(port_spec_from_json(p) for p in raw.get("ports", ()))
    for key in ("expose", "dns", "dns_search", "dns_opt", "extra_hosts", "links"):
        raw[key] = tuple(raw.get(key, ()))
    for key in ("cap_add", "cap_drop", "security_opt", "group_add", "devices", "volumes_from",
                "device_cgroup_rules"):
        raw[key] = tuple(raw.get(key, ()))
    raw["ulimits"] = {k: (int(v[0]), int(v[1])) for k, v in (raw.get("ulimits") or {}).items()}
    if raw.get("healthcheck"):
        raw["healthcheck"] = HealthcheckConfig.from_dict(raw["healthcheck"])
    raw["networks"] = tuple(
        NetworkAttachment(n["network"], tuple(n["aliases"]), n["ipv4"], n.get("ipv6"),
                          n.get("mac"), int(n.get("gw_priority") or 0))
        for n in raw["networks"]
    )
    return ContainerSpec(**raw)


VALID_NAME = set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-")


HEX = set("0123456789abcdef")
NAMES_DIR = "container-names"  # beside containers/, which `down` must leave empty


def _is_name(text: str) -> bool:
    """A string that can be an index entry (never a path that leaves the index)."""
    return bool(text) and set(text) <= VALID_NAME and text[0].isalnum()


class ContainerStore:
    """Records under <root>/containers/<id>/: config.json (immutable) and state.json.

    A name index <root>/container-names/<name> (a symlink to the id) makes a lookup by name one
    readlink instead of loading every record: `up` of n services did O(n^2) record loads.
    The record is the truth, the index a hint: create writes the entry, then renames the
    complete record into place, so a crash leaves at worst an entry whose record is missing,
    which counts as free, and a hidden temp dir that `sweep` removes.
    """

    def __init__(self, layout: Layout) -> None:
        self.layout = layout
        self.names = layout.root / NAMES_DIR
        self._index_ready = False
        self._swept_new = False  # temp dirs of dead writers swept once per store (at create)
        self._swept_all = False  # and everything half-made once per store (at the first list)
        # Records are immutable and ids never reused: one parsed copy per id serves every later
        # load of this process (after a check that the record is still there).
        self._cache: dict[str, ContainerRecord] = {}
        self._pruned_removed = 0.0  # when containers-removed/ was last pruned

    def _lock(self) -> contextlib.AbstractContextManager[None]:
        return locked(self.layout.locks / "containers.lock")

    def _ensure_index(self) -> None:
        """Build the index once for a data root made before it existed (all records' names),
        in a temp dir renamed into place: the index dir existing means it is complete."""
        if self._index_ready or self.names.is_dir():
            self._index_ready = True
            return
        with self._lock():
            if not self.names.is_dir():
                building = self.names.with_name(f".{NAMES_DIR}.{os.getpid()}.tmp")
                remove_tree(building)
                building.mkdir(parents=True)
                for record in self._records():
                    with contextlib.suppress(FileExistsError):
                        os.symlink(record.id, building / _entry_name(record.name))
                os.rename(building, self.names)
        self._index_ready = True

    def _indexed_id(self, name: str) -> str | None:
        """The id the index names for `name` when its record exists; None otherwise."""
        try:
            container_id = os.readlink(self.names / _entry_name(name))
        except OSError:
            return None
        if not (self.layout.container_dir(container_id) / "config.json").exists():
            return None  # orphaned by a crash between the entry and the record
        return container_id

    def create(
        self, spec: ContainerSpec, image_id: str, replacing: str | None = None
    ) -> ContainerRecord:
        """The record is built in a hidden temp dir named after its writer and renamed into
        place complete: a CLI killed half-way leaves only a temp dir the next caller sweeps
        (its writer is dead), never a record without config.json.

        `replacing`: the id of a container (stopped, about to be removed) whose name the new
        one takes over, as Docker's recreate does (create under a temporary name, remove the
        old, rename): until the old record is removed both exist, so a caller killed between
        the two leaves the old record, and whatever it references, for the next one."""
        if not _is_name(spec.name):
            raise InvalidArgumentError(f"invalid container name {spec.name!r}", subject=spec.name)
        self._ensure_index()
        with self._lock():
            if not self._swept_new:
                self._sweep_locked(legacy=False)
            entry = self.names / _entry_name(spec.name)
            holder = self._indexed_id(spec.name)
            if holder is not None and holder != replacing:
                raise AlreadyExistsError(
                    f'container name "{spec.name}" is already in use', subject=spec.name
                )
            if holder is None:
                with contextlib.suppress(FileNotFoundError):
                    entry.unlink()  # an orphaned entry: its name is free
            record = ContainerRecord(
                id=os.urandom(32).hex(),  # as secrets.token_hex, without loading OpenSSL
                name=spec.name,
                created=now_rfc3339(),
                image_id=image_id,
                spec=spec,
            )
            building = self.layout.containers / f"{_NEW}{record.id}.{_writer_tag()}"
            # root's alone, as Docker's (0710): the writable layer under it holds what the
            # container writes, secrets copied in among it, readable only through the container
            building.mkdir(mode=0o700, parents=True)
            # Only the record, fsynced (it must survive a power cut: it is the project's
            # database); no state.json until the first change (see load_state, save_state).
            write_json(building / "config.json", record, default=json_default)
            if holder is None:
                # Entry before rename: a record in place always has its name entry (no
                # duplicate names); a crash between the two leaves a dangling entry, which
                # counts as free.
                os.symlink(record.id, entry)
                os.rename(building, self.layout.container_dir(record.id))
            else:
                # Record before entry: a crash between the two leaves the name with the old
                # record (the new one is an extra replica the next `up` removes).
                os.rename(building, self.layout.container_dir(record.id))
                switching = entry.with_name(f".{spec.name}.{record.id[:12]}")
                with contextlib.suppress(FileNotFoundError):
                    switching.unlink()
                os.symlink(record.id, switching)
                os.replace(switching, entry)
        self._cache[record.id] = record
        return record

    def sweep(self) -> int:
        """Remove what interrupted creates and deletes left in containers/ (hidden temp dirs of
        dead writers, record dirs without config.json) and their dangling name entries."""
        with self._lock():
            return self._sweep_locked(legacy=True)

    def _sweep_locked(self, legacy: bool) -> int:
        self._swept_new = True
        try:
            entries = os.listdir(self.layout.containers)
        except FileNotFoundError:
            return 0
        removed = 0
        for entry in entries:
            path = self.layout.containers / entry
            if entry.startswith((_NEW, _GONE)):
                rest = entry[len(_NEW if entry.startswith(_NEW) else _GONE):]
                container_id, _, tag = rest.partition(".")
                if _writer_alive(tag):
                    continue
            elif legacy and not (path / "config.json").exists() and path.is_dir():
                container_id = entry
                if any(_writer_alive(_tmp_writer(n)) for n in _listdir(path)):
                    continue  # a write of a live process (old-style create) is in progress
            else:
                continue
            name = _name_in(path / "config.json")
            remove_tree(path)
            removed += 1
            self._drop_entry(name, container_id)
        return removed

    def _drop_entry(self, name: str | None, container_id: str) -> None:
        """Unlink the name entry pointing at `container_id` (caller holds the lock)."""
        candidates = [_entry_name(name)] if name and _is_name(name) else _listdir(self.names)
        for candidate in candidates:
            with contextlib.suppress(OSError):
                if os.readlink(self.names / candidate) == container_id:
                    (self.names / candidate).unlink()

    def ids(self) -> list[str]:
        try:
            names = os.listdir(self.layout.containers)
        except FileNotFoundError:
            return []
        return [
            n for n in names
            if not n.startswith(".") and (self.layout.containers / n / "config.json").exists()
        ]

    def load(self, container_id: str) -> ContainerRecord:
        path = self.layout.container_dir(container_id) / "config.json"
        cached = self._cache.get(container_id)
        if cached is not None:
            if os.path.exists(path):
                return cached
            del self._cache[container_id]
        try:
            raw = json.loads(path.read_text())
        except (FileNotFoundError, NotADirectoryError):
            raise ContainerNotFoundError(
                f"no such container: {container_id}", subject=container_id
            ) from None
        raw["spec"] = _spec_from_dict(raw["spec"])
        record = self._cache[container_id] = ContainerRecord(**raw)
        return record

    def all(self) -> list[ContainerRecord]:
        if not self._swept_all:
            self._swept_all = True
            self.sweep()
        return self._records()

    def _records(self) -> list[ContainerRecord]:
        records = []
        for container_id in self.ids():
            try:
                records.append(self.load(container_id))
            except ContainerNotFoundError:
                continue  # removed while we listed
        return records

    def _load_or_none(self, container_id: str) -> ContainerRecord | None:
        try:
            return self.load(container_id)
        except ContainerNotFoundError:
            return None  # removed since we looked

    def find(self, name_or_id: str) -> ContainerRecord | None:
        """By full id, name, or unique id prefix (4+ characters), like Docker."""
        if _is_hex_id(name_or_id):  # the usual call from within (by id): no index look-up
            found = self._load_or_none(name_or_id)
            if found is not None:
                return found
        if _is_name(name_or_id):
            self._ensure_index()
            container_id = self._indexed_id(name_or_id)
            if container_id is not None:
                return self._load_or_none(container_id)
        if len(name_or_id) < 4 or not set(name_or_id) <= HEX:
            return None
        if len(name_or_id) == 64:
            return self._load_or_none(name_or_id)
        matches = [i for i in self.ids() if i.startswith(name_or_id)]
        return self._load_or_none(matches[0]) if len(matches) == 1 else None

    def get(self, name_or_id: str) -> ContainerRecord:
        record = self.find(name_or_id)
        if record is None:
            raise ContainerNotFoundError(f"no such container: {name_or_id}", subject=name_or_id)
        return record

    def load_state(self, container_id: str) -> ContainerState:
        """A record has no state.json until its first state change (create writes only the
        record): it is `created` then, and `dead` when the record is gone too."""
        directory = self.layout.container_dir(container_id)
        state = self._parse_state(directory / "state.json")
        if state is not None:
            return state
        if os.path.exists(directory / "config.json"):
            return ContainerState()
        return ContainerState(status=ContainerStatus.DEAD)

    @staticmethod
    def _parse_state(path: Path) -> ContainerState | None:
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            return None
        except ValueError:  # torn by a power cut (it is not fsynced): nothing of it runs now
            return ContainerState(status=ContainerStatus.DEAD)
        raw["status"] = ContainerStatus(raw["status"])
        raw["ports"] = tuple(published_from_json(p) for p in raw.get("ports", ()))
        return ContainerState(**raw)

    def save_state(self, container_id: str, state: ContainerState) -> None:
        """Atomic but not fsynced: state.json is observed state, re-derived from liveness (a
        power cut kills every container, and a torn file reads as dead), while supervisors
        write it on every change. A removed container's state has nowhere to go: its directory
        is not recreated (a supervisor recording an exit after `rm`)."""
        path = self.layout.container_dir(container_id) / "state.json"
        with contextlib.suppress(FileNotFoundError):
            write_json(path, state, durable=False, make_parent=False, default=json_default)

    @contextlib.contextmanager
    def _state_lock(self, container_id: str) -> Iterator[None]:
        """The record's state lock; without a lock when the record is gone (nothing left to
        protect, and taking it would recreate the directory)."""
        with contextlib.ExitStack() as stack:
            with contextlib.suppress(FileNotFoundError):
                path = self.layout.container_dir(container_id) / "state.lock"
                stack.enter_context(locked(path, make_parent=False))
            yield

    def update_state(self, container_id: str, **changes: Any) -> ContainerState:
        with self._state_lock(container_id):
            state = replace(self.load_state(container_id), **changes)
            self.save_state(container_id, state)
            return state

    def claim_start(
        self, container_id: str, owner_pid: int, owner_start: int | None,
        release: Callable[[ContainerState], None] | None = None,
    ) -> None:
        """Make `owner_pid` (a supervisor) the one that starts the container, in one locked
        write: two `up`s (or one killed half-way and the next) must not launch two
        supervisors, two copies of the command on one volume. Raises StartClaimedError when
        another live supervisor starts or runs it. A supervisor's own restart passes.
        `release`: what a dead owner's start or run left (engine.leftovers), given back under
        the lock before the take-over, so the new start never shares them."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            owned = state.starting or state.status.active
            if owned and (state.supervisor_pid, state.supervisor_start) == (owner_pid, owner_start):
                return  # its own restart (or claimed already)
            if owned and is_alive(state.supervisor_pid, state.supervisor_start):
                raise StartClaimedError(
                    f"container {container_id[:12]} is being started by supervisor "
                    f"{state.supervisor_pid}", subject=container_id,
                )
            if owned and release is not None:
                release(state)
            # A run whose supervisor died unobserved is over: not `running` under a new owner.
            status = ContainerStatus.EXITED if state.status.active else state.status
            self.save_state(container_id, replace(
                state, status=status, starting=True, supervisor_pid=owner_pid,
                supervisor_start=owner_start, pid=None, addresses={}, ports=(),
            ))

    def end_dead_start(
        self, container_id: str, release: Callable[[ContainerState], None]
    ) -> ContainerState:
        """A start whose supervisor died half-way: `release` what it may have made, and record
        the start over, under the state lock, so that no new start (claim_start) makes its
        own in the meantime, to be undone by this release."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            if not state.starting or is_alive(state.supervisor_pid, state.supervisor_start):
                return state  # ended meanwhile, or another (live) supervisor's now
            release(state)
            state = replace(
                state, starting=False, addresses={}, ports=(),
                error="the container's supervisor died while starting it",
            )
            self.save_state(container_id, state)
            return state

    def end_unobserved_run(
        self, container_id: str, release: Callable[[ContainerState], None], finished_at: str
    ) -> ContainerState:
        """A run whose supervisor ended without recording its exit (killed, a crash, a
        reboot): `release` its leftovers and record it `exited (255)` with the reason, all
        under the state lock, where the supervisor writes its exit: a supervisor that records
        its exit meanwhile is not overwritten."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            gone = state.status.active and gone_reason(state.supervisor_pid, state.supervisor_start)
            if not gone:
                return state
            release(state)
            state = replace(
                state, status=ContainerStatus.EXITED, exit_code=255, pid=None, addresses={},
                ports=(), finished_at=finished_at,
                error=f"the container's supervisor {state.supervisor_pid} ended without "
                      f"recording its exit ({gone})",
            )
            self.save_state(container_id, state)
            return state

    def request_stop(
        self, container_id: str, number: int, *, remove: bool = False
    ) -> tuple[ContainerState, bool]:
        """Mark the stop requested and, when the init runs (and is not frozen: the caller thaws
        it first and counts the signal then), count the signal the caller is about to send, in
        one locked write: the mark must precede the signal (the supervisor's restart loop reads
        it), and `down` of 50 containers did two writes here per container. Returns the new
        state and whether the signal is to be sent now."""
        with self._state_lock(container_id):
            state = replace(
                self.load_state(container_id), stop_requested=True, remove_requested=remove
            )
            send = bool(state.pid and not state.paused and is_alive(state.pid, state.pid_start))
            if send:
                state = replace(
                    state,
                    kill_count=state.kill_count + 1,
                    recent_signals=[*state.recent_signals, number][-RECENT_SIGNALS:],
                )
            self.save_state(container_id, state)
            return state, send

    def record_signal(self, container_id: str, number: int) -> None:
        """Count a signal sent by kill/stop (Docker's `kill` event)."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            signals = [*state.recent_signals, number][-RECENT_SIGNALS:]
            self.save_state(container_id, replace(
                state, kill_count=state.kill_count + 1, recent_signals=signals
            ))

    def record_exit(self, container_id: str, exit_code: int, **changes: Any) -> ContainerState:
        """A run ended (Docker's `die` event): count it, keep its exit code, apply `changes`."""
        with self._state_lock(container_id):
            state = _exited(self.load_state(container_id), exit_code, **changes)
            self.save_state(container_id, state)
            return state

    def hold_attached(self, container_id: str) -> int:
        """A shared lock on the record's ATTACHED_LOCK, held by a client that removes the
        container itself once it has read its output (`run --rm`); released with the
        descriptor or the client's death. Returns the descriptor."""
        fd = self._attached_lock(container_id)
        fcntl.flock(fd, fcntl.LOCK_SH)
        return fd

    def remove_if_unattached(self, container_id: str, *, wait: bool = False) -> bool:
        """AutoRemove, once the container exited for good: remove the record unless a client
        holds it (`hold_attached`: that client removes it itself) — with `wait`, once the
        client is gone, if it did not. False when a client holds it and `wait` is off."""
        try:
            fd = self._attached_lock(container_id)
        except FileNotFoundError:
            return True  # removed already
        try:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
            except BlockingIOError:
                return False
            if (self.layout.container_dir(container_id) / "config.json").exists():
                self.delete(container_id, prune=False)
            return True
        finally:
            os.close(fd)

    def _attached_lock(self, container_id: str) -> int:
        path = self.layout.container_dir(container_id) / ATTACHED_LOCK
        return os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)

    def remove_after_exit(self, container_id: str, exit_code: int, **changes: Any) -> None:
        """`record_exit`, the stop counted and `delete`, with one write of the state (the kept
        one): what a supervisor asked to remove its container (`down`) does at the end."""
        with self._state_lock(container_id):
            state = _exited(self.load_state(container_id), exit_code, **changes)
        final = replace(state, stop_count=state.stop_count + 1)
        self.delete(container_id, prune=False, final=final)

    def record_restart(self, container_id: str) -> None:
        """Count a restart asked for by a user (Docker's `restart` event, after `start`)."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            self.save_state(container_id, replace(
                state, restart_requests=state.restart_requests + 1
            ))

    def record_commit(self, container_id: str, attributes: dict[str, str]) -> None:
        """Count a commit of the container (Docker's `commit` event, with `attributes`)."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            commits = [*state.recent_commits, attributes][-RECENT_SIGNALS:]
            self.save_state(container_id, replace(
                state, commit_count=state.commit_count + 1, recent_commits=commits
            ))

    def record_pause(self, container_id: str, paused: bool) -> None:
        """The container frozen (`paused`) or thawed, counted for Docker's pause/unpause."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            if paused:
                state = replace(state, paused=True, pause_count=state.pause_count + 1)
            else:
                state = replace(state, paused=False, unpause_count=state.unpause_count + 1)
            self.save_state(container_id, state)

    def record_attach(self, container_id: str) -> None:
        """Count a client attaching to the container (Docker's `attach` event), and when."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            attaches = [*state.recent_attaches, now_rfc3339()][-RECENT_SIGNALS:]
            self.save_state(container_id, replace(
                state, attach_count=state.attach_count + 1, recent_attaches=attaches
            ))

    def record_stop(self, container_id: str) -> None:
        """Count a completed stop (Docker's `stop` event, after `die`)."""
        with self._state_lock(container_id):
            state = self.load_state(container_id)
            self.save_state(container_id, replace(state, stop_count=state.stop_count + 1))

    def removed_state(self, container_id: str) -> ContainerState | None:
        """The last state of a container deleted less than REMOVED_KEEP_SECONDS ago: what it
        went through before it went (its exit code) stays observable by a poller."""
        path = self.layout.root / REMOVED_DIR / f"{container_id}.json"
        if not _is_hex_id(container_id) or not path.exists():
            return None
        return self._parse_state(path)

    def _keep_removed_state(
        self, gone: Path, container_id: str, count_stop: bool, final: ContainerState | None
    ) -> None:
        """``final``: the state to keep, as the caller has it (else the one on disk, with the
        stop counted when ``count_stop``)."""
        removed = self.layout.root / REMOVED_DIR
        with contextlib.suppress(OSError):
            removed.mkdir(exist_ok=True)
            kept = removed / f"{container_id}.json"
            source = gone / "state.json"
            state = final
            if state is None and count_stop:
                state = self._parse_state(source)
                state = None if state is None else replace(state, stop_count=state.stop_count + 1)
            if state is None:
                os.replace(source, kept)
                os.utime(kept)
            elif gone.name.startswith(_GONE) and source.exists():
                # The stop is counted in the state kept, not written twice. Renamed out of
                # containers/, the file is this call's alone: rewritten in place (a new file
                # costs an inode, ~10x the CPU), then moved; the write updates its mtime.
                _overwrite(source, encode_json(state, default=json_default))
                os.replace(source, kept)
            else:  # removed in place (its dir could not be renamed): others may read it
                write_json(kept, state, durable=False, make_parent=False, default=json_default)

    def prune_removed(self) -> None:
        """Forget the kept states older than REMOVED_KEEP_SECONDS (at most every 15 s per
        store). Left to the CLI: a supervisor removing its own record would list them all
        again in each of 50 processes."""
        removed = self.layout.root / REMOVED_DIR
        now = time.time()
        if now - self._pruned_removed < REMOVED_KEEP_SECONDS / 4:
            return  # pruned a moment ago: one listing per batch of deletes, not one per delete
        self._pruned_removed = now
        horizon = now - REMOVED_KEEP_SECONDS
        for entry in _listdir(removed):
            with contextlib.suppress(OSError):
                if (removed / entry).stat().st_mtime < horizon:
                    (removed / entry).unlink()

    def delete(
        self, container_id: str, count_stop: bool = False, prune: bool = True,
        final: ContainerState | None = None,
    ) -> None:
        """Rename the record out of containers/ first (atomic), then remove it: a delete
        killed half-way leaves a hidden dir the next sweep finishes, never half a record.
        ``count_stop``: a stop that just completed is counted here, in the state kept for
        `events` (record_stop's work, without a write of a state about to be removed)."""
        directory = self.layout.container_dir(container_id)
        cached = self._cache.pop(container_id, None)
        name = cached.name if cached is not None else _name_in(directory / "config.json")
        gone = self.layout.containers / f"{_GONE}{container_id}.{_writer_tag()}"
        try:
            os.rename(directory, gone)
        except FileNotFoundError:
            return
        except OSError:
            gone = directory  # (e.g. EBUSY) remove in place
        self._keep_removed_state(gone, container_id, count_stop, final)
        if prune:
            self.prune_removed()
        remove_tree(gone)
        if name is None or not _is_name(name):
            return
        with self._lock():  # the name may already be reused by a newer create: keep that one
            entry = self.names / _entry_name(name)
            with contextlib.suppress(OSError):
                if os.readlink(entry) == container_id:
                    entry.unlink()


RECENT_SIGNALS = 8


def _exited(state: ContainerState, exit_code: int, **changes: Any) -> ContainerState:
    """`state` after a run ended (Docker's `die`): counted, with its exit code kept."""
    codes = [*state.recent_exit_codes, exit_code][-RECENT_SIGNALS:]
    return replace(
        state, exit_code=exit_code, die_count=state.die_count + 1, recent_exit_codes=codes,
        **changes,
    )


ATTACHED_LOCK = "attached.lock"  # in a record: shared-locked by an attached `run --rm` client
REMOVED_DIR = "containers-removed"  # <id>.json: last state of a recently deleted container
REMOVED_KEEP_SECONDS = 60.0
_NEW = ".new-"  # containers/.new-<id>.<pid>-<start>: a create in progress
_GONE = ".gone-"  # containers/.gone-<id>.<pid>-<start>: a delete in progress


def _writer_tag() -> str:
    """This process, recognisable after pid reuse: pid and /proc start time (read once per
    process)."""
    pid = os.getpid()
    tag = _WRITER_TAGS.get(pid)
    if tag is None:
        tag = _WRITER_TAGS[pid] = f"{pid}-{start_time(pid) or 0}"
    return tag


_WRITER_TAGS: dict[int, str] = {}
os.register_at_fork(after_in_child=_WRITER_TAGS.clear)  # a child may reuse an ancestor's pid


def _writer_alive(tag: str | None) -> bool:
    if not tag:
        return False
    pid_text, _, start_text = tag.partition("-")
    if not pid_text.isdigit():
        return False
    started = int(start_text) if start_text.isdigit() and start_text != "0" else None
    return is_alive(int(pid_text), started)


def _tmp_writer(filename: str) -> str | None:
    """The pid in an atomic write's temp name (`.state.json.<pid>.tmp`), or None."""
    parts = filename.split(".")
    if filename.startswith(".") and len(parts) >= 3 and parts[-1] == "tmp":
        return parts[-2]
    return None


def _is_hex_id(text: str) -> bool:
    return len(text) == 64 and set(text) <= HEX


def _overwrite(path: Path, data: bytes) -> None:
    """Replace a private file's content in place (no temp file, no new inode)."""
    fd = os.open(path, os.O_WRONLY)
    try:
        os.write(fd, data)
        if os.fstat(fd).st_size > len(data):
            os.ftruncate(fd, len(data))
    finally:
        os.close(fd)


def _listdir(path: os.PathLike[str]) -> list[str]:
    try:
        return os.listdir(path)
    except OSError:
        return []


MAX_ENTRY_BYTES = 200  # a file name may have 255 bytes; Docker takes longer container names


def _entry_name(name: str) -> str:
    """The name index's file for a container name: the name itself, or for one too long to be
    a file name (a 250-character service name: ENAMETOOLONG), its start and a digest."""
    if len(name.encode()) <= MAX_ENTRY_BYTES:
        return name
    from engine.small_sha256 import sha256

    return f"{name[:64]}~{sha256(name.encode()).hexdigest()[:40]}"


def _name_in(config: os.PathLike[str]) -> str | None:
    try:
        name = json.loads(Path(config).read_text())["name"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return name if isinstance(name, str) else None
