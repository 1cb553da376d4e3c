"""Merge the image's config with the container's request the way Docker does (pure)."""

from __future__ import annotations

import contextlib
import os

from engine.containers import ContainerSpec
from engine.errors import InvalidArgumentError
from engine.root_paths import resolve_in_root

DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def resolve_args(
    spec: ContainerSpec,
    image_entrypoint: tuple[str, ...] | None,
    image_cmd: tuple[str, ...] | None,
) -> tuple[str, ...]:
    """Docker's rule: a new entrypoint discards the image's CMD unless a command is given too."""
    entrypoint = spec.entrypoint if spec.entrypoint is not None else (image_entrypoint or ())
    if spec.command is not None:
        command: tuple[str, ...] = spec.command
    elif spec.entrypoint is not None:
        command = ()
    else:
        command = image_cmd or ()
    args = tuple(entrypoint) + tuple(command)
    if not args:
        raise InvalidArgumentError(
            f"container {spec.name}: no command specified (the image has no CMD or ENTRYPOINT)",
            subject=spec.name,
        )
    return args


def resolve_env(
    spec: ContainerSpec, image_env: tuple[str, ...], hostname: str, home: str | None = "/root"
) -> tuple[str, ...]:
    """The process environment; `home` is HOME unless the image or the service set one (the
    user's passwd home, as runc sets it: `home_directory`; None leaves it out, as Docker's
    Config.Env does)."""
    env: dict[str, str] = {"PATH": DEFAULT_PATH}
    if spec.tty:
        env["TERM"] = "xterm"  # Docker's default for a tty; the image's or the user's wins
    for item in image_env:
        key, _, value = item.partition("=")
        env[key] = value
    env["HOSTNAME"] = hostname
    env.update(spec.env)
    if home is not None:
        env.setdefault("HOME", home)
    return tuple(f"{k}={v}" for k, v in env.items())


def image_file(layers: list[str], path: str) -> str | None:
    """The topmost layer's regular file at `path`, found with each layer's links resolved
    inside that layer: `f"{layer}/etc/passwd"` followed an image's `/etc -> /etc` link to the
    host's own passwd and group (names and homes of the host's users came out)."""
    for layer in layers:
        with contextlib.suppress(OSError):
            found = resolve_in_root(layer, path)
            if os.path.isfile(found) and not os.path.islink(found):
                return found
    return None


def home_directory(uid: int, rootfs_lowers: list[str]) -> str:
    """The home of `uid` in the image's /etc/passwd, else "/" (runc's default for a user the
    file does not list): `USER appuser` gets /home/appuser, `nobody` /nonexistent."""
    passwd = image_file(rootfs_lowers, "/etc/passwd")
    if passwd is None:
        return "/root" if uid == 0 else "/"
    try:
        with open(passwd, encoding="utf-8", errors="replace") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= 6 and fields[2] == str(uid):
                    return fields[5] or "/"
    except OSError:
        pass
    return "/"


def _lookup(path: str, name: str, field_count: int) -> list[str] | None:
    try:
        with open(path, encoding="utf-8") as handle:
            for line in handle:
                fields = line.rstrip("\n").split(":")
                if len(fields) >= field_count and fields[0] == name:
                    return fields
    except OSError:
        return None
    return None


def resolve_user(
    user: str | None, rootfs_lowers: list[str], subject: str | None = None
) -> tuple[int, int]:
    """`user`, `uid`, `user:group`, `uid:gid` with names from the image's /etc/passwd and group.
    `subject` (e.g. "container web-1") prefixes the error so it names who asked."""
    prefix = f"{subject}: user: " if subject else ""
    if not user:
        return 0, 0
    name, _, group = user.partition(":")
    passwd = image_file(rootfs_lowers, "/etc/passwd") or "/nonexistent"
    groups = image_file(rootfs_lowers, "/etc/group") or "/nonexistent"
    if name.isdigit():
        uid = int(name)
        entry = None
        gid = 0
    else:
        entry = _lookup(passwd, name, 4)
        if entry is None:
            raise InvalidArgumentError(
                f"{prefix}unable to find user {name}: no matching entries in passwd",
                subject=subject,
            )
        uid, gid = int(entry[2]), int(entry[3])
    if group:
        if group.isdigit():
            gid = int(group)
        else:
            gentry = _lookup(groups, group, 3)
            if gentry is None:
                raise InvalidArgumentError(
                    f"{prefix}unable to find group {group}: no matching entries in group",
                    subject=subject,
                )
            gid = int(gentry[2])
    return uid, gid
