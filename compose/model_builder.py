"""The typed model built from the normalized (`config`-shaped) mapping.

Normalization already did the parsing; this module only maps fields onto the dataclasses so
that downstream code never looks at raw YAML.
"""

from __future__ import annotations

from pathlib import Path

from compose.byte_size import parse_byte_size
from compose.durations import parse_duration
from compose.model import (
    DependencyCondition,
    DependsOn,
    Hook,
    MountType,
    NetworkDef,
    PortMapping,
    Project,
    Service,
    ServiceNetwork,
    ServiceVolume,
    VolumeDef,
)
from compose.network_options import DRIVER_OPT_BRIDGE, DRIVER_OPT_MTU, ipam_entry
from compose.service_restart import restart_policy

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None


def build_service(name: str, raw: dict[str, Any]) -> Service:
    deploy = raw.get("deploy") or {}
    scale = raw.get("scale", deploy.get("replicas", 1) if isinstance(deploy, dict) else 1)
    scale = 1 if scale is None else scale
    return Service(
        name=name,
        image=raw.get("image"),
        command=_tuple(raw.get("command")),
        entrypoint=_tuple(raw.get("entrypoint")),
        environment=dict(raw.get("environment") or {}),
        depends_on=tuple(
            DependsOn(
                service=dep,
                condition=DependencyCondition(spec.get("condition", "service_started")),
                restart=bool(spec.get("restart", False)),
                required=bool(spec.get("required", True)),
            )
            for dep, spec in (raw.get("depends_on") or {}).items()
        ),
        volumes=tuple(
            ServiceVolume(
                type=MountType(v["type"]) if v["type"] in ("volume", "bind", "tmpfs")
                else MountType.VOLUME,
                target=v["target"],
                source=v.get("source"),
                read_only=bool(v.get("read_only", False)),
                create_host_path=bool((v.get("bind") or {}).get("create_host_path", False)),
                propagation=(v.get("bind") or {}).get("propagation"),
                no_copy=bool((v.get("volume") or {}).get("nocopy", False)),
            )
            for v in raw.get("volumes") or []
        ),
        networks=tuple(
            ServiceNetwork(
                name=net,
                aliases=tuple((spec or {}).get("aliases") or ()),
                ipv4_address=(spec or {}).get("ipv4_address"),
                ipv6_address=(spec or {}).get("ipv6_address"),
                priority=int((spec or {}).get("priority") or 0),  # normalized to int
                mac_address=(spec or {}).get("mac_address"),
                gw_priority=int((spec or {}).get("gw_priority") or 0),  # normalized to int
            )
            for net, spec in (raw.get("networks") or {}).items()
        ),
        network_mode=raw.get("network_mode"),
        ports=tuple(
            PortMapping(
                target=int(p["target"]),
                published=p.get("published"),
                host_ip=p.get("host_ip"),
                protocol=p.get("protocol", "tcp"),
            )
            for p in raw.get("ports") or []
        ),
        mem_limit=parse_byte_size(raw["mem_limit"]) if raw.get("mem_limit") else None,
        working_dir=raw.get("working_dir"),
        user=raw.get("user"),
        hostname=raw.get("hostname"),
        container_name=raw.get("container_name"),
        labels=dict(raw.get("labels") or {}),
        stop_signal=raw.get("stop_signal"),
        stop_grace_period=parse_duration(raw["stop_grace_period"])
        if raw.get("stop_grace_period") else None,
        restart=restart_policy(raw),
        profiles=tuple(raw.get("profiles") or ()),
        tty=bool(raw.get("tty", False)),
        stdin_open=bool(raw.get("stdin_open", False)),
        scale=int(scale),
        post_start=_hooks(raw.get("post_start")),
        pre_stop=_hooks(raw.get("pre_stop")),
        raw=raw,
    )


def _hooks(entries: list[dict[str, Any]] | None) -> tuple[Hook, ...]:
    """Normalized hook entries (compose.normalize) as typed Hooks."""
    return tuple(
        Hook(
            command=tuple(entry["command"]),
            user=entry.get("user"),
            privileged=bool(entry.get("privileged", False)),
            working_dir=entry.get("working_dir"),
            environment={k: v for k, v in (entry.get("environment") or {}).items()
                         if v is not None},
        )
        for entry in entries or ()
    )


def _first_gateway(spec: dict[str, Any]) -> str | None:
    first = ipam_entry(spec, ipv6=False)
    return str(first["gateway"]) if first.get("gateway") else None


def _network_extras(spec: dict[str, Any]) -> dict[str, Any]:
    """NetworkDef fields from ipam.config, enable_ipv6, attachable and driver_opts."""
    v4, v6 = ipam_entry(spec, ipv6=False), ipam_entry(spec, ipv6=True)
    enable_ipv6 = bool(spec.get("enable_ipv6", False))
    opts = spec.get("driver_opts") or {}
    mtu = opts.get(DRIVER_OPT_MTU)
    return {
        "ip_range": str(v4["ip_range"]) if v4.get("ip_range") else None,
        "aux_addresses": {str(k): str(v) for k, v in (v4.get("aux_addresses") or {}).items()},
        "enable_ipv6": enable_ipv6,
        "ipv6_subnet": str(v6["subnet"]) if enable_ipv6 and v6.get("subnet") else None,
        "ipv6_gateway": str(v6["gateway"]) if enable_ipv6 and v6.get("gateway") else None,
        "mtu": int(mtu) if mtu is not None and str(mtu).strip().isdigit() else None,
        "bridge_name": str(opts[DRIVER_OPT_BRIDGE]) if opts.get(DRIVER_OPT_BRIDGE) else None,
        "attachable": bool(spec.get("attachable", False)),
    }


def build_project(
    raw: dict[str, Any],
    working_dir: Path,
    config_files: tuple[Path, ...],
    all_service_names: tuple[str, ...],
    environment: dict[str, str],
    all_profiles: tuple[str, ...] = (),
    warnings: tuple[str, ...] = (),
) -> Project:
    networks = {
        key: NetworkDef(
            key=key,
            name=spec["name"],
            external=bool(spec.get("external", False)),
            driver=spec.get("driver"),
            internal=bool(spec.get("internal", False)),
            labels=dict(spec.get("labels") or {}),
            subnets=tuple(
                str(c["subnet"]) for c in (spec.get("ipam") or {}).get("config") or []
                if isinstance(c, dict) and c.get("subnet")
            ),
            gateway=_first_gateway(spec),
            **_network_extras(spec),
        )
        for key, spec in (raw.get("networks") or {}).items()
    }
    volumes = {
        key: VolumeDef(
            key=key,
            name=spec["name"],
            external=bool(spec.get("external", False)),
            driver=spec.get("driver"),
            labels=dict(spec.get("labels") or {}),
            driver_opts={k: str(v) for k, v in (spec.get("driver_opts") or {}).items()},
        )
        for key, spec in (raw.get("volumes") or {}).items()
    }
    return Project(
        name=raw["name"],
        working_dir=working_dir,
        config_files=config_files,
        services={n: build_service(n, s) for n, s in raw["services"].items()},
        networks=networks,
        volumes=volumes,
        all_service_names=all_service_names,
        environment=environment,
        all_profiles=all_profiles,
        raw=raw,
        warnings=warnings,
    )
