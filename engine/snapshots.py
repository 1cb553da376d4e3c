"""Unpacked layers ("snapshots") for overlayfs: one directory per layer chain id under
``<data root>/snapshots/<chainid-hex>/``, shared by every image and container that uses it.

A snapshot holds one layer's diff, in overlayfs' own format, so the runtime can stack the
directories as ``lowerdir`` without copying: OCI whiteouts become what overlayfs reads
(``.wh.name`` → a 0/0 character device named ``name``; ``.wh..wh..opq`` → the xattr
``trusted.overlay.opaque=y`` on the directory).

Extraction runs GNU ``tar -x`` (C, restores owners, modes incl. setuid, xattrs such as file
capabilities, devices, hard links, mtimes; ``bench/bench_image_import.py`` measured it against
``tarfile``). Safety does not rest on tar alone: every archive is first scanned in Python
(``scan_layer``), which rejects members that could escape the root — ``..`` components, paths
or hard-link targets reached through a symlink of the same archive — before anything is
written, and the unpack goes into a fresh private temp dir that is renamed into place only when
complete. An absolute symlink *target* is fine: it resolves inside the container's root.
"""

from __future__ import annotations

import os
import posixpath
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from engine.atomic_files import locked
from engine.content import fsync_dir, sha256_digest, validate_digest
from engine.errors import InvalidArgumentError, UnavailableError

# `shutil` and `tempfile` (with zlib, bz2, lzma and random: ~6 ms of every `up` and `run`,
# which find their layers unpacked) are imported where a layer is unpacked or removed.

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Literal

WHITEOUT_PREFIX = ".wh."
WHITEOUT_META_PREFIX = ".wh..wh."
OPAQUE_WHITEOUT = ".wh..wh..opq"
OVERLAY_OPAQUE_XATTR = "trusted.overlay.opaque"


class Compression(Enum):
    """How a layer blob is compressed; decides tarfile mode and tar flag."""

    NONE = "none"
    GZIP = "gzip"

    @property
    def tarfile_mode(self) -> Literal["r:", "r:gz"]:
        return "r:gz" if self is Compression.GZIP else "r:"

    @property
    def tar_flags(self) -> tuple[str, ...]:
        return {"none": (), "gzip": ("-z",)}[self.value]


@dataclass(frozen=True)
class LayerScan:
    """What ``scan_layer`` learned: enough to validate, unpack and describe a layer."""

    members: int
    whiteouts: tuple[str, ...]  # paths (relative, normalized) to hide from lower layers
    opaque_dirs: tuple[str, ...]  # directories whose lower-layer content is hidden
    max_mtime: int  # newest member mtime (seconds); a reproducible "created" for imports
    content_size: int  # sum of regular file sizes


def chain_ids(diff_ids: tuple[str, ...] | list[str]) -> list[str]:
    """OCI ChainIDs: a layer's snapshot depends on the whole stack below it."""
    chain: list[str] = []
    for diff_id in diff_ids:
        chain.append(diff_id if not chain else sha256_digest(f"{chain[-1]} {diff_id}".encode()))
    return chain


def normalize_member_name(name: str) -> str:
    """``./a//b/`` → ``a/b``; ``/`` and ``./`` → ``.``. Raises on any ``..`` component:
    GNU tar refuses those too, and no legitimate layer needs them."""
    stripped = name.lstrip("/")
    if any(part == ".." for part in stripped.split("/")):
        raise InvalidArgumentError(
            f"layer member {name!r} contains '..': refusing a path that could escape the root",
            subject=name,
        )
    normalized = posixpath.normpath(stripped) if stripped else "."
    return normalized


def _ancestors(path: str) -> Iterator[str]:
    parts = path.split("/")
    for i in range(1, len(parts)):
        yield "/".join(parts[:i])


def _bad_tar(path: Path, why: str) -> InvalidArgumentError:
    return InvalidArgumentError(
        f"not a valid layer tarball: {why}",
        subject=str(path),
        hint="import expects a tar archive (plain, gzip, bzip2 or xz compressed)",
    )


def scan_layer(path: Path, compression: Compression = Compression.NONE) -> LayerScan:
    """Read every header (not the data, for uncompressed layers) and validate the archive."""
    import tarfile  # only when a layer comes in: `run` and `up` never scan one

    whiteouts: list[str] = []
    opaque: list[str] = []
    symlinks: set[str] = set()
    members = 0
    max_mtime = 0
    content_size = 0
    file_size = path.stat().st_size
    try:
        with tarfile.open(path, compression.tarfile_mode) as archive:
            for member in archive:
                members += 1
                name = normalize_member_name(member.name)
                for ancestor in _ancestors(name):
                    if ancestor in symlinks:
                        raise InvalidArgumentError(
                            f"layer member {member.name!r} lies beneath the symlink {ancestor!r}"
                            " of the same layer: refusing to write through a symlink",
                            subject=member.name,
                        )
                if member.islnk():
                    target = normalize_member_name(member.linkname)
                    if target == "." or any(a in symlinks for a in (*_ancestors(target), target)):
                        raise InvalidArgumentError(
                            f"hard link {member.name!r} -> {member.linkname!r} points through"
                            " a symlink or at the root",
                            subject=member.name,
                        )
                if member.issym():
                    symlinks.add(name)
                else:
                    symlinks.discard(name)
                base = posixpath.basename(name)
                if base.startswith(WHITEOUT_PREFIX):
                    parent = posixpath.dirname(name) or "."
                    if base == OPAQUE_WHITEOUT:
                        opaque.append(parent)
                    elif not base.startswith(WHITEOUT_META_PREFIX):  # aufs metadata: ignored
                        if member.isdir():
                            raise InvalidArgumentError(
                                f"whiteout {member.name!r} is a directory", subject=member.name
                            )
                        hidden = base[len(WHITEOUT_PREFIX) :]
                        if not hidden:
                            raise InvalidArgumentError(
                                f"whiteout {member.name!r} names nothing", subject=member.name
                            )
                        whiteouts.append(hidden if parent == "." else f"{parent}/{hidden}")
                max_mtime = max(max_mtime, int(member.mtime))
                if member.isreg():
                    content_size += member.size
                    if (
                        compression is Compression.NONE
                        and not member.issparse()
                        and member.offset_data + member.size > file_size
                    ):
                        raise _bad_tar(path, f"member {member.name!r} is truncated")
    except (tarfile.TarError, EOFError, OSError, UnicodeError, ValueError) as exc:
        raise _bad_tar(path, str(exc) or type(exc).__name__) from exc
    return LayerScan(
        members=members,
        whiteouts=tuple(whiteouts),
        opaque_dirs=tuple(opaque),
        max_mtime=max_mtime,
        content_size=content_size,
    )


def _tar_command(layer: Path, dest: Path, compression: Compression) -> list[str]:
    return [
        "tar",
        "-x",
        *compression.tar_flags,
        "-f",
        str(layer),
        "-C",
        str(dest),
        "--numeric-owner",  # uids in the layer are the container's, never the host's names
        "--same-owner",
        "--same-permissions",  # keeps setuid/setgid/sticky
        "--delay-directory-restore",  # dir mtimes/modes right even for unsorted archives
        "--xattrs",
        "--xattrs-include=*",
        "--xattrs-exclude=trusted.*",  # a layer must not smuggle overlayfs' own xattrs in
        f"--exclude={WHITEOUT_PREFIX}*",  # whiteouts are converted below, never extracted
        "--warning=no-unknown-keyword",
        "--warning=no-timestamp",
    ]


def _inside(dest: Path, relative: str) -> Path:
    """``dest/relative`` after checking no existing component is a symlink leading out."""
    target = dest / relative
    real_parent = os.path.realpath(target.parent)
    real_dest = os.path.realpath(dest)
    if real_parent != real_dest and not real_parent.startswith(real_dest + os.sep):
        raise InvalidArgumentError(
            f"whiteout {relative!r} resolves outside the layer", subject=relative
        )
    return target


def apply_whiteouts(dest: Path, scan: LayerScan) -> None:
    """Turn the scan's OCI whiteouts into overlayfs whiteouts inside ``dest``."""
    for relative in scan.opaque_dirs:
        directory = dest if relative == "." else _inside(dest, relative)
        directory.mkdir(mode=0o755, parents=True, exist_ok=True)
        os.setxattr(directory, OVERLAY_OPAQUE_XATTR, b"y", follow_symlinks=False)
    for relative in scan.whiteouts:
        target = _inside(dest, relative)
        target.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
        if os.path.lexists(target):
            # OCI: a whiteout hides lower layers only; a same-layer entry stays visible.
            continue
        os.mknod(target, stat.S_IFCHR | 0o000, os.makedev(0, 0))


def unpack_layer(layer: Path, dest: Path, compression: Compression = Compression.NONE) -> LayerScan:
    """Validate and extract one layer into the (empty) directory ``dest``, converting whiteouts."""
    import shutil  # (see the note at the imports)

    scan = scan_layer(layer, compression)
    if shutil.which("tar") is None:
        raise UnavailableError(
            "GNU tar is needed to unpack image layers", hint="apt-get install tar"
        )
    import subprocess  # here, not at the top: the CLI's `run` path imports this module

    result = subprocess.run(
        _tar_command(layer, dest, compression),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        check=False,
    )
    if result.returncode != 0:
        raise _bad_tar(layer, "tar -x failed: " + result.stderr.decode(errors="replace").strip())
    apply_whiteouts(dest, scan)
    return scan


def _flush_filesystem(path: Path) -> None:
    """syncfs(2) on ``path``'s filesystem via coreutils ``sync -f`` (Python 3.11's ``os`` has
    no syncfs, and ctypes stays in engine.syscalls); one call instead of an fsync per file.
    Falls back to a global sync."""
    import subprocess

    try:
        done = subprocess.run(["sync", "-f", str(path)], check=False).returncode == 0
    except OSError:
        done = False
    if not done:
        os.sync()


class SnapshotStore:
    """Snapshot dirs by chain id; each is unpacked at most once, even across processes."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.locks = root / ".locks"

    def path(self, chain_id: str) -> Path:
        return self.root / validate_digest(chain_id)

    def exists(self, chain_id: str) -> bool:
        return self.path(chain_id).is_dir()

    def ensure(
        self, chain_id: str, layer: Path, compression: Compression = Compression.NONE
    ) -> tuple[Path, bool]:
        """Return the snapshot dir for ``chain_id`` and whether this call unpacked it.

        Fast path: the final dir exists (it only appears by an atomic rename of a complete
        unpack). Slow path, under a per-chain-id flock: re-check, clear temp dirs left by a
        crashed unpacker, unpack into ``.tmp-<hex>-*``, flush to disk, rename.
        """
        final = self.path(chain_id)
        if final.is_dir():
            return final, False
        hex_id = final.name
        self.locks.mkdir(parents=True, exist_ok=True)
        with locked(self.locks / f"{hex_id}.lock"):
            if final.is_dir():
                return final, False
            import shutil  # (see the note at the imports)
            import tempfile

            for stale in self.root.glob(f".tmp-{hex_id}-*"):
                shutil.rmtree(stale, ignore_errors=True)
            temp = Path(tempfile.mkdtemp(prefix=f".tmp-{hex_id}-", dir=self.root))
            try:
                os.chmod(temp, 0o755)
                unpack_layer(layer, temp, compression)
                _flush_filesystem(temp)  # the rename must not outrun the files' data
                os.rename(temp, final)
                fsync_dir(self.root)
            except BaseException:
                shutil.rmtree(temp, ignore_errors=True)
                raise
        return final, True

    def remove(self, chain_id: str) -> None:
        """Drop a snapshot (garbage collection); callers ensure no container uses it."""
        import shutil

        final = self.path(chain_id)
        self.locks.mkdir(parents=True, exist_ok=True)
        with locked(self.locks / f"{final.name}.lock"):
            if final.is_dir():
                doomed = final.with_name(f".tmp-{final.name}-removing")
                os.rename(final, doomed)
                shutil.rmtree(doomed, ignore_errors=True)
