"""`pycompose image save|load|tag|history|inspect|rm|prune|build` as a user types them."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import run_cli
from tests.fixtures_images import busybox_tarball  # noqa: F401


def test_image_commands(tmp_path: Path, busybox_tarball: Path) -> None:  # noqa: F811
    root = tmp_path / "root"

    def cli(*args: str, cwd: Path = tmp_path, on: Path = root) -> tuple[int, str, str]:
        done = run_cli(list(args), cwd=cwd, root=on)
        assert "Traceback" not in done.stderr
        return done.returncode, done.stdout, done.stderr

    assert cli("image", "import", str(busybox_tarball), "busybox")[0] == 0
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "Dockerfile").write_text(
        "FROM busybox\nRUN echo hi > /hi\nLABEL a=b\nHEALTHCHECK --interval=3s CMD true\n"
    )
    code, out, err = cli("image", "build", "-q", "-t", "app:1", "--label", "x=y", str(ctx))
    assert code == 0, err
    image_id = out.strip()
    assert image_id.startswith("sha256:")
    code, out, _ = cli("image", "inspect", "app:1")
    doc = json.loads(out)[0]
    assert doc["Id"] == image_id and doc["RepoTags"] == ["app:1"]
    assert doc["Config"]["Labels"] == {"a": "b", "x": "y"}
    assert doc["Config"]["Healthcheck"] == {"Test": ["CMD-SHELL", "true"], "Interval": 3 * 10**9}
    assert len(doc["RootFS"]["Layers"]) == 2
    code, out, _ = cli("image", "history", "app:1")
    assert code == 0 and "echo hi > /hi" in out and "HEALTHCHECK" in out
    # a layer's size is its files' (Docker's diff size), not its tar's: `hi\n` is 3 bytes
    step = next(line for line in out.splitlines() if "echo hi > /hi" in line)
    assert step.split()[-1] == "3B", out
    assert cli("image", "tag", "app:1", "app:2")[0] == 0
    archive = tmp_path / "app.tar"
    assert cli("image", "save", "-o", str(archive), "app:1", "busybox")[0] == 0
    clean = tmp_path / "clean"
    code, out, _ = cli("image", "load", "-i", str(archive), on=clean)
    assert code == 0
    assert out.splitlines() == ["Loaded image: app:1", "Loaded image: busybox:latest"]
    assert cli("image", "inspect", "-f", "{{.Id}}", "app:1", on=clean)[1].strip() == image_id
    code, out, _ = cli("image", "rm", "app:2")
    assert code == 0 and "Untagged: app:2" in out
    code, out, _ = cli("image", "rm", "app:1")
    assert "Deleted: " + image_id in out
    code, out, _ = cli("image", "prune")
    assert code == 0 and "Total reclaimed space" in out
    code, _, err = cli("image", "load", "-i", str(tmp_path / "missing.tar"))
    assert code == 1 and "no such file" in err
    code, _, err = cli("image", "inspect", "nope:1")
    assert code == 1 and "nope:1 not found" in err
