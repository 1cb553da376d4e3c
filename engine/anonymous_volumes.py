"""A container's anonymous volumes, removed with it where Docker removes them (`rm -v`, and an
AutoRemove container — `run --rm` — whoever removes it). One function for both paths: the CLI
removing a one-off it followed, and the supervisor removing one whose client was killed, drop
the same volumes, so a killed `run --rm` leaves none behind."""

from __future__ import annotations

import contextlib
from collections.abc import Iterable

from engine.containers import ContainerRecord, ContainerStore, MountKind
from engine.errors import EngineError
from engine.volumes import VolumeStore, anonymous_volume_name

# Marks a volume named at random for an anonymous mount (`volumes: [/data]`); docker compose's
# label, kept so volumes made by earlier releases are still known as anonymous.
ANONYMOUS_LABEL = "com.docker.compose.volume.anonymous"


def anonymous_volumes(record: ContainerRecord, volumes: VolumeStore) -> list[str]:
    """The anonymous volumes the container mounts: made by the engine for a mount without a
    source, or by a client that named one at random and labelled it anonymous."""
    names = []
    for mount in record.spec.mounts:
        if mount.kind is not MountKind.VOLUME:
            continue
        if not mount.source:
            names.append(anonymous_volume_name(record.id, mount.target))
            continue
        volume = volumes.find(mount.source)
        if volume is not None and volume.labels.get(ANONYMOUS_LABEL) == "True":
            names.append(mount.source)
    return names


def remove_anonymous_volumes(
    record: ContainerRecord, volumes: VolumeStore, containers: ContainerStore
) -> list[str]:
    """Remove the container's anonymous volumes that no other container mounts (a recreated
    container takes over its predecessor's); the names removed. Best effort: one already gone
    is fine."""
    others = (other for other in containers.all() if other.id != record.id)
    removed = []
    for name in removable_anonymous_volumes(record, volumes, others):
        with contextlib.suppress(EngineError, OSError):
            volumes.remove(name)
            removed.append(name)
    return removed


def removable_anonymous_volumes(
    record: ContainerRecord, volumes: VolumeStore, others: Iterable[ContainerRecord]
) -> list[str]:
    """The container's anonymous volumes that none of `others` mounts: what `rm -v` drops (the
    dry run asks with the containers its own view still has)."""
    candidates = anonymous_volumes(record, volumes)
    if not candidates:
        return []
    in_use = {
        mount.source or anonymous_volume_name(other.id, mount.target)
        for other in others
        for mount in other.spec.mounts if mount.kind is MountKind.VOLUME
    }
    return [name for name in candidates if name not in in_use]
