"""`publish` and `-f oci://…` as a user types them, against a real registry on loopback: a
stack published, loaded back (`config`, `up -d`, `down -v`) from the registry alone, the
refusals before anything is pushed, and the errors that name the reference."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.conftest import run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401
from tests.integration.test_registry_server import RegistryServer

STACK = """\
# the web tier
services:
  web:
    image: busybox
    command: ["sleep", "300"]
    env_file: ./web.env
  worker:
    extends:
      file: base.yaml
      service: base
"""
BASE = """\
services:
  base:
    image: busybox
    command: ["sleep", "301"]
    environment:
      ROLE: worker
"""


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path_factory.mktemp("reg-publish"))
    yield server
    server.close()


class User:
    """One user's shell: a data root with busybox, a private cache and docker config."""

    def __init__(self, tmp_path: Path) -> None:
        self.tmp = tmp_path
        self.root = tmp_path / "root"
        self.env = {"PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache"),
                    "DOCKER_CONFIG": str(tmp_path / "docker-config")}

    def run(self, *args: str, cwd: Path | None = None) -> tuple[int, str, str]:
        done = run_cli(list(args), cwd=cwd or self.tmp, root=self.root, env=self.env)
        assert "Traceback" not in done.stderr, done.stderr
        return done.returncode, done.stdout, done.stderr


@pytest.fixture
def user(tmp_path: Path, busybox_tarball: Path) -> User:  # noqa: F811
    shell = User(tmp_path)
    assert shell.run("image", "import", str(busybox_tarball), "busybox")[0] == 0
    return shell


def _stack(directory: Path, text: str = STACK) -> Path:
    directory.mkdir()
    (directory / "compose.yaml").write_text(text)
    (directory / "base.yaml").write_text(BASE)
    (directory / "web.env").write_text("GREETING=hello\n")
    return directory


def _manifest(registry: RegistryServer, repo: str, tag: str) -> requests.Response:
    return requests.get(
        f"http://{registry.domain}/v2/{repo}/manifests/{tag}", timeout=10,
        headers={"Accept": "application/vnd.oci.image.manifest.v1+json"},
    )


def _services(config_json: str) -> dict[str, dict[str, object]]:
    services = json.loads(config_json)["services"]
    return {name: {k: svc.get(k) for k in ("image", "command", "environment")}
            for name, svc in services.items()}


def test_published_stack_loads_and_runs_from_the_registry(
    registry: RegistryServer, user: User
) -> None:
    project = _stack(user.tmp / "proj")
    repo = f"pub{uuid.uuid4().hex[:8]}"
    ref = f"{registry.domain}/{repo}:v1"
    code, _, err = user.run("publish", "--with-env", "-y", ref, cwd=project)
    assert code == 0, err
    assert f"{ref} Published" in err
    manifest = _manifest(registry, repo, "v1").json()
    assert manifest["artifactType"] == "application/vnd.docker.compose.project"
    assert manifest["config"]["mediaType"] == "application/vnd.oci.empty.v1+json"
    kinds = [(layer["mediaType"], layer["annotations"].get("com.docker.compose.file"))
             for layer in manifest["layers"]]
    assert kinds[0] == ("application/vnd.docker.compose.file+yaml", "compose.yaml")
    assert kinds[2][0] == "application/vnd.docker.compose.envfile"
    assert manifest["layers"][1]["annotations"]["com.docker.compose.extends"] == "true"

    # Elsewhere (no stack files at all): the same services, from the registry alone.
    elsewhere = user.tmp / "elsewhere"
    elsewhere.mkdir()
    code, local, err = user.run("config", "--format", "json", cwd=project)
    assert code == 0, err
    code, remote, err = user.run("-f", f"oci://{ref}", "config", "--format", "json",
                                 cwd=elsewhere)
    assert code == 0, err
    assert _services(remote) == _services(local)
    assert _services(remote)["web"]["environment"] == {"GREETING": "hello"}

    name = f"oci{uuid.uuid4().hex[:8]}"
    try:
        code, _, err = user.run("-p", name, "-f", f"oci://{ref}", "up", "-d", cwd=elsewhere)
        assert code == 0, err
        code, out, err = user.run("-p", name, "-f", f"oci://{ref}", "ps", "--format",
                                  "{{.Service}} {{.State}}", cwd=elsewhere)
        assert code == 0, err
        assert sorted(out.split("\n")[:2]) == ["web running", "worker running"]
    finally:
        code, _, err = user.run("-p", name, "-f", f"oci://{ref}", "down", "-v", "-t", "0",
                                cwd=elsewhere)
    assert code == 0, err
    code, out, _ = user.run("-p", name, "-f", f"oci://{ref}", "ps", "-a", "-q", cwd=elsewhere)
    assert code == 0 and out.strip() == ""


def test_a_moved_tag_is_followed_and_oci_1_0_is_read(
    registry: RegistryServer, user: User
) -> None:
    """Every load asks the registry (no stale project from the cache), and a manifest in the
    OCI 1.0 shape (compose's empty config type, no artifactType) loads like a 1.1 one."""
    project = _stack(user.tmp / "proj", "services:\n  one:\n    image: busybox\n")
    repo = f"moved{uuid.uuid4().hex[:8]}"
    ref = f"oci://{registry.domain}/{repo}:latest"
    assert user.run("publish", "--oci-version", "1.0", ref[6:], cwd=project)[0] == 0
    manifest = _manifest(registry, repo, "latest").json()
    assert "artifactType" not in manifest
    assert manifest["config"]["mediaType"] == (
        "application/vnd.docker.compose.config.empty.v1+json")
    code, out, err = user.run("-f", ref, "config", "--services")
    assert (code, out.split()) == (0, ["one"]), err
    (project / "compose.yaml").write_text("services:\n  two:\n    image: busybox\n")
    assert user.run("publish", ref[6:], cwd=project)[0] == 0
    code, out, err = user.run("-f", ref, "config", "--services")
    assert (code, out.split()) == (0, ["two"]), err
    # `include` of a published project works the same way.
    including = user.tmp / "including"
    including.mkdir()
    (including / "compose.yaml").write_text(
        f"include:\n  - {ref}\nservices:\n  three:\n    image: busybox\n")
    code, out, err = user.run("config", "--services", cwd=including)
    assert (code, sorted(out.split())) == (0, ["three", "two"]), err


def test_publish_refuses_before_pushing_anything(registry: RegistryServer, user: User) -> None:
    repo = f"refused{uuid.uuid4().hex[:8]}"
    ref = f"{registry.domain}/{repo}:1"
    project = _stack(user.tmp / "proj")

    code, _, err = user.run("publish", ref, cwd=project)
    assert code == 1
    assert 'service "web" has env_file declared.' in err
    assert 'service "worker" has environment variable(s) declared.' in err
    assert "explicitly allow the sending of environment variables by using the --with-env" in err

    # Without a terminal to ask, a question is a refusal; -y answers it.
    code, _, err = user.run("publish", "--with-env", ref, cwd=project)
    assert code == 1 and "Are you ok to publish these environment variables?" in err
    assert "pass -y/--yes" in err

    (project / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    volumes: [./data:/data:ro]\n")
    code, _, err = user.run("publish", ref, cwd=project)
    assert code == 1
    assert "you are about to publish bind mounts declaration within your OCI artifact." in err
    assert f"app\n{project}/data:/data:ro\n" in err

    (project / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    code, _, err = user.run("publish", ref, cwd=project)
    assert code == 1
    assert ("your Compose stack cannot be published as it only contains a build section for "
            'service(s):\n- "app"') in err

    (project / "other.yaml").write_text("services:\n  other:\n    image: busybox\n")
    (project / "compose.yaml").write_text(
        "include: [other.yaml]\nservices:\n  app:\n    image: busybox\n")
    code, _, err = user.run("publish", ref, cwd=project)
    assert code == 1 and "cannot publish compose file with local includes" in err

    piped = run_cli(["-f", "-", "publish", ref], cwd=project, root=user.root, env=user.env,
                    input="services:\n  app:\n    image: busybox\n")
    assert piped.returncode == 1 and "cannot publish a stack read from stdin" in piped.stderr

    (project / "compose.yaml").write_text("services:\n  app:\n    image: busybox\n")
    code, _, err = user.run("--dry-run", "publish", ref, cwd=project)
    assert code == 0, err
    assert f"DRY-RUN MODE -  {ref} Published" in err
    assert _manifest(registry, repo, "1").status_code == 404


def test_loading_errors_name_the_reference(
    registry: RegistryServer, user: User
) -> None:
    image = f"{registry.domain}/img{uuid.uuid4().hex[:8]}:1"
    assert user.run("image", "tag", "busybox", image)[0] == 0
    assert user.run("image", "push", image)[0] == 0
    code, _, err = user.run("-f", f"oci://{image}", "config")
    assert code == 1
    assert f"oci://{image} is not a compose project OCI artifact" in err

    missing = f"oci://{registry.domain}/nothing{uuid.uuid4().hex[:8]}:1"
    code, _, err = user.run("-f", missing, "config")
    assert code == 1 and f'failed to pull OCI resource "{missing}"' in err
    assert "not found" in err

    down = "oci://127.0.0.1:9/app:1"  # discard port: nothing listens
    code, _, err = user.run("-f", down, "config")
    assert code == 1 and f'failed to pull OCI resource "{down}"' in err
    assert "cannot reach registry" in err


def test_logins_apply_and_built_images_are_pushed_first(
    tmp_path: Path, user: User
) -> None:
    """A registry that wants a login gets the one `pycompose login` stored; the image a
    service builds is pushed before the artifact, as docker compose's publish does."""
    server = RegistryServer(tmp_path / "auth-reg", users={"alice": "s3cret"})
    try:
        image = f"{server.domain}/built:1"
        project = user.tmp / "proj"
        project.mkdir()
        (project / "Dockerfile").write_text("FROM busybox\nLABEL built=yes\n")
        (project / "compose.yaml").write_text(
            f"services:\n  app:\n    image: {image}\n    build: .\n")
        ref = f"{server.domain}/stack:1"
        code, _, err = user.run("build", cwd=project)
        assert code == 0, err
        code, _, err = user.run("publish", ref, cwd=project)
        assert code == 1 and "requires a login" in err and f"failed to publish {ref}" in err
        assert user.run("login", server.domain, "-u", "alice", "-p", "s3cret")[0] == 0
        code, _, err = user.run("publish", ref, cwd=project)
        assert code == 0, err
        auth = ("alice", "s3cret")
        pushed = requests.get(f"http://{server.domain}/v2/built/tags/list", auth=auth, timeout=10)
        assert pushed.json()["tags"] == ["1"]
        code, out, err = user.run("-f", f"oci://{ref}", "config", "--images")
        assert (code, out.split()) == (0, [image]), err
    finally:
        server.close()
