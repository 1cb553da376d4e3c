"""A service's runtime options (security, resources, supervision) as ContainerSpec fields.

Pure: reads the normalized service mapping (`Service.raw`, shapes fixed by compose.normalize),
converts Compose's spellings (sizes, durations, `deploy.resources`, `logging.options`,
healthcheck test forms) to the engine's, and reports bad values naming the service and key.
"""

from __future__ import annotations

from compose.byte_size import parse_byte_size
from compose.durations import parse_duration
from compose.errors import ComposeError
from compose.model import Project, Service
from compose.service_restart import restart_policy
from engine.api import HealthcheckConfig

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


def _bad(service: Service, key: str, message: str) -> ComposeError:
    return ComposeError(f"service {service.name}: {key}: {message}")


def _size(service: Service, key: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    if isinstance(value, int) and value < 0:
        return value  # -1: unlimited (memswap_limit); the engine refuses what cannot be
    if isinstance(value, str) and value.startswith("-") and value[1:].isdigit():
        return int(value)  # as normalization writes a YAML integer
    try:
        return parse_byte_size(value)
    except ValueError as exc:
        raise _bad(service, key, str(exc)) from None


def _float(service: Service, key: str, value: Any) -> float | None:
    if value is None or value == "":
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise _bad(service, key, f"not a number: {value!r}") from None


def _int(service: Service, key: str, value: Any) -> int | None:
    if value is None or value == "":
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise _bad(service, key, f"not an integer: {value!r}") from None


def _strings(value: Any) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        return (value,)
    return tuple(str(v) for v in value)


def _tmpfs(service: Service, raw: dict[str, Any]) -> tuple[dict[str, str], dict[str, str]]:
    """Service-level `tmpfs: [/path:opts]` and long-syntax `volumes` tmpfs size/mode."""
    service_level: dict[str, str] = {}
    for item in _strings(raw.get("tmpfs")):
        path, _, options = item.partition(":")
        service_level[path] = options
    per_mount: dict[str, str] = {}
    for volume in raw.get("volumes") or []:
        if not isinstance(volume, dict) or volume.get("type") != "tmpfs":
            continue
        spec = volume.get("tmpfs") or {}
        parts: list[str] = []
        if spec.get("size") is not None:
            parts.append(f"size={_size(service, 'volumes.tmpfs.size', spec['size'])}")
        if spec.get("mode") is not None:
            mode = spec["mode"]
            # an int is already the mode; YAML 1.1 leaves 0o700 as a string
            text = f"{mode:o}" if isinstance(mode, int) else str(mode).lower().removeprefix("0o")
            parts.append(f"mode={text}")
        if parts:
            per_mount[volume["target"]] = ",".join(parts)
    return service_level, per_mount


def _ulimits(service: Service, raw: dict[str, Any]) -> dict[str, tuple[int, int]]:
    out = {}
    for name, value in (raw.get("ulimits") or {}).items():
        if isinstance(value, dict):
            soft, hard = value.get("soft"), value.get("hard")
            if soft is None or hard is None:
                raise _bad(service, f"ulimits.{name}", "needs both soft and hard")
            out[name] = (int(soft), int(hard))
        else:
            out[name] = (int(value), int(value))
    return out


def _devices(service: Service, raw: dict[str, Any]) -> tuple[str, ...]:
    out = []
    for item in raw.get("devices") or []:
        if isinstance(item, dict):  # long syntax
            source = item.get("source")
            if not source:
                raise _bad(service, "devices", f"missing source in {item!r}")
            target = item.get("target") or source
            out.append(f"{source}:{target}:{item.get('permissions') or 'rwm'}")
        else:
            out.append(str(item))
    return tuple(out)


def healthcheck(service: Service, raw: dict[str, Any]) -> HealthcheckConfig | None:
    spec = raw.get("healthcheck")
    if not isinstance(spec, dict):
        return None
    if spec.get("disable"):
        return HealthcheckConfig(test=("NONE",))
    test = spec.get("test")
    if not test:  # none, or [] (Docker: the image's): only timings, which would amend the
        return None  # image's check (not supported yet)
    if isinstance(test, str):
        test_tuple: tuple[str, ...] = ("CMD-SHELL", test)
    else:
        test_tuple = tuple(str(t) for t in test)
    if not test_tuple or test_tuple[0] not in ("CMD", "CMD-SHELL", "NONE"):
        raise _bad(service, "healthcheck.test", "must be a string or a list starting with "
                   "CMD, CMD-SHELL or NONE")

    def seconds(key: str, default: float) -> float:
        value = spec.get(key)
        if value is None:
            return default
        try:
            return parse_duration(value) or default  # Docker: 0 is the default
        except ValueError as exc:
            raise _bad(service, f"healthcheck.{key}", str(exc)) from None

    retries = _int(service, "healthcheck.retries", spec.get("retries"))
    return HealthcheckConfig(
        test=test_tuple,
        interval=seconds("interval", 30.0),
        timeout=seconds("timeout", 30.0),
        retries=3 if retries is None else retries,
        start_period=seconds("start_period", 0.0),
        start_interval=seconds("start_interval", 5.0),
    )


def memory_limit(service: Service) -> int | None:
    """`mem_limit`, else `deploy.resources.limits.memory` (Compose v2 honours both)."""
    if service.mem_limit is not None:
        return service.mem_limit
    limits = ((service.raw.get("deploy") or {}).get("resources") or {}).get("limits") or {}
    return _size(service, "deploy.resources.limits.memory", limits.get("memory"))


def _container_mode(project: Project | None, service: Service, key: str) -> str | None:
    """`service:NAME` -> `container:<NAME's first replica>` (as network_mode does)."""
    value = service.raw.get(key)
    if value is None:
        return None
    text = str(value)
    if text.startswith("service:") and project is not None:
        other = text.removeprefix("service:")
        if other not in project.services:
            raise _bad(service, key, f"refers to undefined service {other}")
        sep = project.container_separator
        target = project.services[other]
        return f"container:{target.container_name or f'{project.name}{sep}{other}{sep}1'}"
    return text


def _check_isolation(service: Service, value: Any) -> None:
    """Docker's create on Linux knows one isolation, the default (its IsValid)."""
    if value not in (None, "", "default"):
        raise _bad(service, "isolation", f"invalid isolation {value!r} on linux (only "
                   '"default")')


# Docker's built-in log drivers on Linux: another name is a plugin's, which this engine has
# not (Docker: "no log driver named ... is registered"). Only json-file is acted on.
LOG_DRIVERS = frozenset({"json-file", "local", "none", "syslog", "journald", "gelf",
                         "fluentd", "awslogs", "splunk", "gcplogs", "logentries"})


def _check_log_driver(service: Service, value: Any) -> None:
    if value not in (None, "") and value not in LOG_DRIVERS:
        raise _bad(service, "logging.driver", f"logger: no log driver named {value!r} is "
                   "registered")


# Docker's runtimes without daemon configuration; this engine is one runtime, runc's like.
RUNTIMES = frozenset({"runc", "io.containerd.runc.v2"})


def _check_runtime(service: Service, value: Any) -> None:
    if value not in (None, "") and value not in RUNTIMES:
        raise _bad(service, "runtime", f"unknown or invalid runtime name: {value}")


def _check_device_requests(service: Service, raw: dict[str, Any]) -> None:
    """`gpus` and device reservations need a device driver (nvidia's): Docker without one
    refuses the container; it ran here without the GPU it asked for."""
    reservations = (((raw.get("deploy") or {}).get("resources") or {}).get("reservations")
                    or {}).get("devices") or []
    for key, requests in (("gpus", raw.get("gpus") or []),
                          ("deploy.resources.reservations.devices", reservations)):
        for request in requests if isinstance(requests, list) else [{"capabilities": ["gpu"]}]:
            capabilities = " ".join(str(c) for c in (request or {}).get("capabilities") or [])
            driver = (request or {}).get("driver") or ""
            raise _bad(service, key, f'could not select device driver "{driver}" with '
                       f"capabilities: [[{capabilities}]]: pycompose's engine has no device "
                       "drivers")


def runtime_options(service: Service, project: Project | None = None) -> dict[str, Any]:
    """Keyword arguments for engine.api.ContainerSpec (besides memory_limit, see above)."""
    raw = service.raw
    _check_isolation(service, raw.get("isolation"))
    _check_log_driver(service, (raw.get("logging") or {}).get("driver"))
    _check_runtime(service, raw.get("runtime"))
    _check_device_requests(service, raw)
    resources = (raw.get("deploy") or {}).get("resources") or {}
    limits = resources.get("limits") or {}
    reservations = resources.get("reservations") or {}
    tmpfs, mount_options = _tmpfs(service, raw)
    logging = raw.get("logging") or {}
    log_options = logging.get("options") or {}
    cpus = _float(service, "cpus", raw.get("cpus"))
    if cpus is None:
        cpus = _float(service, "deploy.resources.limits.cpus", limits.get("cpus"))
    pids = _int(service, "pids_limit", raw.get("pids_limit"))
    if pids is None:
        pids = _int(service, "deploy.resources.limits.pids", limits.get("pids"))
    reservation = _size(service, "mem_reservation", raw.get("mem_reservation"))
    if reservation is None:
        reservation = _size(service, "deploy.resources.reservations.memory",
                            reservations.get("memory"))
    blkio = raw.get("blkio_config") or {}
    if cpus == 0:
        cpus = None  # Compose: 0 means unset
    return {
        "cap_add": _strings(raw.get("cap_add")),
        "cap_drop": _strings(raw.get("cap_drop")),
        "privileged": bool(raw.get("privileged", False)),
        "security_opt": _strings(raw.get("security_opt")),
        "group_add": _strings(raw.get("group_add")),
        "domainname": raw.get("domainname"),
        "tmpfs": tmpfs,
        "mount_options": mount_options,
        "shm_size": _size(service, "shm_size", raw.get("shm_size")),
        "sysctls": {k: str(v) for k, v in (raw.get("sysctls") or {}).items()},
        "ulimits": _ulimits(service, raw),
        "devices": _devices(service, raw),
        "init": bool(raw.get("init", False)),
        "tty": bool(raw.get("tty", False)),
        "stdin_open": bool(raw.get("stdin_open", False)),
        "read_only": bool(raw.get("read_only", False)),
        "cpus": cpus,
        "cpu_shares": _int(service, "cpu_shares", raw.get("cpu_shares")),
        "cpu_quota": _int(service, "cpu_quota", raw.get("cpu_quota")),
        "cpu_period": _int(service, "cpu_period", raw.get("cpu_period")),
        "cpuset_cpus": str(raw["cpuset"]) if raw.get("cpuset") is not None else None,
        "mem_reservation": reservation,
        "memswap_limit": _size(service, "memswap_limit", raw.get("memswap_limit")),
        "oom_kill_disable": bool(raw.get("oom_kill_disable", False)),
        "oom_score_adj": _int(service, "oom_score_adj", raw.get("oom_score_adj")),
        "pids_limit": pids,
        "blkio_weight": _int(service, "blkio_config.weight", blkio.get("weight")),
        "restart_policy": restart_policy(raw),
        "healthcheck": healthcheck(service, raw),
        "log_max_size": _size(service, "logging.options.max-size", log_options.get("max-size")),
        "log_max_file": _int(service, "logging.options.max-file", log_options.get("max-file")),
        "pid_mode": _container_mode(project, service, "pid"),
        "ipc_mode": _container_mode(project, service, "ipc"),
    }
