"""What the supervisor needs to start one container, fully resolved (paths, ids, argv).

Computed by the engine API at start time and written next to the container record, so the
detached supervisor never has to consult the image store or the Compose layer.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class BindMount:
    source: str
    target: str
    read_only: bool = False


@dataclass(frozen=True)
class TmpfsMount:
    target: str
    options: str = "mode=1777"


@dataclass(frozen=True)
class ProcessSpec:
    args: tuple[str, ...]
    env: tuple[str, ...]
    cwd: str = "/"
    uid: int = 0
    gid: int = 0
    extra_gids: tuple[int, ...] = ()


@dataclass(frozen=True)
class NetworkRequest:
    network: str
    names: tuple[str, ...] = ()
    ipv4: str | None = None


@dataclass(frozen=True)
class RuntimeSpec:
    container_id: str
    hostname: str
    lower_dirs: tuple[str, ...]
    upper_dir: str
    work_dir: str
    rootfs_dir: str
    process: ProcessSpec
    hosts_file: str
    hostname_file: str
    resolv_file: str
    log_file: str
    mounts: tuple[BindMount, ...] = ()
    tmpfs: tuple[TmpfsMount, ...] = ()
    networks: tuple[NetworkRequest, ...] = ()
    network_mode: str = "bridge"  # bridge | none | host
    memory_limit: int | None = None
    pids_limit: int | None = None
    read_only: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        from engine.atomic_files import write_json

        write_json(path, asdict(self))

    @classmethod
    def load(cls, path: Path) -> RuntimeSpec:
        raw = json.loads(path.read_text())
        raw["lower_dirs"] = tuple(raw["lower_dirs"])
        proc = raw["process"]
        raw["process"] = ProcessSpec(
            args=tuple(proc["args"]),
            env=tuple(proc["env"]),
            cwd=proc["cwd"],
            uid=proc["uid"],
            gid=proc["gid"],
            extra_gids=tuple(proc["extra_gids"]),
        )
        raw["mounts"] = tuple(BindMount(**m) for m in raw["mounts"])
        raw["tmpfs"] = tuple(TmpfsMount(**m) for m in raw["tmpfs"])
        raw["networks"] = tuple(
            NetworkRequest(n["network"], tuple(n["names"]), n["ipv4"]) for n in raw["networks"]
        )
        return cls(**raw)
