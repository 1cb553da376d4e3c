"""Shared image fixtures: a real busybox rootfs tarball, built once per test session by the
same script users run (examples/base-image/make-busybox-rootfs.sh)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parent.parent
BUSYBOX_SCRIPT = REPO_ROOT / "examples" / "base-image" / "make-busybox-rootfs.sh"


@pytest.fixture(scope="session")
def busybox_tarball(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Path to a deterministic busybox rootfs tar (same bytes every build)."""
    out = tmp_path_factory.mktemp("busybox-rootfs") / "busybox-rootfs.tar"
    subprocess.run([str(BUSYBOX_SCRIPT), str(out)], check=True, stdout=subprocess.DEVNULL)
    return out
