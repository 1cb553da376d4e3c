"""The engine's public face: everything outside `engine/` goes through `Engine`.

Daemonless: each call works on the state files under the data root and observes liveness from
/proc; containers run under their own detached supervisors and outlive the caller.
"""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from engine.cgroups import container_cgroup
from engine.containers import (
    ContainerRecord,
    ContainerSpec,
    ContainerState,
    ContainerStatus,
    ContainerStore,
    MountKind,
    MountSpec,
    NetworkAttachment,
)
from engine.errors import ContainerStartError, InvalidStateError
from engine.images import Image, ImageStore
from engine.layout import Layout, data_root_from_env
from engine.logs import LogLine, follow_logs, read_logs
from engine.process_config import resolve_args, resolve_env, resolve_user
from engine.processes import is_alive, signal_pid
from engine.runtime_spec import BindMount, NetworkRequest, ProcessSpec, RuntimeSpec, TmpfsMount
from engine.volumes import Volume, VolumeStore
from netdriver.api import Network, NetworkDriver

__all__ = [
    "ContainerInfo",
    "ContainerSpec",
    "ContainerStatus",
    "Engine",
    "Image",
    "LogLine",
    "MountKind",
    "MountSpec",
    "Network",
    "NetworkAttachment",
    "Volume",
]

DEFAULT_STOP_TIMEOUT = 10.0
SUPERVISOR_REPORT_TIMEOUT = 60.0


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


def _signal_number(name: str | None) -> int:
    if not name:
        return signal.SIGTERM
    text = name.upper()
    if text.isdigit():
        return int(text)
    if not text.startswith("SIG"):
        text = "SIG" + text
    return int(signal.Signals[text])


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


class Engine:
    def __init__(self, root: Path | None = None) -> None:
        self.layout = Layout(Path(root) if root else data_root_from_env())
        self.layout.ensure()
        self.images = ImageStore(self.layout.root)
        self.containers = ContainerStore(self.layout)
        self.volumes = VolumeStore(self.layout)
        self.networks = NetworkDriver(self.layout.networks)

    # ---- images -------------------------------------------------------------------------
    def import_image(self, tarball: Path, reference: str | None) -> Image:
        return self.images.import_tarball(tarball, reference)

    def list_images(self) -> list[Image]:
        return self.images.list()

    def get_image(self, reference: str) -> Image:
        return self.images.get(reference)

    # ---- volumes and networks -----------------------------------------------------------
    def ensure_volume(self, name: str, labels: dict[str, str] | None = None) -> Volume:
        return self.volumes.ensure(name, labels)

    def remove_volume(self, name: str) -> None:
        users = [
            c.name
            for c in self.containers.all()
            if any(m.kind is MountKind.VOLUME and m.source == name for m in c.spec.mounts)
        ]
        if users:
            raise InvalidStateError(
                f"volume {name} is in use by container(s) {', '.join(users)}", subject=name
            )
        self.volumes.remove(name)

    def ensure_network(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        internal: bool = False,
        subnet: str | None = None,
    ) -> Network:
        return self.networks.ensure_network(
            name, labels=labels or {}, internal=internal, subnet=subnet
        )

    def remove_network(self, name: str) -> None:
        self.networks.remove_network(name)

    # ---- containers ---------------------------------------------------------------------
    def create_container(self, spec: ContainerSpec) -> ContainerInfo:
        image = self.images.get(spec.image)
        for mount in spec.mounts:
            if mount.kind is MountKind.VOLUME and mount.source:
                self.volumes.ensure(mount.source)
        record = self.containers.create(spec, image.id)
        return self.inspect(record.id)

    def _info(self, record: ContainerRecord) -> ContainerInfo:
        state = self._observe(record)
        log_path = self.layout.container_dir(record.id) / f"{record.id}-json.log"
        return ContainerInfo(record=record, state=state, log_path=log_path)

    def _observe(self, record: ContainerRecord) -> ContainerState:
        """Trust /proc over the state file: a running container whose supervisor is gone
        (killed, machine rebooted) is reported exited and its leftovers are released."""
        state = self.containers.load_state(record.id)
        if state.status is ContainerStatus.RUNNING and not is_alive(
            state.supervisor_pid, state.supervisor_start
        ):
            if state.pid and is_alive(state.pid, state.pid_start):
                signal_pid(state.pid, signal.SIGKILL)
            container_cgroup(record.id).remove()
            for network in state.addresses:
                with contextlib.suppress(Exception):
                    self.networks.detach(network, record.id)
            state = self.containers.update_state(
                record.id, status=ContainerStatus.EXITED, exit_code=255, pid=None, addresses={}
            )
        return state

    def inspect(self, name_or_id: str) -> ContainerInfo:
        return self._info(self.containers.get(name_or_id))

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

    def _runtime_spec(self, record: ContainerRecord) -> RuntimeSpec:
        spec = record.spec
        image = self.images.get(record.image_id)
        lowers = [str(p) for p in self.images.layer_paths(image)]
        directory = self.layout.container_dir(record.id)
        for sub in ("upper", "work", "rootfs"):
            (directory / sub).mkdir(exist_ok=True)
        hostname = spec.hostname or record.id[:12]
        (directory / "hostname").write_text(hostname + "\n")
        hosts = directory / "hosts"
        if not hosts.exists():
            hosts.write_text("127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n")
        (directory / "resolv.conf").write_text(_host_resolv_conf())
        uid, gid = resolve_user(spec.user or image.config.user, lowers)
        process = ProcessSpec(
            args=resolve_args(spec, image.config.entrypoint, image.config.cmd),
            env=resolve_env(spec, image.config.env, hostname),
            cwd=spec.working_dir or image.config.working_dir or "/",
            uid=uid,
            gid=gid,
        )
        binds, tmpfs = [], []
        for mount in spec.mounts:
            if mount.kind is MountKind.TMPFS:
                tmpfs.append(TmpfsMount(mount.target))
            elif mount.kind is MountKind.VOLUME:
                volume = self.volumes.ensure(mount.source or record.id[:12] + mount.target)
                binds.append(BindMount(str(volume.mountpoint), mount.target, mount.read_only))
            else:
                binds.append(BindMount(mount.source or "", mount.target, mount.read_only))
        return RuntimeSpec(
            container_id=record.id,
            hostname=hostname,
            lower_dirs=tuple(lowers),
            upper_dir=str(directory / "upper"),
            work_dir=str(directory / "work"),
            rootfs_dir=str(directory / "rootfs"),
            process=process,
            hosts_file=str(hosts),
            hostname_file=str(directory / "hostname"),
            resolv_file=str(directory / "resolv.conf"),
            log_file=str(directory / f"{record.id}-json.log"),
            mounts=tuple(binds),
            tmpfs=tuple(tmpfs),
            networks=tuple(
                NetworkRequest(n.network, (*n.aliases, record.name, record.id[:12]), n.ipv4)
                for n in spec.networks
            ),
            network_mode=spec.network_mode,
            memory_limit=spec.memory_limit,
            pids_limit=spec.pids_limit,
            read_only=spec.read_only,
        )

    def start_container(self, name_or_id: str) -> ContainerInfo:
        info = self.inspect(name_or_id)
        if info.status is ContainerStatus.RUNNING:
            return info
        runtime_spec = self._runtime_spec(info.record)
        runtime_spec.save(self.layout.container_dir(info.id) / "runtime.json")
        outcome = self._spawn_supervisor(info.id)
        if not outcome.startswith("OK"):
            reason = outcome.removeprefix("ERR ").strip() or "supervisor exited without a report"
            raise ContainerStartError(
                f"container {info.name} failed to start: {reason}", subject=info.name
            )
        return self.inspect(info.id)

    def _spawn_supervisor(self, container_id: str) -> str:
        read_fd, write_fd = os.pipe()
        package_parent = str(Path(__file__).resolve().parent.parent)
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [package_parent, env.get("PYTHONPATH")]))
        try:
            process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "engine.supervisor_launch",
                    str(self.layout.root),
                    container_id,
                    str(write_fd),
                ],
                pass_fds=(write_fd,),
                stdin=subprocess.DEVNULL,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
            )
        finally:
            os.close(write_fd)
        try:
            with os.fdopen(read_fd, "rb") as reader:
                report = reader.readline().decode(errors="replace")
                if not report.startswith("OK"):
                    reader.read()  # EOF: the failed supervisor has exited
        finally:
            process.wait()
        return report

    def stop_container(self, name_or_id: str, timeout: float | None = None) -> ContainerInfo:
        info = self.inspect(name_or_id)
        state = info.state
        if state.status is not ContainerStatus.RUNNING or not state.pid:
            return info
        grace = timeout if timeout is not None else info.record.spec.stop_timeout
        grace = DEFAULT_STOP_TIMEOUT if grace is None else grace
        if is_alive(state.pid, state.pid_start):
            signal_pid(state.pid, _signal_number(info.record.spec.stop_signal))
        if not self._wait_supervisor(state, grace):
            if is_alive(state.pid, state.pid_start):
                signal_pid(state.pid, signal.SIGKILL)
            self._wait_supervisor(state, 30.0)
        return self.inspect(info.id)

    def kill_container(self, name_or_id: str, sig: str = "SIGKILL") -> None:
        info = self.inspect(name_or_id)
        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            raise InvalidStateError(f"container {info.name} is not running", subject=info.name)
        signal_pid(info.state.pid, _signal_number(sig))

    @staticmethod
    def _wait_supervisor(state: ContainerState, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        while is_alive(state.supervisor_pid, state.supervisor_start):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.01)
        return True

    def wait_container(self, name_or_id: str, timeout: float | None = None) -> int | None:
        info = self.inspect(name_or_id)
        if info.status is ContainerStatus.RUNNING:
            self._wait_supervisor(info.state, timeout if timeout is not None else 1e9)
        return self.inspect(info.id).state.exit_code

    def remove_container(self, name_or_id: str, force: bool = False) -> None:
        info = self.inspect(name_or_id)
        if info.status is ContainerStatus.RUNNING:
            if not force:
                raise InvalidStateError(
                    f"cannot remove container {info.name}: container is running: stop the "
                    "container before removing or force remove",
                    subject=info.name,
                )
            self.stop_container(info.id, timeout=0)
        self.containers.delete(info.id)

    def logs(
        self, name_or_id: str, *, follow: bool = False, tail: int | None = None
    ) -> Iterator[LogLine]:
        info = self.inspect(name_or_id)
        if not follow:
            return iter(read_logs(info.log_path, tail))

        def running() -> bool:
            return self._observe(info.record).status is ContainerStatus.RUNNING

        return follow_logs(info.log_path, running, tail)
