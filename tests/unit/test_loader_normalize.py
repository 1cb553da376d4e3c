"""Short syntax to the typed model (and the `config` shape kept in `raw`)."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.byte_size import parse_byte_size
from compose.durations import format_duration, parse_duration
from compose.loader import load_project
from compose.model import DependencyCondition, LoadOptions, MountType, Project

STACK = """
services:
  web:
    image: nginx
    command: sh -c 'echo "hi there"'
    entrypoint: [/init, --flag]
    environment:
      - A=1
      - B
      - C=
    labels: [x=1, y]
    depends_on:
      db:
        condition: service_healthy
      cache:
        condition: service_started
        required: false
    volumes:
      - data:/data:ro
      - ./src:/src
      - /abs/path:/abs
      - /anon
      - type: tmpfs
        target: /tmp
    networks:
      front:
        aliases: [www]
        ipv4_address: 10.0.0.5
        priority: 10
    ports:
      - "127.0.0.1:8000-8001:80-81/udp"
      - 9000
    mem_limit: 64m
    stop_grace_period: 1m30s
    container_name: web1
    hostname: webhost
    working_dir: /app
    user: "1000:1000"
    restart: always
    tty: true
    stdin_open: "true"
    deploy:
      replicas: 3
  db:
    image: postgres
    environment: {PORT: 5432, DEBUG: true, RATIO: 0.5}
  cache:
    image: redis
    scale: 2
networks:
  front: {}
  ext:
    external: true
  named:
    name: custom
volumes:
  data:
  other:
    name: fixed
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(STACK)
    return load_project(LoadOptions(cwd=tmp_path, project_name="proj", environ={"B": "fromenv"}))


def test_command_and_entrypoint(project: Project) -> None:
    web = project.services["web"]
    assert web.command == ("sh", "-c", 'echo "hi there"')
    assert web.entrypoint == ("/init", "--flag")
    assert project.services["db"].command is None


def test_environment(project: Project) -> None:
    assert project.services["web"].environment == {"A": "1", "B": "fromenv", "C": ""}
    assert project.services["db"].environment == {"PORT": "5432", "DEBUG": "true",
                                                  "RATIO": "0.5"}


def test_labels(project: Project) -> None:
    assert project.services["web"].labels == {"x": "1", "y": ""}


def test_depends_on(project: Project) -> None:
    deps = {d.service: d for d in project.services["web"].depends_on}
    assert deps["db"].condition is DependencyCondition.HEALTHY
    assert deps["cache"].required is False


def test_volumes(project: Project, tmp_path: Path) -> None:
    vols = project.services["web"].volumes
    assert vols[0].type is MountType.VOLUME and vols[0].source == "data" and vols[0].read_only
    assert vols[1].type is MountType.BIND and vols[1].source == str(tmp_path / "src")
    assert vols[2].source == "/abs/path"
    assert vols[3].type is MountType.VOLUME and vols[3].source is None
    assert vols[3].target == "/anon"
    assert vols[4].type is MountType.TMPFS


def test_networks(project: Project) -> None:
    (net,) = project.services["web"].networks
    assert (net.name, net.aliases, net.ipv4_address, net.priority) == (
        "front", ("www",), "10.0.0.5", 10)
    assert [n.name for n in project.services["db"].networks] == ["default"]
    assert project.networks["front"].name == "proj_front"
    assert project.networks["ext"].name == "ext" and project.networks["ext"].external
    assert project.networks["named"].name == "custom"
    assert project.networks["default"].name == "proj_default"


def test_volume_defs(project: Project) -> None:
    assert project.volumes["data"].name == "proj_data"
    assert project.volumes["other"].name == "fixed"


def test_ports(project: Project) -> None:
    ports = project.services["web"].ports
    assert [(p.target, p.published, p.host_ip, p.protocol) for p in ports] == [
        (80, "8000", "127.0.0.1", "udp"),
        (81, "8001", "127.0.0.1", "udp"),
        (9000, None, None, "tcp"),
    ]


def test_scalars(project: Project) -> None:
    web = project.services["web"]
    assert web.mem_limit == 64 * 1024 * 1024
    assert web.stop_grace_period == 90.0
    assert (web.container_name, web.hostname, web.working_dir, web.user, web.restart) == (
        "web1", "webhost", "/app", "1000:1000", "always")
    assert web.tty and web.stdin_open
    assert web.scale == 3
    assert project.services["cache"].scale == 2


def test_raw_is_config_shape(project: Project) -> None:
    raw = project.raw
    assert raw["name"] == "proj"
    web = raw["services"]["web"]
    assert web["ports"][0] == {"mode": "ingress", "host_ip": "127.0.0.1", "target": 80,
                               "published": "8000", "protocol": "udp"}
    assert web["stop_grace_period"] == "1m30s"
    assert web["volumes"][1]["bind"] == {"create_host_path": True}
    assert project.services["web"].raw is web


@pytest.mark.parametrize(("text", "size"), [
    ("64m", 64 << 20), ("1g", 1 << 30), ("512k", 512 << 10), (1024, 1024), ("10", 10),
    ("1.5g", int(1.5 * (1 << 30))), ("100mb", 100 << 20),
])
def test_byte_size(text: str | int, size: int) -> None:
    assert parse_byte_size(text) == size


@pytest.mark.parametrize(("text", "seconds"), [
    ("10s", 10.0), ("1m30s", 90.0), ("1h", 3600.0), ("300ms", 0.3), (5, 5.0),
])
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


def test_format_duration() -> None:
    assert format_duration(90) == "1m30s"
    assert format_duration(10) == "10s"
    assert format_duration(3600) == "1h0m0s"


def test_healthcheck_is_printed_as_docker_compose_config_does(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: x\n    stop_signal: rtmin+3\n"
        "    healthcheck: {test: curl -f localhost, interval: 90s, timeout: 1500ms}\n"
    )
    raw = load_project(LoadOptions(cwd=tmp_path, project_name="t")).raw["services"]["a"]
    assert raw["healthcheck"] == {
        "test": ["CMD-SHELL", "curl -f localhost"], "interval": "1m30s", "timeout": "1.5s",
    }
    assert raw["stop_signal"] == "rtmin+3"  # as written, like docker compose


def test_loading_warns_as_docker_compose_does(tmp_path: Path) -> None:
    """An unset variable without a default, and the obsolete `version`: warnings, not errors
    (each printed by the CLI as `WARN[0000] ...` on every load)."""
    (tmp_path / "compose.yaml").write_text(
        'version: "3.8"\nservices:\n  a:\n    image: x\n    environment:\n'
        "      X: ${PYC_TEST_UNSET}\n      Y: ${PYC_TEST_UNSET_TOO:-d}\n      Z: $$HOME\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t", environ={}))
    assert project.warnings == (
        f"{tmp_path / 'compose.yaml'}: the attribute `version` is obsolete, it will be ignored, "
        "please remove it to avoid potential confusion",
        'The "PYC_TEST_UNSET" variable is not set. Defaulting to a blank string.',
    )
    assert project.raw["services"]["a"]["environment"] == {"X": "", "Y": "d", "Z": "$HOME"}


def test_short_volume_syntax_errors_as_compose_go(tmp_path: Path) -> None:
    from compose.errors import ComposeFileError

    for spec, message in (("data:/b:ro:d", "too many colons"),
                          (":/x", "empty section between colons"),
                          ("data::/x", "empty section between colons")):
        (tmp_path / "compose.yaml").write_text(
            f'services:\n  a:\n    image: x\n    volumes:\n      - /ok:/ok\n      - "{spec}"\n')
        with pytest.raises(ComposeFileError) as info:
            load_project(LoadOptions(cwd=tmp_path, project_name="t"))
        (problem,) = info.value.problems
        assert (problem.key, problem.line) == ("services.a.volumes[1]", 6)
        assert problem.message == f"invalid spec: {spec}: {message}"


def test_float_environment_values_print_as_go() -> None:
    from compose.normalize import env_value

    assert [env_value(v) for v in (1e3, 2.0, 1.5, 1e-7, 1e21, 1e16)] == [
        "1000", "2", "1.5", "1e-07", "1e+21", "10000000000000000"]


def test_run_volume_flag_refuses_what_the_compose_file_refuses(tmp_path: Path) -> None:
    """`run -v :/x` made an anonymous volume at /x and `run -v /dir:` ran without a word: docker
    compose's run parses -v with the same ParseVolume as the file, and refuses both."""
    from compose.cli.oneoff import _mounts
    from compose.errors import ComposeError

    for spec, message in ((":/x", "empty section between colons"),
                          ("/dir:", "empty section between colons"),
                          ("data:/b:ro:d", "too many colons")):
        with pytest.raises(ComposeError) as info:
            _mounts((spec,), {}, tmp_path)
        assert str(info.value) == f"invalid spec: {spec}: {message} (in -v)"
    (mount,) = _mounts(("data:/x:ro",), {"data": "proj_data"}, tmp_path)
    assert (mount.source, mount.target, mount.read_only) == ("proj_data", "/x", True)


def test_source_colon_mode_is_source_colon_target_as_compose_go_reads_it(tmp_path: Path) -> None:
    """compose-go's ParseVolume reads `/data:ro` as a bind of /data on the target `ro` (it was
    read here as a read-only anonymous volume at /data, which docker compose never makes);
    Docker refuses the relative target, so the load does, naming file, line and key."""
    from compose.errors import ComposeFileError
    from compose.volume_syntax import parse_volume

    assert parse_volume("/data:ro", tmp_path) == {
        "type": "bind", "source": "/data", "target": "ro", "bind": {"create_host_path": True}}
    assert parse_volume("cache:rw", None) == {
        "type": "volume", "source": "cache", "target": "rw", "volume": {}}
    (tmp_path / "compose.yaml").write_text(
        'services:\n  a:\n    image: x\n    volumes:\n      - /ok:/ok:ro\n      - "/data:ro"\n'
    )
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    (problem,) = info.value.problems
    assert (problem.key, problem.line) == ("services.a.volumes[1]", 6)
    assert problem.message == (
        "invalid mount config for type \"bind\": invalid mount path: 'ro' mount path must be "
        "absolute"
    )
