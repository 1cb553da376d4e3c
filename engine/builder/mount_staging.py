"""The host side of one ``RUN``'s mounts: directories and files the build container binds.

Everything a step stages lives in one private temp dir removed when the step ends (also on
failure): copies of bind sources (so a ``.dockerignore``d file is not visible and an ``rw``
bind never writes into the user's context or a stage's layers; read-only ones are hard links
where possible; a link in the tree stays a link, resolved by the step's container in its own
root), secret files (on a tmpfs when the host has ``/dev/shm``, never in the data
root's layers or cache), and heredoc scripts. Cache mounts are the exception: they live under
``<data root>/builder/cache-mounts/`` and outlast the build, outside any layer; ``locked``
ones are held under an exclusive lock for the step, a busy ``private`` one is replaced by a
fresh throw-away directory (BuildKit's sharing modes).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import shutil
import stat
import tempfile
from pathlib import Path
from types import TracebackType
from typing import IO

from engine.builder.run_mounts import RunMount, Sharing
from engine.containers import MountKind, MountSpec
from engine.errors import InvalidArgumentError
from engine.processes import owner_gone, owner_tag

Entries = list[tuple[str, Path]]  # (path relative to the source root, host path), parents first
_SHM = Path("/dev/shm")
_SECRET_PREFIX = "pycompose-secret-"


def sweep_stale(data_root: Path) -> None:
    """Remove what builds killed mid-step left staged (their temp dirs, secret copies)."""
    for base, prefix in ((data_root / "builder" / "tmp", ""), (_SHM, _SECRET_PREFIX)):
        try:
            entries = [e for e in base.iterdir() if e.name.startswith(prefix)]
        except OSError:
            continue
        for entry in entries:
            if owner_gone(entry.name.removeprefix(prefix).split("-", 1)[0]):
                shutil.rmtree(entry, ignore_errors=True)


class MountStaging:
    """Stage a step's mounts; a context manager that removes what it staged and releases
    cache locks on exit."""

    def __init__(self, data_root: Path) -> None:
        self.data_root = data_root
        self._tmp: Path | None = None
        self._secret_dir: Path | None = None
        self._locks: list[IO[bytes]] = []

    def __enter__(self) -> MountStaging:
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        for handle in self._locks:
            handle.close()  # closing releases the flock
        for path in (self._secret_dir, self._tmp):
            if path is not None:
                shutil.rmtree(path, ignore_errors=True)

    def _scratch(self) -> Path:
        if self._tmp is None:
            base = self.data_root / "builder" / "tmp"
            base.mkdir(parents=True, exist_ok=True)
            self._tmp = Path(tempfile.mkdtemp(prefix=f"{owner_tag()}-", dir=base))
        return Path(tempfile.mkdtemp(dir=self._tmp))

    # ------------------------------------------------------------------ bind

    def bind(self, mount: RunMount, entries: Entries) -> MountSpec:
        """`entries` (a source tree or one file) copied aside and bound at the target. The
        source is found through its links by the caller, inside its own root: a link staged
        here would be followed by the bind mount, on the host."""
        scratch = self._scratch()
        top_rel, top = entries[0]
        if top.is_symlink():
            raise InvalidArgumentError(f"bind source {top_rel} is a symbolic link: resolve it"
                                       " inside its root first", subject=top_rel)
        if not top.is_dir():
            staged = scratch / "file"
            _place(top, staged, link=mount.read_only)
            return MountSpec(MountKind.BIND, mount.target, str(staged), read_only=mount.read_only)
        root = scratch / "dir"
        root.mkdir()
        shutil.copystat(top, root)
        _fill(root, top_rel, entries[1:], link=mount.read_only)
        return MountSpec(MountKind.BIND, mount.target, str(root), read_only=mount.read_only)

    # ------------------------------------------------------------------ cache

    def cache(self, mount: RunMount, seed: Entries | None, seed_id: str) -> MountSpec:
        """The persistent cache dir of `mount.id` (made on first use, from `seed` when the
        mount names a ``from``), locked as its sharing mode says. As in BuildKit, a different
        base (``from``, or the ``mode``/``uid``/``gid`` it is made with) is another cache."""
        base_id = f"{seed_id}\0{mount.mode}:{mount.uid}:{mount.gid}"
        key = hashlib.sha256(f"{mount.id}\0{base_id}".encode()).hexdigest()[:32]
        base = self.data_root / "builder" / "cache-mounts"
        base.mkdir(parents=True, exist_ok=True)
        directory = base / key
        if mount.sharing is not Sharing.SHARED:
            handle = open(base / f"{key}.lock", "wb")  # noqa: SIM115 - held until the step ends
            blocking = mount.sharing is Sharing.LOCKED
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
            except BlockingIOError:
                handle.close()
                directory = self._scratch() / "cache"  # private and busy: a fresh one
            else:
                self._locks.append(handle)
        if not directory.is_dir():
            self._create_cache(directory, mount, seed)
        return MountSpec(MountKind.BIND, mount.target, str(directory), read_only=mount.read_only)

    def _create_cache(self, directory: Path, mount: RunMount, seed: Entries | None) -> None:
        partial = Path(tempfile.mkdtemp(prefix=".new-", dir=directory.parent))
        try:
            if seed:
                top_rel, top = seed[0]
                shutil.copystat(top, partial)
                _fill(partial, top_rel, seed[1:], link=False)
            os.chmod(partial, 0o755 if mount.mode is None else mount.mode)
            if mount.uid is not None or mount.gid is not None:
                os.chown(partial, mount.uid or 0, mount.gid or 0)
            os.rename(partial, directory)  # atomic: a concurrent build sees all or nothing
        except OSError:
            shutil.rmtree(partial, ignore_errors=True)
            if not directory.is_dir():
                raise

    # ------------------------------------------------------------------ files

    def secret_file(self, mount: RunMount, value: bytes) -> MountSpec:
        """The secret as a read-only file (mode 0400 root's unless the mount says)."""
        if self._secret_dir is None:
            parent = _SHM if _SHM.is_dir() and os.access(_SHM, os.W_OK) else None
            if parent is None:
                parent = self.data_root / "builder" / "tmp"
                parent.mkdir(parents=True, exist_ok=True)
            self._secret_dir = Path(
                tempfile.mkdtemp(prefix=f"{_SECRET_PREFIX}{owner_tag()}-", dir=parent)
            )
        path = Path(tempfile.mkdtemp(dir=self._secret_dir)) / "secret"
        _write(path, value, 0o400 if mount.mode is None else mount.mode)
        os.chown(path, mount.uid or 0, mount.gid or 0)
        return MountSpec(MountKind.BIND, mount.target, str(path), read_only=True)

    def script_dir(self, target: str, name: str, body: str) -> MountSpec:
        """A directory holding one executable file `name` (a ``#!`` heredoc), read-only."""
        directory = self._scratch()
        _write(directory / name, body.encode(), 0o755)
        os.chmod(directory, 0o755)
        return MountSpec(MountKind.BIND, target, str(directory), read_only=True)


def _write(path: Path, data: bytes, mode: int) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)
    os.chmod(path, mode)


def _place(source: Path, target: Path, *, link: bool) -> None:
    st = os.lstat(source)
    if stat.S_ISLNK(st.st_mode):
        os.symlink(os.readlink(source), target)
        return
    if stat.S_ISDIR(st.st_mode):
        target.mkdir()
        shutil.copystat(source, target)
        os.chown(target, st.st_uid, st.st_gid)
        return
    if not stat.S_ISREG(st.st_mode):
        return  # sockets, fifos and devices are not carried over
    if link:
        with contextlib.suppress(OSError):
            os.link(source, target)
            return
    shutil.copy2(source, target)
    os.chown(target, st.st_uid, st.st_gid)


def _fill(root: Path, top_rel: str, entries: Entries, *, link: bool) -> None:
    """Recreate `entries` (below `top_rel`) under `root`."""
    base = top_rel.strip("/")
    for rel, source in entries:
        sub = rel[len(base) + 1 :] if base not in ("", ".") else rel
        _place(source, root / sub, link=link)
