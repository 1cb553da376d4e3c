"""The typed, normalized project: what the loader produces and everything downstream reads.

Values are frozen so that the planner can hash them and nothing mutates a loaded project.
Mappings are plain dicts by convention: treat them as read-only.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field
from pathlib import Path

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any


class DependencyCondition(enum.Enum):
    STARTED = "service_started"
    HEALTHY = "service_healthy"
    COMPLETED_SUCCESSFULLY = "service_completed_successfully"


@dataclass(frozen=True)
class DependsOn:
    """One `depends_on` entry: what the dependent waits for (`condition`), whether a missing
    dependency is an error (`required`), and whether its recreation restarts the dependent."""

    service: str
    condition: DependencyCondition = DependencyCondition.STARTED
    restart: bool = False
    required: bool = True


class MountType(enum.Enum):
    VOLUME = "volume"
    BIND = "bind"
    TMPFS = "tmpfs"


@dataclass(frozen=True)
class ServiceVolume:
    """A mount in long syntax. `source` is the volume key (not the full name) for VOLUME,
    an absolute host path for BIND, None for TMPFS and anonymous volumes."""

    type: MountType
    target: str
    source: str | None = None
    read_only: bool = False
    create_host_path: bool = False  # bind: `bind.create_host_path`
    propagation: str | None = None  # bind: `bind.propagation` (None: Docker's rprivate)
    no_copy: bool = False  # volume: `volume.nocopy`


@dataclass(frozen=True)
class ServiceNetwork:
    """The service's attachment to a network; `name` is the key under top-level `networks`."""

    name: str
    aliases: tuple[str, ...] = ()
    ipv4_address: str | None = None
    priority: int = 0
    ipv6_address: str | None = None
    mac_address: str | None = None
    gw_priority: int = 0  # Docker's default gateway: the highest wins


@dataclass(frozen=True)
class PortMapping:
    """A `ports` entry in long syntax; `published` stays a string because it may be a range,
    or absent for the engine to pick a free host port."""

    target: int
    published: str | None = None
    host_ip: str | None = None
    protocol: str = "tcp"


@dataclass(frozen=True)
class Hook:
    """A `post_start` / `pre_stop` entry: a command exec'd in the running container (docker
    compose runs it like `exec`; user, working_dir default to the container's)."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Service:
    """A service with the fields orchestration reads typed; `raw` keeps the whole normalized
    mapping, for everything else and for the config hash that decides recreation."""

    name: str
    image: str | None = None
    command: tuple[str, ...] | None = None
    entrypoint: tuple[str, ...] | None = None
    environment: dict[str, str | None] = field(default_factory=dict)
    depends_on: tuple[DependsOn, ...] = ()
    volumes: tuple[ServiceVolume, ...] = ()
    networks: tuple[ServiceNetwork, ...] = ()
    network_mode: str | None = None
    ports: tuple[PortMapping, ...] = ()
    mem_limit: int | None = None
    working_dir: str | None = None
    user: str | None = None
    hostname: str | None = None
    container_name: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    stop_signal: str | None = None
    stop_grace_period: float | None = None
    restart: str = "no"
    profiles: tuple[str, ...] = ()
    tty: bool = False
    stdin_open: bool = False
    scale: int = 1
    post_start: tuple[Hook, ...] = ()
    pre_stop: tuple[Hook, ...] = ()
    # The normalized mapping exactly as `config` prints it; the config hash is taken over it.
    raw: dict[str, Any] = field(default_factory=dict, compare=False)


@dataclass(frozen=True)
class NetworkDef:
    """A top-level `networks` entry: `key` is what services refer to, `name` the engine's
    network (`<project>_<key>` unless set or external), which `up` creates unless external."""

    key: str
    name: str
    external: bool = False
    driver: str | None = None
    internal: bool = False
    labels: dict[str, str] = field(default_factory=dict)
    subnets: tuple[str, ...] = ()
    # The gateway of the first IPv4 `ipam.config` entry, when the file names one.
    gateway: str | None = None
    # Issue 5 extras: the IPv4 entry's ip_range / aux_addresses, the IPv6 entry (with
    # enable_ipv6), driver_opts MTU and bridge name, attachable (recorded only).
    ip_range: str | None = None
    aux_addresses: dict[str, str] = field(default_factory=dict)
    enable_ipv6: bool = False
    ipv6_subnet: str | None = None
    ipv6_gateway: str | None = None
    mtu: int | None = None
    bridge_name: str | None = None
    attachable: bool = False


@dataclass(frozen=True)
class VolumeDef:
    """A top-level `volumes` entry: `key` is what service mounts refer to, `name` the engine's
    volume (`<project>_<key>` unless set or external), which `up` creates unless external."""

    key: str
    name: str
    external: bool = False
    driver: str | None = None
    labels: dict[str, str] = field(default_factory=dict)
    driver_opts: dict[str, str] = field(default_factory=dict)  # local driver: type, device, o


@dataclass(frozen=True)
class Project:
    """The loaded project every command reads after loading: frozen so the planner can hash it,
    with `raw` kept so `config` prints exactly what was resolved."""

    name: str
    working_dir: Path
    config_files: tuple[Path, ...]
    services: dict[str, Service]
    networks: dict[str, NetworkDef]
    volumes: dict[str, VolumeDef]
    # Every service defined (before profile filtering), for commands that name one explicitly.
    all_service_names: tuple[str, ...] = ()
    environment: dict[str, str] = field(default_factory=dict)
    # Every profile named by any service, active or not (`config --profiles`).
    all_profiles: tuple[str, ...] = ()
    # The whole resolved project as `config` prints it (docker compose's shape).
    raw: dict[str, Any] = field(default_factory=dict, compare=False)
    # What loading it warns about (an unset variable, an obsolete `version`): the CLI prints
    # them on every load, from the project cache too, as docker compose does.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    # Between project, service and number in container names: `_` in docker compose's
    # --compatibility mode (docker-compose v1's names), set by the CLI after loading.
    container_separator: str = "-"


@dataclass(frozen=True)
class LoadOptions:
    """Everything that decides which files are read and how (the CLI's global flags)."""

    files: tuple[str, ...] = ()
    project_name: str | None = None
    project_directory: Path | None = None
    env_files: tuple[str, ...] = ()
    profiles: tuple[str, ...] = ()
    # The process environment to interpolate from; explicit so that tests need not patch os.environ.
    environ: dict[str, str] = field(default_factory=dict)
    cwd: Path = Path(".")
    # `config --no-interpolate`: `${VAR}` stays as written (docker compose's model, unresolved).
    interpolate: bool = True
    # `config --no-consistency`: references to undefined services, networks, volumes… allowed.
    consistency: bool = True
    # `config --no-path-resolution`: relative paths stay as written (compose-go's ResolvePaths).
    resolve_paths: bool = True
    # `config --no-env-resolution`: env_file kept, not read; bare `environment` keys unset.
    resolve_env: bool = True
