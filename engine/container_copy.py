"""`cp` between a container and the host, as tar streams (Docker's archive API), read and
written by a child chrooted into the container's root.

Why a chrooted child: the container owns its filesystem, symlinks included. Resolving a
container path from the host (`/proc/<pid>/root/...`) follows an absolute symlink such as
`/escape -> /etc` to the *host's* /etc: a container could make `cp` read or write any host
file. Inside a chroot at the container's root every lookup stays in the container (docker's
chrootarchive does the same). A running container's root is its init's (`/proc/<pid>/root`,
with its volumes and binds); a stopped one's is its overlay, mounted for the child alone in a
private mount namespace that dies with it.
"""

from __future__ import annotations

import contextlib
import os
import tarfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import BinaryIO

from engine import syscalls as sc
from engine.errors import EngineError
from engine.processes import read_to_eof, wait_exit_code
from engine.root_paths import resolve_in_root

_READY = b"+"  # the child's first byte on its report pipe: its path checked out, copying now


class CopyError(EngineError):
    """The path is missing in the container, or the copy failed there."""


@dataclass(frozen=True)
class ContainerRoot:
    """Where a container's filesystem is: its running init, or its overlay's parts."""

    init_pid: int | None
    lower_dirs: tuple[str, ...] = ()
    upper_dir: str = ""
    work_dir: str = ""
    mount_point: str = ""
    filesystem_only: bool = False  # without its volumes, binds, /proc... (`export`)
    # A stopped container's volumes and binds: (host source, target, read-only)
    binds: tuple[tuple[str, str, bool], ...] = ()

    def enter(self) -> None:
        """In the child: chroot into the container's root."""
        if self.init_pid is not None and self.filesystem_only:
            self._enter_root_mount(self.init_pid)
            return
        if self.init_pid is not None:
            os.chroot(f"/proc/{self.init_pid}/root")
            os.chdir("/")
            return
        sc.unshare(sc.CLONE_NEWNS)
        sc.mount(None, "/", None, sc.MS_REC | sc.MS_PRIVATE)
        layers = f"lowerdir={':'.join(self.lower_dirs)},upperdir={self.upper_dir}"
        sc.mount("overlay", self.mount_point, "overlay", 0, f"{layers},workdir={self.work_dir}")
        if not self.filesystem_only:
            self._mount_binds()
        os.chroot(self.mount_point)
        os.chdir("/")

    def _mount_binds(self) -> None:
        """The volumes and binds over the overlay, at their targets resolved inside it (an
        image's symlink must not send a mount to the host); private to this child."""
        for source, target, read_only in self.binds:
            where = resolve_in_root(self.mount_point, target)
            if os.path.isdir(source):
                os.makedirs(where, exist_ok=True)
            elif not os.path.exists(where):
                os.makedirs(os.path.dirname(where), exist_ok=True)
                open(where, "a").close()
            sc.mount(source, where, None, sc.MS_BIND | sc.MS_REC)
            if read_only:
                sc.mount(None, where, None, sc.MS_BIND | sc.MS_REMOUNT | sc.MS_RDONLY | sc.MS_REC)


    @staticmethod
    def _enter_root_mount(init_pid: int) -> None:
        """Into the running container's mount namespace, then chrooted at a detached copy of
        its root mount alone (open_tree without AT_RECURSIVE): its overlay, with the mount
        points of volumes and /proc as the empty directories they are there. Nothing is
        mounted anywhere: the copy is gone when the child exits."""
        namespace = os.open(f"/proc/{init_pid}/ns/mnt", os.O_RDONLY | os.O_CLOEXEC)
        try:
            sc.setns(namespace, sc.CLONE_NEWNS)
        finally:
            os.close(namespace)
        tree = sc.open_tree("/", sc.OPEN_TREE_CLONE | os.O_CLOEXEC)
        try:
            os.fchdir(tree)
            os.chroot(".")
        finally:
            os.close(tree)
        os.chdir("/")


@dataclass(frozen=True)
class _Child:
    """A copy's chrooted child and the pipe it reports on (`_READY`, or why it failed)."""

    pid: int
    report: int

    def started(self) -> None:
        """Wait until the child's path checked out (CopyError when it did not)."""
        first = os.read(self.report, 1)
        if first != _READY:
            self.finish(first)

    def finish(self, head: bytes = b"") -> None:
        """Wait for the child; CopyError with its message if it failed."""
        message = (head + read_to_eof(self.report)).decode(errors="replace")
        os.close(self.report)
        if wait_exit_code(self.pid) != 0 or message:
            raise CopyError(message.strip() or "copy failed")


def _without_name_service() -> None:
    """In the child, before its chroot: tarfile looks up no user or group names. Through
    glibc's NSS a lookup reads the container's /etc/nsswitch.conf and loads the
    `libnss_*.so` it names from the container's filesystem into this root process: code of
    the container's choosing run outside it (docker cp's CVE-2019-14271). Archives carry
    numeric owners, which is what Docker's `cp -a` keeps anyway."""
    for lookup in ("pwd", "grp"):  # tarfile's own handles on the modules (typeshed omits them)
        setattr(tarfile, lookup, None)


def _message(exc: BaseException) -> str:
    """What a copy's failure says: an OSError in words with its path (`Read-only file system:
    /x`), not Python's `[Errno 30] ...`."""
    if isinstance(exc, OSError) and exc.strerror:
        return f"{exc.strerror}: {exc.filename}" if exc.filename else exc.strerror
    return str(exc) or exc.__class__.__name__


def _fork_into(root: ContainerRoot, work: Callable[[Callable[[], None]], None]) -> _Child:
    """Run `work(ready)` in a forked child chrooted into `root`; `ready()` tells the parent
    the path checked out, and a failure comes back as the child's message."""
    report_r, report_w = os.pipe2(os.O_CLOEXEC)
    pid = os.fork()
    if pid == 0:  # pragma: no cover (the child's coverage is not collected)
        code = 0

        def ready() -> None:
            os.write(report_w, _READY)

        try:
            os.close(report_r)
            _without_name_service()
            root.enter()
            work(ready)
        except BaseException as exc:  # every failure becomes the parent's CopyError
            os.write(report_w, _message(exc).encode(errors="replace"))
            code = 1
        os._exit(code)
    os.close(report_w)
    return _Child(pid, report_r)


@contextlib.contextmanager
def open_archive(root: ContainerRoot, path: str, follow_link: bool = False) -> Iterator[BinaryIO]:
    """A tar stream of `path` in the container, named by its last component, symlinks kept
    as symlinks: what `docker cp CONTAINER:PATH -` writes. `follow_link` (cp -L): a symlink at
    `path` is replaced by what it points to (resolved in the chroot: inside the container); a
    path ending in `/` or `/.` follows it too (Docker resolves such a path as a directory)."""
    read_fd, write_fd = os.pipe()
    follow_link = follow_link or path.endswith(("/", "/."))

    def work(ready: Callable[[], None]) -> None:
        os.close(read_fd)
        source = PurePosixPath("/", path)
        if not os.path.lexists(source):
            raise FileNotFoundError(f"could not find the file {path} in the container")
        target = os.path.realpath(source) if follow_link else str(source)
        if not os.path.lexists(target):
            raise FileNotFoundError(f"could not find the file {path} in the container")
        ready()
        with os.fdopen(write_fd, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
            contents = path.endswith("/.")  # docker cp: the directory's content, not itself
            tar.add(target, arcname="." if contents else source.name or ".")

    with _streamed(_fork_into(root, work), read_fd, write_fd) as reader:
        yield reader


@contextlib.contextmanager
def _streamed(child: _Child, read_fd: int, write_fd: int) -> Iterator[BinaryIO]:
    """The child's tar stream, read from our end of its pipe; its failure raised at the end."""
    os.close(write_fd)
    with os.fdopen(read_fd, "rb") as reader:
        child.started()
        try:
            yield reader
        except BaseException:
            reader.close()  # the child stops at its next write; its complaint is not news
            with contextlib.suppress(CopyError):
                child.finish()
            raise
    child.finish()


@contextlib.contextmanager
def open_filesystem(root: ContainerRoot) -> Iterator[BinaryIO]:
    """A tar stream of the container's whole filesystem, names relative to its root (what
    `docker export` writes)."""
    read_fd, write_fd = os.pipe()

    def work(ready: Callable[[], None]) -> None:
        os.close(read_fd)
        ready()
        with os.fdopen(write_fd, "wb") as out, tarfile.open(fileobj=out, mode="w|") as tar:
            for name in sorted(os.listdir("/")):
                tar.add(f"/{name}", arcname=name)

    with _streamed(_fork_into(root, work), read_fd, write_fd) as reader:
        yield reader


def unpack(
    stream: BinaryIO, into: str, rename: tuple[str, str] | None, owner: tuple[int, int] | None
) -> None:
    """A tar stream unpacked into directory `into` with tarfile's `tar` filter (nothing lands
    outside it): the stream's top name `rename[0]` becomes `rename[1]` (docker cp's "as DEST"),
    and everything is `owner`'s (uid, gid) unless None (cp -a). Both ends of `cp` use it: the
    chrooted child in the container, the CLI on the host."""
    old, new = rename or ("", "")
    with tarfile.open(fileobj=stream, mode="r|") as tar:
        for member in tar:
            if old and (member.name == old or member.name.startswith(old + "/")):
                member.name = new + member.name[len(old) :]
            if owner is not None:
                member.uid, member.gid = owner
                member.uname = member.gname = ""
            tar.extract(member, into, filter="tar")


def extract_into(
    root: ContainerRoot,
    dest: str,
    feed: Callable[[BinaryIO], None],
    rename: str | None = None,
    keep_owner: bool = False,
) -> None:
    """Unpack the tar stream `feed` writes into the container: into directory `dest`, or,
    with `rename` (the stream's top name), as `dest` itself when that is not a directory
    there (docker cp's rule). Owned by the container's root unless `keep_owner` (cp -a)."""
    read_fd, write_fd = os.pipe()

    def work(ready: Callable[[], None]) -> None:
        os.close(write_fd)
        os.umask(0o022)  # directories it makes are 0755, as Docker's, whatever the CLI's umask
        target = PurePosixPath("/", dest)
        into, old, new = str(target), "", ""
        if rename is not None and not os.path.isdir(target):
            into, old, new = str(target.parent), rename, target.name
        if not os.path.isdir(into):
            raise FileNotFoundError(f"no such directory in the container: {into}")
        ready()
        with os.fdopen(read_fd, "rb") as source:
            unpack(source, into, (old, new) if old else None, None if keep_owner else (0, 0))

    child = _fork_into(root, work)
    os.close(read_fd)
    writer = os.fdopen(write_fd, "wb")
    try:
        child.started()
        with contextlib.suppress(BrokenPipeError):  # the child failed: its message says why
            feed(writer)
            writer.close()
    finally:
        with contextlib.suppress(BrokenPipeError):
            writer.close()
    child.finish()
