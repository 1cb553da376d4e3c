"""Keys the engine does not act on are warned about on `up`, not silently ignored."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

import engine.api
from compose.container_spec import build_container_spec
from compose.errors import ComposeError
from compose.events import Event, Phase
from compose.loader import load_project
from compose.model import LoadOptions, Project
from compose.orchestrator import Orchestrator
from compose.unsupported import UNSUPPORTED_SERVICE_KEYS
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: unsup
    services:
      a:
        image: busybox
        mem_swappiness: 0
        uts: host
        cgroup: host
        cgroup_parent: apps/web
        device_cgroup_rules: ['c 10:237 rwm']
        isolation: default
        storage_opt: {size: 1G}
      b:
        image: busybox
"""


def _project(tmp_path: Path, text: str) -> Project:
    (tmp_path / "compose.yaml").write_text(text)
    return load_project(LoadOptions(cwd=tmp_path, environ={}))


def _warnings(tmp_path: Path, text: str = textwrap.dedent(STACK)) -> list[str]:
    """What `up` warns about, in order."""
    events: list[Event] = []
    Orchestrator(FakeEngine(), _project(tmp_path, text), events.append).up()  # type: ignore[arg-type]
    return [e.detail for e in events if e.phase is Phase.WARNING]


def test_up_warns_once_per_ignored_key_and_service(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine.api, "swappiness_supported", lambda: True)  # cgroup v1
    warnings = _warnings(tmp_path)
    assert len(warnings) == 1, warnings
    assert all(w.startswith('service "a": ') and w.endswith("is ignored") for w in warnings)
    assert "storage_opt" in warnings[0]  # isolation: default is Linux's only one: nothing lost


def test_mem_swappiness_is_warned_about_on_cgroup_v2_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Docker discards a memory swappiness on cgroup v2 (it has no such knob), with a
    warning; on v1 it is the memory cgroup's memory.swappiness."""
    monkeypatch.setattr(engine.api, "swappiness_supported", lambda: False)
    warnings = _warnings(tmp_path)
    assert len(warnings) == 2, warnings
    assert any(w.startswith('service "a": mem_swappiness') and "cgroup v2" in w
               for w in warnings)


def test_the_cgroup_and_namespace_keys_reach_the_engine(tmp_path: Path) -> None:
    for key in ("mem_swappiness", "cgroup_parent", "cgroup", "uts", "device_cgroup_rules"):
        assert key not in UNSUPPORTED_SERVICE_KEYS
    project = _project(tmp_path, textwrap.dedent(STACK))
    spec = build_container_spec(project, project.services["a"], 1, "sha256:0")
    assert spec.mem_swappiness == 0
    assert spec.cgroup_parent == "apps/web"
    assert spec.device_cgroup_rules == ("c 10:237 rwm",)
    assert spec.uts_mode == "host" and spec.cgroupns_mode == "host"
    plain = build_container_spec(project, project.services["b"], 1, "sha256:0")
    assert (plain.mem_swappiness, plain.cgroup_parent, plain.device_cgroup_rules,
            plain.uts_mode, plain.cgroupns_mode) == (None, None, (), None, None)


def test_ports_of_a_host_network_service_are_warned_about(tmp_path: Path) -> None:
    text = "services:\n  h:\n    image: busybox\n    network_mode: host\n    ports: ['8080:80']\n"
    assert _warnings(tmp_path, text) == [
        'service "h": Published ports are discarded when using host network mode']


def test_a_log_driver_docker_has_is_warned_about_and_another_refused(tmp_path: Path) -> None:
    """json-file is the only driver acted on: `syslog` would have sent the logs elsewhere (a
    warning says they stay json-file); a name no Docker has built in is refused as Docker's
    create refuses it, naming service and key."""
    from compose.unsupported import unsupported_warnings

    project = _project(tmp_path, (
        "services:\n"
        "  s: {image: busybox, logging: {driver: syslog}}\n"
        "  j: {image: busybox, logging: {driver: json-file, options: {max-size: 1m}}}\n"
        "  x: {image: busybox, logging: {driver: nosuch}}\n"))
    assert unsupported_warnings(project.services["s"]) == [
        'service "s": logging driver "syslog" is not supported by pycompose\'s engine and is '
        "ignored (its logs are json-file)"]
    assert unsupported_warnings(project.services["j"]) == []
    build_container_spec(project, project.services["s"], 1, "sha256:0")
    with pytest.raises(ComposeError, match=r"service x: logging\.driver: logger: no log driver "
                       "named 'nosuch' is registered"):
        build_container_spec(project, project.services["x"], 1, "sha256:0")


def test_blkio_device_limits_are_warned_about_and_an_unknown_blkio_key_refused(
    tmp_path: Path
) -> None:
    """Only `weight` reaches the cgroup: the per-device limits were dropped without a word;
    a key compose-spec does not define failed nowhere (compose-go refuses it at load)."""
    from compose.errors import ComposeFileError
    from compose.unsupported import unsupported_warnings

    project = _project(tmp_path, (
        "services:\n  s:\n    image: busybox\n    blkio_config:\n      weight: 300\n"
        "      device_read_bps: [{path: /dev/sda, rate: 1mb}]\n"))
    assert unsupported_warnings(project.services["s"]) == [
        'service "s": blkio_config.device_read_bps (a per-device I/O limit) is not supported by '
        "pycompose's engine and is ignored"]
    with pytest.raises(ComposeFileError) as caught:
        _project(tmp_path, "services:\n  s:\n    image: busybox\n    blkio_config: {wieght: 300}\n")
    assert [(p.line, p.key) for p in caught.value.problems] == [(4, "services.s.blkio_config"
                                                                 ".wieght")]


def test_link_local_ips_are_warned_about(tmp_path: Path) -> None:
    from compose.unsupported import unsupported_warnings

    project = _project(tmp_path, (
        "services:\n  s:\n    image: busybox\n"
        "    networks: {default: {link_local_ips: [169.254.1.1]}}\n"))
    assert unsupported_warnings(project.services["s"]) == [
        'service "s": networks.default.link_local_ips is not supported by pycompose\'s engine '
        "and is ignored"]
