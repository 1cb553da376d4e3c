"""What a container's supervisor that died unobserved may have left behind, given back.

Why a module of its own: the engine API finds such a supervisor when it observes the
container (a start half-way, or a run whose supervisor was killed), and a new supervisor can
find one when it claims the start (the old one died between the caller's look and the claim):
both must release the same things, in the same way."""

from __future__ import annotations

import contextlib

from engine.cgroups import container_cgroup
from engine.containers import ContainerRecord, ContainerState
from engine.layout import Layout
from netdriver.api import NetworkDriver


def release_leftovers(
    layout: Layout, networks: NetworkDriver, record: ContainerRecord, state: ContainerState
) -> None:
    """Processes still in the cgroup (an init at its mounts, one that outlived the
    supervisor's death signal, and its children with `pid: host`), the cgroup, volume users,
    endpoints, port rules. Best effort: each part is independent of the others."""
    cgroup = container_cgroup(record.id, record.spec.cgroup_parent)
    cgroup.kill_all()
    cgroup.remove()
    from engine.volume_mounts import release_container

    with contextlib.suppress(OSError):
        release_container(layout.volumes, record.id)
    for network in {n.network for n in record.spec.networks} | set(state.addresses):
        with contextlib.suppress(Exception):
            networks.detach(network, record.id)
    with contextlib.suppress(Exception):
        networks.unpublish_ports(record.id)
