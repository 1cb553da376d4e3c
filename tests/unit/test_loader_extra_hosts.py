"""`extra_hosts` as compose-go keeps it (a HostsList): printed as a sorted `host=ip` list, and
an override adds a host's addresses instead of dropping the earlier ones."""

from __future__ import annotations

from pathlib import Path

from compose.loader import load_project
from compose.model import LoadOptions


def test_extra_hosts_sorted_and_merged(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        'services:\n  a:\n    image: x\n    extra_hosts:\n      - "zed:10.0.0.1"\n'
        '      - "db=10.0.0.2"\n      - "db=10.0.0.2"\n')
    (tmp_path / "compose.override.yaml").write_text(
        "services:\n  a:\n    extra_hosts:\n      db: 10.0.0.3\n      gw: host-gateway\n")
    raw = load_project(LoadOptions(cwd=tmp_path, project_name="t")).services["a"].raw
    assert raw["extra_hosts"] == [
        "db=10.0.0.2", "db=10.0.0.3", "gw=host-gateway", "zed=10.0.0.1"]
