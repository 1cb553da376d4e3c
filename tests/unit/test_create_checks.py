"""What Docker's create refuses is refused by check_at_create, before a record, a cgroup or a
mount exists, naming the container and the key; what Docker reads as "unset" (a 0 limit, -1
swap or swappiness) passes and reaches the cgroup as no limit at all."""

from __future__ import annotations

import os

import pytest

from engine import runtime_options
from engine.containers import ContainerSpec, MountKind, MountSpec
from engine.errors import InvalidArgumentError
from engine.runtime_options import check_at_create, resources

MB = 1024 * 1024


def _spec(**extra: object) -> ContainerSpec:
    return ContainerSpec(name="c", image="busybox", **extra)  # type: ignore[arg-type]


@pytest.fixture(autouse=True)
def _two_cpus(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(os, "cpu_count", lambda: 2)
    monkeypatch.setattr(runtime_options, "available_cpuset", lambda kind: "0-1")


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"blkio_weight": 5}, "blkio_config.weight: range of blkio weight is from 10 to 1000"),
        ({"blkio_weight": 1001}, "blkio_config.weight: range of blkio weight is from 10"),
        ({"cpu_period": 500}, "cpu_period: CPU cfs period can not be less than 1ms"),
        ({"cpu_period": 2_000_000}, "cpu_period: CPU cfs period can not be less than 1ms"),
        ({"cpu_quota": 500}, "cpu_quota: CPU cfs quota can not be less than 1ms"),
        ({"cpus": 0.5, "cpu_period": 100_000},
         "cpu_period: conflicting options: cpus and cpu_period cannot both be set"),
        ({"cpus": 0.5, "cpu_quota": 50_000},
         "cpu_quota: conflicting options: cpus and cpu_quota cannot both be set"),
        ({"cpus": 3.0}, "cpus: range of CPUs is from 0.01 to 2.00"),
        ({"cpu_shares": -5}, "cpu_shares: must not be negative"),
        ({"memory_limit": 1024}, "mem_limit: minimum memory allowed is 6MB"),
        ({"mem_reservation": 1024}, "mem_reservation: minimum memory allowed is 6MB"),
        ({"memory_limit": 64 * MB, "mem_reservation": 128 * MB},
         "mem_reservation: must be lower than mem_limit"),
        ({"memory_limit": 64 * MB, "memswap_limit": 32 * MB},
         "memswap_limit: must be at least mem_limit"),
        ({"memswap_limit": 64 * MB}, "memswap_limit: needs mem_limit to be set as well"),
        ({"mem_swappiness": 200}, "mem_swappiness: invalid value: 200"),
        ({"shm_size": -1}, "shm_size: SHM size can not be less than 0"),
        ({"dns": ("notanip",)}, "dns: bad nameserver address 'notanip'"),
        ({"dns": ("1.2.3",)}, "dns: bad nameserver address '1.2.3'"),
        ({"env": {"": "foo"}}, "environment: invalid environment variable: =foo"),
        ({"mounts": (MountSpec(MountKind.BIND, "rel", "/tmp"),)},
         "volumes: invalid mount config for type \"bind\": invalid mount path: 'rel' mount path "
         "must be absolute"),
        ({"mounts": (MountSpec(MountKind.VOLUME, "data", "v"),)},
         "volumes: invalid mount config for type \"volume\": invalid mount path: 'data'"),
        ({"mounts": (MountSpec(MountKind.BIND, "/x"),)},
         "volumes: invalid mount config for type \"bind\": field Source must not be empty"),
        ({"mounts": (MountSpec(MountKind.BIND, "/x", "/nonexistent-h3"),)},
         "volumes: bind source path does not exist: /nonexistent-h3 (for /x"),
        ({"mounts": (MountSpec(MountKind.BIND, "/x", "/tmp"),), "tmpfs": {"/x/": ""}},
         "volumes: Duplicate mount point: /x/"),
        ({"devices": ("/dev/null:rel",)}, "devices: invalid device mapping '/dev/null:rel'"),
        ({"devices": ("/dev/null:/dev/x:rwx",)}, "devices: invalid device mapping"),
        ({"devices": ("/dev/null:/dev/x:",)}, "devices: invalid device mapping"),
        ({"devices": ("/a:/b:rw:x",)}, "devices: invalid device mapping"),
        # the namespace modes' words (they failed at start, leaving a created container)
        ({"pid_mode": "foo"}, "pid: unsupported pid mode 'foo'"),
        ({"ipc_mode": "foo"}, "ipc: unsupported ipc mode 'foo'"),
        ({"uts_mode": "foo"}, "uts: invalid UTS mode 'foo'"),
        ({"cgroupns_mode": "foo"}, "cgroup: invalid cgroup namespace mode 'foo'"),
        ({"hostname": "h" * 65}, "hostname: '" + "h" * 65 + "' is longer than 64 bytes"),
        ({"domainname": "d" * 65}, "domainname: '" + "d" * 65 + "' is longer than 64 bytes"),
    ],
)
def test_what_dockers_create_refuses_is_refused_at_create(
    fields: dict[str, object], message: str
) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        check_at_create(_spec(**fields))
    assert str(caught.value).startswith(f"container c: {message}"), str(caught.value)


@pytest.mark.parametrize(
    "fields",
    [
        {"blkio_weight": 0}, {"blkio_weight": 10}, {"blkio_weight": 1000},
        {"cpu_period": 0}, {"cpu_quota": 0}, {"cpu_quota": -1}, {"cpus": 0.0},
        {"cpu_period": 50_000, "cpu_quota": 25_000}, {"cpus": 1.5}, {"cpu_shares": 0},
        {"memory_limit": 0}, {"mem_reservation": 0}, {"memswap_limit": 0},
        {"memory_limit": 64 * MB, "memswap_limit": 0},
        {"memory_limit": 64 * MB, "memswap_limit": -1}, {"mem_swappiness": -1},
        {"shm_size": 0}, {"pids_limit": 0}, {"pids_limit": -5}, {"cpuset_cpus": "0"},
        {"dns": ("8.8.8.8", "::1", "fe80::1%eth0")},
        {"env": {"A": ""}},
        {"mounts": (MountSpec(MountKind.BIND, "/data", "/tmp"),)},
        {"mounts": (MountSpec(MountKind.BIND, "/data", "/nonexistent-h3",
                              create_host_path=True),)},
        {"devices": ("/dev/null", "/dev/null:r", "/dev/null:/dev/x", "/dev/null:/dev/x:rw")},
        {"pid_mode": "host", "ipc_mode": "container:other", "uts_mode": "host",
         "cgroupns_mode": "private"},
        {"ipc_mode": "shareable"}, {"hostname": "h" * 64, "domainname": "d" * 64},
    ],
)
def test_values_docker_takes_pass(fields: dict[str, object]) -> None:
    check_at_create(_spec(**fields))


def test_a_zero_limit_is_no_limit_in_the_cgroup() -> None:
    """Docker's API reads 0 as unset: a cgroup limited to 0 bytes killed the container."""
    limits = resources(_spec(memory_limit=0, mem_reservation=0, memswap_limit=0, cpu_shares=0,
                             cpu_quota=0, cpu_period=0, blkio_weight=0, mem_swappiness=-1), ())
    assert (limits.memory_bytes, limits.memory_reservation, limits.memory_swap) == (None,) * 3
    assert (limits.cpu_shares, limits.cpu_quota, limits.cpu_period) == (None,) * 3
    assert (limits.blkio_weight, limits.memory_swappiness) == (None, None)
    kept = resources(_spec(memory_limit=64 * MB, blkio_weight=500, cpu_quota=-1), ())
    assert (kept.memory_bytes, kept.blkio_weight, kept.cpu_quota) == (64 * MB, 500, -1)


def test_a_port_that_cannot_be_published_names_the_key() -> None:
    from engine.containers import PortSpec

    with pytest.raises(InvalidArgumentError) as caught:
        check_at_create(_spec(ports=(PortSpec(target=80, published="70000"),)))
    assert str(caught.value) == "container c: ports: invalid published port '70000'"


def test_a_host_ip_that_is_no_address_is_refused_at_create() -> None:
    """It failed at start as "port is already allocated (… Name or service not known)"."""
    from engine.containers import PortSpec

    with pytest.raises(InvalidArgumentError) as caught:
        check_at_create(_spec(ports=(PortSpec(target=80, published="8080", host_ip="999.1.1.1"),)))
    assert str(caught.value) == ("container c: ports: invalid host IP '999.1.1.1' for port 80: "
                                 "not an IP address")
    check_at_create(_spec(ports=(PortSpec(target=80, published="8080", host_ip="127.0.0.1"),)))
