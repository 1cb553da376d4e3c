"""`pycompose login`, `image push`, `image pull`, `pull`/`push` for services, as a user types
them, against a real htpasswd-protected registry on loopback."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import tarfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401
from tests.integration.test_registry_server import RegistryServer


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path_factory.mktemp("reg-cli"), users={"alice": "s3cret"})
    yield server
    server.close()


def test_login_push_pull_and_service_commands(
    registry: RegistryServer, tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    env = {"DOCKER_CONFIG": str(tmp_path / "docker-config")}
    root = tmp_path / "root"
    remote = f"{registry.domain}/cli/busybox:1"

    def cli(*args: str) -> tuple[int, str, str]:
        done = run_cli(list(args), cwd=tmp_path, root=root, env=env)
        return done.returncode, done.stdout, done.stderr

    assert cli("image", "import", str(busybox_tarball), "busybox")[0] == 0
    assert cli("image", "tag", "busybox", remote)[0] == 0
    code, _, err = cli("image", "push", remote)
    assert code == 1 and "requires a login" in err and "Traceback" not in err
    code, _, err = cli("login", registry.domain, "-u", "alice", "-p", "wrong")
    assert code == 1 and "failed as alice" in err
    code, out, _ = cli("login", registry.domain, "-u", "alice", "-p", "s3cret")
    assert code == 0 and "Login Succeeded" in out
    stored = json.loads((tmp_path / "docker-config" / "config.json").read_text())
    assert registry.domain in stored["auths"]
    code, _, err = cli("image", "push", remote)
    assert code == 0, err
    assert "Pushed" in err and "digest: sha256:" in err

    # A clean data root pulls the same image id; `pull` for a compose service works too.
    clean = tmp_path / "clean"
    pulled = run_cli(["image", "pull", remote], cwd=tmp_path, root=clean, env=env)
    assert pulled.returncode == 0, pulled.stderr
    assert "Status: Downloaded image" in pulled.stderr
    ids = [
        run_cli(["image", "inspect", "-f", "{{.Id}}", name], cwd=tmp_path, root=r, env=env).stdout
        for name, r in ((remote, clean), ("busybox", root))
    ]
    assert ids[0] == ids[1] and ids[0].startswith("sha256:")
    project = tmp_path / "proj"
    project.mkdir()
    (project / "compose.yaml").write_text(f"services:\n  app:\n    image: {remote}\n")
    fresh = tmp_path / "fresh"
    done = run_cli(["pull"], cwd=project, root=fresh, env=env)
    assert done.returncode == 0, done.stderr
    assert "app Pulled" in done.stderr
    done = run_cli(["push"], cwd=project, root=fresh, env=env)
    assert done.returncode == 0, done.stderr
    assert "Layer already exists" in done.stderr
    # `up` pulls a missing image from a loopback registry by itself; --pull never refuses.
    runner = tmp_path / "runner"
    runner.mkdir()
    (runner / "compose.yaml").write_text(
        f"services:\n  app:\n    image: {remote}\n    command: [\"sleep\", \"30\"]\n"
    )
    never = run_cli(["up", "-d", "--pull", "never"], cwd=runner, root=tmp_path / "r3", env=env)
    assert never.returncode == 1 and "pull_policy is never" in never.stderr
    try:
        up = run_cli(["up", "-d"], cwd=runner, root=tmp_path / "r3", env=env)
        assert up.returncode == 0, up.stderr
        assert "app Pulled" in up.stderr and "Started" in up.stderr
    finally:
        down = run_cli(["down", "-t", "0"], cwd=runner, root=tmp_path / "r3", env=env)
        assert down.returncode == 0, down.stderr
    code, out, _ = cli("logout", registry.domain)
    assert code == 0 and "Removing login credentials" in out
    done = run_cli(["pull"], cwd=project, root=tmp_path / "fresh2", env=env)
    assert done.returncode == 1
    assert "service app: failed to pull" in done.stderr and "requires a login" in done.stderr


def test_config_resolve_image_digests_pins_the_pulled_digest(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    """docker compose's `config --resolve-image-digests` prints `name:tag@sha256:…`; ours
    pins to the digest the image was pulled with (no registry round trip for `config`), and
    refuses an image that was only imported (it has no registry digest)."""
    import re

    import yaml

    server = RegistryServer(tmp_path / "reg")
    try:
        remote = f"{server.domain}/pin/busybox:1"
        root = tmp_path / "root"
        assert run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path,
                       root=root).returncode == 0
        assert run_cli(["image", "tag", "busybox", remote], cwd=tmp_path,
                       root=root).returncode == 0
        pushed = run_cli(["image", "push", remote], cwd=tmp_path, root=root)
        assert pushed.returncode == 0, pushed.stderr
        digest = re.search(r"digest: (sha256:[0-9a-f]{64})", pushed.stderr)
        assert digest is not None, pushed.stderr
        project = tmp_path / "proj"
        project.mkdir()
        (project / "compose.yaml").write_text(f"services:\n  app:\n    image: {remote}\n")
        fresh = tmp_path / "fresh"
        assert run_cli(["pull"], cwd=project, root=fresh).returncode == 0
        out = run_cli(["config", "--resolve-image-digests"], cwd=project, root=fresh)
        assert out.returncode == 0, out.stderr
        image = yaml.safe_load(out.stdout)["services"]["app"]["image"]
        assert image == f"{remote}@{digest.group(1)}"
        (project / "compose.yaml").write_text("services:\n  app:\n    image: busybox\n")
        refused = run_cli(["config", "--resolve-image-digests"], cwd=project, root=root)
        assert refused.returncode == 1
        assert "service app: image busybox has no registry digest" in refused.stderr
    finally:
        server.close()


def test_build_args_dependencies_and_push(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    """docker compose's `build --build-arg K=V|K --with-dependencies --push`: the CLI's args win
    over `build.args`; one without a value anywhere is not passed (the Dockerfile's default
    applies); dependencies are built first; the images go to the registry."""
    server = RegistryServer(tmp_path / "reg")
    try:
        root = tmp_path / "root"
        assert run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path,
                       root=root).returncode == 0
        project = tmp_path / "proj"
        for name in ("app", "base"):
            (project / name).mkdir(parents=True)
            (project / name / "Dockerfile").write_text(
                "FROM busybox\nARG FOO=foo-default\nARG BAR=bar-default\n"
                'RUN echo "$FOO $BAR" > /args\n'
            )
        (project / "compose.yaml").write_text(
            f"services:\n"
            f"  app:\n    build: {{context: app, args: [FOO, BAR]}}\n"
            f"    image: {server.domain}/b/app:1\n    depends_on: [base]\n"
            f"  base:\n    build: base\n    image: {server.domain}/b/base:1\n"
        )
        env = {"BAR": "bar-from-env"}
        done = run_cli(["build", "--build-arg", "FOO=foo-cli", "--with-dependencies", "--push",
                        "app"], cwd=project, root=root, env=env, timeout=300)
        assert done.returncode == 0, done.stderr
        assert done.stderr.index("Building base") < done.stderr.index("Building app")
        args = run_cli(["run", "--rm", "--no-deps", "app", "cat", "/args"], cwd=project, root=root)
        assert args.stdout.strip() == "foo-cli bar-from-env", args.stderr
        plain = run_cli(["build", "app"], cwd=project, root=root, timeout=300)
        assert plain.returncode == 0, plain.stderr
        args = run_cli(["run", "--rm", "--no-deps", "app", "cat", "/args"], cwd=project, root=root)
        assert args.stdout.strip() == "foo-default bar-default", args.stderr
        fresh = tmp_path / "fresh"
        for image in (f"{server.domain}/b/app:1", f"{server.domain}/b/base:1"):
            pulled = run_cli(["image", "pull", image], cwd=tmp_path, root=fresh)
            assert pulled.returncode == 0, pulled.stderr
        run_cli(["down"], cwd=project, root=root)
    finally:
        server.close()


@pytest.fixture
def open_registry(tmp_path: Path) -> Iterator[RegistryServer]:
    server = RegistryServer(tmp_path / "registry")
    yield server
    server.close()


def _big_image_tar(path: Path) -> Path:
    """A one-layer rootfs with 48 MB of incompressible data: a pull takes long enough to be
    interrupted in the middle of the download."""
    payload = path.parent / "payload.bin"
    payload.write_bytes(os.urandom(48 * 1024 * 1024))
    with tarfile.open(path, "w") as tar:
        tar.add(payload, arcname="big.bin")
    payload.unlink()
    return path


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_an_interrupted_pull_leaves_no_partial_blob(
    open_registry: RegistryServer, tmp_path: Path, sig: signal.Signals
) -> None:
    """`image pull` stopped by SIGTERM/SIGKILL in the middle of a layer download left the
    partial layer (here up to 48 MB) as content/ingest/blob-*.tmp for ever. SIGTERM now
    stops it as Ctrl-C does (the partial blob removed, exit 130); what a SIGKILLed pull
    left goes at `image prune` (or the next pull): its writer is gone."""
    remote = f"{open_registry.domain}/interrupted/big:1"
    root = tmp_path / "root"
    for args in (["image", "import", str(_big_image_tar(tmp_path / "big.tar")), remote],
                 ["image", "push", remote]):
        done = run_cli(args, cwd=tmp_path, root=root, timeout=300)
        assert done.returncode == 0, done.stderr
    clean = tmp_path / "clean-root"
    ingest = clean / "content" / "ingest"
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(clean)
    pull = subprocess.Popen(
        [PYCOMPOSE, "image", "pull", remote], cwd=tmp_path, env=env, stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )

    def downloading() -> bool:
        return ingest.exists() and any(p.stat().st_size > 0 for p in ingest.glob("*.tmp"))

    deadline = time.monotonic() + 30
    while not (caught := downloading()) and time.monotonic() < deadline:
        time.sleep(0.005)
    pull.send_signal(sig)
    out, _ = pull.communicate(timeout=60)
    if not caught:
        pytest.skip("the pull finished before it could be interrupted")
    if sig == signal.SIGTERM:
        assert pull.returncode == 130, out
        assert "Traceback" not in out
    else:
        pruned = run_cli(["image", "prune", "-a", "-f"], cwd=tmp_path, root=clean)
        assert pruned.returncode == 0, pruned.stderr
    left = sorted(p.name for p in ingest.glob("*")) if ingest.exists() else []
    assert left == [], f"partial blobs left in {ingest}: {left}"
