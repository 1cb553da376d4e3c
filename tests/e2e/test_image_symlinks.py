"""An image's symlinks cannot turn a container's mounts against the host. Mount points are
made before pivot_root, through host paths: joined plainly, an image's `/link -> /somewhere`
made the mount points of binds and tmpfs under /link on the host's /somewhere, and filled an
empty volume mounted under /link with the host's files there (Docker's copy-up). They resolve
inside the container's root, as runc's securejoin does."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_orchestration import Stack, root, stack  # noqa: F401


def test_mounts_under_an_images_absolute_symlink_stay_in_the_container(
    stack: Stack, tmp_path: Path
) -> None:
    secrets, untouched = tmp_path / "host-secrets", tmp_path / "host-untouched"
    (secrets / "sub").mkdir(parents=True)
    (secrets / "sub" / "secret").write_text("host secret\n")
    untouched.mkdir()
    bind_source = tmp_path / "bind-source"
    bind_source.mkdir()
    (stack.directory / "Dockerfile").write_text(
        f"FROM busybox\nRUN ln -s {secrets} /via && ln -s {untouched} /etc-link\n"
    )
    stack.write(
        {"app": f"build: .\nimage: {stack.name}-img\n"
                'command: ["sh", "-c", "cat /via/sub/secret 2>&1; ls /etc-link"]\n'
                f"volumes: [data:/via/sub, {bind_source}:/etc-link/bound]\n"
                "tmpfs: [/etc-link/scratch]\n"},
        "volumes:\n  data: {}\n",
    )
    result = stack.cli("up", "--no-color", timeout=120)
    assert result.returncode == 0, result.stderr
    assert list(untouched.iterdir()) == []  # no mount point made on the host
    assert "host secret" not in result.stdout  # the empty volume was not filled from the host
    assert "bound" in result.stdout and "scratch" in result.stdout  # in the container instead
