"""Image store on the real filesystem as root: import, names, snapshots, whiteouts."""

from __future__ import annotations

import bz2
import gzip
import io
import json
import lzma
import multiprocessing
import os
import stat
import subprocess
import tarfile
from collections.abc import Callable
from pathlib import Path

import pytest

import engine.snapshots as snapshots
from engine.errors import (
    ImageInUseError,
    ImageNotFoundError,
    InvalidArgumentError,
)
from engine.image_layout import REF_NAME_ANNOTATION
from engine.images import Image, ImageConfig, ImageStore
from engine.snapshots import (
    OVERLAY_OPAQUE_XATTR,
    Compression,
    chain_ids,
    scan_layer,
    unpack_layer,
)
from tests.fixtures_images import busybox_tarball  # noqa: F401

pytestmark = [
    pytest.mark.root,
    pytest.mark.skipif(os.geteuid() != 0, reason="needs root (owners, device nodes, xattrs)"),
]


@pytest.fixture()
def store(tmp_path: Path) -> ImageStore:
    return ImageStore(tmp_path / "root")


@pytest.fixture()
def busybox(store: ImageStore, busybox_tarball: Path) -> Image:  # noqa: F811
    return store.import_tarball(busybox_tarball, "busybox")


# ---------------------------------------------------------------- helpers


def _add(
    archive: tarfile.TarFile,
    name: str,
    kind: bytes = tarfile.REGTYPE,
    data: bytes = b"",
    *,
    mode: int = 0o644,
    uid: int = 0,
    gid: int = 0,
    linkname: str = "",
    mtime: int = 1_700_000_000,
    devmajor: int = 0,
    devminor: int = 0,
) -> None:
    info = tarfile.TarInfo(name)
    info.type = kind
    info.mode = mode
    info.uid, info.gid = uid, gid
    info.mtime = mtime
    info.linkname = linkname
    info.devmajor, info.devminor = devmajor, devminor
    info.size = len(data) if kind == tarfile.REGTYPE else 0
    archive.addfile(info, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _make_tar(path: Path, build: Callable[[tarfile.TarFile], None]) -> Path:
    with tarfile.open(path, "w", format=tarfile.PAX_FORMAT) as archive:
        build(archive)
    return path


def _ingest_is_empty(store: ImageStore) -> bool:
    ingest = store.content.ingest
    return not ingest.exists() or not any(ingest.iterdir())


# ---------------------------------------------------------------- import and lookup


def test_import_describes_the_image(store: ImageStore, busybox: Image) -> None:
    assert busybox.id.startswith("sha256:") and len(busybox.id) == 71
    assert busybox.repo_tags == ("busybox:latest",)
    assert busybox.created == "2024-01-01T00:00:00Z"
    assert busybox.architecture == "amd64" and busybox.os == "linux"
    assert len(busybox.diff_ids) == 1
    assert busybox.size > 1_000_000
    assert busybox.config == ImageConfig()
    assert busybox.config.cmd is None


def test_store_is_an_oci_image_layout(store: ImageStore, busybox: Image) -> None:
    images = store.root / "images"
    assert json.loads((images / "oci-layout").read_text()) == {"imageLayoutVersion": "1.0.0"}
    index = json.loads((images / "index.json").read_text())
    (entry,) = index["manifests"]
    assert entry["annotations"][REF_NAME_ANNOTATION] == "docker.io/library/busybox:latest"
    assert entry["digest"] == busybox.manifest_digest
    manifest = json.loads((images / "blobs" / "sha256" / entry["digest"][7:]).read_text())
    assert manifest["mediaType"] == "application/vnd.oci.image.manifest.v1+json"
    assert manifest["config"]["digest"] == busybox.id
    assert manifest["layers"][0]["mediaType"] == "application/vnd.oci.image.layer.v1.tar"
    assert manifest["layers"][0]["digest"] == busybox.diff_ids[0]
    for blob in store.content.digests():
        assert store.content.read_bytes(blob, verify=True)


@pytest.mark.parametrize(
    "text",
    ["busybox", "busybox:latest", "docker.io/library/busybox:latest", "library/busybox"],
)
def test_get_by_name(store: ImageStore, busybox: Image, text: str) -> None:
    assert store.get(text) == busybox


def test_get_by_id_forms(store: ImageStore, busybox: Image) -> None:
    hex_id = busybox.id[7:]
    for text in (busybox.id, hex_id, hex_id[:12], "sha256:" + hex_id[:12], busybox.short_id):
        assert store.get(text).id == busybox.id


def test_get_missing_image_has_a_clear_message(store: ImageStore, busybox: Image) -> None:
    with pytest.raises(ImageNotFoundError) as info:
        store.get("alpine")
    assert str(info.value) == "image alpine:latest not found: import or pull it first"
    assert store.find("alpine") is None
    assert store.find("busybox:1.0") is None
    assert store.find("sha256:" + "0" * 64) is None


def test_get_rejects_invalid_names(store: ImageStore) -> None:
    with pytest.raises(InvalidArgumentError):
        store.get("Not A Name")


def test_id_is_stable_across_imports(
    tmp_path: Path,
    busybox_tarball: Path,  # noqa: F811
) -> None:
    first = ImageStore(tmp_path / "a").import_tarball(busybox_tarball, "busybox")
    second = ImageStore(tmp_path / "b").import_tarball(busybox_tarball, "other:1")
    again = ImageStore(tmp_path / "a").import_tarball(busybox_tarball, "busybox")
    assert first.id == second.id == again.id
    assert first.manifest_digest == second.manifest_digest


@pytest.mark.parametrize(
    ("suffix", "compress"),
    [("gz", gzip.compress), ("bz2", bz2.compress), ("xz", lzma.compress)],
)
def test_compressed_import_gives_the_same_image(
    store: ImageStore,
    tmp_path: Path,
    busybox: Image,
    busybox_tarball: Path,  # noqa: F811
    suffix: str,
    compress: Callable[[bytes], bytes],
) -> None:
    packed = tmp_path / f"busybox.tar.{suffix}"
    packed.write_bytes(compress(busybox_tarball.read_bytes()))
    image = store.import_tarball(packed, f"busybox:{suffix}")
    assert image.id == busybox.id
    assert image.repo_tags == tuple(sorted([f"busybox:{suffix}", "busybox:latest"]))


def test_import_with_changes_and_without_name(
    store: ImageStore,
    busybox_tarball: Path,  # noqa: F811
) -> None:
    changes = ImageConfig(
        env=("PATH=/bin", "A=1"),
        cmd=("sh", "-c", "echo hi"),
        entrypoint=("/bin/busybox",),
        working_dir="/var/www",
        user="nobody",
        labels={"org.example": "yes"},
        stop_signal="SIGINT",
        exposed_ports=("80/tcp", "53/udp"),
        volumes=("/data",),
    )
    image = store.import_tarball(busybox_tarball, None, changes=changes)
    assert image.repo_tags == ()
    assert image.config == ImageConfig(
        **{**changes.__dict__, "exposed_ports": ("53/udp", "80/tcp")}
    )
    assert [i.id for i in store.list()] == [image.id]
    assert store.get(image.short_id) == image


# ---------------------------------------------------------------- names


def test_tag_list_and_remove(store: ImageStore, busybox: Image) -> None:
    store.tag("busybox", "myreg:5000/x/y:1")
    (image,) = store.list()
    assert image.repo_tags == ("busybox:latest", "myreg:5000/x/y:1")
    assert store.get("myreg:5000/x/y:1").id == busybox.id

    with pytest.raises(ImageInUseError):
        store.remove(busybox.short_id)

    store.remove("busybox")
    assert store.find("busybox") is None
    assert store.get(busybox.id).repo_tags == ("myreg:5000/x/y:1",)

    store.remove("myreg:5000/x/y:1")
    assert store.list() == []
    with pytest.raises(ImageNotFoundError):
        store.get(busybox.id)
    with pytest.raises(ImageNotFoundError):
        store.remove("busybox")


def test_tag_rejects_bad_targets(store: ImageStore, busybox: Image) -> None:
    with pytest.raises(InvalidArgumentError):
        store.tag("busybox", "Bad")
    with pytest.raises(InvalidArgumentError):
        store.tag("busybox", "busybox@sha256:" + "a" * 64)
    with pytest.raises(ImageNotFoundError):
        store.tag("alpine", "x")


def test_moving_a_name_leaves_a_dangling_image(
    store: ImageStore, busybox: Image, tmp_path: Path
) -> None:
    other = store.import_tarball(
        _make_tar(tmp_path / "one.tar", lambda a: _add(a, "hello", data=b"hi")), "busybox"
    )
    assert other.id != busybox.id
    by_id = {i.id: i for i in store.list()}
    assert by_id[busybox.id].repo_tags == ()
    assert by_id[other.id].repo_tags == ("busybox:latest",)
    store.remove(busybox.id)  # dangling: removable by id
    assert [i.id for i in store.list()] == [other.id]
    store.remove(other.short_id)  # one name: removable by id
    assert store.list() == []


def test_tagging_a_dangling_image_adopts_it(store: ImageStore, busybox_tarball: Path) -> None:  # noqa: F811
    image = store.import_tarball(busybox_tarball, None)
    store.tag(image.id, "named")
    index = json.loads((store.root / "images" / "index.json").read_text())
    assert [m["annotations"][REF_NAME_ANNOTATION] for m in index["manifests"]] == [
        "docker.io/library/named:latest"
    ]


# ---------------------------------------------------------------- bad input


def _garbage(path: Path) -> Path:
    path.write_bytes(os.urandom(4096))
    return path


def _text(path: Path) -> Path:
    path.write_text("this is not a tarball\n" * 50)
    return path


def _empty(path: Path) -> Path:
    path.write_bytes(b"")
    return path


def _bad_gzip(path: Path) -> Path:
    path.write_bytes(gzip.compress(b"not a tar either" * 100)[:-20])
    return path


def _truncated(path: Path) -> Path:
    _make_tar(path, lambda a: _add(a, "big", data=b"x" * 100_000))
    path.write_bytes(path.read_bytes()[:20_000])
    return path


def _dotdot(path: Path) -> Path:
    return _make_tar(path, lambda a: _add(a, "../escape", data=b"x"))


def _through_symlink(path: Path) -> Path:
    def build(archive: tarfile.TarFile) -> None:
        _add(archive, "etc", tarfile.SYMTYPE, linkname="/etc")
        _add(archive, "etc/passwd", data=b"pwned")

    return _make_tar(path, build)


def _hardlink_escape(path: Path) -> Path:
    return _make_tar(path, lambda a: _add(a, "x", tarfile.LNKTYPE, linkname="../../etc/passwd"))


@pytest.mark.parametrize(
    "make",
    [_garbage, _text, _empty, _bad_gzip, _truncated, _dotdot, _through_symlink, _hardlink_escape],
)
def test_bad_tarball_is_invalid_argument(
    store: ImageStore, tmp_path: Path, make: Callable[[Path], Path]
) -> None:
    bad = make(tmp_path / "bad.tar")
    with pytest.raises(InvalidArgumentError):
        store.import_tarball(bad, "bad")
    assert store.list() == []
    assert store.content.digests() == []
    assert _ingest_is_empty(store)


def test_missing_or_unreadable_tarball_is_invalid_argument(
    store: ImageStore, tmp_path: Path
) -> None:
    with pytest.raises(InvalidArgumentError, match="no such file"):
        store.import_tarball(tmp_path / "nope.tar", "x")
    with pytest.raises(InvalidArgumentError):
        store.import_tarball(tmp_path, "x")  # a directory
    with pytest.raises(InvalidArgumentError, match="zstd"):
        (tmp_path / "z.tar.zst").write_bytes(b"\x28\xb5\x2f\xfd" + b"\0" * 100)
        store.import_tarball(tmp_path / "z.tar.zst", "x")


def test_import_rejects_digest_reference(store: ImageStore, busybox_tarball: Path) -> None:  # noqa: F811
    with pytest.raises(InvalidArgumentError):
        store.import_tarball(busybox_tarball, "busybox@sha256:" + "a" * 64)


# ---------------------------------------------------------------- snapshots


def test_layer_paths_unpacks_a_usable_rootfs_once(
    store: ImageStore, busybox: Image, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Path] = []
    real = snapshots.unpack_layer

    def counting(layer: Path, dest: Path, *args: object) -> snapshots.LayerScan:
        calls.append(dest)
        return real(layer, dest, *args)  # type: ignore[arg-type]

    monkeypatch.setattr(snapshots, "unpack_layer", counting)
    (root,) = store.layer_paths(busybox)
    assert root == store.root / "snapshots" / chain_ids(busybox.diff_ids)[0][7:]
    assert len(calls) == 1
    inode = root.stat().st_ino

    assert store.layer_paths(busybox) == [root]
    assert ImageStore(store.root).layer_paths(busybox) == [root]
    assert len(calls) == 1
    assert root.stat().st_ino == inode

    busybox_bin = root / "bin" / "busybox"
    assert busybox_bin.stat().st_mode & 0o777 == 0o755
    assert os.readlink(root / "bin" / "sh") == "busybox"
    assert stat.S_IMODE((root / "tmp").stat().st_mode) == 0o1777
    assert stat.S_IMODE((root / "root").stat().st_mode) == 0o700
    assert stat.S_IMODE(root.stat().st_mode) == 0o755
    assert "nobody:x:65534" in (root / "etc" / "passwd").read_text()
    assert (root / "var" / "www").is_dir()
    out = subprocess.run(
        ["chroot", str(root), "/bin/sh", "-c", "echo hello from $(uname -s)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout == "hello from Linux\n"
    leftovers = [p.name for p in root.parent.iterdir() if p.name.startswith(".tmp-")]
    assert leftovers == []


def _concurrent_worker(
    root: str, image_id: str, barrier: multiprocessing.synchronize.Barrier, queue: object
) -> None:
    calls = 0
    real = snapshots.unpack_layer

    def counting(*args: object) -> snapshots.LayerScan:
        nonlocal calls
        calls += 1
        return real(*args)  # type: ignore[arg-type]

    snapshots.unpack_layer = counting  # type: ignore[assignment]
    store = ImageStore(Path(root))
    image = store.get(image_id)
    barrier.wait()
    paths = store.layer_paths(image)
    queue.put(([str(p) for p in paths], calls))  # type: ignore[attr-defined]


def test_concurrent_layer_paths_from_several_processes(store: ImageStore, busybox: Image) -> None:
    context = multiprocessing.get_context("fork")
    workers = 4
    barrier = context.Barrier(workers)
    queue = context.Queue()
    processes = [
        context.Process(
            target=_concurrent_worker, args=(str(store.root), busybox.id, barrier, queue)
        )
        for _ in range(workers)
    ]
    for process in processes:
        process.start()
    results = [queue.get(timeout=60) for _ in processes]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert len({tuple(paths) for paths, _ in results}) == 1
    assert sum(calls for _, calls in results) == 1
    (root,) = store.layer_paths(busybox)
    assert (root / "bin" / "busybox").is_file()
    assert [p.name for p in root.parent.iterdir() if p.name.startswith(".tmp-")] == []


def test_stale_temp_dir_of_a_crashed_unpack_is_cleaned(store: ImageStore, busybox: Image) -> None:
    hex_id = chain_ids(busybox.diff_ids)[0][7:]
    stale = store.root / "snapshots" / f".tmp-{hex_id}-crashed"
    (stale / "half").mkdir(parents=True)
    store.layer_paths(busybox)
    assert not stale.exists()


def test_missing_layer_blob_is_reported(store: ImageStore, busybox: Image) -> None:
    store.content.path(busybox.diff_ids[0]).unlink()
    with pytest.raises(Exception, match="missing from the content store"):
        store.layer_paths(busybox)


def test_unpack_preserves_owners_modes_devices_links_mtimes(tmp_path: Path) -> None:
    def build(archive: tarfile.TarFile) -> None:
        _add(archive, "./", tarfile.DIRTYPE, mode=0o755)
        _add(archive, "usr/bin", tarfile.DIRTYPE, mode=0o755, mtime=1_600_000_000)
        _add(archive, "usr/bin/su", data=b"#!/bin/sh\n", mode=0o4755, uid=0)
        _add(archive, "usr/bin/wall", data=b"w", mode=0o2755, gid=5)
        _add(archive, "home/app/file", data=b"mine", mode=0o600, uid=1234, gid=5678)
        _add(archive, "home/app/hard", tarfile.LNKTYPE, linkname="home/app/file")
        _add(archive, "abs-link", tarfile.SYMTYPE, linkname="/etc/passwd")
        _add(archive, "dev/null", tarfile.CHRTYPE, mode=0o666, devmajor=1, devminor=3)
        _add(archive, "dev/loop9", tarfile.BLKTYPE, mode=0o660, devmajor=7, devminor=9)
        _add(archive, "run/fifo", tarfile.FIFOTYPE, mode=0o600)

    layer = _make_tar(tmp_path / "layer.tar", build)
    dest = tmp_path / "out"
    dest.mkdir()
    unpack_layer(layer, dest)
    assert stat.S_IMODE((dest / "usr/bin/su").stat().st_mode) == 0o4755
    assert stat.S_IMODE((dest / "usr/bin/wall").stat().st_mode) == 0o2755
    owned = (dest / "home/app/file").stat()
    assert (owned.st_uid, owned.st_gid, stat.S_IMODE(owned.st_mode)) == (1234, 5678, 0o600)
    assert (dest / "home/app/hard").stat().st_ino == owned.st_ino
    assert owned.st_mtime == 1_700_000_000
    assert (dest / "usr/bin").stat().st_mtime == 1_600_000_000
    assert os.readlink(dest / "abs-link") == "/etc/passwd"
    null = os.lstat(dest / "dev/null")
    assert stat.S_ISCHR(null.st_mode) and null.st_rdev == os.makedev(1, 3)
    assert stat.S_ISBLK(os.lstat(dest / "dev/loop9").st_mode)
    assert stat.S_ISFIFO(os.lstat(dest / "run/fifo").st_mode)


def test_unpack_refuses_to_write_through_symlinks(tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    def build(archive: tarfile.TarFile) -> None:
        _add(archive, "link", tarfile.SYMTYPE, linkname=str(outside))
        _add(archive, "link/owned", data=b"x")

    layer = _make_tar(tmp_path / "evil.tar", build)
    dest = tmp_path / "out"
    dest.mkdir()
    with pytest.raises(InvalidArgumentError, match="symlink"):
        unpack_layer(layer, dest)
    assert list(outside.iterdir()) == []
    assert list(dest.iterdir()) == []


# ---------------------------------------------------------------- whiteouts


def _two_layers(tmp_path: Path) -> tuple[Path, Path]:
    def lower(archive: tarfile.TarFile) -> None:
        _add(archive, "a", tarfile.DIRTYPE, mode=0o755)
        _add(archive, "a/gone", data=b"old")
        _add(archive, "a/kept", data=b"kept")
        _add(archive, "d", tarfile.DIRTYPE, mode=0o755)
        _add(archive, "d/old1", data=b"1")
        _add(archive, "d/sub", tarfile.DIRTYPE, mode=0o755)
        _add(archive, "topfile", data=b"t")

    def upper(archive: tarfile.TarFile) -> None:
        _add(archive, "a/.wh.gone")
        _add(archive, "d", tarfile.DIRTYPE, mode=0o755)
        _add(archive, "d/.wh..wh..opq")
        _add(archive, "d/new", data=b"new")
        _add(archive, ".wh.topfile")
        _add(archive, "x/y/.wh.deep")  # parent dirs not in the archive

    return _make_tar(tmp_path / "lower.tar", lower), _make_tar(tmp_path / "upper.tar", upper)


def test_scan_finds_whiteouts(tmp_path: Path) -> None:
    _, upper = _two_layers(tmp_path)
    scan = scan_layer(upper)
    assert scan.whiteouts == ("a/gone", "topfile", "x/y/deep")
    assert scan.opaque_dirs == ("d",)


def test_whiteouts_become_overlayfs_whiteouts(tmp_path: Path) -> None:
    lower_tar, upper_tar = _two_layers(tmp_path)
    lower, upper, merged = tmp_path / "l", tmp_path / "u", tmp_path / "m"
    for directory in (lower, upper, merged):
        directory.mkdir()
    unpack_layer(lower_tar, lower)
    unpack_layer(upper_tar, upper)

    for relative in ("a/gone", "topfile", "x/y/deep"):
        st = os.lstat(upper / relative)
        assert stat.S_ISCHR(st.st_mode) and st.st_rdev == os.makedev(0, 0), relative
    assert os.getxattr(upper / "d", OVERLAY_OPAQUE_XATTR) == b"y"
    assert not [p for p in upper.rglob("*") if p.name.startswith(".wh.")]

    subprocess.run(
        ["mount", "-t", "overlay", "overlay", "-o", f"ro,lowerdir={upper}:{lower}", str(merged)],
        check=True,
    )
    try:
        assert sorted(p.name for p in (merged / "a").iterdir()) == ["kept"]
        assert sorted(p.name for p in (merged / "d").iterdir()) == ["new"]
        assert not (merged / "topfile").exists()
    finally:
        subprocess.run(["umount", str(merged)], check=True)


def test_same_layer_entry_wins_over_its_whiteout(tmp_path: Path) -> None:
    def build(archive: tarfile.TarFile) -> None:
        _add(archive, ".wh.f")
        _add(archive, "f", data=b"here")

    layer = _make_tar(tmp_path / "l.tar", build)
    dest = tmp_path / "out"
    dest.mkdir()
    unpack_layer(layer, dest)
    assert (dest / "f").read_bytes() == b"here"


def test_gzip_layers_unpack_too(tmp_path: Path) -> None:
    """Pulled layers arrive as tar+gzip; whiteouts work the same."""
    _, upper = _two_layers(tmp_path)
    packed = tmp_path / "upper.tar.gz"
    packed.write_bytes(gzip.compress(upper.read_bytes()))
    dest = tmp_path / "out"
    dest.mkdir()
    scan = unpack_layer(packed, dest, Compression.GZIP)
    assert scan.opaque_dirs == ("d",)
    assert (dest / "d" / "new").read_bytes() == b"new"
    assert stat.S_ISCHR(os.lstat(dest / "a" / "gone").st_mode)


def test_xattrs_are_kept_but_not_overlayfs_ones(tmp_path: Path) -> None:
    """File capabilities and user xattrs survive; a layer cannot plant trusted.overlay.*."""

    def build(archive: tarfile.TarFile) -> None:
        info = tarfile.TarInfo("f")
        info.pax_headers = {
            "SCHILY.xattr.user.note": "hello",
            "SCHILY.xattr.trusted.overlay.redirect": "/etc",
        }
        archive.addfile(info, io.BytesIO(b""))

    layer = _make_tar(tmp_path / "x.tar", build)
    dest = tmp_path / "out"
    dest.mkdir()
    unpack_layer(layer, dest)
    assert os.getxattr(dest / "f", "user.note") == b"hello"
    assert "trusted.overlay.redirect" not in os.listxattr(dest / "f")
