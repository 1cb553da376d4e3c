"""Invalid stack files: every problem reported at once, with file, line and key path."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.errors import ComposeFileError
from compose.loader import load_project
from compose.model import LoadOptions


def _load(tmp_path: Path, text: str) -> ComposeFileError:
    (tmp_path / "compose.yaml").write_text(text)
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    return info.value


def test_type_errors_all_reported_with_lines(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  web:
    image: [a, b]
    ports:
      - 80:80
      - {target: [1]}
  db:
    environment: "FOO=1"
""")
    by_key = {p.key: p for p in err.problems}
    assert by_key["services.web.image"].line == 3
    assert "services.web.image must be a string" in by_key["services.web.image"].message
    assert by_key["services.web.ports[1].target"].line == 6
    assert by_key["services.db.environment"].line == 8
    assert "must be a mapping" in by_key["services.db.environment"].message
    assert all(p.file and p.file.endswith("compose.yaml") for p in err.problems)


def test_unknown_key(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  web:\n    image: x\n    imagee: y\n")
    assert err.problems[0].line == 4
    assert "imagee" in err.problems[0].message


def test_yaml_syntax_error_has_line(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  web:\n    image: x\n  - broken\n")
    assert err.problems[0].line == 4
    assert err.problems[0].message.startswith("yaml:")


def test_duplicate_key(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  web:\n    image: x\n    image: y\n")
    assert 'mapping key "image" already defined at line 3' in err.problems[0].message
    assert err.problems[0].line == 4


def test_tab_indentation(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  web:\n\timage: x\n")
    assert "tab character" in str(err)


def test_a_control_character_is_named_with_its_line(tmp_path: Path) -> None:
    err = _load(tmp_path, 'services:\n  web:\n    image: x\n    command: "a\x00b"\n')
    assert "compose.yaml:4: yaml: control characters are not allowed (#x00)" in str(err)


def test_a_file_not_in_utf8_is_named_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_bytes(b'services:\n  web:\n    image: "caf\xe9"\n')
    with pytest.raises(ComposeFileError) as info:
        load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert "compose.yaml:3: yaml: invalid UTF-8 byte 0xe9 (the file must be UTF-8)" in str(
        info.value)


def test_top_level_not_mapping(tmp_path: Path) -> None:
    err = _load(tmp_path, "- a\n- b\n")
    assert "top-level object must be a mapping" in str(err)


def test_empty_file(tmp_path: Path) -> None:
    err = _load(tmp_path, "# nothing\n")
    assert "empty compose file" in str(err)


def test_interpolation_error_located(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  web:\n    image: ${IMG:?set IMG}\n")
    assert err.problems[0].line == 3
    assert "set IMG" in err.problems[0].message


def test_undefined_references(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  web:
    image: x
    depends_on: [nope]
    networks: [front]
    volumes:
      - data:/data
""")
    text = str(err)
    assert 'depends on undefined service "nope"' in text
    assert "undefined network front" in text
    assert "undefined volume data" in text
    lines = {p.line for p in err.problems}
    assert {4, 5} <= lines


def test_cycle_named(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    depends_on: [b]
  b:
    image: x
    depends_on: [a]
""")
    message = str(err)
    assert "dependency cycle detected: a -> b -> a" in message or \
        "dependency cycle detected: b -> a -> b" in message


def test_network_mode_and_networks(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  a:\n    image: x\n    network_mode: host\n"
                          "    networks: [default]\n")
    assert "mutually exclusive" in str(err)


def test_bad_port_is_problem_not_traceback(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  a:\n    image: x\n    ports: ['a:b:c:d:e']\n")
    assert "is not a valid port mapping" in str(err)


def test_bad_mem_limit(tmp_path: Path) -> None:
    err = _load(tmp_path, "services:\n  a:\n    image: x\n    mem_limit: lots\n")
    assert "invalid size" in str(err)


def test_bad_stop_signal_and_healthcheck_duration_fail_at_load_with_their_lines(
    tmp_path: Path,
) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    stop_signal: SIGFOO
    healthcheck:
      test: ["CMD", "true"]
      interval: 5x
""")
    text = str(err)
    assert "compose.yaml:4: services.a.stop_signal: invalid signal: SIGFOO" in text
    assert "compose.yaml:7: services.a.healthcheck.interval: invalid duration: '5x'" in text


def test_an_alias_bomb_is_refused_not_expanded(tmp_path: Path) -> None:
    """The "billion laughs": nine-fold aliases ten deep would expand to 3.5e9 values."""
    lines = ["services:\n  a:\n    image: x\n", "x-a0: &a0 [" + ",".join(["lol"] * 9) + "]\n"]
    lines += [f"x-a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]\n" for i in range(1, 10)]
    err = _load(tmp_path, "".join(lines))
    assert "excessive aliasing" in str(err)


def test_values_docker_refuses_at_create_fail_at_load_with_their_lines(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    restart: sometimes
    ports: [80000]
    cpus: -1
    container_name: dup
  b:
    image: x
    ports: ["8080:80/xyz"]
    container_name: dup
    cap_add: [NET_ADMIN, BOGUS]
""")
    text = str(err)
    assert "compose.yaml:4: services.a.restart: invalid restart policy 'sometimes'" in text
    assert "compose.yaml:5: services.a.ports[0]: invalid container port 80000" in text
    assert "compose.yaml:6: services.a.cpus: must not be negative" in text
    assert "compose.yaml:10: services.b.ports[0]: invalid protocol 'xyz'" in text
    assert 'compose.yaml:11: services.b.container_name: container name "dup" is taken' in text
    assert "compose.yaml:12: services.b.cap_add[1]: unknown capability 'BOGUS'" in text


@pytest.mark.parametrize("policy", ["no", "always", "unless-stopped", "on-failure", "on-failure:3"])
def test_restart_policies_docker_knows_load(tmp_path: Path, policy: str) -> None:
    (tmp_path / "compose.yaml").write_text(
        f"services:\n  a:\n    image: x\n    restart: {policy}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.raw["services"]["a"]["restart"] == policy


def test_volumes_from_a_container_by_name_is_the_spec_s_container_form(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  web:\n    image: x\n    volumes_from: ['container:legacy-data:ro']\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.services["web"].raw["volumes_from"] == ["container:legacy-data:ro"]
    err = _load(tmp_path, "services:\n  web:\n    image: x\n    volumes_from: [ghost]\n")
    assert 'mounts volumes from undefined service "ghost"' in str(err)


def test_an_extra_host_without_an_ip_or_with_a_bad_one_fails_at_load(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    extra_hosts: ["foo", "bar=notip", "ok=1.2.3.4", "v6:::1", "gw=host-gateway", "b=[::2]"]
""")
    messages = sorted(p.message for p in err.problems)
    assert messages == [
        "invalid IP address in add-host: 'notip' (for bar)",
        "invalid additional host, missing IP: foo",
    ]
    assert all(p.line == 4 and p.key == "services.a.extra_hosts" for p in err.problems)


def test_a_mac_address_that_is_none_fails_at_load(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    mac_address: 03:00:00:00:00:01
    networks:
      default:
        mac_address: zz
      ok:
        mac_address: 02-42-ac-11-00-02
networks:
  ok:
""")
    assert sorted((p.line, p.key) for p in err.problems) == [
        (4, "services.a.mac_address"), (7, "services.a.networks.default.mac_address")]
    assert all("is not a valid mac address" in p.message for p in err.problems)


def test_an_expose_entry_that_is_no_port_fails_at_load(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    expose:
      - 80
      - "8000-8010"
      - "53/udp"
      - abc
""")
    assert [(p.line, p.key) for p in err.problems] == [(8, "services.a.expose[3]")]
    assert "'abc' is not a port or port range" in err.problems[0].message


def test_an_expose_port_outside_1_to_65535_fails_at_load(tmp_path: Path) -> None:
    """Docker's ParsePortRange refuses a port beyond 16 bits; 0 exposes nothing (both loaded
    and went into the container's exposed ports as written)."""
    err = _load(tmp_path, """services:
  a:
    image: x
    expose:
      - "70000"
      - 0
      - "100-70000/udp"
      - "90-80"
      - "65535"
      - "1-65535/tcp"
""")
    assert [(p.line, p.key) for p in err.problems] == [
        (5, "services.a.expose[0]"), (6, "services.a.expose[1]"), (7, "services.a.expose[2]"),
        (8, "services.a.expose[3]")]
    assert "invalid port '70000': ports are 1-65535" in err.problems[0].message
    assert "invalid port range '90-80'" in err.problems[3].message


@pytest.mark.parametrize(
    ("line", "key"),
    [("scale: -1", "services.a.scale"), ('scale: "-1"', "services.a.scale"),
     ("deploy: {replicas: -1}", "services.a.deploy.replicas"),
     ('deploy: {replicas: "-3"}', "services.a.deploy.replicas")],
)
def test_a_negative_scale_or_replicas_fails_at_load(tmp_path: Path, line: str, key: str) -> None:
    """It loaded and `up` ran no container, exit 0; docker compose's convergence makes a slice
    of that length (ensureService) and dies with a Go panic: refused at load instead."""
    err = _load(tmp_path, f"services:\n  a:\n    image: x\n    {line}\n")
    assert [(p.line, p.key) for p in err.problems] == [(4, key)]
    assert "is less than the minimum of 0" in err.problems[0].message


def test_zero_scale_and_replicas_load(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: x\n    scale: 0\n  b:\n    image: x\n"
        "    deploy: {replicas: 0}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.services["a"].scale == 0 and project.services["b"].scale == 0


def test_what_a_joined_network_namespace_cannot_have_fails_at_load(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  web:
    image: x
  side:
    image: x
    network_mode: service:web
    ports: ["8080:80"]
    hostname: other
    dns: [10.0.0.1]
""")
    assert sorted((p.line, p.key) for p in err.problems) == [
        (7, "services.side.ports"), (8, "services.side.hostname"), (9, "services.side.dns")]
    assert all(p.message.startswith("conflicting options: ") for p in err.problems)


def test_a_bad_deploy_memory_and_negative_retries_fail_at_load(tmp_path: Path) -> None:
    err = _load(tmp_path, """services:
  a:
    image: x
    deploy: {resources: {limits: {memory: 1x}}}
    healthcheck: {test: ["CMD", "true"], retries: -1}
""")
    assert sorted((p.line, p.key) for p in err.problems) == [
        (4, "services.a.deploy.resources.limits.memory"), (5, "services.a.healthcheck.retries")]


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        # Docker's create refuses a healthcheck duration under 1ms (0 is its default)
        ("    healthcheck: {test: [CMD, 'true'], interval: 100us}", "services.a.healthcheck"
         ".interval", "Interval in Healthcheck cannot be less than 1ms"),
        ("    healthcheck: {test: [CMD, 'true'], start_period: 1ns}", "services.a.healthcheck"
         ".start_period", "StartPeriod in Healthcheck cannot be less than 1ms"),
        ("    healthcheck: {test: [CMD, 'true'], start_interval: 0.5ms}",
         "services.a.healthcheck.start_interval",
         "StartInterval in Healthcheck cannot be less than 1ms"),
        # compose-spec's `.+` keys: a variable, label or sysctl needs a name
        ("    environment: {'': foo}", "services.a.environment", "must not have an empty key"),
        ("    labels: {'': x}", "services.a.labels", "must not have an empty key"),
        ("    sysctls: {'': 1}", "services.a.sysctls", "must not have an empty key"),
        # compose-go's device transform: more than HOST:CONTAINER:PERMISSIONS
        ("    devices: ['/dev/a:1.0:/dev/b:rw']", "services.a.devices[0]",
         "confusing device mapping, please use long syntax: /dev/a:1.0:/dev/b:rw"),
        # compose-spec's schema: an enum, a range, a pattern
        ("    cgroup: shared", "services.a.cgroup", "must be one of host, private"),
        ("    oom_score_adj: 2000", "services.a.oom_score_adj",
         "2000 is greater than the maximum of 1000"),
        ("    pull_policy: sometimes", "services.a.pull_policy", "'sometimes' does not match"),
        ("    blkio_config: {wieght: 300}", "services.a.blkio_config.wieght",
         "additional properties 'wieght' not allowed"),
        ("    volumes: [{type: bogus, target: /x}]", "services.a.volumes[0].type",
         "must be one of bind, volume, tmpfs, cluster, npipe, image"),
        ("    devices: [{target: /dev/x}]", "services.a.devices[0].source", "is required"),
        # compose-go decodes a tmpfs size (UnitBytes) at load
        ("    volumes: [{type: tmpfs, target: /x, tmpfs: {size: abc}}]", "services.a.volumes[0]",
         "invalid size: 'abc'"),
        # a mount type this engine has no mount for (it became a volume, or a KeyError)
        ("    volumes: [{type: image, source: busybox, target: /x}]", "services.a.volumes[0]",
         "mount type image is not supported by pycompose's engine"),
        ("    container_name: '-x'", "services.a.container_name", "does not match"),
        ("    cpu_count: -1", "services.a.cpu_count", "-1 is less than the minimum of 0"),
        ("    cpu_percent: 200", "services.a.cpu_percent", "200 is greater than the maximum"),
        ("    volumes: [{type: bind, source: /tmp, target: /x, bind: {recursive: foo}}]",
         "services.a.volumes[0].bind.recursive", "must be one of enabled, disabled"),
        ("    volumes: [{type: bind, source: /tmp, target: /x, bind: {selinux: q}}]",
         "services.a.volumes[0].bind.selinux", "must be one of z, Z"),
        ("    volumes: [{type: tmpfs, target: /x, tmpfs: {size: -5}}]",
         "services.a.volumes[0].tmpfs.size", "-5 is less than the minimum of 0"),
        ("    deploy: {update_config: {order: sideways}}", "services.a.deploy.update_config"
         ".order", "must be one of start-first, stop-first"),
        ("    deploy: {rollback_config: {paralelism: 2}}", "services.a.deploy.rollback_config"
         ".paralelism", "additional properties 'paralelism' not allowed"),
        ("    deploy: {resources: {reservations: {devices: [{count: 1}]}}}",
         "services.a.deploy.resources.reservations.devices[0].capabilities", "is required"),
        ("    gpus: some", "services.a.gpus", "must be one of all"),
        # compose-go decodes deploy's durations at load
        ("    deploy: {restart_policy: {delay: 10x}}", "services.a.deploy.restart_policy.delay",
         "invalid duration: '10x'"),
    ],
)
def test_what_compose_refuses_at_load_names_file_line_and_key(
    tmp_path: Path, body: str, key: str, message: str
) -> None:
    err = _load(tmp_path, "services:\n  a:\n    image: x\n" + body + "\n")
    assert [(p.line, p.key) for p in err.problems] == [(4, key)], err.problems
    assert message in err.problems[0].message
    assert err.problems[0].file and err.problems[0].file.endswith("compose.yaml")


def test_good_values_near_the_limits_load(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text("""services:
  a:
    image: x
    healthcheck: {test: [CMD, 'true'], interval: 1ms, timeout: 0s, start_period: 0s}
    environment: {A: '', B: null}
    devices: ['/dev/null:/dev/x:rw', {source: /dev/null, target: /dev/y}]
    blkio_config: {weight: 0}
    dns: ['::1', 'fe80::1%eth0']
    cgroup: private
    oom_score_adj: -1000
    pull_policy: every_12h
    container_name: good-name_1
    cpu_percent: 100
    volumes: [{type: bind, source: /tmp, target: /x, bind: {selinux: z, recursive: readonly}}]
    deploy: {update_config: {parallelism: 2, order: start-first}}
""")
    load_project(LoadOptions(cwd=tmp_path, project_name="t"))


def test_deploy_durations_print_as_docker_compose_prints_them(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: x\n    deploy:\n      restart_policy: {delay: 5000ms, "
        "window: 120s}\n      update_config: {monitor: 90s}\n")
    deploy = load_project(LoadOptions(cwd=tmp_path, project_name="t")).services["a"].raw["deploy"]
    assert deploy["restart_policy"] == {"delay": "5s", "window": "2m0s"}
    assert deploy["update_config"] == {"monitor": "1m30s"}


def test_a_tmpfs_size_prints_in_bytes_as_docker_compose_prints_it(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  a:\n    image: x\n"
        "    volumes: [{type: tmpfs, target: /x, tmpfs: {size: 1m}}]\n")
    project = load_project(LoadOptions(cwd=tmp_path, project_name="t"))
    assert project.services["a"].raw["volumes"][0]["tmpfs"] == {"size": "1048576"}
