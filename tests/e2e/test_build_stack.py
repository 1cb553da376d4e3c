"""examples/build as a user types it: `pycompose up --build -d`, check, rebuild cached, down."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "build"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _get(url: str) -> str:
    for _ in range(50):  # bounded: httpd needs a moment after start
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                return str(response.read().decode())
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"{url} never answered")


def test_up_build_stack(tmp_path: Path, busybox_tarball: Path) -> None:  # noqa: F811
    root = tmp_path / "root"
    stack = tmp_path / "build"
    shutil.copytree(EXAMPLE, stack)
    port = _free_port()
    compose = stack / "compose.yaml"
    compose.write_text(compose.read_text().replace("127.0.0.1:18080:", f"127.0.0.1:{port}:"))
    project = f"b{os.getpid()}"
    imported = run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    assert imported.returncode == 0, imported.stderr
    try:
        up = run_cli(["-p", project, "up", "--build", "-d"], cwd=stack, root=root, timeout=300)
        assert up.returncode == 0, up.stderr
        assert "Successfully tagged build-demo/worker:latest" in up.stderr
        assert f"Successfully tagged {project}-web:latest" in up.stderr
        assert f"Container {project}-web-1  Started" in up.stderr
        assert "<p>hello from a built image</p>" in _get(f"http://127.0.0.1:{port}/")
        logs = run_cli(["-p", project, "logs", "oneshot"], cwd=stack, root=root)
        assert "inline dockerfile ran" in logs.stdout
        inspect = run_cli(["image", "inspect", "-f", "{{json .Config.Labels}}", f"{project}-web"],
                          cwd=stack, root=root)
        assert '"org.example.stack":"build-demo"' in inspect.stdout, inspect.stdout
        # `ps` shows the image's CMD for a service without `command:` (Docker's Path+Args)
        ps = run_cli(["-p", project, "ps", "--no-trunc", "--format", "{{.Command}}", "web"],
                     cwd=stack, root=root)
        assert ps.stdout.strip() == "\"sh -c 'exec httpd -f -p $PORT -h /var/www'\"", ps.stdout

        # Unchanged: every step from the cache, same image; edited page: rebuild from COPY on.
        again = run_cli(["-p", project, "build", "web"], cwd=stack, root=root, timeout=300)
        assert again.returncode == 0, again.stderr
        assert again.stderr.count("Using cache") == 7  # all but FROM and ARG
        (stack / "web" / "index.html").write_text("<p>__GREETING__, edited</p>\n")
        edited = run_cli(["-p", project, "up", "--build", "-d", "web"], cwd=stack, root=root,
                         timeout=300)
        assert edited.returncode == 0, edited.stderr
        web_part = edited.stderr.split("Building web")[1].split("Service web")[0]
        assert web_part.count("Using cache") == 2  # ENV, WORKDIR; COPY and later rebuilt
        assert "edited" in _get(f"http://127.0.0.1:{port}/")
    finally:
        down = run_cli(["-p", project, "down"], cwd=stack, root=root)
        assert down.returncode == 0, down.stderr


def test_build_errors_are_clear(tmp_path: Path, busybox_tarball: Path) -> None:  # noqa: F811
    root = tmp_path / "root"
    stack = tmp_path / "bad"
    stack.mkdir()
    (stack / "Dockerfile").write_text("FROM busybox\nRUN true\nCOPY nothing-here /x\n")
    (stack / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    result = run_cli(["up", "--build", "-d"], cwd=stack, root=root, timeout=300)
    assert result.returncode == 1
    assert "service app: failed to build" in result.stderr
    assert "Dockerfile:3: COPY failed: file not found" in result.stderr
    assert "Traceback" not in result.stderr
    (stack / "Dockerfile").write_text("FROM busybox\nBOGUS x\n")
    result = run_cli(["image", "build", "."], cwd=stack, root=root)
    assert result.returncode == 1
    assert "Dockerfile:2: unknown instruction: BOGUS" in result.stderr
    never = stack / "never"
    never.mkdir()
    (never / "compose.yaml").write_text(
        "services:\n  app:\n    image: not-here:1\n    pull_policy: never\n"
    )
    result = run_cli(["up", "-d"], cwd=never, root=root)
    assert result.returncode == 1
    assert "service app: image not-here:1 not found and pull_policy is never" in result.stderr


def test_build_secrets_from_the_stack_and_the_command_line(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    """`build.secrets` (a file and an environment variable) and `--secret` reach
    `RUN --mount=type=secret` and never the image; heredocs and a cache mount build."""
    root = tmp_path / "root"
    stack = tmp_path / "secrets"
    stack.mkdir()
    (stack / "token.txt").write_text("tok-123456")
    (stack / "Dockerfile").write_text(
        "# syntax=docker/dockerfile:1\n"
        "FROM busybox\n"
        "RUN --mount=type=secret,id=token --mount=type=secret,id=api,env=API \\\n"
        "    --mount=type=cache,target=/var/cache/app <<EOF\n"
        "wc -c < /run/secrets/token > /lengths\n"
        'echo "${#API}" >> /lengths\n'
        "EOF\n"
        "COPY <<EOF /note.txt\n"
        "built\n"
        "EOF\n"
    )
    (stack / "compose.yaml").write_text(
        "services:\n"
        "  app:\n"
        "    build:\n"
        "      context: .\n"
        "      secrets: [token, {source: api_source, target: api}]\n"
        "    command: cat /lengths /note.txt\n"
        "secrets:\n"
        "  token: {file: ./token.txt}\n"
        "  api_source: {environment: API_VALUE}\n"
    )
    project = f"s{os.getpid()}"
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    built = run_cli(["-p", project, "build"], cwd=stack, root=root, timeout=300,
                    env={"API_VALUE": "api-secret-value"})
    assert built.returncode == 0, built.stderr
    try:
        up = run_cli(["-p", project, "up"], cwd=stack, root=root, timeout=120)
        assert up.returncode == 0, up.stderr
        assert "10" in up.stdout and "16" in up.stdout and "built" in up.stdout, up.stdout
    finally:
        run_cli(["-p", project, "down"], cwd=stack, root=root)
    saved = run_cli(["image", "save", "-o", str(tmp_path / "img.tar"), f"{project}-app"],
                    cwd=stack, root=root)
    assert saved.returncode == 0, saved.stderr
    assert b"tok-123456" not in (tmp_path / "img.tar").read_bytes()
    assert b"api-secret-value" not in (tmp_path / "img.tar").read_bytes()
    (stack / "Dockerfile").write_text(
        "FROM busybox\nRUN --mount=type=secret,id=cli,required wc -c < /run/secrets/cli > /n\n"
    )
    cli = run_cli(["image", "build", "-t", "clisecret", "--secret", "id=cli,env=CLI_SECRET",
                   "."], cwd=stack, root=root, timeout=300, env={"CLI_SECRET": "abc"})
    assert cli.returncode == 0, cli.stderr
    # (a cached step needs no secret, as in BuildKit: --no-cache makes it run)
    missing = run_cli(["image", "build", "--no-cache", "--secret", "id=cli,env=UNSET_HERE", "."],
                      cwd=stack, root=root, timeout=300)
    assert missing.returncode == 1
    assert "Dockerfile:2: RUN --mount=type=secret: secret cli not found" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_a_context_link_to_a_host_dir_reaches_no_host_file(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    """The tester's report: `ln -sfn /some/host/dir ctxlink` in the context, then a build
    binding it `rw` read and overwrote the host's file, and COPY copied it into the image.
    Now the link is resolved inside the context, as BuildKit does: there is no such path
    in the context, so the build fails, clearly, and the host's files stay as they were."""
    root = tmp_path / "root"
    victim = tmp_path / "victim"
    victim.mkdir()
    (victim / "file").write_text("original\n")
    stack = tmp_path / "linked"
    stack.mkdir()
    (stack / "ctxlink").symlink_to(victim)
    (stack / "compose.yaml").write_text(
        f"services:\n  b:\n    build: .\n    image: b{os.getpid()}img\n"
    )
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    attempts = (
        ("RUN --mount=type=bind,source=ctxlink,target=/x,rw sh -c"
         ' "cat /x/file; echo OVERWRITTEN > /x/file; touch /x/newfile"',
         "Dockerfile:2: RUN --mount: ctxlink not found in the build context"),
        ("COPY ctxlink/file /copied",
         "Dockerfile:2: COPY failed: file not found in build context or excluded by"
         " .dockerignore: ctxlink/file"),
    )
    for step, message in attempts:
        (stack / "Dockerfile").write_text(f"FROM busybox\n{step}\n")
        built = run_cli(["build", "--no-cache"], cwd=stack, root=root, timeout=300)
        assert built.returncode == 1, built.stderr
        assert message in built.stderr
        assert "original" not in built.stdout + built.stderr
        assert "Traceback" not in built.stderr
        assert (victim / "file").read_text() == "original\n"
        assert sorted(p.name for p in victim.iterdir()) == ["file"]


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["sigterm", "sigkill"])
def test_an_interrupted_build_leaves_no_step_container(
    tmp_path: Path, busybox_tarball: Path, sig: signal.Signals  # noqa: F811
) -> None:
    """`build` stopped by SIGTERM (a CI job cancelled, `timeout`) or SIGKILL while a RUN step
    runs: its step container (record and writable layer, here 8 MB) was left under
    <root>/containers for ever, invisible to `ps -a` and removed by nothing. SIGTERM now
    stops the build as Ctrl-C does (the step container removed, exit 130); what a SIGKILLed
    build left goes at the next build. BuildKit removes its step containers likewise."""
    root = tmp_path / "root"
    project = f"int{os.getpid()}"
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  app:\n    build: .\n    image: {project}-app\n"
    )
    (tmp_path / "Dockerfile").write_text(
        "FROM busybox\nRUN dd if=/dev/zero of=/big bs=1M count=8 2>/dev/null; sleep 3\n"
    )
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=root)
    containers = root / "containers"

    def step_containers() -> list[str]:
        return sorted(p.name for p in containers.iterdir()) if containers.exists() else []

    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(root)
    build = subprocess.Popen(
        [PYCOMPOSE, "-p", project, "build", "--no-cache"], cwd=tmp_path, env=env,
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not step_containers() and time.monotonic() < deadline:
            time.sleep(0.02)
        assert step_containers(), "no RUN step container appeared"
        time.sleep(0.5)
        build.send_signal(sig)
        out, _ = build.communicate(timeout=60)
    finally:
        if build.poll() is None:
            build.kill()
            build.communicate()
    if sig == signal.SIGTERM:
        assert build.returncode == 130, out
        assert "Traceback" not in out
        assert step_containers() == []
    again = run_cli(["-p", project, "build"], cwd=tmp_path, root=root, timeout=300)
    assert again.returncode == 0, again.stderr
    assert step_containers() == [], "build-step containers left behind by an interrupted build"
