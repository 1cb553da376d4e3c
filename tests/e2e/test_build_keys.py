"""`build:` keys a user writes beyond the Dockerfile, through the CLI on the real kernel:
additional_contexts (a directory, docker-image://, service:), the RUN steps' extra_hosts,
shm_size, ulimits and privileged, the warning for cache_from, and bad input refused by name
with nothing left behind."""

from __future__ import annotations

import os
from pathlib import Path

from tests.conftest import run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401

APP_DOCKERFILE = """\
FROM bb AS tools
RUN echo tools-stage-ran
FROM assets AS files
FROM basesvc
COPY --from=assets data.txt /data.txt
COPY --from=files /data.txt /again.txt
RUN --mount=from=assets,target=/mnt cat /mnt/data.txt /base.txt /data.txt /again.txt \\
 && grep buildhost /etc/hosts && df -k /dev/shm | tail -1 && echo "nofile=$(ulimit -n)"
"""

STACK = """\
services:
  base:
    build: ./base
  app:
    build:
      context: ./app
      additional_contexts:
        assets: ./shared
        bb: docker-image://busybox
        basesvc: service:base
      extra_hosts: ["buildhost=10.1.2.3"]
      shm_size: 32m
      ulimits: {nofile: 1000}
      cache_from: [type=registry,ref=example.invalid/app:cache]
"""


def _stack(tmp_path: Path) -> Path:
    stack = tmp_path / "stack"
    for sub in ("base", "app", "shared"):
        (stack / sub).mkdir(parents=True)
    (stack / "shared" / "data.txt").write_text("shared-data\n")
    (stack / "base" / "Dockerfile").write_text("FROM busybox\nRUN echo from-base > /base.txt\n")
    (stack / "app" / "Dockerfile").write_text(APP_DOCKERFILE)
    (stack / "compose.yaml").write_text(STACK)
    return stack


def test_named_contexts_and_the_run_sandbox(tmp_path: Path, busybox_tarball: Path  # noqa: F811
                                            ) -> None:
    root = tmp_path / "root"
    stack = _stack(tmp_path)
    project = f"bk{os.getpid()}"
    imported = run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    assert imported.returncode == 0, imported.stderr
    built = run_cli(["-p", project, "build", "app"], cwd=stack, root=root, timeout=300)
    assert built.returncode == 0, built.stderr
    err = built.stderr
    # service:base is built first, though only app was asked for
    assert err.index("Building base") < err.index("Building app")
    assert f"Successfully tagged {project}-base:latest" in err
    assert 'WARN[0000] service "app": build.cache_from' in err and "is ignored" in err
    assert "tools-stage-ran" in err  # FROM bb: the docker-image:// context
    run_part = err.split("Step 7/7")[1]
    # the mounted dir context, service:base's file, COPY --from=assets, FROM assets (a dir)
    assert run_part.count("shared-data") == 3 and "from-base" in run_part
    assert "10.1.2.3\tbuildhost" in run_part
    shm = next(line for line in run_part.splitlines() if line.rstrip().endswith("/dev/shm"))
    assert shm.split()[1] == "32768"  # 32m in KiB
    assert "nofile=1000" in run_part

    quiet = run_cli(["-p", project, "build", "-q", "app"], cwd=stack, root=root, timeout=300)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr.startswith('WARN[0000] service "app": build.cache_from')  # still shown
    assert "Step" not in quiet.stderr

    # up --build: the same warning, the image runs with what COPY --from brought in
    up = run_cli(["-p", project, "up", "--build", "--no-start"], cwd=stack, root=root,
                 timeout=300)
    try:
        assert up.returncode == 0, up.stderr
        assert 'service "app": build.cache_from' in up.stderr
        shown = run_cli(["-p", project, "run", "--rm", "--no-deps", "app", "cat", "/data.txt",
                         "/again.txt", "/base.txt"], cwd=stack, root=root, timeout=120)
        assert shown.returncode == 0, shown.stderr
        assert shown.stdout.split() == ["shared-data", "shared-data", "from-base"]
    finally:
        down = run_cli(["-p", project, "down"], cwd=stack, root=root)
        assert down.returncode == 0, down.stderr


def test_privileged_build_grants_run_security_insecure(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    root = tmp_path / "root"
    stack = tmp_path / "priv"
    stack.mkdir()
    (stack / "Dockerfile").write_text(
        "FROM busybox\nRUN --security=insecure grep CapEff /proc/self/status\n"
    )
    (stack / "compose.yaml").write_text(
        "services:\n  app:\n    build: {context: ., privileged: true}\n"
    )
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    built = run_cli(["build"], cwd=stack, root=root, timeout=300)
    assert built.returncode == 0, built.stderr
    caps = next(line for line in built.stderr.splitlines() if line.startswith("CapEff:"))
    assert int(caps.split()[1], 16) >> 21 & 1  # CAP_SYS_ADMIN: a privileged step
    (stack / "compose.yaml").write_text("services:\n  app:\n    build: .\n")
    refused = run_cli(["build"], cwd=stack, root=root, timeout=300)
    assert refused.returncode == 1
    assert "entitlement security.insecure is not allowed" in refused.stderr


def test_bad_build_keys_are_named_and_leave_nothing(
    tmp_path: Path, busybox_tarball: Path  # noqa: F811
) -> None:
    root = tmp_path / "root"
    stack = _stack(tmp_path)
    (stack / "shared" / "escape").symlink_to("../../outside.txt")
    (tmp_path / "outside.txt").write_text("host secret\n")
    (stack / "shared" / "abs").symlink_to("/etc/hostname")
    run_cli(["image", "import", str(busybox_tarball), "busybox"], cwd=stack, root=root)
    cases = {
        "additional_contexts: {assets: ./missing}":
            "service app: build.additional_contexts.assets:",
        'additional_contexts: {x: "service:ghost"}':
            "service app: build.additional_contexts: service:ghost: no such service",
        "additional_contexts: {assets: ./shared}\n      dockerfile: Escape.Dockerfile":
            "COPY failed: file not found in named context assets",
        "additional_contexts: {assets: ./shared}\n      dockerfile: Abs.Dockerfile":
            "COPY failed: file not found in named context assets",
        "ulimits: {nofile: 2000000000}": "ulimits: nofile: hard limit 2000000000 is above",
        "network: backend": 'build.network: network mode "backend" not supported by buildkit',
    }
    (stack / "app" / "Escape.Dockerfile").write_text("FROM busybox\nCOPY --from=assets escape /x\n")
    (stack / "app" / "Abs.Dockerfile").write_text("FROM busybox\nCOPY --from=assets abs /x\n")
    for key, message in cases.items():
        (stack / "compose.yaml").write_text(
            f"services:\n  app:\n    build:\n      context: ./app\n      {key}\n"
        )
        result = run_cli(["-p", "bad", "up", "--build", "-d"], cwd=stack, root=root,
                         timeout=300)
        assert result.returncode == 1, (key, result.stderr)
        assert message in result.stderr, (key, result.stderr)
        assert "service app" in result.stderr and "Traceback" not in result.stderr
    # a failed service: context stops the service built from it
    (stack / "base" / "Dockerfile").write_text("FROM busybox\nRUN false\n")
    (stack / "compose.yaml").write_text(STACK)
    result = run_cli(["-p", "bad", "up", "--build", "-d"], cwd=stack, root=root, timeout=300)
    assert result.returncode == 1
    assert "service base: failed to build" in result.stderr
    assert "service app: not built: its build context service:base failed" in result.stderr
    assert "Building app" not in result.stderr
    images = run_cli(["image", "ls", "--format", "{{.Repository}}"], cwd=stack, root=root)
    assert images.stdout.split() == ["busybox"]
    left = run_cli(["-p", "bad", "ps", "-a", "-q"], cwd=stack, root=root)
    assert left.returncode == 0 and left.stdout.strip() == ""
    assert not any((root / "containers").glob("*"))  # no build container either
