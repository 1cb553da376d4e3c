"""A container as `docker inspect` shows it: the keys tools and users read (State with
OOMKilled and Health, Config with Tty/OpenStdin, HostConfig limits, Mounts), built from the
record, its observed state and its image. Pure: no kernel access, nothing written."""

from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

from engine.containers import (
    ContainerRecord,
    ContainerState,
    ContainerStatus,
    MountKind,
    MountSpec,
    NetworkAttachment,
)
from engine.images import Image
from engine.process_config import resolve_env

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Mapping
    from typing import Any

    from netdriver.model import Endpoint, Network


@dataclass(frozen=True)
class NetworkView:
    """What the network driver knows of one of the container's networks: the network (None
    once it is gone) and the container's endpoint on it (None unless attached: it runs)."""

    network: Network | None
    endpoint: Endpoint | None


def _status(state: ContainerState) -> str:
    if state.status is ContainerStatus.RUNNING and state.paused:
        return "paused"
    return state.status.value


def _restart_policy(text: str) -> dict[str, Any]:
    name, _, count = (text or "no").partition(":")
    return {"Name": name, "MaximumRetryCount": int(count) if count.isdigit() else 0}


def _mount_point(mount: MountSpec, volume_mountpoints: dict[str, str]) -> dict[str, Any]:
    """Docker's MountPoint, its keys in its order. A bind's propagation is rprivate unless
    set; its Mode is the access docker compose writes in the bind it sends (`src:dst:rw`) when
    the source may be created and no propagation is set, else it goes through the Mounts API
    and has none."""
    volume = mount.kind is MountKind.VOLUME
    bind = mount.kind is MountKind.BIND
    access = "ro" if mount.read_only else "rw"
    binds = bind and mount.create_host_path and not mount.propagation  # compose's Binds path
    mode = access if binds else ("ro" if mount.read_only else "")
    return {
        "Type": mount.kind.value,
        **({"Name": mount.source or ""} if volume else {}),
        "Source": volume_mountpoints.get(mount.source or "", "") if volume
        else mount.source or "",
        "Destination": mount.target,
        **({"Driver": "local"} if volume else {}),
        "Mode": mode,
        "RW": not mount.read_only,
        "Propagation": (mount.propagation or "rprivate") if bind else "",
    }


def _network_mode(record: ContainerRecord) -> str:
    """HostConfig.NetworkMode: docker compose names the primary network there (a script's
    `{{.HostConfig.NetworkMode}}` is `proj_default`), else the mode (`host`, `none`,
    `container:ID`)."""
    spec = record.spec
    if spec.network_mode == "bridge" and spec.networks:
        return spec.networks[0].network
    return spec.network_mode


def _port_bindings(record: ContainerRecord) -> dict[str, list[dict[str, str]]]:
    """HostConfig.PortBindings as requested (running or not): "80/tcp" -> its bindings, an
    empty HostPort for one the kernel picks."""
    bindings: dict[str, list[dict[str, str]]] = {}
    for port in record.spec.ports:
        bindings.setdefault(f"{port.target}/{port.protocol}", []).append(
            {"HostIp": port.host_ip or "", "HostPort": port.published or ""}
        )
    return bindings


def _exposed(record: ContainerRecord, image_exposed: tuple[str, ...]) -> dict[str, Any]:
    """Config.ExposedPorts as Docker merges it (the image's, `expose:`, the `ports` targets),
    by key as Go writes a map; left out when there are none (omitempty)."""
    ports = {p if "/" in p else f"{p}/tcp" for p in (*image_exposed, *record.spec.expose)}
    ports |= {f"{p.target}/{p.protocol}" for p in record.spec.ports}
    return {"ExposedPorts": {p: {} for p in sorted(ports)}} if ports else {}


def _port_map(
    record: ContainerRecord, state: ContainerState, image_exposed: tuple[str, ...]
) -> dict[str, list[dict[str, str]] | None]:
    """Docker's NetworkSettings.Ports of a running container: each published "port/proto"
    with its host bindings, and each port only exposed (by the image, `expose:`, or a `ports:`
    entry not made) with null."""
    ports: dict[str, list[dict[str, str]] | None] = {}
    for port in (*image_exposed, *record.spec.expose):
        ports[port if "/" in port else f"{port}/tcp"] = None
    for spec in record.spec.ports:
        ports.setdefault(f"{spec.target}/{spec.protocol}", None)
    for made in state.ports:
        bindings = ports.get(f"{made.target}/{made.protocol}") or []
        bindings.append({"HostIp": made.host_ip, "HostPort": str(made.host_port)})
        ports[f"{made.target}/{made.protocol}"] = bindings
    return ports


def _sandbox(record: ContainerRecord, state: ContainerState, running: bool) -> dict[str, str]:
    """SandboxKey: the path of the running container's network namespace, what `nsenter
    --net=` takes (Docker's is a bind mount under /var/run/docker/netns; ours is the init's
    /proc entry); empty when it is stopped or shares another's namespace or the host's.
    SandboxID names that namespace: new for each run, as Docker's sandbox is."""
    own = record.spec.network_mode in ("bridge", "none")
    if not (running and own and state.pid):
        return {"SandboxID": "", "SandboxKey": ""}
    run = f"{record.id}/{state.started_at or ''}"
    return {"SandboxID": hashlib.sha256(run.encode()).hexdigest(),
            "SandboxKey": f"/proc/{state.pid}/ns/net"}


def _unique(names: list[str]) -> list[str]:
    return list(dict.fromkeys(names))


def _hostname(record: ContainerRecord) -> str:
    """The container's hostname as it was started: its own, the host's, or its short id."""
    spec = record.spec
    return spec.hostname or (
        os.uname().nodename if spec.network_mode == "host" else record.id[:12])


def _endpoint_settings(
    record: ContainerRecord, attachment: NetworkAttachment, view: NetworkView
) -> dict[str, Any]:
    """Docker's EndpointSettings of one network. Aliases as docker compose asks for them
    (the container's name, then the service's name and its aliases); DNSNames as Docker
    derives them (name, aliases, short id, hostname), which are the names our resolver
    answers to."""
    network = view.network
    aliases = _unique([record.name, *attachment.aliases])
    static = attachment.ipv4 or attachment.ipv6
    return {
        "IPAMConfig": {"IPv4Address": attachment.ipv4 or "", "IPv6Address": attachment.ipv6 or ""}
        if static else None,
        "Links": None,
        "Aliases": aliases,
        "MacAddress": (attachment.mac or "").lower(),
        "DriverOpts": None,
        "GwPriority": attachment.gw_priority,
        "NetworkID": network.id if network else "",
        **_operational(record, view),
        "DNSNames": _unique([record.name, *aliases, record.id[:12], _hostname(record)]),
    }


def _operational(record: ContainerRecord, view: NetworkView) -> dict[str, Any]:
    """The endpoint's live part: empty while the container is not attached (Docker clears it
    at stop); no gateway on an `internal` network (no route out, as Docker's bridge)."""
    network, endpoint = view.network, view.endpoint
    if network is None or endpoint is None:
        return {"EndpointID": "", "Gateway": "", "IPAddress": "", "IPPrefixLen": 0,
                "IPv6Gateway": "", "GlobalIPv6Address": "", "GlobalIPv6PrefixLen": 0}
    routed = not network.internal
    has6 = endpoint.ipv6 is not None and network.subnet6 is not None
    return {
        "MacAddress": endpoint.mac,
        "EndpointID": hashlib.sha256(f"{network.id}/{record.id}".encode()).hexdigest(),
        "Gateway": network.gateway if routed else "",
        "IPAddress": endpoint.ipv4,
        "IPPrefixLen": endpoint.prefixlen,
        "IPv6Gateway": (network.gateway6 or "") if routed and has6 else "",
        "GlobalIPv6Address": endpoint.ipv6 or "",
        "GlobalIPv6PrefixLen": int(str(network.subnet6).rpartition("/")[2]) if has6 else 0,
    }


def _networks(
    record: ContainerRecord, state: ContainerState, views: Mapping[str, NetworkView]
) -> dict[str, dict[str, Any]]:
    """NetworkSettings.Networks: each network the container joins, by name."""
    attachments = {a.network: a for a in record.spec.networks}
    for name in state.addresses:
        attachments.setdefault(name, NetworkAttachment(name))
    out: dict[str, dict[str, Any]] = {}
    for name, attachment in attachments.items():
        view = views.get(name, NetworkView(None, None))
        out[name] = _endpoint_settings(record, attachment, view)
        if view.endpoint is None and name in state.addresses:  # a driver without the record
            out[name]["IPAddress"] = state.addresses[name]
    return out


def container_document(
    record: ContainerRecord,
    state: ContainerState,
    image: Image | None,
    volume_mountpoints: dict[str, str],
    networks: Mapping[str, NetworkView] | None = None,
    files: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """`volume_mountpoints`: volume name -> its directory (Mounts[].Source); `networks`:
    what the network driver knows of the container's networks, by name; `files`: Docker's
    ResolvConfPath, HostnamePath, HostsPath and LogPath (the engine's layout)."""
    spec = record.spec
    config = image.config if image is not None else None
    entrypoint = spec.entrypoint if spec.entrypoint is not None else (
        config.entrypoint if config else None)
    command = spec.command if spec.command is not None else (
        None if spec.entrypoint is not None else (config.cmd if config else None))
    args = [*(entrypoint or ()), *(command or ())]
    hostname = _hostname(record)
    health = None
    if state.health_status is not None:
        health = {"Status": state.health_status, "FailingStreak": state.health_failing_streak,
                  "Log": state.health_log}
    running = state.status in (ContainerStatus.RUNNING, ContainerStatus.RESTARTING)
    mounts = [_mount_point(mount, volume_mountpoints) for mount in spec.mounts]
    return {
        "Id": record.id,
        "Created": record.created,
        "Path": args[0] if args else "",
        "Args": args[1:],
        "State": {
            "Status": _status(state),
            "Running": running,
            "Paused": state.paused,
            "Restarting": state.status is ContainerStatus.RESTARTING,
            "OOMKilled": state.oom_killed,
            "Dead": state.status is ContainerStatus.DEAD,
            "Pid": state.pid or 0,
            "ExitCode": state.exit_code or 0,
            "Error": state.error or "",
            "StartedAt": state.started_at or "0001-01-01T00:00:00Z",
            "FinishedAt": state.finished_at or "0001-01-01T00:00:00Z",
            **({"Health": health} if health is not None else {}),
        },
        "Image": record.image_id,
        **(files or {}),
        "Name": "/" + record.name,
        "RestartCount": state.restart_count,
        "Driver": "overlay2",
        "Platform": "linux",
        "HostConfig": {
            "Privileged": spec.privileged,
            "CapAdd": list(spec.cap_add) or None,
            "CapDrop": list(spec.cap_drop) or None,
            "SecurityOpt": list(spec.security_opt) or None,
            "GroupAdd": list(spec.group_add) or None,
            "ReadonlyRootfs": spec.read_only,
            "Init": spec.init,
            "NetworkMode": _network_mode(record),
            "PortBindings": _port_bindings(record),
            "PidMode": spec.pid_mode or "",
            "IpcMode": spec.ipc_mode or "private",
            "UTSMode": "host" if spec.uts_mode == "host" else "",
            "CgroupnsMode": "host" if spec.cgroupns_mode == "host" else "private",
            "CgroupParent": spec.cgroup_parent or "",
            "UsernsMode": "",
            "RestartPolicy": _restart_policy(spec.restart_policy),
            "AutoRemove": spec.auto_remove,
            "Memory": spec.memory_limit or 0,
            "MemoryReservation": spec.mem_reservation or 0,
            "MemorySwap": spec.memswap_limit or 2 * (spec.memory_limit or 0),  # Docker's
            "NanoCpus": int((spec.cpus or 0) * 1_000_000_000),
            "CpuShares": spec.cpu_shares or 0,
            "CpuQuota": spec.cpu_quota or 0,
            "CpuPeriod": spec.cpu_period or 0,
            "CpusetCpus": spec.cpuset_cpus or "",
            "CpusetMems": spec.cpuset_mems or "",
            "PidsLimit": spec.pids_limit,
            "MemorySwappiness": spec.mem_swappiness,  # None (null) unless set, and on v2
            "OomKillDisable": spec.oom_kill_disable,
            "OomScoreAdj": spec.oom_score_adj or 0,
            "BlkioWeight": spec.blkio_weight or 0,
            "ShmSize": spec.shm_size or 64 * 1024 * 1024,
            "Sysctls": spec.sysctls or None,
            "Tmpfs": spec.tmpfs or None,
            "Ulimits": [{"Name": n, "Soft": s, "Hard": h} for n, (s, h) in spec.ulimits.items()]
            or None,
            "Devices": list(spec.devices) or None,
            "DeviceCgroupRules": list(spec.device_cgroup_rules) or None,
            "VolumesFrom": list(spec.volumes_from) or None,
        },
        "Mounts": mounts,
        "Config": {
            "Hostname": hostname,
            "Domainname": spec.domainname or "",
            "User": spec.user or (config.user if config else ""),
            "AttachStdin": spec.stdin_once,
            "AttachStdout": False,
            "AttachStderr": False,
            **_exposed(record, config.exposed_ports if config else ()),
            "Tty": spec.tty,
            "OpenStdin": spec.stdin_open,
            "StdinOnce": spec.stdin_once,
            "Env": list(resolve_env(spec, config.env if config else (), hostname, home=None)),
            "Cmd": list(command) if command is not None else None,
            "Image": spec.image,
            "Volumes": {v: {} for v in config.volumes} if config and config.volumes else None,
            "WorkingDir": spec.working_dir or (config.working_dir if config else ""),
            "Entrypoint": list(entrypoint) if entrypoint is not None else None,
            "OnBuild": None,
            "Labels": spec.labels,
            "StopSignal": spec.stop_signal or (config.stop_signal if config else None)
            or "SIGTERM",
            **({"StopTimeout": int(spec.stop_timeout)} if spec.stop_timeout is not None else {}),
        },
        "NetworkSettings": {
            **_sandbox(record, state, running),
            "Ports": _port_map(record, state, config.exposed_ports if config else ())
            if running else {},
            "Networks": _networks(record, state, networks or {}),
        },
    }
