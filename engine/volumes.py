"""Named volumes, local driver: a directory under the data root that outlives containers.

Data in a volume is only ever removed by an explicit remove (`down -v`, `volume rm`). A volume
created with `driver_opts` (tmpfs, a bind of a host directory, another filesystem) keeps them
here; engine.volume_mounts mounts it while containers use it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from engine.atomic_files import locked, write_json
from engine.containers import now_rfc3339
from engine.errors import InvalidArgumentError, VolumeNotFoundError
from engine.layout import Layout
from engine.small_sha256 import sha256
from engine.volume_mounts import check_driver_opts, unmount_unused

VALID_VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*$")


def anonymous_volume_name(container_id: str, target: str) -> str:
    """Docker names anonymous volumes with 64 hex characters; derive ours from the container
    and the path so a restart finds the same volume."""
    return sha256(f"{container_id}:{target}".encode()).hexdigest()


@dataclass(frozen=True)
class Volume:
    """A named volume as recorded under the data root: containers mount `mountpoint`, and
    `options` (driver_opts) say whether engine.volume_mounts must mount something there first."""

    name: str
    driver: str
    mountpoint: Path
    created: str
    labels: dict[str, str] = field(default_factory=dict)
    options: dict[str, str] = field(default_factory=dict)  # driver_opts: type, device, o


class VolumeStore:
    def __init__(self, layout: Layout) -> None:
        self.layout = layout

    def _dir(self, name: str) -> Path:
        return self.layout.volumes / name

    def ensure(
        self,
        name: str,
        labels: dict[str, str] | None = None,
        options: dict[str, str] | None = None,
    ) -> Volume:
        """Create the volume, or return the existing one as it is (as Docker does)."""
        if not VALID_VOLUME_NAME.match(name):
            raise InvalidArgumentError(
                f'invalid volume name "{name}": only [a-zA-Z0-9][a-zA-Z0-9_.-] are allowed',
                subject=name,
            )
        options = {k: str(v) for k, v in (options or {}).items()}
        check_driver_opts(name, options)
        # Most calls find it (each container's create and start ask again): read without the
        # lock first. meta.json is written atomically and never rewritten, so a reader sees
        # either no volume or the whole of it; only a create needs the lock.
        existing = self.find(name)
        if existing is not None:
            return existing
        with locked(self.layout.locks / "volumes.lock"):
            existing = self.find(name)
            if existing is not None:
                return existing
            directory = self._dir(name)
            (directory / "_data").mkdir(parents=True, exist_ok=True)
            meta = {
                "name": name,
                "driver": "local",
                "created": now_rfc3339(),
                "labels": labels or {},
                "options": options,
            }
            write_json(directory / "meta.json", meta)
        return self.get(name)

    def find(self, name: str) -> Volume | None:
        meta_path = self._dir(name) / "meta.json"
        try:
            meta = json.loads(meta_path.read_text())
        except (FileNotFoundError, NotADirectoryError):
            return None
        return Volume(
            name=meta["name"],
            driver=meta["driver"],
            mountpoint=self._dir(name) / "_data",
            created=meta["created"],
            labels=meta.get("labels", {}),
            options=meta.get("options") or {},
        )

    def get(self, name: str) -> Volume:
        volume = self.find(name)
        if volume is None:
            raise VolumeNotFoundError(f"no such volume: {name}", subject=name)
        return volume

    def list(self) -> list[Volume]:
        if not self.layout.volumes.exists():
            return []
        found = (self.find(path.name) for path in sorted(self.layout.volumes.iterdir()))
        return [volume for volume in found if volume is not None]

    def remove(self, name: str) -> None:
        with locked(self.layout.locks / "volumes.lock"):
            if self.find(name) is None:
                raise VolumeNotFoundError(f"no such volume: {name}", subject=name)
            unmount_unused(self._dir(name))
            import shutil  # where a tree is removed: with bz2 and lzma, ~3 ms of start-up

            shutil.rmtree(self._dir(name))
