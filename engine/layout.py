"""Where the engine keeps its state: one versioned tree under the data root."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from engine.directory_spread import spread_subdirectories

DEFAULT_ROOT = Path("/var/lib/pycompose")
LAYOUT_VERSION = "1"


def data_root_from_env() -> Path:
    return Path(os.environ.get("PYCOMPOSE_ROOT") or DEFAULT_ROOT)


@dataclass(frozen=True)
class Layout:
    """The data root every store is built on, one value passed around so that PYCOMPOSE_ROOT
    (and each test) points the whole engine at another tree."""

    root: Path

    @property
    def containers(self) -> Path:
        return self.root / "containers"

    @property
    def volumes(self) -> Path:
        return self.root / "volumes"

    @property
    def networks(self) -> Path:
        return self.root / "networks"

    @property
    def locks(self) -> Path:
        return self.root / "locks"

    def container_dir(self, container_id: str) -> Path:
        return self.containers / container_id

    def ensure(self) -> None:
        for path in (self.root, self.containers, self.volumes, self.networks, self.locks):
            path.mkdir(parents=True, exist_ok=True)
        spread_subdirectories(self.containers)
        marker = self.root / "layout-version"
        if not marker.exists():
            marker.write_text(LAYOUT_VERSION)
