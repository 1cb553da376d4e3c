"""Turn a service of the project into the engine's container request (pure)."""

from __future__ import annotations

import json

from compose import labels as L
from compose.errors import ComposeError
from compose.model import MountType, Project, Service
from compose.service_runtime import memory_limit, runtime_options
from engine import sha256_hex
from engine.api import ContainerSpec, MountKind, MountSpec, NetworkAttachment, PortSpec

_MOUNT_KINDS = {
    MountType.VOLUME: MountKind.VOLUME,
    MountType.BIND: MountKind.BIND,
    MountType.TMPFS: MountKind.TMPFS,
}


def container_name(project: Project, service: Service, number: int) -> str:
    if service.container_name:
        return service.container_name
    sep = project.container_separator
    return f"{project.name}{sep}{service.name}{sep}{number}"


# What docker compose's ServiceHash leaves out (pkg/compose/hash.go): how the image is made
# or fetched and how many replicas run or what starts first change no container; the image
# itself is hashed by id.
_NOT_HASHED = frozenset({"build", "pull_policy", "scale", "depends_on", "profiles"})


def config_hash(service: Service, image_id: str) -> str:
    """What decides 'changed -> recreate': the normalized service plus the image it runs."""
    raw = {k: v for k, v in service.raw.items() if k not in _NOT_HASHED}
    deploy = raw.get("deploy")
    if isinstance(deploy, dict) and "replicas" in deploy:
        rest = {k: v for k, v in deploy.items() if k != "replicas"}
        if rest:
            raw["deploy"] = rest
        else:
            del raw["deploy"]
    payload = json.dumps({"service": raw, "image": image_id}, sort_keys=True, default=str)
    return sha256_hex(payload.encode())


def _mounts(project: Project, service: Service) -> tuple[MountSpec, ...]:
    mounts = []
    for volume in service.volumes:
        source = volume.source
        if volume.type is MountType.VOLUME and source is not None:
            definition = project.volumes.get(source)
            if definition is None:
                raise ComposeError(
                    f"service {service.name} refers to undefined volume {source}: invalid "
                    "compose project"
                )
            source = definition.name
        mounts.append(MountSpec(_MOUNT_KINDS[volume.type], volume.target, source, volume.read_only,
                                volume.create_host_path, volume.propagation, volume.no_copy))
    if service.raw.get("secrets") or service.raw.get("configs"):
        from compose.secret_files import bind_mounts  # only stacks that use them load it

        mounts.extend(bind_mounts(project, service, (m.target for m in mounts)))
    return tuple(mounts)


def _networks(project: Project, service: Service) -> tuple[NetworkAttachment, ...]:
    if service.network_mode:
        return ()
    attachments: list[NetworkAttachment] = []
    # compose-go's NetworksByPriority: the highest priority first, equal ones by name; the
    # first is the primary network (eth0, HostConfig.NetworkMode, the service's mac_address)
    ordered = sorted(service.networks, key=lambda n: (-n.priority, n.name))
    for attachment in ordered:
        definition = project.networks.get(attachment.name)
        if definition is None:
            raise ComposeError(
                f"service {service.name} refers to undefined network {attachment.name}: invalid "
                "compose project"
            )
        # Docker registers the service name and the aliases (the engine adds the container
        # name and short id), not `hostname:`: it names the container to itself only.
        aliases = (service.name, *attachment.aliases)
        # The service's `mac_address` is the primary network's (docker compose's rule), unless
        # that attachment names its own.
        mac = attachment.mac_address or (
            None if attachments else _optional_str(service.raw.get("mac_address"))
        )
        attachments.append(NetworkAttachment(
            definition.name, aliases, attachment.ipv4_address, attachment.ipv6_address, mac,
            attachment.gw_priority,
        ))
    return tuple(attachments)


def _optional_str(value: object) -> str | None:
    return None if value in (None, "") else str(value)


def _network_mode(service: Service) -> str:
    mode = service.network_mode or "bridge"
    if mode == "default":  # Docker's name for the bridge mode
        return "bridge"
    if mode in ("bridge", "host", "none") or mode.startswith(("service:", "container:")):
        return mode
    # Docker reads any other word as a network's name and fails the create without it; the
    # container had only a loopback here, as with `none`, and nothing said so.
    raise ComposeError(
        f"service {service.name}: network_mode: network {mode} not found",
        hint="network_mode takes bridge, host, none, service:NAME or container:NAME; a "
        "network to join goes under the service's `networks:`",
    )


def _network_mode_for(project: Project, service: Service) -> str:
    """`service:NAME` becomes `container:<NAME's first replica>`: the engine joins its netns."""
    mode = _network_mode(service)
    if mode.startswith("service:"):
        other = mode.removeprefix("service:")
        if other not in project.services:
            raise ComposeError(
                f'service "{service.name}" uses network_mode of undefined service "{other}"'
            )
        return f"container:{container_name(project, project.services[other], 1)}"
    return mode


def _volumes_from(project: Project, service: Service) -> tuple[str, ...]:
    """`service[:ro]` names the service's first replica; `container:NAME[:ro]` is taken as is."""
    out = []
    for entry in service.raw.get("volumes_from") or []:
        text = str(entry)
        if text.startswith("container:"):
            out.append(text.removeprefix("container:"))
            continue
        other, sep, mode = text.partition(":")
        if other not in project.services:
            raise ComposeError(
                f'service "{service.name}" mounts volumes from undefined service "{other}"'
            )
        out.append(container_name(project, project.services[other], 1) + sep + mode)
    return tuple(out)


def _strings(value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    if isinstance(value, dict):  # extra_hosts as a mapping
        return tuple(f"{k}={v}" for k, v in value.items())
    return tuple(str(v) for v in value)  # type: ignore[attr-defined]


def _network_options(service: Service) -> dict[str, object]:
    """Ports and name-resolution settings (issue 5) for the engine's ContainerSpec."""
    raw = service.raw
    return {
        "ports": tuple(
            PortSpec(p.target, p.published, p.host_ip, p.protocol) for p in service.ports
        ),
        "expose": exposed_ports(raw.get("expose")),
        "dns": _strings(raw.get("dns")),
        "dns_search": _strings(raw.get("dns_search")),
        "dns_opt": _strings(raw.get("dns_opt")),
        "extra_hosts": _strings(raw.get("extra_hosts")),
        "links": _strings(raw.get("links")),
    }


def exposed_ports(entries: object) -> tuple[str, ...]:
    """`expose:` as Docker's ExposedPorts keys: `80` is `80/tcp`, a range `8000-8002/udp` each
    of its ports (validation checked the form)."""
    out: list[str] = []
    listed = entries if isinstance(entries, list | tuple) else ()
    for entry in listed:
        ports, _, protocol = str(entry).partition("/")
        first, _, last = ports.partition("-")
        for port in range(int(first), int(last or first) + 1):
            out.append(f"{port}/{(protocol or 'tcp').lower()}")
    return tuple(dict.fromkeys(out))


def _cgroup_options(service: Service) -> dict[str, object]:
    """Keys the engine passes on to its cgroups and namespaces as they are."""
    raw = service.raw
    swappiness = raw.get("mem_swappiness")
    if swappiness is not None:
        try:
            swappiness = int(swappiness)
        except (TypeError, ValueError):
            raise ComposeError(
                f"service {service.name}: mem_swappiness: not an integer: {swappiness!r}"
            ) from None
    rules = raw.get("device_cgroup_rules") or ()
    return {
        "mem_swappiness": None if swappiness == -1 else swappiness,  # -1: Docker's "unset"
        "cgroup_parent": str(raw["cgroup_parent"]) if raw.get("cgroup_parent") else None,
        "device_cgroup_rules": tuple(str(rule) for rule in rules),
        "uts_mode": str(raw["uts"]) if raw.get("uts") else None,
        "cgroupns_mode": str(raw["cgroup"]) if raw.get("cgroup") else None,
    }


def build_container_spec(
    project: Project, service: Service, number: int, image_id: str
) -> ContainerSpec:
    if not service.image and "build" not in service.raw:
        raise ComposeError(
            f"service {service.name} has neither an image nor a build context specified: "
            "invalid compose project"
        )
    env = {k: v for k, v in service.environment.items() if v is not None}
    container_labels = {
        **service.labels,
        L.PROJECT: project.name,
        L.SERVICE: service.name,
        L.NUMBER: str(number),
        L.ONEOFF: "False",
        L.CONFIG_HASH: config_hash(service, image_id),
        L.WORKING_DIR: str(project.working_dir),
        L.CONFIG_FILES: ",".join(str(f) for f in project.config_files),
        L.DEPENDS_ON: ",".join(
            f"{d.service}:{d.condition.value}:{str(d.restart).lower()}" for d in service.depends_on
        ),
        L.IMAGE: image_id,
        L.VERSION: L.COMPOSE_VERSION,
    }
    return ContainerSpec(
        name=container_name(project, service, number),
        image=service.image or f"{project.name}-{service.name}",  # built: compose's name
        command=service.command,
        entrypoint=service.entrypoint,
        env=env,
        labels=container_labels,
        working_dir=service.working_dir,
        user=service.user,
        hostname=service.hostname,
        mounts=_mounts(project, service),
        volumes_from=_volumes_from(project, service),
        networks=_networks(project, service),
        network_mode=_network_mode_for(project, service),
        memory_limit=memory_limit(service),
        stop_signal=service.stop_signal,
        stop_timeout=service.stop_grace_period,
        **_network_options(service),  # type: ignore[arg-type]
        **_cgroup_options(service),  # type: ignore[arg-type]
        **runtime_options(service, project),
    )
