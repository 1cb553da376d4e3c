"""Pull and push against a real distribution registry on loopback (Debian's docker-registry)."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from engine.content import sha256_digest
from engine.errors import DigestMismatchError, EngineError, NotFoundError
from engine.images import Image, ImageStore
from engine.registry.auth import Credentials, load_credentials, save_credentials
from engine.registry.client import RegistryClient
from engine.registry.errors import RegistryAuthError, RegistryUnavailableError
from engine.registry.manifests import DOCKER_MANIFEST, OCI_INDEX
from engine.registry.pull import PullProgress, pull_image
from engine.registry.push import push_image
from tests.fixtures_images import busybox_tarball  # noqa: F401
from tests.integration.test_registry_server import RegistryServer, _free_port


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path_factory.mktemp("registry"))
    yield server
    server.close()


@pytest.fixture(scope="module")
def auth_registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path_factory.mktemp("registry-auth"), users={"alice": "s3cret"})
    yield server
    server.close()


@pytest.fixture(autouse=True)
def private_docker_config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Never read or write the real ~/.docker/config.json."""
    monkeypatch.setenv("DOCKER_CONFIG", str(tmp_path / "docker-config"))
    return tmp_path / "docker-config" / "config.json"


@pytest.fixture()
def store(tmp_path: Path, busybox_tarball: Path) -> ImageStore:  # noqa: F811
    s = ImageStore(tmp_path / "root-a")
    s.import_tarball(busybox_tarball, "busybox:latest")
    return s


def test_push_then_pull_into_clean_root_gives_same_image(
    store: ImageStore, registry: RegistryServer, tmp_path: Path
) -> None:
    remote = f"{registry.domain}/test/busybox:1"
    store.tag("busybox", remote)
    events: list[PullProgress] = []
    digest = push_image(store, remote, report=events.append)
    local = store.get(remote)
    assert digest == local.manifest_digest
    assert any(e.status == "Pushed" for e in events)
    assert store.repo_digests(local) == (f"{registry.domain}/test/busybox@{digest}",)

    clean = ImageStore(tmp_path / "root-b")
    pulled = pull_image(clean, remote)
    assert pulled.id == local.id
    assert pulled.manifest_digest == local.manifest_digest
    assert pulled.repo_tags == (remote,)
    assert clean.repo_digests(pulled) == (f"{registry.domain}/test/busybox@{digest}",)
    top = clean.layer_paths(pulled)[0]
    assert (top / "bin" / "busybox").is_file()

    # A second push finds every blob present already.
    again: list[PullProgress] = []
    push_image(store, remote, report=again.append)
    assert {e.status for e in again if e.layer} == {"Layer already exists"}


def test_push_to_second_repository_mounts_blobs(
    store: ImageStore, registry: RegistryServer
) -> None:
    first = f"{registry.domain}/mount/one:latest"
    second = f"{registry.domain}/mount/two:latest"
    store.tag("busybox", first)
    push_image(store, first)
    store.tag("busybox", second)
    events: list[PullProgress] = []
    push_image(store, second, report=events.append)
    statuses = [e.status for e in events if e.layer]
    assert statuses and all(s == "Mounted from mount/one" for s in statuses), statuses


def test_pull_by_digest_and_missing_tag(
    store: ImageStore, registry: RegistryServer, tmp_path: Path
) -> None:
    remote = f"{registry.domain}/bydigest/busybox:latest"
    store.tag("busybox", remote)
    digest = push_image(store, remote)
    clean = ImageStore(tmp_path / "clean")
    image = pull_image(clean, f"{registry.domain}/bydigest/busybox@{digest}")
    assert image.manifest_digest == digest
    assert image.repo_tags == ()
    with pytest.raises(NotFoundError, match="bydigest/busybox:nope: not found"):
        pull_image(clean, f"{registry.domain}/bydigest/busybox:nope")  # the tag is named


def _docker_v2_image(store: ImageStore, client: RegistryClient, repo: str, busybox: Path) -> bytes:
    """Upload a gzip-layer image with Docker v2 schema 2 media types; return its manifest."""
    raw = busybox.read_bytes()
    layer = gzip.compress(raw, compresslevel=1, mtime=0)
    config = json.dumps(
        {
            "architecture": "amd64",
            "os": "linux",
            "config": {"Cmd": ["sh"], "Env": ["FROM_DOCKER=1"]},
            "rootfs": {"type": "layers", "diff_ids": [sha256_digest(raw)]},
        }
    ).encode()
    work = store.root / "upload"
    work.mkdir(parents=True)
    for data in (layer, config):
        path = work / "blob"
        path.write_bytes(data)
        client.upload_blob(repo, sha256_digest(data), path, len(data))
    manifest = {
        "schemaVersion": 2,
        "mediaType": DOCKER_MANIFEST,
        "config": {
            "mediaType": "application/vnd.docker.container.image.v1+json",
            "digest": sha256_digest(config),
            "size": len(config),
        },
        "layers": [
            {
                "mediaType": "application/vnd.docker.image.rootfs.diff.tar.gzip",
                "digest": sha256_digest(layer),
                "size": len(layer),
            }
        ],
    }
    return json.dumps(manifest, indent=3).encode()


def test_pull_docker_schema2_gzip_and_multiplatform_index(
    registry: RegistryServer, tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    store = ImageStore(tmp_path / "root")
    client = RegistryClient(registry.domain)
    repo = "multi/busybox"
    manifest = _docker_v2_image(store, client, repo, busybox_tarball)
    client.put_manifest(repo, "amd64-only", manifest, DOCKER_MANIFEST)
    other = {"os": "linux", "architecture": "s390x"}
    index = {
        "schemaVersion": 2,
        "mediaType": OCI_INDEX,
        "manifests": [
            {"mediaType": DOCKER_MANIFEST, "digest": sha256_digest(manifest),
             "size": len(manifest), "platform": {"os": "linux", "architecture": "arm64"}},
            {"mediaType": DOCKER_MANIFEST, "digest": sha256_digest(manifest),
             "size": len(manifest), "platform": {"os": "linux", "architecture": "amd64"}},
        ],
    }
    index_bytes = json.dumps(index).encode()
    client.put_manifest(repo, "multi", index_bytes, OCI_INDEX)
    image: Image = pull_image(store, f"{registry.domain}/{repo}:multi", platform="linux/amd64")
    assert image.manifest_digest == sha256_digest(manifest)
    assert image.config.env == ("FROM_DOCKER=1",)
    assert (store.layer_paths(image)[0] / "bin" / "busybox").is_file()
    with pytest.raises(NotFoundError, match=r"linux/s390x.*available: linux/arm64, linux/amd64"):
        pull_image(store, f"{registry.domain}/{repo}:multi", platform="/".join(other.values()))
    client.close()


def test_digest_mismatch_is_detected_and_nothing_registered(
    store: ImageStore, registry: RegistryServer, tmp_path: Path
) -> None:
    remote = f"{registry.domain}/corrupt/busybox:latest"
    store.tag("busybox", remote)
    push_image(store, remote)
    layer_digest = store.manifest(store.get(remote))["layers"][0]["digest"]
    hex_id = layer_digest.removeprefix("sha256:")
    data = registry.storage / "docker/registry/v2/blobs/sha256" / hex_id[:2] / hex_id / "data"
    original = data.read_bytes()
    try:
        middle = len(original) // 2
        flipped = bytes([original[middle] ^ 0xFF])
        data.write_bytes(original[:middle] + flipped + original[middle + 1 :])  # same size
        clean = ImageStore(tmp_path / "clean")
        with pytest.raises(DigestMismatchError, match="failed verification"):
            pull_image(clean, remote)
        assert clean.find(remote) is None
        assert not clean.content.exists(layer_digest)
        assert list(clean.content.ingest.iterdir()) == []
    finally:
        data.write_bytes(original)


def test_auth_registry_login_and_wrong_credentials(
    store: ImageStore, auth_registry: RegistryServer, tmp_path: Path,
    private_docker_config: Path,
) -> None:
    remote = f"{auth_registry.domain}/private/busybox:latest"
    store.tag("busybox", remote)
    with pytest.raises(RegistryAuthError, match="requires a login"):
        push_image(store, remote)
    bad = RegistryClient(auth_registry.domain, credentials=Credentials("alice", "wrong"))
    with pytest.raises(RegistryAuthError, match=r"authentication to .* failed as alice"):
        bad.ping()
    save_credentials(auth_registry.domain, Credentials("alice", "s3cret"))
    assert private_docker_config.stat().st_mode & 0o777 == 0o600
    assert load_credentials(auth_registry.domain) == Credentials("alice", "s3cret")
    push_image(store, remote)
    clean = ImageStore(tmp_path / "clean")
    assert pull_image(clean, remote).id == store.get(remote).id
    save_credentials(auth_registry.domain, Credentials("alice", "wrong"))
    with pytest.raises(RegistryAuthError, match="failed as alice"):
        pull_image(ImageStore(tmp_path / "clean2"), remote)


def test_unreachable_registry_is_a_clear_error(store: ImageStore) -> None:
    with pytest.raises(RegistryUnavailableError, match="connection refused"):
        pull_image(store, f"127.0.0.1:{_free_port()}/nothing/here:latest")


def test_disk_full_while_unpacking_registers_nothing(
    store: ImageStore, registry: RegistryServer, tmp_path: Path
) -> None:
    import subprocess

    remote = f"{registry.domain}/diskfull/busybox:latest"
    store.tag("busybox", remote)
    push_image(store, remote)
    small = tmp_path / "small"
    small.mkdir()
    # Room for the 2.2 MB layer blob but not for unpacking it as well.
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=3m", "tmpfs", str(small)], check=True)
    try:
        clean = ImageStore(small / "root")
        with pytest.raises(EngineError, match="No space left on device") as caught:
            pull_image(clean, remote)
        assert "Traceback" not in str(caught.value)
        assert clean.find(remote) is None
        assert clean.list() == []
        leftovers = [p.name for p in clean.snapshots.root.iterdir() if p.name != ".locks"]
        assert leftovers == []
    finally:
        subprocess.run(["umount", str(small)], check=True)


def test_tls_registry_insecure_loopback_and_verified_ca(
    store: ImageStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = RegistryServer(tmp_path / "tls-reg", tls=True)
    try:
        remote = f"{server.domain}/tls/busybox:latest"
        store.tag("busybox", remote)
        # Loopback is insecure by Docker's default: TLS without verification (https first).
        client = RegistryClient(server.domain)
        assert client.base_url == f"https://{server.domain}"
        push_image(store, remote, client=client)
        client.close()
        # Treated as a secure registry, its self-signed certificate is refused...
        strict = RegistryClient(server.domain, insecure=False)
        with pytest.raises(RegistryUnavailableError, match="TLS handshake"):
            strict.ping()
        strict.close()
        # ...until its CA is configured where Docker keeps them (certs.d/<host:port>/ca.crt).
        certs = tmp_path / "certs.d" / server.domain
        certs.mkdir(parents=True)
        assert server.ca_file is not None
        (certs / "ca.crt").write_bytes(server.ca_file.read_bytes())
        monkeypatch.setenv("PYCOMPOSE_CERTS_D", str(tmp_path / "certs.d"))
        verified = RegistryClient(server.domain, insecure=False)
        assert verified.verify == str(certs / "ca.crt")
        clean = ImageStore(tmp_path / "clean")
        assert pull_image(clean, remote, client=verified).id == store.get(remote).id
        verified.close()
    finally:
        server.close()


def test_build_pulls_base_image_with_pull_option(
    store: ImageStore, registry: RegistryServer, tmp_path: Path, engine_root: Path
) -> None:
    from engine.api import Engine
    from engine.builder.build import BuildOptions

    base = f"{registry.domain}/base/busybox:latest"
    store.tag("busybox", base)
    push_image(store, base)
    engine = Engine(engine_root)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(f"FROM {base}\nRUN echo pulled-base > /m\n")
    lines: list[str] = []
    result = engine.build_image(BuildOptions(context=ctx, tags=("frompull:1",), pull=True),
                                lines.append)
    assert f"Pulling {base}" in lines
    assert result.image.diff_ids[0] == store.get(base).diff_ids[0]
