"""Values the kernel would refuse are refused with words naming the service and the key, not
with the kernel's bare errno text, and a failed `up` leaves nothing behind: no cgroup, no
mount, no process. What Docker refuses at create (the spec and the host tell) makes no
container at all; what only the start can tell (a sysctl in the container's own namespaces)
leaves it created, as Docker leaves one whose start failed."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

CGROUP_ROOT = Path("/sys/fs/cgroup")


def _leftovers(container_id: str) -> list[str]:
    """Kernel objects that still name the container: cgroup dirs and mounts."""
    found = [str(path) for path in CGROUP_ROOT.glob(f"**/{container_id}")]
    found += [line for line in Path("/proc/self/mountinfo").read_text().splitlines()
              if container_id in line and "/rootfs" in line]
    return found


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("cpuset: '63'", "cpuset: requested CPUs are not available - requested 63, available:"),
        ("cpuset: '1-0'", "cpuset: invalid value '1-0'"),
        ("tmpfs: ['/scratch:size=-5']", "tmpfs: /scratch: invalid size '-5'"),
        ("tmpfs: ['/scratch:size=12q']", "tmpfs: /scratch: invalid size '12q'"),
        ("tmpfs: ['/scratch:colour=red']", "tmpfs: /scratch: invalid tmpfs option 'colour'"),
        ("tmpfs: ['relative']",
         "tmpfs: invalid mount path: 'relative' mount path must be absolute"),
        ("sysctls: {net.ipv4.no_such_knob: '1'}",
         "sysctls: net.ipv4.no_such_knob=1: no such sysctl in the container's namespaces"),
        ("sysctls: {net.ipv4.ip_forward: 'many'}",
         "sysctls: net.ipv4.ip_forward=many: the kernel refused the value 'many'"),
        ("sysctls: {kernel.pid_max: '100'}",
         "sysctls: kernel.pid_max is not a namespaced sysctl"),
        ("sysctls: {kernel.msgmax: '100'}\nipc: host",
         "sysctls: kernel.msgmax cannot be set with ipc: host"),
        # Docker's create (verifyPlatformContainerResources and co): refused before the start
        ("blkio_config: {weight: 5}", "blkio_config.weight: range of blkio weight is from 10"),
        ("cpu_period: 500", "cpu_period: CPU cfs period can not be less than 1ms"),
        ("cpus: 0.5\ncpu_quota: 50000", "cpu_quota: conflicting options: cpus and cpu_quota"),
        ("mem_limit: 1k", "mem_limit: minimum memory allowed is 6MB"),
        ("mem_limit: 64m\nmemswap_limit: 32m", "memswap_limit: must be at least mem_limit"),
        ("dns: [notanip]", "dns: bad nameserver address 'notanip'"),
        ("environment: ['=foo']", "environment: invalid environment variable: =foo"),
        ("devices: ['/dev/null:rel']", "devices: invalid device mapping '/dev/null:rel'"),
        ("pid: foo", "pid: unsupported pid mode 'foo'"),
        ("hostname: " + "h" * 70, "hostname: '" + "h" * 70 + "' is longer than 64 bytes"),
        ("network_mode: foo", "network_mode: network foo not found"),
    ],
)
def test_a_refused_value_names_the_service_and_key_and_leaves_nothing(
    stack: Stack, body: str, expected: str
) -> None:
    stack.write({"bad": SLEEPER + body + "\n"})
    result = stack.cli("up", "-d")
    assert result.returncode != 0
    assert "failed to start service bad:" in result.stderr, result.stderr
    assert expected in result.stderr, result.stderr
    assert "[Errno" not in result.stderr, result.stderr
    if "in the container's namespaces" in expected or "refused the value" in expected:
        assert stack.states() == {f"{stack.name}-bad-1": "created"}  # only the start knew
        container_id = stack.ok("ps", "-a", "-q", "--no-trunc").stdout.strip()
        assert _leftovers(container_id) == []
    else:
        assert stack.states() == {}  # refused at create, as Docker's create refuses it


def test_a_relative_mount_target_is_refused_at_load_naming_file_line_and_key(
    stack: Stack,
) -> None:
    stack.write({"bad": SLEEPER + "volumes: [{type: bind, source: /tmp, target: rel}]\n"})
    result = stack.cli("up", "-d")
    assert result.returncode != 0
    assert "compose.yaml:6: services.bad.volumes[0]: invalid mount config for type \"bind\": " \
        "invalid mount path: 'rel' mount path must be absolute" in result.stderr, result.stderr
    from engine.api import Engine

    assert Engine(stack.root).list_containers() == []  # the file never loaded: nothing made


def test_tmpfs_flags_are_mount_flags_and_noexec_is_the_default(stack: Stack) -> None:
    """Docker mounts every tmpfs noexec,nosuid,nodev unless told otherwise; its flag words
    (rw, exec, ...) are mount flags, not tmpfs data (which refused `rw`)."""
    stack.write({"t": SLEEPER + "tmpfs: ['/plain', '/run:rw,exec,size=65536k']\n"})
    stack.ok("up", "-d")
    mounts = stack.ok("exec", "-T", "t", "cat", "/proc/mounts").stdout.splitlines()
    options = {line.split()[1]: line.split()[3].split(",") for line in mounts}
    assert {"rw", "nosuid", "nodev", "noexec"} <= set(options["/plain"])
    assert {"rw", "nosuid", "nodev", "size=65536k"} <= set(options["/run"])
    assert "noexec" not in options["/run"]


def test_what_docker_reads_as_unset_starts_the_container(stack: Stack) -> None:
    """0 is Docker's "not set" for a limit and a healthcheck interval, -1 unlimited swap: a
    memory cgroup limited to 0 bytes killed the container at once, a blkio weight or CFS
    period of 0 failed its start, `memswap_limit: -1` was "invalid size"."""
    stack.write({"zero": SLEEPER + (
        "mem_limit: 0\nmem_reservation: 0\nmemswap_limit: 0\nshm_size: 0\ncpu_quota: 0\n"
        "cpu_period: 0\nblkio_config: {weight: 0}\n"
        "healthcheck: {test: [CMD, 'true'], interval: 0s, timeout: 0s}\n"),
        "swap": SLEEPER + "mem_limit: 64m\nmemswap_limit: -1\n"})
    stack.ok("up", "-d")
    assert stack.states() == {f"{stack.name}-zero-1": "running", f"{stack.name}-swap-1": "running"}
    shm = stack.ok("exec", "-T", "zero", "df", "-k", "/dev/shm").stdout.splitlines()[-1].split()
    assert shm[1] == str(64 * 1024)  # Docker's default size
