"""Service keys the Compose Specification defines that this engine does not act on.

docker compose warns about what its engine cannot do (e.g. `build.secrets` on the classic
builder) rather than fail; a key accepted and silently ignored would make a user believe a
limit or hook is in place. `up` and `run` warn once per key and service.
"""

from __future__ import annotations

from compose.model import Service

# key -> what it would have done (the warning says it is ignored)
UNSUPPORTED_SERVICE_KEYS = {
    "cpu_rt_runtime": "a real-time CPU budget",
    "cpu_rt_period": "a real-time CPU period",
    "cpu_count": "a CPU count (Windows)",
    "cpu_percent": "a CPU percentage (Windows)",
    "storage_opt": "storage driver options",
    "isolation": "an isolation technology",
}


# blkio_config's per-device limits: only its `weight` reaches the cgroup.
BLKIO_DEVICE_KEYS = ("weight_device", "device_read_bps", "device_read_iops", "device_write_bps",
                     "device_write_iops")


def unsupported_warnings(service: Service) -> list[str]:
    """One warning per key of `service` that is set and not acted on."""
    warnings = [
        f'service "{service.name}": {key} ({what}) is not supported by pycompose\'s engine '
        "and is ignored"
        for key, what in UNSUPPORTED_SERVICE_KEYS.items()
        if service.raw.get(key) not in (None, [], {}, "")
        and not (key == "isolation" and service.raw[key] == "default")  # Linux's only one
    ]
    blkio = service.raw.get("blkio_config") or {}
    warnings.extend(
        f'service "{service.name}": blkio_config.{key} (a per-device I/O limit) is not '
        "supported by pycompose's engine and is ignored"
        for key in BLKIO_DEVICE_KEYS if blkio.get(key)
    )
    warnings.extend(
        f'service "{service.name}": networks.{name}.link_local_ips is not supported by '
        "pycompose's engine and is ignored"
        for name, spec in (service.raw.get("networks") or {}).items()
        if isinstance(spec, dict) and spec.get("link_local_ips")
    )
    driver = (service.raw.get("logging") or {}).get("driver")
    if driver not in (None, "", "json-file"):
        warnings.append(f'service "{service.name}": logging driver "{driver}" is not supported '
                        "by pycompose's engine and is ignored (its logs are json-file)")
    if service.network_mode == "host" and service.raw.get("ports"):  # the daemon's warning
        warnings.append(
            f'service "{service.name}": Published ports are discarded when using host network mode'
        )
    if service.raw.get("mem_swappiness") not in (None, -1, "-1"):
        from engine.api import swappiness_supported

        if not swappiness_supported():  # Docker discards it on cgroup v2 too, and warns
            warnings.append(
                f'service "{service.name}": mem_swappiness (the memory cgroup\'s swappiness) '
                "is ignored: cgroup v2 has no memory swappiness"
            )
    return warnings
