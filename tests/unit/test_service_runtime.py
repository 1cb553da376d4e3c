"""A service's security/resource/supervision keys become the engine's ContainerSpec fields."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.container_spec import build_container_spec
from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions, Project
from engine.api import ContainerSpec, HealthcheckConfig
from engine.restart_policy import Backoff, should_restart

STACK = """
services:
  app:
    image: busybox
    cap_add: [NET_ADMIN]
    cap_drop: [MKNOD]
    privileged: false
    security_opt: ["no-new-privileges:true", "seccomp=unconfined"]
    group_add: [audio, "4242"]
    domainname: example.test
    read_only: true
    init: true
    tty: true
    shm_size: 8m
    tmpfs: ["/run:size=1m,mode=0755", /cache]
    volumes:
      - type: tmpfs
        target: /scratch
        tmpfs: {size: 2097152, mode: 0o700}
    sysctls: {net.core.somaxconn: 1024}
    ulimits:
      nproc: 64
      nofile: {soft: 100, hard: 200}
    devices: ["/dev/fuse:/dev/fuse:rw"]
    cpu_shares: 512
    cpuset: "0"
    mem_reservation: 16m
    memswap_limit: 96m
    oom_score_adj: 100
    blkio_config: {weight: 300}
    deploy:
      resources:
        limits: {cpus: "0.5", memory: 64M, pids: 40}
    restart: on-failure:2
    healthcheck:
      test: curl -f http://localhost/
      interval: 2s
      timeout: 1s
      retries: 4
      start_period: 10s
    logging:
      options: {max-size: 1m, max-file: "3"}
  plain:
    image: busybox
    healthcheck:
      disable: true
"""


@pytest.fixture
def project(tmp_path: Path) -> Project:
    (tmp_path / "compose.yaml").write_text(STACK)
    return load_project(LoadOptions(cwd=tmp_path, project_name="proj"))


def test_runtime_keys_map_to_the_container_spec(project: Project) -> None:
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    assert spec.cap_add == ("NET_ADMIN",) and spec.cap_drop == ("MKNOD",)
    assert spec.security_opt == ("no-new-privileges:true", "seccomp=unconfined")
    assert spec.group_add == ("audio", "4242")
    assert spec.domainname == "example.test"
    assert spec.read_only and spec.init and spec.tty
    assert spec.shm_size == 8 << 20
    assert spec.tmpfs == {"/run": "size=1m,mode=0755", "/cache": ""}
    assert spec.mount_options == {"/scratch": "size=2097152,mode=700"}
    assert spec.sysctls == {"net.core.somaxconn": "1024"}
    assert spec.ulimits == {"nproc": (64, 64), "nofile": (100, 200)}
    assert spec.devices == ("/dev/fuse:/dev/fuse:rw",)
    assert spec.cpus == 0.5 and spec.cpu_shares == 512 and spec.cpuset_cpus == "0"
    assert spec.memory_limit == 64 << 20 and spec.pids_limit == 40
    assert spec.mem_reservation == 16 << 20 and spec.memswap_limit == 96 << 20
    assert spec.oom_score_adj == 100 and spec.blkio_weight == 300
    assert spec.restart_policy == "on-failure:2"
    assert spec.healthcheck == HealthcheckConfig(
        test=("CMD-SHELL", "curl -f http://localhost/"), interval=2.0, timeout=1.0, retries=4,
        start_period=10.0, start_interval=5.0,
    )
    assert spec.log_max_size == 1 << 20 and spec.log_max_file == 3


def test_disabled_healthcheck_is_none_test(project: Project) -> None:
    spec = build_container_spec(project, project.services["plain"], 1, "sha256:x")
    assert spec.healthcheck == HealthcheckConfig(test=("NONE",))
    assert spec.restart_policy == "no" and spec.cap_add == () and not spec.privileged


def test_bad_value_names_service_and_key(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    logging:\n      options: {max-size: lots}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    with pytest.raises(ComposeError, match=r"service app: logging\.options\.max-size"):
        build_container_spec(project, project.services["app"], 1, "sha256:x")


def test_hostname_is_not_a_dns_name_on_the_networks(tmp_path: Path) -> None:
    """Docker's DNS answers the service name and aliases (plus container name and short id),
    never `hostname:`."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    hostname: box\n"
        "    networks: {default: {aliases: [other]}}\n")
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    assert spec.hostname == "box"
    assert [a.aliases for a in spec.networks] == [("app", "other")]


@pytest.mark.parametrize(
    ("policy", "retries", "code", "so_far", "stop", "expected"),
    [
        ("no", 0, 1, 0, False, False),
        ("always", 0, 0, 9, False, True),
        ("always", 0, 0, 0, True, False),
        ("unless-stopped", 0, 1, 0, False, True),
        ("on-failure", 2, 1, 1, False, True),
        ("on-failure", 2, 1, 2, False, False),
        ("on-failure", 0, 1, 100, False, True),
        ("on-failure", 0, 0, 0, False, False),
    ],
)
def test_restart_decision(
    policy: str, retries: int, code: int, so_far: int, stop: bool, expected: bool
) -> None:
    assert should_restart(policy, retries, code, so_far, stop) is expected


def test_backoff_doubles_and_resets_after_a_long_run() -> None:
    backoff = Backoff()
    assert [backoff.next_delay(0.1) for _ in range(4)] == [0.1, 0.2, 0.4, 0.8]
    assert backoff.next_delay(11.0) == 0.1
    for _ in range(20):
        backoff.next_delay(0.0)
    assert backoff.delay == 60.0


def _spec_of(tmp_path: Path, body: str) -> ContainerSpec:
    (tmp_path / "compose.yaml").write_text("services:\n  app:\n    image: busybox\n" + body)
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    return build_container_spec(project, project.services["app"], 1, "sha256:x")


@pytest.mark.parametrize(
    ("body", "field", "expected"),
    [
        # -1 is unlimited swap (Docker's MemorySwap); refused as "invalid size" before
        ("    mem_limit: 64m\n    memswap_limit: -1\n", "memswap_limit", -1),
        # a negative size reaches the engine, which says what Docker says of it
        ("    shm_size: -1\n", "shm_size", -1),
        ("    isolation: default\n", "name", "proj-app-1"),
    ],
)
def test_values_docker_compose_passes_to_the_engine(
    tmp_path: Path, body: str, field: str, expected: object
) -> None:
    assert getattr(_spec_of(tmp_path, body), field) == expected


def test_a_zero_healthcheck_duration_is_dockers_default(tmp_path: Path) -> None:
    spec = _spec_of(tmp_path, "    healthcheck:\n      test: [CMD, 'true']\n      interval: 0s\n"
                              "      timeout: 0s\n      start_interval: 0s\n")
    assert spec.healthcheck is not None
    assert (spec.healthcheck.interval, spec.healthcheck.timeout,
            spec.healthcheck.start_interval) == (30.0, 30.0, 5.0)


def test_an_isolation_linux_lacks_is_refused_naming_service_and_key(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match="service app: isolation: invalid isolation 'hyperv' "
                       "on linux"):
        _spec_of(tmp_path, "    isolation: hyperv\n")


def test_a_network_mode_naming_no_mode_is_refused(tmp_path: Path) -> None:
    """Docker reads it as a network's name ("network foo not found" without one): the
    container had only a loopback here, and nothing said so. `default` is the bridge."""
    with pytest.raises(ComposeError, match="service app: network_mode: network foo not found"):
        _spec_of(tmp_path, "    network_mode: foo\n")
    assert _spec_of(tmp_path, "    network_mode: default\n").network_mode == "bridge"


def test_an_empty_healthcheck_test_keeps_the_images_check(tmp_path: Path) -> None:
    """Docker reads `test: []` as "the image's test" (it was refused as no CMD/CMD-SHELL)."""
    assert _spec_of(tmp_path, "    healthcheck: {test: [], interval: 5s}\n").healthcheck is None


@pytest.mark.parametrize(
    ("body", "message"),
    [
        # Docker's create: a runtime its daemon does not have
        ("    runtime: nvidia\n", "service app: runtime: unknown or invalid runtime name: nvidia"),
        # Docker without a device driver: the container ran here without its GPU
        ("    gpus: all\n", 'service app: gpus: could not select device driver "" with '
         "capabilities: [[gpu]]"),
        ("    deploy: {resources: {reservations: {devices: [{driver: nvidia, "
         "capabilities: [gpu, utility]}]}}}\n",
         "service app: deploy.resources.reservations.devices: could not select device driver "
         '"nvidia" with capabilities: [[gpu utility]]'),
    ],
)
def test_what_this_engine_cannot_give_is_refused_as_docker_refuses_it(
    tmp_path: Path, body: str, message: str
) -> None:
    with pytest.raises(ComposeError) as caught:
        _spec_of(tmp_path, body)
    assert str(caught.value).startswith(message), str(caught.value)


def test_runc_is_this_engines_runtime(tmp_path: Path) -> None:
    assert _spec_of(tmp_path, "    runtime: runc\n").name == "proj-app-1"


@pytest.mark.parametrize(
    ("keys", "policy"),
    [
        ("deploy: {restart_policy: {condition: on-failure, max_attempts: 3}}", "on-failure:3"),
        ("deploy: {restart_policy: {condition: any}}", "always"),
        ("deploy: {restart_policy: {condition: none}}", "no"),
        ("deploy: {restart_policy: {condition: on-failure}}", "on-failure"),
        ("deploy: {restart_policy: {max_attempts: 2}}", "no"),  # Docker's empty policy name
        # docker compose reads deploy.restart_policy after `restart:`: the deploy block wins
        ("{restart: always, deploy: {restart_policy: {condition: none}}}", "no"),
        ("{restart: unless-stopped, deploy: {replicas: 1}}", "unless-stopped"),
    ],
)
def test_deploy_restart_policy_is_the_containers_policy(
    tmp_path: Path, keys: str, policy: str
) -> None:
    """docker compose's getRestartPolicy: deploy.restart_policy becomes the container's restart
    policy (it was ignored: the container never restarted)."""
    body = keys if keys.startswith("{") else "{" + keys + "}"
    (tmp_path / "compose.yaml").write_text(f"services:\n  app: {{image: busybox, {body[1:]}\n")
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    assert spec.restart_policy == policy
    assert project.services["app"].restart == policy


def test_deploy_retry_count_on_always_is_refused_at_create_as_docker_does(
    tmp_path: Path
) -> None:
    """Docker's daemon: 'maximum retry count can only be used with on-failure'."""
    from engine.errors import InvalidArgumentError
    from engine.runtime_options import parse_restart_policy

    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    deploy:\n"
        "      restart_policy: {condition: any, max_attempts: 3}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    with pytest.raises(InvalidArgumentError, match="invalid restart policy 'always:3'"):
        parse_restart_policy(spec)


def test_equal_priorities_order_networks_by_name_as_compose_go(tmp_path: Path) -> None:
    """compose-go's NetworksByPriority: priority first, then the network's key; the first is
    eth0 and HostConfig.NetworkMode and takes the service's mac_address (declaration order
    decided before)."""
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: busybox\n    mac_address: 02:42:ac:11:00:99\n"
        "    networks:\n      zeta: {}\n      beta: {priority: 0}\n      alpha:\n"
        "      top: {priority: 5}\n"
        "networks: {zeta: {}, beta: {}, alpha: {}, top: {}}\n"
    )
    project = load_project(LoadOptions(cwd=tmp_path, project_name="proj"))
    spec = build_container_spec(project, project.services["app"], 1, "sha256:x")
    assert [n.network for n in spec.networks] == [
        "proj_top", "proj_alpha", "proj_beta", "proj_zeta"
    ]
    assert spec.networks[0].mac == "02:42:ac:11:00:99"
    assert all(n.mac is None for n in spec.networks[1:])
