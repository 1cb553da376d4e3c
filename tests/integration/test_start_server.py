"""First starts through the start server (engine.start_server): the server makes the cgroup and
the wired network namespace, the supervisor forks init into them. What a user would notice:
the container runs in its own namespaces and cgroup with init as pid 1 and the supervisor's
only child; a start that fails leaves no link, cgroup or record of a run behind; and the server
does not outlive the fork server (nothing stays resident)."""

from __future__ import annotations

import os
import time
import uuid
from pathlib import Path

from engine.api import ContainerSpec, ContainerStatus, Engine, NetworkAttachment
from engine.cgroups import container_cgroup
from engine.errors import EngineError
from engine.supervisor_spawner import SPAWNER
from netdriver import names
from tests.integration.runtime_helpers import children_of


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _second_start(engine: Engine) -> None:
    """Make the next start go through the start server: the fork server forks it on its second
    supervisor request (a lone start does without), so start one container on a fresh one."""
    SPAWNER.close()
    info = engine.create_container(ContainerSpec(
        name=f"warm-{_uid()}", image="busybox", command=("true",), network_mode="none",
    ))
    engine.start_container(info.id)
    assert engine.wait_container(info.id, timeout=30) == 0
    engine.remove_container(info.id, force=True)


def _host_links() -> set[str]:
    return set(os.listdir("/sys/class/net"))


def _status_field(pid: int, key: str) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    raise AssertionError(f"{key} not in /proc/{pid}/status")


def test_init_runs_in_the_namespaces_and_cgroup_the_server_made(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    network = engine.ensure_network(f"ss{_uid()}", labels={})
    _second_start(engine)
    info = engine.create_container(ContainerSpec(
        name=f"served-{_uid()}", image="busybox", command=("sleep", "300"),
        networks=(NetworkAttachment(network.name, ()),),
    ))
    state = engine.start_container(info.id).state
    assert state.status is ContainerStatus.RUNNING and state.pid and state.supervisor_pid
    # init: the supervisor's only child, pid 1 of a pid namespace of its own
    assert children_of(state.supervisor_pid) == [state.pid]
    assert _status_field(state.pid, "NSpid").split()[-1] == "1"
    # in its own network namespace, wired to the bridge: eth0 with the recorded address
    assert os.readlink(f"/proc/{state.pid}/ns/net") != os.readlink("/proc/self/ns/net")
    assert "eth0:" in Path(f"/proc/{state.pid}/net/dev").read_text()
    assert state.addresses[network.name] in Path(f"/proc/{state.pid}/net/fib_trie").read_text()
    assert names.host_veth_name(network.id, info.id) in _host_links()
    # in the container's cgroup (v1: every controller's; v2: the one)
    cgroup_text = Path(f"/proc/{state.pid}/cgroup").read_text()
    assert info.id in cgroup_text
    engine.remove_container(info.id, force=True)


def test_a_start_that_fails_in_init_leaves_nothing_behind(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    network = engine.ensure_network(f"sf{_uid()}", labels={})
    _second_start(engine)
    links_before = _host_links()
    info = engine.create_container(ContainerSpec(
        name=f"servedfail-{_uid()}", image="busybox", command=("/no/such/program",),
        networks=(NetworkAttachment(network.name, ()),),
    ))
    try:
        engine.start_container(info.id)
        raise AssertionError("a missing program started")
    except EngineError as exc:
        assert "/no/such/program" in str(exc)
    state = engine.inspect(info.id).state
    assert state.status is ContainerStatus.CREATED
    assert state.pid is None and "/no/such/program" in (state.error or "")
    assert state.addresses == {}
    # the veth pair and the cgroup dirs are gone (the cgroup removal retries while init dies)
    deadline = time.monotonic() + 5
    dirs = container_cgroup(info.id).dirs()
    while any(path.exists() for path in dirs) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [path for path in dirs if path.exists()]
    assert _host_links() - links_before == set()
    assert engine.networks.endpoints(network.name) == []
    engine.remove_container(info.id, force=True)


def test_the_start_server_goes_with_the_fork_server(engine_with_busybox: Engine) -> None:
    engine = engine_with_busybox
    _second_start(engine)  # on a fork server of this test's own: its children are ours
    info = engine.create_container(ContainerSpec(
        name=f"servedgone-{_uid()}", image="busybox", command=("sleep", "300"),
        network_mode="none",
    ))
    supervisor = engine.start_container(info.id).state.supervisor_pid
    fork_server = SPAWNER._pid
    assert fork_server is not None and supervisor is not None
    servers = [pid for pid in children_of(fork_server) if pid != supervisor]
    assert len(servers) == 1, servers  # the start server (the first supervisor has exited)
    SPAWNER.close()  # waits for the fork server, which waits for its start server
    assert not Path(f"/proc/{servers[0]}").exists()
    assert engine.inspect(info.id).status is ContainerStatus.RUNNING  # the container stays
    engine.remove_container(info.id, force=True)
