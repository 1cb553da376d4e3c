"""A supervisor's memory: it is forked from the fork server with everything it runs already
loaded, and does its one-off network work (netlink, firewall, resolver) in throwaway helper
children, so each running container costs little private memory (issue 4: the goal is a
containerd-shim-like 3 MB per container). bench/bench_supervisor_memory.py reports numbers."""

from __future__ import annotations

import uuid

from engine.api import ContainerSpec, ContainerStatus, Engine, NetworkAttachment, PortSpec
from tests.integration.runtime_helpers import private_kb

# Private memory of one supervisor while its container runs. It was ~8 MB (network none) and
# ~12 MB (bridge, published port) before the helpers; ~3.5 MB now. The bound leaves headroom
# for noise, not for a return of pyroute2's work (or the imports) to the supervisor itself.
PRIVATE_LIMIT_KB = 6 * 1024


def test_supervisors_keep_little_private_memory_and_still_wire_the_network(
    engine_with_busybox: Engine,
) -> None:
    engine = engine_with_busybox
    net = f"mem_{uuid.uuid4().hex[:8]}"
    engine.ensure_network(net, labels={})
    web = engine.create_container(ContainerSpec(
        name=f"memweb-{uuid.uuid4().hex[:6]}", image="busybox",
        command=("httpd", "-f", "-p", "80"), networks=(NetworkAttachment(net, ("web",)),),
        ports=(PortSpec(80),),
    ))
    quiet = engine.create_container(ContainerSpec(
        name=f"memnone-{uuid.uuid4().hex[:6]}", image="busybox", command=("sleep", "300"),
        network_mode="none",
    ))
    # Measured right after the starts, while the fork server still shares its pages with
    # them (it idles out 2 s after the last start; then its pages count as theirs).
    started = [engine.start_container(web.id), engine.start_container(quiet.id)]
    usage = {info.name: private_kb(info.state.supervisor_pid or 0) for info in started}
    assert all(info.status is ContainerStatus.RUNNING for info in started)
    # the helper's work came back to the supervisor: address and published port recorded
    state = engine.inspect(web.id).state
    assert state.addresses.get(net) and state.ports and state.ports[0].host_port > 0
    assert all(kb < PRIVATE_LIMIT_KB for kb in usage.values()), usage
