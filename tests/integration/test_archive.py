"""``image save``/``load`` round trips, with skopeo (Debian) as the independent reader/writer."""

from __future__ import annotations

import json
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from engine.archive import load_archive, save_images
from engine.errors import DigestMismatchError, InvalidArgumentError
from engine.images import ImageStore
from tests.fixtures_images import busybox_tarball  # noqa: F401

needs_skopeo = pytest.mark.skipif(shutil.which("skopeo") is None, reason="skopeo not installed")


@pytest.fixture()
def store(tmp_path: Path, busybox_tarball: Path) -> ImageStore:  # noqa: F811
    s = ImageStore(tmp_path / "root")
    s.import_tarball(busybox_tarball, "busybox:latest")
    s.tag("busybox", "example/box:v1")
    return s


def _skopeo(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["skopeo", "--insecure-policy", *args], capture_output=True, text=True, check=True,
        timeout=120,
    )


def test_save_then_load_into_clean_root(store: ImageStore, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    save_images(store, ["busybox", "example/box:v1"], out)
    with tarfile.open(out) as archive:
        names = set(archive.getnames())
        manifest = json.load(archive.extractfile("manifest.json"))  # type: ignore[arg-type]
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= names
    assert [m["RepoTags"] for m in manifest] == [["busybox:latest"], ["example/box:v1"]]
    clean = ImageStore(tmp_path / "clean")
    loaded = load_archive(clean, out)
    assert [name for name, _ in loaded] == ["busybox:latest", "example/box:v1"]
    assert clean.get("busybox").id == store.get("busybox").id
    assert clean.get("example/box:v1").id == store.get("busybox").id
    assert (clean.layer_paths(clean.get("busybox"))[0] / "bin" / "busybox").is_file()


@needs_skopeo
def test_skopeo_reads_our_archive_both_ways(store: ImageStore, tmp_path: Path) -> None:
    out = tmp_path / "busybox.tar"
    save_images(store, ["busybox"], out)
    image = store.get("busybox")
    info = json.loads(_skopeo("inspect", "--config", f"docker-archive:{out}").stdout)
    assert info["rootfs"]["diff_ids"] == list(image.diff_ids)
    _skopeo("copy", f"docker-archive:{out}", f"dir:{tmp_path / 'd1'}")
    assert (tmp_path / "d1" / image.id.removeprefix("sha256:")).is_file()
    oci = json.loads(_skopeo("inspect", "--raw", f"oci-archive:{out}").stdout)
    assert oci["config"]["digest"] == image.id


@needs_skopeo
def test_load_archives_written_by_skopeo(store: ImageStore, tmp_path: Path) -> None:
    ours = tmp_path / "ours.tar"
    save_images(store, ["busybox"], ours)
    image_id = store.get("busybox").id
    docker_archive = tmp_path / "skopeo-docker.tar"
    _skopeo("copy", f"docker-archive:{ours}", f"docker-archive:{docker_archive}:re/docker:1")
    oci_archive = tmp_path / "skopeo-oci.tar"
    _skopeo("copy", f"docker-archive:{ours}", f"oci-archive:{oci_archive}:re/oci:2")
    clean = ImageStore(tmp_path / "clean")
    assert [n for n, _ in load_archive(clean, docker_archive)] == ["re/docker:1"]
    loaded_oci = load_archive(clean, oci_archive)
    assert [n for n, _ in loaded_oci] == ["re/oci:2"]
    # docker-archive → docker-archive keeps the config (the image id); converting to OCI
    # makes skopeo rewrite the config, but the layer content (diff_ids) is the same.
    assert clean.get("re/docker:1").id == image_id
    assert clean.get("re/oci:2").diff_ids == store.get("busybox").diff_ids
    assert (clean.layer_paths(clean.get("re/oci:2"))[0] / "bin" / "busybox").is_file()


def test_load_rejects_bad_archives(store: ImageStore, tmp_path: Path) -> None:
    junk = tmp_path / "junk.tar"
    junk.write_bytes(b"not a tar at all" * 100)
    with pytest.raises(InvalidArgumentError, match="not a tar archive"):
        load_archive(store, junk)
    rootfs = tmp_path / "rootfs.tar"
    with tarfile.open(rootfs, "w") as archive:
        archive.add(__file__, arcname="etc/x")
    with pytest.raises(InvalidArgumentError, match=r"neither manifest\.json") as caught:
        load_archive(store, rootfs)
    assert "image import" in (caught.value.hint or "")
    # A layer whose bytes do not match the config's diff_id: nothing gets registered.
    good = tmp_path / "good.tar"
    save_images(store, ["busybox"], good)
    bad = tmp_path / "bad.tar"
    with tarfile.open(good) as src, tarfile.open(bad, "w") as dst:
        for member in src.getmembers():
            data = src.extractfile(member).read()  # type: ignore[union-attr]
            if member.size > 100_000:
                data = data[:5000] + bytes([data[5000] ^ 1]) + data[5001:]
            dst.addfile(member, __import__("io").BytesIO(data))
    clean = ImageStore(tmp_path / "clean")
    with pytest.raises(DigestMismatchError):
        load_archive(clean, bad)
    assert clean.list() == []
