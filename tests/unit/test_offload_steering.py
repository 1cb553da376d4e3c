"""The receive-steering mask of netdriver/offload.py: online CPUs minus isolated ones, in
sysfs's bitmap format, none on a one-CPU host. The kernel side is checked in
tests/integration/test_netdriver_offload.py. No root."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from netdriver import offload


@pytest.fixture
def cpus(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Path]]:
    files = {name: tmp_path / name for name in ("online", "isolated", "nohz_full")}
    monkeypatch.setattr(offload, "_ONLINE", str(files["online"]))
    monkeypatch.setattr(offload, "_RESERVED", (str(files["isolated"]), str(files["nohz_full"])))
    offload.steering_mask.cache_clear()
    yield files
    offload.steering_mask.cache_clear()


@pytest.mark.parametrize(("online", "isolated", "mask"), [
    ("0-1\n", "\n", "3"),
    ("0-39\n", "", "ff,ffffffff"),
    ("0,32\n", "", "1,00000001"),
    ("0-7\n", "2-3,6\n", "b3"),
    ("0-3\n", "1-3\n", None),  # one usable CPU: nothing to spread over
    ("0\n", "", None),
])
def test_mask(cpus: dict[str, Path], online: str, isolated: str, mask: str | None) -> None:
    cpus["online"].write_text(online)
    cpus["isolated"].write_text(isolated)
    assert offload.steering_mask() == mask


def test_missing_sysfs_means_no_steering(cpus: dict[str, Path]) -> None:
    assert offload.steering_mask() is None
    assert offload.steer_receive("pcv-no-such-link") is False


def test_opt_out(cpus: dict[str, Path], monkeypatch: pytest.MonkeyPatch) -> None:
    cpus["online"].write_text("0-3\n")
    monkeypatch.setenv("PYCOMPOSE_VETH_RPS", "0")
    writes: list[str] = []
    monkeypatch.setattr(offload, "open", lambda path, *a, **k: writes.append(path), raising=False)
    assert offload.steer_receive("pcv-any") is False
    assert writes == []
