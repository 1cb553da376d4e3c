"""The engine's public face: everything outside `engine/` goes through `Engine`.

Daemonless: each call works on the state files under the data root and observes liveness from
/proc; containers run under their own detached supervisors and outlive the caller.
"""

from __future__ import annotations

import contextlib
import enum
import functools
import os
import signal
import socket
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from engine.anonymous_volumes import ANONYMOUS_LABEL as ANONYMOUS_VOLUME_LABEL
from engine.anonymous_volumes import remove_anonymous_volumes
from engine.cgroups import container_cgroup, swappiness_supported
from engine.containers import (
    ContainerRecord,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    ContainerStore,
    MountKind,
    MountSpec,
    NetworkAttachment,
    now_rfc3339,
)
from engine.errors import (
    AlreadyExistsError,
    ContainerNotFoundError,
    ContainerStartError,
    EngineError,
    ImageInUseError,
    InvalidArgumentError,
    InvalidStateError,
    VolumeInUseError,
    VolumeNotFoundError,
)
from engine.layout import Layout, data_root_from_env
from engine.ports import PortSpec
from engine.processes import ExitWatch, is_alive, signal_pid, wait_all_gone, wait_gone
from engine.runtime_spec import (
    BindMount,
    HealthcheckConfig,
    NetworkRequest,
    ProcessSpec,
    RuntimeSpec,
)
from engine.signal_names import signal_number
from engine.volumes import Volume, VolumeStore, anonymous_volume_name
from netdriver.api import Network, NetworkDriver, NetworkOptions
from netdriver.debug_log import debug
from netdriver.errors import NetworkError, NetworkInUseError, NetworkNotFoundError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    import threading
    from collections.abc import Callable
    from typing import Any, BinaryIO

    from engine.builder.build import BuildOptions, BuildResult
    from engine.builder.lint import DockerfileCheck
    from engine.container_commit import CommitRequest  # loads on the first `commit`
    from engine.container_copy import ContainerRoot  # the module loads on the first `cp`
    from engine.container_stats import ResourceSample
    from engine.content import Blob
    from engine.exec import ExecResult, ExecTarget, InputFilter  # loads on the first exec
    from engine.images import Image, ImageConfig, ImageStore
    from engine.inspect_document import NetworkView  # loads on the first inspect
    from engine.logs import LogLine
    from engine.registry.pull import Reporter as PullReport
    from engine.volume_mounts import VolumePlan

__all__ = [
    "ANONYMOUS_VOLUME_LABEL",
    "AlreadyExistsError",
    "ConsoleEnd",
    "ContainerInfo",
    "ContainerNotFoundError",
    "ContainerSpec",
    "ContainerStatus",
    "Engine",
    "EngineError",
    "HealthcheckConfig",
    "Image",
    "ImageInUseError",
    "LogLine",
    "MountKind",
    "MountSpec",
    "NamedContext",
    "Network",
    "NetworkAttachment",
    "NetworkError",
    "NetworkInUseError",
    "NetworkNotFoundError",
    "NetworkOptions",
    "PortSpec",
    "Volume",
    "VolumeInUseError",
    "VolumeNotFoundError",
    "docker_time_flag",
    "swappiness_supported",
    "unicast_mac",
]


def _debug(message: str, *args: object) -> None:
    debug(__name__, message, *args)


DEFAULT_STOP_TIMEOUT = 10.0
SUPERVISOR_REPORT_TIMEOUT = 60.0
# After SIGKILL the supervisor still records the exit and releases the container: bounded.
SIGKILL_WAIT = 30.0
NO_REPORT = "supervisor exited without a report"
START_POLL_SECONDS = 0.02  # how often a start under way elsewhere is looked at (`_settled`)
# A StdinOnce container's stdin, in its record's directory (Engine.open_stdin).
STDIN_FIFO = "stdin"
# A StdinOnce tty container's console socket, in its record's directory (Engine.open_console).
CONSOLE_SOCKET = "console.sock"
# An OpenStdin (not StdinOnce) container's stdin while it runs, in its record's directory
# (Engine.open_running_stdin); with a tty, the input its supervisor types into the pty.
OPEN_STDIN_FIFO = "open-stdin"


class _Tee:
    """The output an attached client relays, copied to the container's supervisor for its
    log; a supervisor gone (its container ended) is no error: the copying just stops."""

    def __init__(self, conn: socket.socket) -> None:
        self.conn: socket.socket | None = conn

    def send(self, data: bytes) -> None:
        if self.conn is None:
            return
        try:
            self.conn.sendall(data)
        except OSError:
            self.conn = None


class ConsoleEnd(enum.Enum):
    """How a relay of an attached container's terminal ended (Engine.relay_console)."""

    NO_TERMINAL = "no terminal"  # none came: the container failed to start
    ENDED = "ended"  # the container's side closed it
    DETACHED = "detached"  # the detach keys: the container goes on without us


@dataclass(frozen=True)
class ContainerInfo:
    """A container record together with its observed state."""

    record: ContainerRecord
    state: ContainerState
    log_path: Path = field(compare=False)

    @property
    def id(self) -> str:
        return self.record.id

    @property
    def name(self) -> str:
        return self.record.name

    @property
    def labels(self) -> dict[str, str]:
        return self.record.spec.labels

    @property
    def status(self) -> ContainerStatus:
        return self.state.status


def _log_time(value: str | None, flag: str, container: str) -> str | None:
    """A `--since`/`--until` value as the log's own timestamps (engine.logs.normalize_since)."""
    return None if value is None else docker_time_flag(value, flag, container)


def docker_time_flag(value: str, flag: str, subject: str | None = None) -> str:
    """Docker's `--since`/`--until` (of `logs` and `events`): RFC 3339, Unix seconds or a
    duration before now (`10m`), as an RFC 3339 UTC time with nanoseconds, so times compare
    as strings. One parser for every command that takes such a flag."""
    from engine.logs import normalize_since

    try:
        return normalize_since(value)
    except ValueError:
        raise InvalidArgumentError(
            f"invalid value for {flag}: {value!r} (a timestamp or a duration like 10m)",
            subject=subject,
        ) from None


def _host_resolv_conf() -> str:
    """Docker copies the host's resolv.conf minus loopback resolvers (unreachable inside)."""
    try:
        lines = Path("/etc/resolv.conf").read_text().splitlines()
    except OSError:
        lines = []
    kept = [
        line
        for line in lines
        if not (line.startswith("nameserver") and line.split()[1:2] in (["127.0.0.1"], ["::1"]))
        and not line.startswith("nameserver 127.")
    ]
    return "\n".join(kept) + "\n"


def _closing(lines: Iterator[LogLine], close: Callable[[], None]) -> Iterator[LogLine]:
    """`lines`, then `close()` once they end or the reader lets go."""
    try:
        yield from lines
    finally:
        close()


def _bind_source(spec: ContainerSpec, mount: MountSpec) -> str:
    """A missing bind source is made (short syntax, `bind.create_host_path`) or refused clearly,
    as Docker does; every bind is checked before any directory is made."""
    for other in spec.mounts:
        if other.kind is MountKind.BIND and not other.create_host_path and not os.path.lexists(
            other.source or ""
        ):
            raise InvalidArgumentError(
                f"container {spec.name}: volumes: bind source path does not exist: "
                f"{other.source} (for {other.target}; create it, or set bind.create_host_path)",
                subject=spec.name,
            )
    source = mount.source or ""
    if not os.path.lexists(source):
        os.makedirs(source, exist_ok=True)
    from engine.mount_propagation import check_source

    problem = check_source(source, mount.propagation)
    if problem is not None:
        raise InvalidArgumentError(
            f"container {spec.name}: volumes: {mount.target}: {problem}", subject=spec.name
        )
    return source


def _start_thread(target: Callable[[], None], name: str) -> threading.Thread:
    import threading  # (the supervisors' path through this module has no threads)

    thread = threading.Thread(target=target, name=name, daemon=True)
    thread.start()
    return thread


def _quiet(_event: object) -> None:
    """Default progress sink of the image life-cycle calls."""


def unicast_mac(text: str) -> bool:
    """Whether `text` is a MAC address a container's interface can take (for compose's
    validation; netdriver.ipam's rule, imported only when a file sets one)."""
    from netdriver.ipam import unicast_mac as check

    return check(text)


class Engine:
    def __init__(self, root: Path | None = None) -> None:
        self.layout = Layout(Path(root) if root else data_root_from_env())
        self.layout.ensure()
        self.containers = ContainerStore(self.layout)
        self.volumes = VolumeStore(self.layout)
        self.networks = NetworkDriver(self.layout.networks)
        self._image_configs: dict[str, ImageConfig | None] = {}  # for `command_of`, `ps`

    @functools.cached_property
    def images(self) -> ImageStore:
        """Made on first use: `down`, `ps`, `stop` never read an image, and the image store's
        modules (content, layout, snapshots, references) cost ~9 ms of their start-up."""
        from engine.images import ImageStore

        return ImageStore(self.layout.root)

    # ---- images -------------------------------------------------------------------------
    def import_image(self, tarball: Path, reference: str | None) -> Image:
        return self.images.import_tarball(tarball, reference)

    def list_images(self) -> list[Image]:
        return self.images.list()

    def get_image(self, reference: str) -> Image:
        return self.images.get(reference)

    def remove_image(self, reference: str, force: bool = False) -> None:
        """`docker rmi [-f]`: an image containers were created from is never deleted (they
        need it to start again); see engine.image_removal."""
        from engine.image_removal import check_removal

        image = self.images.get(reference)
        users = [c for c in self.list_containers() if c.record.image_id == image.id]
        check_removal(image, reference, users, force)
        self.images.remove(reference, keep_untagged=bool(users))

    # ---- image life cycle (registry, archives, build; modules imported on first use) ----
    def pull_image(
        self, reference: str, platform: str | None = None, report: PullReport | None = None
    ) -> Image:
        from engine.registry.pull import pull_image

        self.images.content.sweep_ingest()  # what pulls killed mid-download left
        return pull_image(self.images, reference, platform=platform, report=report or _quiet)

    def push_image(
        self, local: str, remote: str | None = None, report: PullReport | None = None
    ) -> str:
        from engine.registry.push import push_image

        return push_image(self.images, local, remote, report=report or _quiet)

    def build_image(
        self, options: BuildOptions, report: Callable[[str], None] | None = None
    ) -> BuildResult:
        """Build a Dockerfile on this engine (RUN steps run as our own containers)."""
        from engine.builder.build import Builder

        return Builder(self, report or _quiet).build(options)

    def check_build(self, options: BuildOptions) -> DockerfileCheck:
        """BuildKit's Dockerfile checks (`build --check`) on the Dockerfile `options` name,
        without building; a Dockerfile that does not parse raises as the build would."""
        from engine.builder.build import read_dockerfile_source
        from engine.builder.lint import DockerfileCheck, check_dockerfile
        from engine.builder.parser import parse_dockerfile

        text, file = read_dockerfile_source(options)
        result = check_dockerfile(parse_dockerfile(text, file), options.build_args,
                                  self._image_env)
        return DockerfileCheck(file, text, result)

    def _image_env(self, reference: str) -> frozenset[str] | None:
        """The variables a local image's config sets (None: not here)."""
        try:
            image = self.images.get(reference)
        except EngineError:
            return None
        return frozenset(item.partition("=")[0] for item in image.config.env)

    # ---- volumes and networks -----------------------------------------------------------
    def ensure_volume(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
    ) -> Volume:
        """`options`: the local driver's driver_opts (type, device, o)."""
        return self.volumes.ensure(name, labels, options)

    def remove_volume(self, name: str) -> None:
        users = [
            c.name
            for c in self.containers.all()
            if any(m.kind is MountKind.VOLUME and m.source == name for m in c.spec.mounts)
        ]
        if users:
            raise VolumeInUseError(
                f"volume {name} is in use by container(s) {', '.join(users)}", subject=name
            )
        self.volumes.remove(name)

    def remove_anonymous_volumes(self, info: ContainerInfo) -> list[str]:
        """`rm -v`, `run --rm`: drop the container's anonymous volumes no other container
        mounts (engine.anonymous_volumes; the supervisor of an AutoRemove container does the
        same when it removes it)."""
        return remove_anonymous_volumes(info.record, self.volumes, self.containers)

    def ensure_network(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        internal: bool = False,
        subnet: str | None = None,
        gateway: str | None = None,
        options: NetworkOptions | None = None,
    ) -> Network:
        network = self.networks.ensure_network(
            name, labels=labels or {}, internal=internal, subnet=subnet, gateway=gateway,
            options=options or NetworkOptions(),
        )
        from engine.dns_control import start_resolver_soon  # subprocess, threads: not on `run`

        start_resolver_soon(self.layout.root)  # ready before the first container asks
        return network

    def remove_network(self, name: str) -> None:
        self.networks.remove_network(name)
        from engine.dns_control import nudge_resolver

        nudge_resolver(self.layout)  # stop serving the gateway; leave with the last network

    def sweep_network_orphans(self) -> list[str]:
        """Remove bridges, veths and rules a crash left behind (any data root's); best
        effort: a failure here must not fail the `up` or `down` that asked."""
        try:
            return self.networks.sweep_orphans()
        except NetworkError as exc:
            _debug("network sweep failed: %s", exc)
            return []

    def sweep_build_orphans(self) -> list[str]:
        """Remove the RUN-step containers of builds killed mid-step (their builder process is
        gone; engine.builder.step_containers): at each build and `image prune`."""
        from engine.builder.step_containers import sweep_orphan_steps

        return sweep_orphan_steps(self)

    def sweep_cgroup_orphans(self) -> list[str]:
        """Remove container cgroups a killed supervisor left (engine.cgroup_sweep); best
        effort, as the network sweep."""
        from engine.cgroup_sweep import sweep_orphan_cgroups

        try:
            return sweep_orphan_cgroups()
        except OSError as exc:
            _debug("cgroup sweep failed: %s", exc)
            return []

    # ---- containers ---------------------------------------------------------------------
    def create_container(
        self, spec: ContainerSpec, replacing: str | None = None
    ) -> ContainerInfo:
        """`replacing`: a stopped container whose name this one takes over before the caller
        removes it (a recreate: ContainerStore.create)."""
        self.prepare_to_start()  # a start usually follows
        if spec.working_dir and not spec.working_dir.startswith("/"):
            raise InvalidArgumentError(
                f"container {spec.name}: the working directory {spec.working_dir!r} is invalid,"
                " it needs to be an absolute path", subject=spec.name,
            )
        image = self.images.get(spec.image)
        if not spec.stop_signal and image.config.stop_signal:
            spec = replace(spec, stop_signal=image.config.stop_signal)  # Docker: STOPSIGNAL
        if spec.stop_signal:
            try:
                signal_number(spec.stop_signal)  # `stop` of the record must be able to send it
            except InvalidArgumentError as exc:
                raise InvalidArgumentError(
                    f"container {spec.name}: stop_signal: {exc}", subject=spec.name
                ) from exc
        from engine.runtime_options import check_at_create  # as start_container imports it

        check_at_create(spec)
        if spec.volumes_from:
            spec = replace(spec, mounts=self._mounts_with_volumes_from(spec))
        if spec.mem_swappiness is not None and not swappiness_supported():
            # Docker on cgroup v2: "Memory swappiness discarded" (null in inspect).
            spec = replace(spec, mem_swappiness=None)
        for mount in spec.mounts:
            if mount.kind is MountKind.VOLUME and mount.source:
                self.volumes.ensure(mount.source)
        record = self.containers.create(spec, image.id, replacing)
        log_path = self.layout.container_dir(record.id) / f"{record.id}-json.log"
        return ContainerInfo(record=record, state=ContainerState(), log_path=log_path)  # as written

    def _mounts_with_volumes_from(self, spec: ContainerSpec) -> tuple[MountSpec, ...]:
        """Docker's VolumesFrom: the other container's volumes and binds at the same paths
        (same volume, so data is shared), read-only with `:ro`; the container's own mounts win.
        """
        mounts = list(spec.mounts)
        for entry in spec.volumes_from:
            name, _, mode = entry.partition(":")
            if mode not in ("", "ro", "rw"):
                raise InvalidArgumentError(
                    f"container {spec.name}: volumes_from: invalid mode {mode!r} in {entry!r} "
                    "(ro or rw)", subject=spec.name)
            other = self.containers.find(name)
            if other is None:
                raise InvalidArgumentError(
                    f"container {spec.name}: volumes_from: no such container: {name}",
                    subject=spec.name)
            for mount in other.spec.mounts:
                if mount.kind is MountKind.TMPFS or any(m.target == mount.target for m in mounts):
                    continue
                read_only = mount.read_only if not mode else mode == "ro"
                mounts.append(replace(mount, read_only=read_only))
        return tuple(mounts)

    def _info(self, record: ContainerRecord) -> ContainerInfo:
        state = self._observe(record)
        log_path = self.layout.container_dir(record.id) / f"{record.id}-json.log"
        return ContainerInfo(record=record, state=state, log_path=log_path)

    def _observe(self, record: ContainerRecord) -> ContainerState:
        """Trust /proc over the state file: a running container whose supervisor is gone
        (killed, machine rebooted) is reported exited and its leftovers are released."""
        state = self.containers.load_state(record.id)
        if state.starting and not is_alive(state.supervisor_pid, state.supervisor_start):
            return self.containers.end_dead_start(
                record.id, lambda dead: self._release_leftovers(record, dead)
            )
        if state.status.active and not is_alive(state.supervisor_pid, state.supervisor_start):
            # Checked again under the state lock: a supervisor writes the exit and then ends,
            # so one that did both since the read above is gone with its exit recorded, and
            # must not be taken for a crashed one (`exited with code 255`). Found dead now:
            # that is when it finished, as far as anyone can tell (Docker too reports a time);
            # its ports are gone with the forwarding rules.
            state = self.containers.end_unobserved_run(
                record.id, lambda dead: self._release_leftovers(record, dead), now_rfc3339()
            )
        return state

    def _release_leftovers(self, record: ContainerRecord, state: ContainerState) -> None:
        from engine.leftovers import release_leftovers

        release_leftovers(self.layout, self.networks, record, state)

    def _settled(self, info: ContainerInfo) -> ContainerInfo:
        """`info` once no start is under way (another process's: its supervisor owns the
        container until it runs or the start fails; Docker's start holds the container's
        lock as long). A start whose supervisor died is over (`_observe`). Polls: the wait
        is for someone else's start, never on a start's normal path."""
        while info.state.starting:
            time.sleep(START_POLL_SECONDS)
            info = self._info(info.record)
        return info

    def command_of(self, info: ContainerInfo) -> tuple[str, ...]:
        """What the container runs, with the image's ENTRYPOINT and CMD where the spec leaves
        them to it (Docker's Path and Args, as `ps` shows them); () when nothing is known."""
        from engine.process_config import resolve_args

        spec = info.record.spec
        entrypoint = cmd = None
        if spec.entrypoint is None or spec.command is None:
            image = self._image_config(info.record.image_id)
            if image is not None:
                entrypoint, cmd = image.entrypoint, image.cmd
        try:
            return resolve_args(spec, entrypoint, cmd)
        except InvalidArgumentError:
            return ()

    def exposed_ports_of(self, info: ContainerInfo) -> tuple[str, ...]:
        """Docker's ExposedPorts of the container ("80/tcp"): its image's, the `expose`
        entries and the `ports` targets (`ps` lists those not published as `80/tcp`)."""
        image = self._image_config(info.record.image_id)
        spec = info.record.spec
        exposed = [p if "/" in p else f"{p}/tcp" for p in (image.exposed_ports if image else ())]
        exposed += [*spec.expose, *(f"{p.target}/{p.protocol}" for p in spec.ports)]
        return tuple(dict.fromkeys(exposed))

    def _image_config(self, image_id: str) -> ImageConfig | None:
        """The image's config, read once per engine (`ps` asks for each container); None
        once the image is removed: `ps` shows what the spec says."""
        if image_id not in self._image_configs:
            try:
                self._image_configs[image_id] = self.images.get(image_id).config
            except EngineError:
                self._image_configs[image_id] = None
        return self._image_configs[image_id]

    def inspect(self, name_or_id: str) -> ContainerInfo:
        return self.with_live_oom(self._info(self.containers.get(name_or_id)))

    @staticmethod
    def with_live_oom(info: ContainerInfo) -> ContainerInfo:
        """Docker's OOMKilled turns true as soon as the kernel OOM-kills any process of the
        running container (containerd's OOM event: its cgroup's oom_kill counter), pid 1 or
        not, and whether or not the container goes on; the supervisor records the same
        counter when the run ends. Asked here and by `events`, not in `ps`'s listing: one
        file read."""
        state = info.state
        if state.status is not ContainerStatus.RUNNING or state.oom_killed:
            return info
        if not container_cgroup(info.id, info.record.spec.cgroup_parent).oom_killed():
            return info
        return replace(info, state=replace(state, oom_killed=True))

    def inspect_document(self, name_or_id: str) -> dict[str, Any]:
        """The container as `docker inspect` shows it (see engine.inspect_document)."""
        from engine.inspect_document import container_document

        info = self.inspect(name_or_id)
        volumes: dict[str, str] = {}
        for mount in info.record.spec.mounts:
            is_volume = mount.kind is MountKind.VOLUME and mount.source
            found = self.volumes.find(mount.source or "") if is_volume else None
            if found is not None:
                volumes[found.name] = str(found.mountpoint)
        image = self.images.find(info.record.image_id)
        return container_document(
            info.record, info.state, image, volumes, self._network_views(info),
            self._container_files(info),
        )

    def _container_files(self, info: ContainerInfo) -> dict[str, str]:
        """Where the container's resolv.conf, hostname and hosts files are (those of the
        container whose network namespace it joins, as Docker's), and its log."""
        mode = info.record.spec.network_mode
        owner = mode.split(":", 1)[1] if mode.startswith("container:") else info.id
        directory = self.layout.container_dir(owner)
        return {
            "ResolvConfPath": str(directory / "resolv.conf"),
            "HostnamePath": str(directory / "hostname"),
            "HostsPath": str(directory / "hosts"),
            "LogPath": str(info.log_path),
        }

    def _network_views(self, info: ContainerInfo) -> dict[str, NetworkView]:
        """Each of the container's networks as the driver records it, with the container's
        endpoint there while it runs (inspect's NetworkSettings.Networks)."""
        from engine.inspect_document import NetworkView

        attached = info.state.status in (ContainerStatus.RUNNING, ContainerStatus.RESTARTING)
        views: dict[str, NetworkView] = {}
        for name in [n.network for n in info.record.spec.networks] + list(info.state.addresses):
            endpoint = self.networks.find_endpoint(name, info.id) if attached else None
            views[name] = NetworkView(self.networks.find_network(name), endpoint)
        return views

    def find_container(self, name_or_id: str) -> ContainerInfo | None:
        record = self.containers.find(name_or_id)
        return self._info(record) if record else None

    def list_containers(self, labels: dict[str, str] | None = None) -> list[ContainerInfo]:
        wanted = labels or {}
        return [
            self._info(record)
            for record in self.containers.all()
            if all(record.spec.labels.get(k) == v for k, v in wanted.items())
        ]

    def resource_sample(self, info: ContainerInfo) -> ResourceSample | None:
        """The container's resource counters now (`stats`), None unless it runs (paused
        counts as running, as in Docker)."""
        from engine.container_stats import read_sample  # loads with the first `stats`

        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            return None
        spec = info.record.spec
        return read_sample(
            container_cgroup(info.id, spec.cgroup_parent), info.state.pid,
            own_network=spec.network_mode != "host",  # Docker has no network stats for it
        )

    def _joined_hostname(self, spec: ContainerSpec) -> str | None:
        """Docker: a container in another's network namespace (network_mode container:X)
        takes X's hostname, as it shares X's hosts file; one in the host's takes the host's
        (`hostname`, /etc/hostname and $HOSTNAME all say the machine's name)."""
        mode = spec.network_mode
        if mode == "host":
            return os.uname().nodename
        if not mode.startswith(("container:", "service:")):
            return None
        other = self.containers.find(mode.split(":", 1)[1])
        if other is None:
            return None  # prepare_net_files reports it
        try:
            return (self.layout.container_dir(other.id) / "hostname").read_text().strip() or None
        except OSError:
            return None

    def _runtime_spec(self, record: ContainerRecord) -> RuntimeSpec:
        from engine.process_config import (
            home_directory,
            resolve_args,
            resolve_env,
            resolve_user,
        )
        from engine.runtime_options import resolve_groups, runtime_options, tmpfs_mount

        spec = record.spec
        image = self.images.get(record.image_id)
        lowers = [str(p) for p in self.images.layer_paths(image)]
        directory = self.layout.container_dir(record.id)
        for sub in ("upper", "work", "rootfs"):
            (directory / sub).mkdir(exist_ok=True)
        hostname = spec.hostname or self._joined_hostname(spec) or record.id[:12]
        (directory / "hostname").write_text(hostname + "\n")
        # with dns_records: ~4 ms that `down` never needs
        from engine.hosts import FQDN_FILE, prepare_net_files

        if spec.domainname:  # Docker's hosts line: `addr host.domain host`
            (directory / FQDN_FILE).write_text(f"{hostname}.{spec.domainname} {hostname}\n")

        net_files = prepare_net_files(self.layout, self.networks, record, hostname)
        uid, gid = resolve_user(spec.user or image.config.user, lowers, f"container {spec.name}")
        process = ProcessSpec(
            args=resolve_args(spec, image.config.entrypoint, image.config.cmd),
            env=resolve_env(spec, image.config.env, hostname, home_directory(uid, lowers)),
            cwd=spec.working_dir or image.config.working_dir or "/",
            uid=uid,
            gid=gid,
            extra_gids=resolve_groups(spec, lowers),
        )
        options = runtime_options(
            spec, lowers, self.images.config_document(image), self._running_init_pid
        )
        binds, tmpfs = [], [tmpfs_mount(spec, t) for t in spec.tmpfs]
        host_mounts = []
        for mount in spec.mounts:
            if mount.kind is MountKind.TMPFS:
                tmpfs.append(tmpfs_mount(spec, mount.target, mount.read_only))
            elif mount.kind is MountKind.VOLUME:
                plan = self._volume_plan(record.id, mount, create=True)
                assert plan is not None  # made when missing
                binds.append(BindMount(
                    plan.source, mount.target, mount.read_only or plan.read_only,
                    populate=not mount.no_copy,
                ))
                if plan.host_mount is not None:
                    host_mounts.append(plan.host_mount)
            else:
                binds.append(BindMount(
                    _bind_source(spec, mount), mount.target, mount.read_only,
                    propagation=mount.propagation,
                ))
        attached = spec.stdin_open and spec.stdin_once
        base = str(directory)  # (f-strings: a pathlib join costs ~5 us, ten per container)
        return RuntimeSpec(
            container_id=record.id,
            hostname=hostname,
            lower_dirs=tuple(lowers),
            upper_dir=f"{base}/upper",
            work_dir=f"{base}/work",
            rootfs_dir=f"{base}/rootfs",
            process=process,
            hosts_file=net_files.hosts_file,
            hostname_file=f"{base}/hostname",
            resolv_file=net_files.resolv_file,
            log_file=f"{base}/{record.id}-json.log",
            stdin_fifo=f"{base}/{STDIN_FIFO}" if attached else None,
            # A tty's attached client may detach (`run -it`): `attach` types in through it then.
            open_stdin_fifo=(f"{base}/{OPEN_STDIN_FIFO}"
                             if spec.stdin_open and (spec.tty or not attached) else None),
            console_socket=f"{base}/{CONSOLE_SOCKET}" if attached and spec.tty else None,
            mounts=tuple(binds),
            tmpfs=tuple(tmpfs),
            volume_mounts=tuple(host_mounts),
            networks=tuple(
                NetworkRequest(
                    n.network, _endpoint_names(n.aliases, hostname, record.name, record.id[:12]),
                    n.ipv4, n.ipv6, n.mac, n.gw_priority,
                )
                for n in spec.networks
            ),
            network_mode=spec.network_mode,
            ports=spec.ports,
            join_netns_pid=net_files.join_netns_pid,
            memory_limit=options["resources"].memory_bytes,  # 0 read as unset, as Docker
            pids_limit=spec.pids_limit,
            read_only=spec.read_only,
            **options,
        )

    def _running_init_pid(self, name_or_id: str) -> int | None:
        other = self.find_container(name_or_id)
        if other is None or other.status is not ContainerStatus.RUNNING:
            return None
        return other.state.pid

    def open_stdin(self, name_or_id: str) -> int:
        """The write end of a `stdin_once` container's stdin (Docker's attach with StdinOnce),
        to take before starting it: what the caller writes is the container's input, and its
        close (or death) is the container's EOF. Opened read-write, so neither side blocks in
        open(2) and the container never sees an EOF before the caller is done."""
        info = self.inspect(name_or_id)
        if not (info.record.spec.stdin_open and info.record.spec.stdin_once):
            raise InvalidStateError(
                f"container {info.name} does not take an attached stdin", subject=info.name
            )
        path = self.layout.container_dir(info.id) / STDIN_FIFO
        with contextlib.suppress(FileExistsError):
            os.mkfifo(path, 0o600)
        return os.open(path, os.O_RDWR | os.O_CLOEXEC)

    def open_running_stdin(self, name_or_id: str) -> int:
        """The write end of a running `stdin_open` container's stdin (Docker's attach to a
        container with OpenStdin): what the caller writes, the container reads; closing it
        is no EOF for the container (not StdinOnce). A tty container's terminal is its
        supervisor's pty master: what is written here, the supervisor types into it
        (engine.tty_input), so Ctrl-C written as a key interrupts as on a terminal."""
        info = self.inspect(name_or_id)
        spec = info.record.spec
        # A StdinOnce tty (`run -it`) takes input here once its client let go of its terminal.
        if not spec.stdin_open or (spec.stdin_once and not spec.tty):
            raise InvalidStateError(
                f"container {info.name} has no stdin to attach to", subject=info.name
            )
        if info.status is not ContainerStatus.RUNNING:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        path = self.layout.container_dir(info.id) / OPEN_STDIN_FIFO
        # A tty's FIFO is opened by the supervisor's log pump, just after the run is recorded.
        deadline = time.monotonic() + (2.0 if spec.tty else 0.0)
        while True:
            try:
                fd = os.open(path, os.O_WRONLY | os.O_NONBLOCK | os.O_CLOEXEC)
                break
            except OSError as exc:  # ENOENT: started by an older pycompose; ENXIO: no reader
                if time.monotonic() < deadline:
                    time.sleep(0.05)
                    continue
                raise InvalidStateError(
                    f"container {info.name} has no attachable stdin: {exc.strerror}",
                    subject=info.name, hint="restart it to give it one",
                ) from exc
        os.set_blocking(fd, True)
        return fd

    def hold_attached(self, name_or_id: str) -> int:
        """For a client that follows an `auto_remove` container and removes it itself (`run
        --rm`): until the returned descriptor is closed (or the client dies), the supervisor
        leaves the removal to it (engine.containers.ContainerStore.hold_attached)."""
        return self.containers.hold_attached(self.inspect(name_or_id).id)

    def ensure_name_resolution(self) -> None:
        """The data root's DNS resolver answers on every bridge with containers on it: started
        with the first container there, and again here if it died (killed) since. A live one
        is asked nothing (one connect; reading every endpoint cost ~5 ms at 50 containers)."""
        from engine.dns_control import ensure_resolver, resolver_running

        if resolver_running(self.layout.root):
            return
        ensure_resolver(
            self.layout, [network.gateway for network, live in self.networks.peek() if live]
        )

    def open_archive(
        self, name_or_id: str, path: str, follow_link: bool = False
    ) -> contextlib.AbstractContextManager[BinaryIO]:
        """A tar stream (a binary file) of `path` in the container, read in a child chrooted
        into it (engine.container_copy): Docker's `GET /containers/{id}/archive`."""
        from engine.container_copy import open_archive

        return open_archive(self._container_root(name_or_id), path, follow_link)

    def export_filesystem(self, name_or_id: str) -> contextlib.AbstractContextManager[BinaryIO]:
        """A tar stream of the container's filesystem without its volumes, binds and kernel
        filesystems: Docker's `GET /containers/{id}/export`."""
        from engine.container_copy import open_filesystem

        return open_filesystem(replace(self._container_root(name_or_id), filesystem_only=True))

    def extract_into(
        self, name_or_id: str, dest: str, feed: Callable[[BinaryIO], None], *,
        rename: str | None = None, keep_owner: bool = False,
    ) -> None:
        """Unpack the tar stream `feed` writes into `dest` in the container (see
        engine.container_copy.extract_into): Docker's `PUT /containers/{id}/archive`."""
        from engine.container_copy import extract_into

        extract_into(self._container_root(name_or_id), dest, feed, rename, keep_owner)

    def _container_root(self, name_or_id: str) -> ContainerRoot:
        """Where `cp` finds the container's files: its init's root, or its overlay's parts."""
        from engine.container_copy import ContainerRoot

        info = self.inspect(name_or_id)
        if info.status.active and info.state.pid and is_alive(info.state.pid, info.state.pid_start):
            return ContainerRoot(info.state.pid)
        if info.status.active:  # between two runs: its overlay is about to be mounted again
            raise InvalidStateError(
                f"container {info.name} is restarting: copy once it runs", subject=info.name
            )
        directory = self.layout.container_dir(info.id)
        for part in ("upper", "work", "rootfs"):
            (directory / part).mkdir(exist_ok=True)
        lowers = self.images.layer_paths(self.images.get(info.record.image_id))
        return ContainerRoot(
            None, tuple(str(p) for p in lowers), str(directory / "upper"), str(directory / "work"),
            str(directory / "rootfs"), binds=self._stopped_binds(info.record),
        )

    def _stopped_binds(self, record: ContainerRecord) -> tuple[tuple[str, str, bool], ...]:
        """A stopped container's volumes and binds as (host source, target, read-only), for a
        copy to see them where its processes will (Docker's archive API mounts them too): a
        file copied to a volume's path went under the mount point, hidden from the next run.
        Volumes of a driver that mounts at start (tmpfs, devices) hold nothing while stopped."""
        binds = []
        for mount in record.spec.mounts:
            if mount.kind is MountKind.VOLUME:
                plan = self._volume_plan(record.id, mount, create=False)
                if plan is not None and plan.host_mount is None:
                    binds.append((plan.source, mount.target, mount.read_only or plan.read_only))
            elif mount.kind is MountKind.BIND and mount.source and os.path.exists(mount.source):
                binds.append((mount.source, mount.target, mount.read_only))
        return tuple(binds)

    def _volume_plan(
        self, container_id: str, mount: MountSpec, *, create: bool
    ) -> VolumePlan | None:
        """Where a container's volume mount comes from (its named or anonymous volume, through
        its driver options); a start makes a missing volume, a copy into a stopped container
        does not (None)."""
        from engine.volume_mounts import plan as plan_volume

        name = mount.source or anonymous_volume_name(container_id, mount.target)
        volume = self.volumes.ensure(name) if create else self.volumes.find(name)
        if volume is None:
            return None
        return plan_volume(volume.name, volume.mountpoint, volume.options)

    def open_console(self, name_or_id: str) -> socket.socket:
        """For a `stdin_once` tty container, before starting it: the socket its supervisor
        sends the pty's master to (runc's --console-socket); `relay_console` then makes our
        terminal the container's."""
        info = self.inspect(name_or_id)
        spec = info.record.spec
        if not (spec.stdin_open and spec.stdin_once and spec.tty):
            raise InvalidStateError(
                f"container {info.name} does not take an attached terminal", subject=info.name
            )
        path = self.layout.container_dir(info.id) / CONSOLE_SOCKET
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        from engine.unix_paths import short_address

        listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            with short_address(str(path)) as address:
                listener.bind(address)
            listener.listen(1)
        except BaseException:
            listener.close()
            raise
        return listener

    def relay_console(
        self, listener: socket.socket, stdio: tuple[int, int] = (0, 1), timeout: float = 10.0,
        detach: InputFilter | None = None,
    ) -> ConsoleEnd:
        """Relay the started container's terminal to `stdio` (the caller puts its terminal in
        raw mode) until the container's side closes, or `detach` spots the detach keys in
        the input; window size changes follow (SIGWINCH, from the main thread). What the
        terminal shows goes to the supervisor too, over the console connection, for the log
        (Docker logs a tty's output; `attach` from another terminal follows it there). The
        supervisor holds the master too and takes it over once we let go (the connection
        closes): a detached container keeps its terminal, logged and attachable."""
        from engine.exec import relay_terminal

        listener.settimeout(timeout)
        try:
            conn, _address = listener.accept()
        except OSError:
            listener.close()
            return ConsoleEnd.NO_TERMINAL
        listener.close()
        with conn:
            try:
                _message, fds, _flags, _peer = socket.recv_fds(conn, 16, 1)
            except OSError:
                return ConsoleEnd.NO_TERMINAL
            if not fds:
                return ConsoleEnd.NO_TERMINAL
            try:
                detached = relay_terminal(fds[0], stdio[0], stdio[1], detach, _Tee(conn).send)
            finally:
                os.close(fds[0])  # before the connection: the supervisor reads it next
        return ConsoleEnd.DETACHED if detached else ConsoleEnd.ENDED

    def start_container(self, name_or_id: str) -> ContainerInfo:
        """Start it, or find it started: a start under way elsewhere (another `up`, or one
        killed half-way whose supervisor goes on) is waited for, never doubled: one
        supervisor wins the claim (ContainerStore.claim_start), the others' starts end
        without a trace and their callers wait for the winner's."""
        info = self._settled(self.inspect(name_or_id))
        while not info.status.active:
            runtime_spec = self._runtime_spec(info.record)
            runtime_spec.save(self.layout.container_dir(info.id) / "runtime.json")
            outcome = self._spawn_supervisor(
                info.id, needs_netlink=runtime_spec.network_mode == "bridge"
            )
            # The record is immutable: only the state is re-read.
            if outcome.startswith("OK"):
                return self._info(info.record)
            after = self._info(info.record)
            if not (after.state.starting or after.status.active):  # not lost to another start
                reason = outcome.removeprefix("ERR ").strip() or NO_REPORT
                raise ContainerStartError(
                    f"container {info.name} failed to start: {reason}", subject=info.name
                )
            info = self._settled(after)
        return info

    @staticmethod
    def prepare_to_start() -> None:
        """Start the supervisor fork server in the background, not waiting for it: its ~200 ms
        start-up then overlaps with the caller's work instead of delaying the first start.
        Call it as soon as containers are going to be started; it idles out if none is."""
        from engine.supervisor_spawner import SPAWNER

        SPAWNER.prestart()

    def _spawn_supervisor(self, container_id: str, *, needs_netlink: bool = True) -> str:
        from engine.supervisor_spawner import SPAWNER

        return SPAWNER.spawn(self.layout.root, container_id, needs_netlink=needs_netlink)

    def stop_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        return self.stop_containers([name_or_id], timeout)[0]

    def stop_containers(
        self, containers: Sequence[str | ContainerInfo], timeout: float | None = None, *,
        count_stops: bool = True, remove: bool = False,
    ) -> list[ContainerInfo]:
        """Stop several containers together: every one is signalled first, then all their grace
        periods run at once (one thread polls every supervisor's pidfd), so N containers that
        ignore SIGTERM stop in one grace period, not N, as with docker compose's unbounded
        parallel stop. Returns their infos, in the order asked.

        ``count_stops=False``: the caller removes them next and counts each completed stop
        there (`remove_container(..., count_stop=True)`, Docker's `stop` event), saving a
        state write per container on `down`.

        ``remove``: each supervisor removes its record once its container is down (counting
        the stop), so the removals run in parallel processes; `remove_container` afterwards
        only finishes what a supervisor that died could not.

        ``containers``: names or ids, or infos the caller has observed (`list_containers`):
        those are taken as they are (each stop reads the state afresh under its lock anyway),
        where inspecting them again read every record and state twice on `down`."""
        infos = [
            self._settled(c if isinstance(c, ContainerInfo) else self.inspect(c))
            for c in containers
        ]
        from engine.signal_delivery import resend_when_taken, takes_signal

        states: dict[str, ContainerState] = {}
        deadlines: dict[str, float] = {}
        dropped: dict[str, tuple[int, int | None, int]] = {}  # see engine.signal_delivery
        for info in infos:
            if not info.state.status.active or info.id in states:
                continue
            grace = timeout if timeout is not None else info.record.spec.stop_timeout
            grace = DEFAULT_STOP_TIMEOUT if grace is None else grace
            # Recorded before any signal: the supervisor's restart loop must not fight the stop.
            # The signal is counted in the same write (Docker's events: kill, die, stop).
            number = signal_number(info.record.spec.stop_signal)
            state, send = self.containers.request_stop(info.id, number, remove=remove)
            if state.paused:
                self.unpause_container(info.id)  # a frozen process cannot act on SIGTERM
                if state.pid and is_alive(state.pid, state.pid_start):
                    self.containers.record_signal(info.id, number)
                    send = True
            if send and state.pid:
                if not takes_signal(state.pid, number):
                    dropped[info.id] = (state.pid, state.pid_start, number)
                signal_pid(state.pid, number)
            states[info.id] = state
            deadlines[info.id] = time.monotonic() + grace
        resend_when_taken(dropped)
        # Removing: the kept states of earlier removals are pruned while the supervisors stop
        # (which leave that to us). It is file deletion, so I/O waits where the filesystem
        # discards freed blocks synchronously (`-o discard`: ~3 ms per file under load, 150 ms
        # for the 50 of a previous `down`); the wait below is idle time for this process.
        pruning = _start_thread(self.containers.prune_removed, "prune-removed") if remove else None
        late = wait_all_gone(
            {cid: (s.supervisor_pid, s.supervisor_start) for cid, s in states.items()}, deadlines
        )
        for container_id in late:
            state = self.containers.load_state(container_id)  # a restart may have made a new init
            if state.pid and is_alive(state.pid, state.pid_start):
                self.containers.record_signal(container_id, signal.SIGKILL)
                signal_pid(state.pid, signal.SIGKILL)
            states[container_id] = state
        if late:
            killed = time.monotonic() + SIGKILL_WAIT
            wait_all_gone(
                {cid: (states[cid].supervisor_pid, states[cid].supervisor_start) for cid in late},
                dict.fromkeys(late, killed),
            )
        for container_id in states if count_stops else ():
            self.containers.record_stop(container_id)
        if pruning is not None:  # their records are gone (or going): what they were is all
            pruning.join()
            return infos
        # The record is immutable: only the state is re-read.
        return [self._info(info.record) if info.id in states else info for info in infos]

    def restart_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        """Docker's restart: stop (if running), start, then count it for the `restart` event
        that follows `start` (kill, die, stop, start, restart)."""
        info = self.stop_container(name_or_id, timeout)
        info = self.start_container(info.id)
        self.containers.record_restart(info.id)
        return self.inspect(info.id)

    def pause_container(self, name_or_id: str) -> ContainerInfo:
        """Freeze every process of the container (cgroup freezer), like `docker pause`."""
        info = self.inspect(name_or_id)
        if info.status is not ContainerStatus.RUNNING:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        if info.state.paused:
            raise InvalidStateError(f"container {info.name} is already paused", subject=info.name)
        container_cgroup(info.id, info.record.spec.cgroup_parent).freeze(True)
        self.containers.record_pause(info.id, True)
        return self.inspect(info.id)

    def unpause_container(self, name_or_id: str) -> ContainerInfo:
        info = self.inspect(name_or_id)
        if not info.state.paused:
            raise InvalidStateError(f"container {info.name} is not paused", subject=info.name)
        container_cgroup(info.id, info.record.spec.cgroup_parent).freeze(False)
        self.containers.record_pause(info.id, False)
        return self.inspect(info.id)

    def record_attach(self, name_or_id: str) -> None:
        """A client attaches to the container's output (`attach`, an attached `up` or `run`):
        counted for Docker's `attach` event, which its daemon emits as a client attaches."""
        self.containers.record_attach(self.inspect(name_or_id).id)

    def kill_container(self, name_or_id: str, sig: str = "SIGKILL") -> None:
        info = self.inspect(name_or_id)
        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        number = signal_number(sig)
        if number == signal.SIGKILL:
            # Docker counts `kill` as a manual stop: the restart policy must not undo it.
            self.containers.update_state(info.id, stop_requested=True)
        self.containers.record_signal(info.id, number)
        signal_pid(info.state.pid, number)
        if number == signal.SIGKILL and info.state.paused:
            # A frozen task keeps SIGKILL pending: thaw it so that it dies, as Docker does.
            container_cgroup(info.id, info.record.spec.cgroup_parent).freeze(False)
            self.containers.update_state(info.id, paused=False)

    def resize_tty(self, name_or_id: str, rows: int, columns: int) -> None:
        """Docker's resize of a running tty container's terminal (what `attach` does with the
        client's size): set on the pty its init holds, found through /proc, so that its
        foreground processes get SIGWINCH. Only a pty slave is opened there (the descriptor is
        the container's: another file's open could have effects)."""
        import fcntl
        import stat
        import struct
        import termios

        info = self.inspect(name_or_id)
        if not info.record.spec.tty:
            raise InvalidStateError(f"container {info.name} has no tty", subject=info.name)
        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        for fd in (0, 1, 2):
            path = f"/proc/{info.state.pid}/fd/{fd}"
            try:
                found = os.stat(path)
                if not stat.S_ISCHR(found.st_mode) or not 136 <= os.major(found.st_rdev) <= 143:
                    continue  # not a pty slave (Unix98 ptys: majors 136-143)
                slave = os.open(path, os.O_RDWR | os.O_NOCTTY | os.O_NONBLOCK | os.O_CLOEXEC)
            except OSError:
                continue
            try:
                fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, columns, 0, 0))
                return
            except OSError:
                continue
            finally:
                os.close(slave)

    @staticmethod
    def _wait_supervisor(state: ContainerState, timeout: float) -> bool:
        return wait_gone(state.supervisor_pid, state.supervisor_start, timeout)

    def removed_container_state(self, container_id: str) -> ContainerState | None:
        """The final state of a container removed within the last minute (for `events`)."""
        return self.containers.removed_state(container_id)

    def wait_container(self, name_or_id: str, timeout: float | None = None) -> int | None:
        info = self.inspect(name_or_id)
        if info.status.active:
            self._wait_supervisor(info.state, timeout if timeout is not None else 1e9)
        return self.inspect(info.id).state.exit_code

    def remove_container(
        self, name_or_id: str, force: bool = False, *, count_stop: bool = False,
        removed_by_supervisor: bool = False,
    ) -> None:
        """``count_stop``: count the stop the caller just completed with `stop_containers(...,
        count_stops=False)` (Docker's `stop` event, before `destroy`).
        ``removed_by_supervisor``: `stop_containers(..., remove=True)` asked the supervisor to
        remove it; nothing to do unless that supervisor died first (``name_or_id`` is an id)."""
        if removed_by_supervisor and not self.layout.container_dir(name_or_id).exists():
            return
        info = self._settled(self.inspect(name_or_id))
        if info.status.active:
            if not force:
                raise InvalidStateError(
                    f"cannot remove container {info.name}: container is running: stop the "
                    "container before removing or force remove",
                    subject=info.name,
                )
            self.stop_container(info.id, timeout=0)
            count_stop = False  # counted by that stop
        self.containers.delete(info.id, count_stop=count_stop)
        # Normally gone with its supervisor; one that died half-way may have left it.
        container_cgroup(info.id, info.record.spec.cgroup_parent).remove()

    def commit_container(self, name_or_id: str, mount_stubs: tuple[str, ...] = ()) -> Blob:
        """The stopped container's filesystem changes as a new layer blob (see engine.commit);
        `mount_stubs`: mount points made only for this run, left out while still empty."""
        from engine.commit import commit_upper

        info = self.inspect(name_or_id)
        if info.status is ContainerStatus.RUNNING:
            raise InvalidStateError(
                f"container {info.name} is running: stop it before committing", subject=info.name
            )
        return commit_upper(
            self.layout.container_dir(info.id) / "upper", self.images.content, mount_stubs
        )

    def commit_image(self, name_or_id: str, request: CommitRequest) -> Image:
        """`docker commit`: a new image from the container's filesystem changes and config
        (engine.container_commit). A running container is paused while its changes are read
        (`request.pause`, unless already paused) and unpaused again whatever happens. Bad input
        (reference, changes) fails before anything is frozen or written."""
        info = self.inspect(name_or_id)
        request.validate()
        reference = request.checked_reference()
        parent = self.images.get(info.record.image_id)
        parent_doc = self.images.config_document(parent)
        # Paused as `pause` does (recorded): a CLI killed meanwhile leaves a container that
        # `unpause` thaws, not one frozen behind a record saying it runs.
        freeze = (request.pause and info.status is ContainerStatus.RUNNING
                  and not info.state.paused)
        if freeze:
            self.pause_container(info.id)
        try:  # thawed after the commit is recorded, as Docker: pause, commit, unpause
            return self._commit_paused(info, request, reference, parent, parent_doc)
        finally:
            if freeze:
                with contextlib.suppress(InvalidStateError):  # it stopped meanwhile
                    self.unpause_container(info.id)

    def _commit_paused(
        self, info: ContainerInfo, request: CommitRequest, reference: str | None, parent: Image,
        parent_doc: dict[str, Any],
    ) -> Image:
        from engine.commit import commit_upper
        from engine.container_commit import committed_document, layer_descriptor
        from engine.image_layout import CONFIG_MEDIA_TYPE, MANIFEST_MEDIA_TYPE, canonical_json

        blob = commit_upper(self.layout.container_dir(info.id) / "upper", self.images.content)
        layers = list(self.images.manifest(parent).get("layers", []))
        diff_id: str | None = None
        if not self._empty_layer(blob.digest):
            diff_id = blob.digest
            layers.append(layer_descriptor(blob.digest, blob.size))
        doc = committed_document(parent_doc, info.record.spec, request, diff_id)
        config = self.images.content.put_bytes(canonical_json(doc))
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MEDIA_TYPE,
            "config": {"mediaType": CONFIG_MEDIA_TYPE, "digest": config.digest,
                       "size": config.size},
            "layers": layers,
        }
        names = (reference,) if reference else ()
        image = self.images.add_manifest(canonical_json(manifest), names)
        from engine.references import parse_reference

        familiar = parse_reference(reference).familiar() if reference else ""
        with contextlib.suppress(EngineError, OSError):  # removed meanwhile: the image stays
            self.containers.record_commit(info.id, {
                "comment": request.comment, "imageID": image.id, "imageRef": familiar,
            })
        return image

    def _empty_layer(self, digest: str) -> bool:
        """Does the layer blob hold no entry (the container changed nothing)?"""
        import tarfile

        with tarfile.open(self.images.content.path(digest), mode="r:") as archive:
            return archive.next() is None

    def logs(
        self,
        name_or_id: str,
        *,
        follow: bool = False,
        tail: int | None = None,
        since: str | None = None,
        until: str | None = None,
        run_only: bool = False,
    ) -> Iterator[LogLine]:
        """`since`, `until`: RFC 3339, Unix seconds or a duration before now (`10m`), as
        Docker; following ends at `until`. Following goes on across restarts, unless
        `run_only`: then it ends with the run going on now (Docker's attach is to one run),
        once all that run wrote is read (its end is recorded after its log is complete)."""
        from itertools import takewhile

        from engine.logs import read_logs

        info = self.inspect(name_or_id)
        stamp = _log_time(since, "since", info.name)
        end = _log_time(until, "until", info.name)
        if not follow:
            lines: Iterator[LogLine] = iter(read_logs(info.log_path, tail, stamp))
        else:
            ended_runs = info.state.die_count

            def running() -> bool:
                state = self._observe(info.record)
                going_on = state.status.active
                return going_on and not (run_only and state.die_count != ended_runs)

            lines = self._follow_until_exit(info, running, tail, stamp)
        return lines if end is None else takewhile(lambda line: line.time <= end, lines)

    @staticmethod
    def _follow_until_exit(
        info: ContainerInfo, running: Callable[[], bool], tail: int | None, stamp: str | None
    ) -> Iterator[LogLine]:
        """Follow the log, waking at once when the supervisor exits (a pidfd) rather than
        at the next poll: the end of a short one-off `run` is seen without delay."""
        from engine.logs import follow_logs

        watch = ExitWatch(info.state.supervisor_pid, info.state.supervisor_start)
        try:  # called now, not at the first read: its tail is taken now (engine.logs says why)
            lines = follow_logs(info.log_path, running, tail, since=stamp, pause=watch.wait)
        except BaseException:
            watch.close()
            raise
        return _closing(lines, watch.close)

    # ---- exec ---------------------------------------------------------------------------
    def _exec_setup(
        self,
        name_or_id: str,
        argv: list[str] | tuple[str, ...],
        env: dict[str, str] | None,
        workdir: str | None,
        user: str | None,
        privileged: bool = False,
    ) -> tuple[ExecTarget, RuntimeSpec, ProcessSpec]:
        from engine.exec import ExecTarget, exec_process_for  # not on the CLI's start path

        info = self.inspect(name_or_id)
        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        if info.state.paused:  # joining its frozen cgroup would freeze us with it
            raise InvalidStateError(
                f"container {info.name} is paused, unpause the container before exec",
                subject=info.name,
            )
        spec = RuntimeSpec.load(self.layout.container_dir(info.id) / "runtime.json")
        target = ExecTarget(
            info.name, info.state.pid, info.state.pid_start,
            container_cgroup(info.id, info.record.spec.cgroup_parent),
        )
        process = exec_process_for(
            spec, info.state.pid, argv, env=env, workdir=workdir, user=user
        )
        if privileged:  # Docker's `exec --privileged`: every capability, the rest unchanged
            from engine.capabilities import resolve

            spec = replace(spec, capabilities=resolve((), (), True, info.name))
        return target, spec, process

    def exec_in_container(
        self,
        name_or_id: str,
        argv: list[str] | tuple[str, ...],
        *,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        stdin: bytes | None = None,
        privileged: bool = False,
    ) -> ExecResult:
        """Run a command in a running container; stdout and stderr come back interleaved.
        A command that cannot be started reports Docker's 126/127 and the reason as output."""
        from engine.exec import run_exec

        target, spec, process = self._exec_setup(
            name_or_id, argv, env, workdir, user, privileged
        )
        return run_exec(target, spec, process, stdin)

    def exec_detached(
        self,
        name_or_id: str,
        argv: list[str] | tuple[str, ...],
        *,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        privileged: bool = False,
    ) -> None:
        """`exec -d`: start a command in a running container and leave it running; raises
        `engine.exec.ExecError` if it could not be started."""
        from engine.exec import start_detached_exec

        target, spec, process = self._exec_setup(
            name_or_id, argv, env, workdir, user, privileged
        )
        start_detached_exec(target, spec, process)

    def exec_attached(
        self,
        name_or_id: str,
        argv: list[str] | tuple[str, ...],
        *,
        env: dict[str, str] | None = None,
        workdir: str | None = None,
        user: str | None = None,
        stdio: tuple[int, int, int] = (0, 1, 2),
        tty: bool = False,
        privileged: bool = False,
        detach: InputFilter | None = None,
    ) -> int | None:
        """Run a command in a running container on the given fds (the CLI's own stdio) and
        return its exit code; raises `engine.exec.ExecError` if it could not be started.
        With `tty`, the process gets a pty of the container's own devpts, relayed to stdio
        (the caller puts its terminal in raw mode); when `detach` spots the detach keys in
        the input, None at once: the process goes on, its terminal kept (and its output
        discarded, as Docker's daemon does) by a process of its own (`keep_terminal`)."""
        from engine.exec import (
            copy_window_size,
            keep_terminal,
            open_container_pty,
            relay_terminal,
            start_exec,
            window_size_source,
        )

        if tty:
            env = {"TERM": "xterm", **(env or {})}
        target, spec, process = self._exec_setup(
            name_or_id, argv, env, workdir, user, privileged
        )
        if not tty:
            return start_exec(target, spec, process, stdio).wait()
        master, slave = open_container_pty(target.init_pid)
        try:
            copy_window_size(window_size_source(stdio[0], stdio[1]), slave)
            running = start_exec(target, spec, process, (slave, slave, slave), tty=True)
            os.close(slave)
            slave = -1
            if relay_terminal(master, stdio[0], stdio[1], detach):
                keep_terminal(master)
                with contextlib.suppress(OSError):
                    os.close(running.err_fd)
                return None
            return running.wait()
        finally:
            os.close(master)
            if slave >= 0:
                os.close(slave)


# What callers outside the engine reach besides `Engine` and the errors (re-exported above),
# all through this module (DESIGN.md: compose/ uses engine/ only through engine.api;
# tests/unit/test_import_direction.py checks it). These load on first use (PEP 562
# `__getattr__` below): each of their modules costs import time that only the command needing
# it should pay (`pycompose ps` never loads the builder), so none is imported at the top.
# Name -> (module, attribute).
def dry_run_engine(engine: Engine) -> Engine:
    """`engine`'s state read for real, with every change answered as made but not made:
    docker compose's `--dry-run` (engine.dry_run)."""
    from typing import cast

    from engine.dry_run import DryRunEngine

    return cast("Engine", DryRunEngine(engine))


_LAZY: dict[str, tuple[str, str]] = {
    "ArtifactRepository": ("engine.registry.artifacts", "ArtifactRepository"),
    "BuildCache": ("engine.builder.cache", "BuildCache"),
    "BuildOptions": ("engine.builder.build", "BuildOptions"),
    "BuildSecret": ("engine.builder.secrets", "BuildSecret"),
    "CheckWarning": ("engine.builder.lint", "CheckWarning"),
    "DockerfileCheck": ("engine.builder.lint", "DockerfileCheck"),
    "CommitRequest": ("engine.container_commit", "CommitRequest"),
    "Image": ("engine.images", "Image"),
    "LogLine": ("engine.logs", "LogLine"),
    "NamedContext": ("engine.builder.named_contexts", "NamedContext"),
    "Credentials": ("engine.registry.auth", "Credentials"),
    "DockerIgnore": ("engine.builder.dockerignore", "DockerIgnore"),
    "ExecError": ("engine.exec", "ExecError"),
    "RegistryClient": ("engine.registry.client", "RegistryClient"),
    "RegistryRejectedError": ("engine.registry.errors", "RegistryRejectedError"),
    "host_architecture": ("engine.images", "host_architecture"),
    "is_loopback_registry": ("engine.registry.client", "is_loopback_registry"),
    "load_archive": ("engine.archive", "load_archive"),
    "parse_reference": ("engine.references", "parse_reference"),
    "remove_credentials": ("engine.registry.auth", "remove_credentials"),
    "save_credentials": ("engine.registry.auth", "save_credentials"),
    "save_images": ("engine.archive", "save_images"),
    "unpack_tar": ("engine.container_copy", "unpack"),
}

if TYPE_CHECKING:
    # BuildOptions and CommitRequest are imported for annotations at the top already.
    from engine.archive import load_archive, save_images  # noqa: F401
    from engine.builder.cache import BuildCache  # noqa: F401
    from engine.builder.dockerignore import DockerIgnore  # noqa: F401
    from engine.builder.lint import CheckWarning  # noqa: F401
    from engine.builder.named_contexts import NamedContext
    from engine.builder.secrets import BuildSecret  # noqa: F401
    from engine.container_copy import unpack as unpack_tar  # noqa: F401
    from engine.exec import ExecError  # noqa: F401
    from engine.images import host_architecture  # noqa: F401
    from engine.references import parse_reference  # noqa: F401
    from engine.registry.artifacts import ArtifactRepository  # noqa: F401
    from engine.registry.auth import (  # noqa: F401
        Credentials,
        remove_credentials,
        save_credentials,
    )
    from engine.registry.client import RegistryClient, is_loopback_registry  # noqa: F401
    from engine.registry.errors import RegistryRejectedError  # noqa: F401
else:
    # Hidden from mypy: a visible module `__getattr__` would make every misspelt name imported
    # from engine.api type-check as Any.
    def __getattr__(name: str) -> Any:
        try:
            module_name, attribute = _LAZY[name]
        except KeyError:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}") from None
        import importlib

        value = getattr(importlib.import_module(module_name), attribute)
        globals()[name] = value  # later lookups skip this function
        return value


def _endpoint_names(
    aliases: tuple[str, ...], hostname: str, name: str, short_id: str
) -> tuple[str, ...]:
    """Every name the network's resolver answers for the endpoint, Docker's DNSNames (its
    aliases, its hostname: Docker 25+ keeps a record per DNS name), each once, ending with
    the container's name and short id: the resolver's PTR answer is the name before last
    (engine.dns_records._canonical), as endpoints recorded by earlier versions have it."""
    others = dict.fromkeys(n for n in (*aliases, hostname) if n and n not in (name, short_id))
    return (*others, name, short_id)
