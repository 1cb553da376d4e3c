"""What a container's start hands over to the processes that stay: the host ports a start-up
helper reserved are held by the supervisor for the container's whole life (restarts included),
and the data root's DNS resolver is forked from the supervisors' fork server, so it is small.

Traffic only goes to loopback and to containers on bridges these tests create.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from pathlib import Path

from dnslib import DNSRecord

from engine.api import ContainerSpec, ContainerStatus, Engine, NetworkAttachment, PortSpec
from engine.dns_control import control_address
from tests.integration.runtime_helpers import private_kb, wait_http

HTTPD = ("httpd", "-f", "-p", "80", "-h", "/etc")  # serves /etc/hostname
# The resolver as a Python process of its own kept ~9-12 MB private; forked from the fork
# server ~3 MB. The bound catches a return to the separate process, with room for noise.
RESOLVER_PRIVATE_LIMIT_KB = 6 * 1024


def _uid() -> str:
    return uuid.uuid4().hex[:8]


def _port_taken(port: int) -> bool:
    with socket.socket() as probe:
        try:
            probe.bind(("0.0.0.0", port))
        except OSError:
            return True
    return False


def _wait_restarted(engine: Engine, container_id: str, old_pid: int) -> None:
    for _ in range(100):  # bounded: 100 x 0.1 s
        state = engine.inspect(container_id).state
        if state.status is ContainerStatus.RUNNING and state.pid not in (None, old_pid):
            return
        time.sleep(0.1)
    raise AssertionError("the container was not restarted")


def test_published_port_stays_reserved_through_restarts_and_is_freed_on_removal(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    info = e.create_container(ContainerSpec(
        name=f"web-{_uid()}", image="busybox", command=HTTPD, restart_policy="always",
        networks=(NetworkAttachment(net, ()),), ports=(PortSpec(80),),
    ))
    state = e.start_container(info.id).state
    [published] = state.ports
    # the helper that bound the port has exited: the supervisor holds it now
    assert _port_taken(published.host_port)
    hostname = info.id[:12].encode()
    assert wait_http(f"http://127.0.0.1:{published.host_port}/hostname").strip() == hostname
    assert state.pid is not None
    os.kill(state.pid, 9)  # the restart runs in a new helper, which reserves the port again
    _wait_restarted(e, info.id, state.pid)
    [again] = e.inspect(info.id).state.ports
    assert _port_taken(again.host_port)
    assert wait_http(f"http://127.0.0.1:{again.host_port}/hostname").strip() == hostname
    e.remove_container(info.id, force=True)
    assert not _port_taken(again.host_port)


def _resolver_pid(root: Path) -> int:
    """The process holding the root's control socket (its command line is the fork server's)."""
    name = "@" + control_address(root)[1:]
    inodes = {f"socket:[{line.split()[6]}]" for line in
              Path("/proc/net/unix").read_text().splitlines()[1:]
              if len(line.split()) >= 8 and line.split()[7] == name}
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            if any(os.readlink(f"/proc/{pid}/fd/{fd}") in inodes
                   for fd in os.listdir(f"/proc/{pid}/fd")):
                return int(pid)
        except OSError:
            continue
    raise AssertionError("no resolver holds the control socket")


def test_resolver_forked_from_the_fork_server_answers_and_stays_small(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    gateway = e.networks.get_network(net).gateway
    name = f"web-{_uid()}"
    info = e.create_container(ContainerSpec(
        name=name, image="busybox", command=HTTPD, networks=(NetworkAttachment(net, ("web",)),),
    ))
    address = e.start_container(info.id).state.addresses[net]
    reply = DNSRecord.parse(DNSRecord.question("web").send(gateway, 53, timeout=5))
    assert [str(rr.rdata) for rr in reply.rr] == [address]
    pid = _resolver_pid(e.layout.root)
    assert b"engine.supervisor_zygote" in Path(f"/proc/{pid}/cmdline").read_bytes()
    assert private_kb(pid) < RESOLVER_PRIVATE_LIMIT_KB
    e.remove_container(info.id, force=True)
