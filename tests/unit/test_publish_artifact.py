"""The OCI artifact `publish` builds and `-f oci://` reads (compose.oci_artifact, compose.publish,
compose.oci_remote): docker compose's shape, the rewritten paths, the pre-checks' texts, and
unpacking a fetched artifact into one directory."""

from __future__ import annotations

import base64
import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import requests

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.oci_artifact import (
    OCIVersion,
    build_manifest,
    compose_file_layer,
    env_file_layer,
    is_compose_project,
    parse_oci_version,
    project_in_index,
)
from compose.oci_remote import _fetch_from
from compose.publish import (
    env_file_services,
    pre_checks,
    project_layers,
    scan_file,
)

EMPTY_DIGEST = "sha256:44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a"


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _load(directory: Path, resolve_env: bool = True) -> Project:
    return load_project(LoadOptions(cwd=directory, environ={}, profiles=("*",),
                                    resolve_env=resolve_env))


def test_oci_1_1_manifest_is_docker_composes_shape() -> None:
    layer = compose_file_layer("compose.yaml", b"services: {}\n")
    manifest = build_manifest([layer], OCIVersion.V1_1, now=0)
    doc = json.loads(manifest.data)
    assert list(doc) == ["schemaVersion", "mediaType", "artifactType", "config", "layers",
                         "annotations"]
    assert doc["artifactType"] == "application/vnd.docker.compose.project"
    assert doc["config"] == {"mediaType": "application/vnd.oci.empty.v1+json",
                             "digest": EMPTY_DIGEST, "size": 2, "data": "e30="}
    (only,) = doc["layers"]
    assert only["mediaType"] == "application/vnd.docker.compose.file+yaml"
    assert only["digest"] == _sha(b"services: {}\n") and only["size"] == 13
    assert list(only["annotations"]) == ["com.docker.compose.file", "com.docker.compose.version"]
    assert only["annotations"]["com.docker.compose.file"] == "compose.yaml"
    assert base64.b64decode(only["data"]) == b"services: {}\n"
    assert b" " not in manifest.data.split(b'"data"')[0]  # compact, as Go marshals it
    assert manifest.blobs == (b"{}", b"services: {}\n")
    assert manifest.digest == _sha(manifest.data)
    assert is_compose_project(doc)


def test_oci_1_0_manifest_falls_back_to_composes_config_type() -> None:
    doc = json.loads(build_manifest([], OCIVersion.V1_0).data)
    assert "artifactType" not in doc
    assert doc["config"]["mediaType"] == "application/vnd.docker.compose.config.empty.v1+json"
    assert is_compose_project(doc)
    image = {"config": {"mediaType": "application/vnd.oci.image.config.v1+json"}}
    assert not is_compose_project(image)
    assert not is_compose_project({"artifactType": "application/vnd.example", **doc})
    index = {"manifests": [{"digest": "sha256:a"},
                           {"artifactType": "application/vnd.docker.compose.project",
                            "digest": "sha256:b"}]}
    assert project_in_index(index) == "sha256:b"
    assert parse_oci_version(None) is None and parse_oci_version("1.0") is OCIVersion.V1_0
    with pytest.raises(ComposeError, match="unsupported OCI version: 2"):
        parse_oci_version("2")


def test_env_file_and_extends_paths_are_rewritten_in_place(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("services:\n  b:\n    image: busybox\n")
    text = (
        "# kept\n"
        "services:\n"
        "  one:\n"
        "    image: busybox\n"
        "    env_file: ./one.env  # also kept\n"
        "  two:\n"
        "    image: busybox\n"
        "    env_file:\n"
        "      - \"two.env\"\n"
        "      - path: ${DIR}/three.env\n"
        "        required: false\n"
        "    extends: {file: base.yaml, service: b}\n"
        "  three:\n"
        "    extends: {file: oci://reg.example/x:1, service: y}\n"
        "  four:\n"
        "    extends: {file: missing.yaml, service: y}\n"
    )
    (tmp_path / "compose.yaml").write_text(text)
    scan = scan_file(tmp_path / "compose.yaml", tmp_path, {"DIR": "/envs"})
    names = {path: name for path, name in scan.env_files.items()}
    expected = {str(tmp_path / "one.env"), str(tmp_path / "two.env"), "/envs/three.env"}
    assert set(names) == expected
    for path, name in names.items():
        assert name == hashlib.sha256(path.encode()).hexdigest() + ".env"
    base_name = hashlib.sha256(str(tmp_path / "base.yaml").encode()).hexdigest() + ".yaml"
    assert scan.extends_files == {str(tmp_path / "base.yaml"): base_name}
    out = scan.data.decode()
    assert out.startswith("# kept\n")
    assert f"    env_file: {names[str(tmp_path / 'one.env')]}  # also kept\n" in out
    assert f"      - {names[str(tmp_path / 'two.env')]}\n" in out
    assert f"      - path: {names['/envs/three.env']}\n        required: false\n" in out
    assert f"extends: {{file: {base_name}, service: b}}" in out
    assert "file: oci://reg.example/x:1" in out and "file: missing.yaml" in out


def test_layers_hold_env_files_only_with_env(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    env_file: web.env\n"
        "  db:\n    extends: {file: base.yaml, service: db}\n")
    (tmp_path / "base.yaml").write_text(
        "services:\n  db:\n    extends: {file: deeper.yaml, service: db}\n")
    (tmp_path / "deeper.yaml").write_text("services:\n  db:\n    image: busybox\n")
    (tmp_path / "web.env").write_text("A=1\n")
    project = _load(tmp_path)
    without = project_layers(project, with_env=False)
    assert [layer.media_type.rsplit(".", 1)[-1] for layer in without] == [
        "file+yaml", "file+yaml", "file+yaml"]
    assert without[0].annotations["com.docker.compose.file"] == "compose.yaml"
    assert [layer.annotations.get("com.docker.compose.extends") for layer in without] == [
        None, "true", "true"]
    with_env = project_layers(project, with_env=True, pinned={"web": "busybox@sha256:abc"})
    env_layer = with_env[3]
    assert env_layer == env_file_layer(
        hashlib.sha256(str(tmp_path / "web.env").encode()).hexdigest() + ".env", b"A=1\n")
    assert env_layer.annotations["com.docker.compose.envfile"] in with_env[0].data.decode()
    pins = with_env[4]
    assert pins.annotations["com.docker.compose.file"] == "image-digests.yaml"
    assert pins.data == b"services:\n  web:\n    image: busybox@sha256:abc\n"


def test_pre_checks_texts_and_order(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: busybox\n    environment: [A=1]\n"
        "    volumes: [./data:/data]\n  job:\n    image: busybox\n    env_file: job.env\n")
    (tmp_path / "job.env").write_text("B=2\n")
    project, unresolved = _load(tmp_path), _load(tmp_path, resolve_env=False)
    env_files = env_file_services(unresolved)
    assert env_files == {"job"}
    asked: list[str] = []

    def no(text: str) -> bool:
        asked.append(text)
        return False

    assert pre_checks(project, env_files, with_env=False, confirm=no) is False
    (question,) = asked
    assert question.startswith(
        "you are about to publish bind mounts declaration within your OCI artifact.\n")
    assert question.endswith(f"web\n{tmp_path}/data:/data:rw\n"
                             "Are you ok to publish these bind mount declarations?")
    with pytest.raises(ComposeError) as refused:
        pre_checks(project, env_files, with_env=False, confirm=lambda _t: True)
    assert str(refused.value).startswith(
        'service "job" has env_file declared.\n'
        'service "job" has environment variable(s) declared.\n'
        'service "web" has environment variable(s) declared.\n'
        "To avoid leaking sensitive data")
    asked.clear()
    assert pre_checks(project, env_files, with_env=True, confirm=lambda t: asked.append(t) or 1)
    assert "Service/Config  job\nB=2\nService/Config  web\nA=1\n" in asked[-1]

    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    build: .\n  ok:\n    image: busybox\n    build: .\n")
    with pytest.raises(ComposeError, match='only contains a build section for service'
                       r'\(s\):\n- "app"$'):
        pre_checks(_load(tmp_path), set(), with_env=False, confirm=no)


class FakeRepo:
    """What compose.oci_remote asks of engine.api's ArtifactRepository."""

    def __init__(self, layers: list[tuple[str, bytes, dict[str, str]]],
                 artifact_type: str = "application/vnd.docker.compose.project") -> None:
        self.contents = {_sha(data): data for _, data, _ in layers}
        self.document: dict[str, Any] = {
            "schemaVersion": 2, "artifactType": artifact_type,
            "config": {"mediaType": "application/vnd.oci.empty.v1+json"},
            "layers": [{"mediaType": kind, "digest": _sha(data), "size": len(data),
                        "annotations": notes} for kind, data, notes in layers],
        }

    def manifest(self, digest: str | None = None) -> Any:
        class Fetched:
            pass

        fetched = Fetched()
        fetched.digest = _sha(json.dumps(self.document).encode())  # type: ignore[attr-defined]
        fetched.media_type = "application/vnd.oci.image.manifest.v1+json"  # type: ignore[attr-defined]
        fetched.document = self.document  # type: ignore[attr-defined]
        return fetched

    def blob(self, descriptor: dict[str, Any]) -> bytes:
        return self.contents[descriptor["digest"]]


YAML = "application/vnd.docker.compose.file+yaml"
ENV = "application/vnd.docker.compose.envfile"


def test_a_fetched_artifact_unpacks_into_one_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(tmp_path / "cache"))
    repo = FakeRepo([
        (YAML, b"services:\n  a: {image: busybox}\n", {"com.docker.compose.file": "compose.yaml"}),
        (YAML, b"services:\n  b: {image: busybox}\n", {"com.docker.compose.file": "over.yaml"}),
        (YAML, b"services: {}\n", {"com.docker.compose.file": "x.yaml",
                                   "com.docker.compose.extends": "true"}),
        (ENV, b"A=1\n", {"com.docker.compose.envfile": "y.env"}),
    ])
    compose_file = _fetch_from(repo, "oci://reg/x:1")  # type: ignore[arg-type]
    assert compose_file.read_bytes() == (
        b"services:\n  a: {image: busybox}\n\n---\nservices:\n  b: {image: busybox}\n")
    assert (compose_file.parent / "x.yaml").read_bytes() == b"services: {}\n"
    assert (compose_file.parent / "y.env").read_bytes() == b"A=1\n"
    assert sorted(p.name for p in compose_file.parent.parent.iterdir()) == [
        compose_file.parent.name]


def test_a_bad_artifact_is_refused_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PYCOMPOSE_CACHE_DIR", str(tmp_path / "cache"))
    escaping = FakeRepo([
        (YAML, b"services: {}\n", {"com.docker.compose.file": "compose.yaml"}),
        (ENV, b"A=1\n", {"com.docker.compose.envfile": "../../etc/evil"}),
    ])
    with pytest.raises(ComposeError, match="invalid OCI artifact oci://reg/x:1"):
        _fetch_from(escaping, "oci://reg/x:1")  # type: ignore[arg-type]
    assert list((tmp_path / "cache" / "oci").iterdir()) == []
    image = FakeRepo([], artifact_type="application/vnd.example+type")
    with pytest.raises(ComposeError) as refused:
        _fetch_from(image, "oci://reg/img:1")  # type: ignore[arg-type]
    assert str(refused.value) == (
        "oci://reg/img:1 is not a compose project OCI artifact, but application/vnd.example+type")


def test_a_registry_refusing_a_manifest_shape_is_told_apart() -> None:
    """publish falls back to OCI 1.0 on a 4xx that is neither auth nor not-found."""
    from engine.registry.client import RegistryClient
    from engine.registry.errors import RegistryRejectedError

    client = RegistryClient("127.0.0.1:9")
    response = requests.Response()
    response.status_code = 400
    response._content = b'{"errors":[{"code":"MANIFEST_INVALID","message":"bad"}]}'
    with pytest.raises(RegistryRejectedError, match="manifest_invalid: bad"):
        client._raise(response, "PUT", "/v2/x/manifests/1", "x")
    client.close()
