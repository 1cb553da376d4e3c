"""Which data root owns which bridge: one small file per bridge under the host's run dir.

Several data roots (and test runs) share one kernel, so a ``pcbr…`` bridge that no record of
*this* root names may well be another root's. The claim file says whose it is; the sweep
(:meth:`netdriver.api.NetworkDriver.sweep_orphans`) removes a bridge only when its owner's
state no longer records it. Bridges without a claim (another run dir, an older version) are
never touched. The files live on /run (tmpfs): after a reboot neither they nor the bridges
exist, and re-creating a bridge claims it again.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

from netdriver.locks import run_dir


def _dir() -> Path:
    return run_dir() / "bridges"


def claim(bridge: str, state_root: Path) -> None:
    """Record that ``bridge`` belongs to the driver state under ``state_root``."""
    directory = _dir()
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    target = directory / bridge
    text = str(Path(state_root).resolve())
    with contextlib.suppress(OSError):
        if target.read_text() == text:
            return  # the common case at every ensure: nothing to write
    tmp = directory / f".{bridge}.{os.getpid()}.tmp"
    tmp.write_text(text)
    os.replace(tmp, target)


def release(bridge: str) -> None:
    """Forget the claim (idempotent)."""
    with contextlib.suppress(FileNotFoundError):
        (_dir() / bridge).unlink()


def owner_of(bridge: str) -> Path | None:
    """The state root that claimed ``bridge``, or None."""
    try:
        return Path((_dir() / bridge).read_text().strip())
    except OSError:
        return None


def claimed() -> list[str]:
    """Every claimed bridge name, sorted."""
    try:
        return sorted(p.name for p in _dir().iterdir() if not p.name.startswith("."))
    except FileNotFoundError:
        return []
