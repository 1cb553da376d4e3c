"""Where the engine keeps its state: one versioned tree under the data root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from engine.directory_spread import spread_subdirectories

DEFAULT_ROOT = Path("/var/lib/pycompose")
LAYOUT_VERSION = "1"
_KNOWN_DIRS_LIMIT = 4096


def data_root_from_env() -> Path:
    return Path(os.environ.get("PYCOMPOSE_ROOT") or DEFAULT_ROOT)


@dataclass(frozen=True)
class Layout:
    """The data root every store is built on, one value passed around so that PYCOMPOSE_ROOT
    (and each test) points the whole engine at another tree. Its paths are made once per
    instance: pathlib's joins were a quarter of the CPU of `up`'s CLI (~80 a container, most of
    them these)."""

    root: Path

    @cached_property
    def containers(self) -> Path:
        return self.root / "containers"

    @cached_property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @cached_property
    def networks(self) -> Path:
        return self.root / "networks"

    @cached_property
    def locks(self) -> Path:
        return self.root / "locks"

    @cached_property
    def _container_dirs(self) -> dict[str, Path]:
        return {}

    def container_dir(self, container_id: str) -> Path:
        known = self._container_dirs
        path = known.get(container_id)
        if path is None:
            if len(known) >= _KNOWN_DIRS_LIMIT:  # long-lived readers (the resolver) see churn
                known.clear()
            path = known[container_id] = self.containers / container_id
        return path

    def ensure(self) -> None:
        for path in (self.root, self.containers, self.volumes, self.networks, self.locks):
            path.mkdir(parents=True, exist_ok=True)
        spread_subdirectories(self.containers)
        marker = self.root / "layout-version"
        if not marker.exists():
            marker.write_text(LAYOUT_VERSION)
