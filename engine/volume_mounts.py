"""Named volumes with local-driver `driver_opts` (`type`, `device`, `o`), as Docker's local
driver mounts them.

- `o: bind` (any `type`, usually `none`) with `device: /host/dir`: the container binds the host
  directory directly; nothing is mounted on the host, and the data lives in that directory.
- any other `type` (tmpfs, ext4 on a device, ...): mount(2) of `device` with `type` and the
  options on the volume's `_data` directory in the host's mount namespace, when the first
  container using it starts; every container using the volume then sees the same filesystem.
  It is unmounted when the last user stops (Docker unmounts on the last user's exit too, so a
  tmpfs volume's data lives as long as some container uses it).

Users are recorded per volume (`users.json`: container id -> the pid and start time of the
supervisor that mounted for it) under a lock, so a crashed supervisor's entry is recognised as
stale and does not keep a mount forever.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
from dataclasses import dataclass
from pathlib import Path

from engine import mount_flags as mf
from engine.atomic_files import locked, write_json
from engine.errors import InvalidArgumentError, UnavailableError
from engine.processes import is_alive, start_time
from engine.runtime_spec import VolumeMount

DRIVER_OPTS = ("type", "device", "o")
# mount(8) option words that are flags, not filesystem data (the rest goes to the fs as data).
_FLAGS = {
    "ro": mf.MS_RDONLY,
    "nosuid": mf.MS_NOSUID,
    "nodev": mf.MS_NODEV,
    "noexec": mf.MS_NOEXEC,
    "sync": 16,
    "dirsync": 128,
    "noatime": 1024,
    "nodiratime": 2048,
    "relatime": 1 << 21,
    "strictatime": mf.MS_STRICTATIME,
}
_NO_OPS = ("rw", "defaults", "suid", "dev", "exec", "async", "atime", "diratime")


@dataclass(frozen=True)
class VolumePlan:
    """How a container reaches one named volume: the directory it binds, and the host mount
    that must exist first (None for plain and bind volumes)."""

    source: str
    read_only: bool = False
    host_mount: VolumeMount | None = None


def _bad(volume: str, message: str) -> InvalidArgumentError:
    return InvalidArgumentError(f"volume {volume}: {message}", subject=volume)


def check_driver_opts(volume: str, options: dict[str, str]) -> None:
    """What Docker's local driver accepts; refused at create, naming the volume."""
    for key in options:
        if key not in DRIVER_OPTS:
            raise _bad(volume, f"invalid driver_opts key {key!r} (the local driver takes "
                       "type, device and o)")
    if options and not options.get("type"):
        raise _bad(volume, "driver_opts: type is required (e.g. tmpfs, or none with o: bind)")
    words = [w for w in options.get("o", "").split(",") if w]
    if options.get("type") == "none" and not {"bind", "rbind"} & set(words):
        raise _bad(volume, "driver_opts: type none needs o: bind")
    is_bind = bool({"bind", "rbind"} & set(words))
    if is_bind and not options.get("device", "").startswith("/"):
        raise _bad(volume, "driver_opts: o: bind needs device: an absolute host path")


def _split_options(text: str) -> tuple[int, list[str], bool]:
    flags, data, bind = 0, [], False
    for word in (w.strip() for w in text.split(",")):
        if not word or word in _NO_OPS:
            continue
        if word in ("bind", "rbind"):
            bind = True
        elif word in _FLAGS:
            flags |= _FLAGS[word]
        else:
            data.append(word)
    return flags, data, bind


def plan(volume: str, mountpoint: Path, options: dict[str, str]) -> VolumePlan:
    """Resolve a volume for a container start; a missing bind device is an error naming it."""
    if not options:
        return VolumePlan(str(mountpoint))
    check_driver_opts(volume, options)
    flags, data, bind = _split_options(options.get("o", ""))
    device = options.get("device", "")
    if bind:
        if not os.path.exists(device):
            raise _bad(volume, f"driver_opts device {device}: no such file or directory (a "
                       "bind volume needs an existing host path)")
        return VolumePlan(device, read_only=bool(flags & mf.MS_RDONLY))
    fstype = options["type"]
    return VolumePlan(
        str(mountpoint),
        host_mount=VolumeMount(volume, str(mountpoint), fstype, device or fstype, flags,
                               ",".join(data)),
    )


def is_mounted(path: str) -> bool:
    """Whether something is mounted exactly at `path` in this mount namespace."""
    with open("/proc/self/mountinfo", encoding="utf-8") as handle:
        for line in handle:
            point = line.split()[4].encode().decode("unicode_escape")
            if point == path:
                return True
    return False


def _users_file(mountpoint: str) -> Path:
    return Path(mountpoint).parent / "users.json"


def _load_users(path: Path) -> dict[str, list[int | None]]:
    try:
        return dict(json.loads(path.read_text()))
    except (FileNotFoundError, ValueError):
        return {}


def _unmount(path: str) -> None:
    from engine import syscalls as sc  # ctypes and libc: only where a volume is unmounted

    try:
        sc.umount(path)
    except OSError as exc:
        if exc.errno == errno.EINVAL:
            return  # not mounted
        if exc.errno != errno.EBUSY:
            raise
        sc.umount(path, mf.MNT_DETACH)  # a process still sits in it: let it go lazily


def acquire(container_id: str, mounts: tuple[VolumeMount, ...]) -> None:
    """Record this process (the container's supervisor) as a user of each volume and mount the
    ones not mounted yet. All or nothing: on failure, what this call took is given back."""
    taken: list[VolumeMount] = []
    try:
        for mount in mounts:
            _acquire_one(container_id, mount)
            taken.append(mount)
    except BaseException:
        for mount in taken:
            with contextlib.suppress(OSError):
                _release_one(container_id, Path(mount.mountpoint).parent)
        raise


def _acquire_one(container_id: str, mount: VolumeMount) -> None:
    users_path = _users_file(mount.mountpoint)
    with locked(users_path.with_name("users.lock")):
        users = {
            cid: owner
            for cid, owner in _load_users(users_path).items()
            if cid != container_id and is_alive(owner[0], owner[1])
        }
        if not is_mounted(mount.mountpoint):
            from engine import syscalls as sc  # (see `_unmount`)

            os.makedirs(mount.mountpoint, exist_ok=True)
            try:
                sc.mount(mount.device, mount.mountpoint, mount.fstype, mount.flags,
                         mount.data or None)
            except OSError as exc:
                raise UnavailableError(
                    f"volume {mount.volume}: cannot mount {mount.device} ({mount.fstype}"
                    f"{', ' + mount.data if mount.data else ''}): {exc.strerror}",
                    subject=mount.volume,
                ) from exc
        pid = os.getpid()
        users[container_id] = [pid, start_time(pid)]
        write_json(users_path, users)


def _release_one(container_id: str, volume_dir: Path) -> None:
    users_path = volume_dir / "users.json"
    with locked(volume_dir / "users.lock"):
        users = _load_users(users_path)
        if container_id not in users:
            return
        del users[container_id]
        live = {cid: owner for cid, owner in users.items() if is_alive(owner[0], owner[1])}
        if not live:
            _unmount(str(volume_dir / "_data"))
        write_json(users_path, live)


def release(container_id: str, mounts: tuple[VolumeMount, ...]) -> None:
    """Undo `acquire` for one container run (its exit, or a failed start)."""
    for mount in mounts:
        _release_one(container_id, Path(mount.mountpoint).parent)


def release_container(volumes_root: Path, container_id: str) -> None:
    """The container stopped: drop it from every volume it used; the last user unmounts."""
    for users_path in volumes_root.glob("*/users.json"):
        if container_id in _load_users(users_path):
            _release_one(container_id, users_path.parent)


def unmount_unused(volume_dir: Path) -> None:
    """Before a volume is deleted: no container uses it any more, so nothing may stay mounted
    (deleting the tree through a live mount would only empty it, and leak the mount)."""
    data = str(volume_dir / "_data")
    if is_mounted(data):
        _unmount(data)
    if is_mounted(data):
        raise UnavailableError(f"volume {volume_dir.name}: {data} is still mounted",
                               subject=volume_dir.name)
