"""A container is started once, however many callers start it at the same time: one
supervisor wins the claim on the start (ContainerStore.claim_start), the other callers wait for
that start and find the container running. A start whose supervisor died half-way is over:
the next start converges instead of failing or waiting for ever.

Traffic only goes to containers on bridges these tests create.
"""

from __future__ import annotations

import subprocess
import threading
import uuid

from engine.api import (
    ContainerInfo,
    ContainerSpec,
    ContainerStatus,
    Engine,
    MountKind,
    MountSpec,
    NetworkAttachment,
)
from engine.processes import start_time
from tests.integration.runtime_helpers import processes_in_cgroup_of

CALLERS = 4


def _uid() -> str:
    return uuid.uuid4().hex[:8]




def test_concurrent_starts_run_the_container_once(engine_with_busybox: Engine, net: str) -> None:
    e = engine_with_busybox
    volume = f"fill-{_uid()}"
    # An empty volume over /bin is filled from the image at the start: a start worth racing.
    info = e.create_container(ContainerSpec(
        name=f"once-{_uid()}", image="busybox", command=("sleep", "300"),
        mounts=(MountSpec(MountKind.VOLUME, "/bin", volume),),
        networks=(NetworkAttachment(net, ()),),
    ))
    barrier = threading.Barrier(CALLERS)
    results: list[ContainerInfo] = []
    errors: list[BaseException] = []

    def start() -> None:
        engine = Engine(e.layout.root)  # a caller of its own, as another `up` is
        barrier.wait()
        try:
            results.append(engine.start_container(info.id))
        except BaseException as exc:  # reported below, with the others' outcomes
            errors.append(exc)

    threads = [threading.Thread(target=start) for _ in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    try:
        assert errors == [], errors
        assert {r.status for r in results} == {ContainerStatus.RUNNING}
        assert len({r.state.pid for r in results}) == 1, "started more than once"
        assert len(processes_in_cgroup_of(info.id)) == 1, "more than one copy of the command runs"
    finally:
        e.remove_container(info.id, force=True)
    assert processes_in_cgroup_of(info.id) == []


def test_a_start_under_way_is_waited_for_and_a_dead_one_is_over(
    engine_with_busybox: Engine, net: str
) -> None:
    e = engine_with_busybox
    info = e.create_container(ContainerSpec(
        name=f"wait-{_uid()}", image="busybox", command=("sleep", "300"),
        networks=(NetworkAttachment(net, ()),),
    ))
    # A live process owns the start (as a supervisor busy filling a volume would).
    owner = subprocess.Popen(["sleep", "300"])
    try:
        e.containers.claim_start(info.id, owner.pid, start_time(owner.pid))
        seen = e.inspect(info.id)
        assert seen.status is ContainerStatus.CREATED and seen.state.starting  # what ps shows
        done: list[ContainerInfo] = []
        waiter = threading.Thread(target=lambda: done.append(e.start_container(info.id)))
        waiter.start()
        waiter.join(timeout=1.0)
        assert waiter.is_alive() and not done, "a second start did not wait for the first"
        owner.kill()  # the owner dies half-way: its start is over, the waiter starts it
        owner.wait()
        waiter.join(timeout=60)
        assert done and done[0].status is ContainerStatus.RUNNING
        assert not done[0].state.starting
        assert len(processes_in_cgroup_of(info.id)) == 1
    finally:
        owner.kill()
        owner.wait()
        e.remove_container(info.id, force=True)


def test_a_new_start_releases_what_a_supervisor_killed_unobserved_left(
    engine_with_busybox: Engine, net: str
) -> None:
    """The old supervisor dies between the caller's look and the new supervisor's claim: the
    claim kills what is still in the cgroup (here a process of the old run that outlived it)
    instead of starting the new run beside it."""
    from engine.cgroups import container_cgroup
    from engine.processes import is_alive
    from engine.supervisor import Supervisor

    e = engine_with_busybox
    info = e.start_container(e.create_container(ContainerSpec(
        name=f"left-{_uid()}", image="busybox", command=("sleep", "300"),
        networks=(NetworkAttachment(net, ()),),
    )).id)
    state = info.state
    cgroup = container_cgroup(info.id, None)
    leftover = subprocess.Popen(["sleep", "300"], preexec_fn=cgroup.join_self)
    try:
        assert state.supervisor_pid is not None
        subprocess.run(["kill", "-9", str(state.supervisor_pid)], check=True)
        for _ in range(200):  # bounded: the kernel reaps it at once
            if not is_alive(state.supervisor_pid, state.supervisor_start):
                break
            threading.Event().wait(0.05)
        Supervisor(e.layout, info.id).claim_start()  # as the next start's supervisor does
        leftover.wait(timeout=10)  # killed by the claim
        assert processes_in_cgroup_of(info.id) == []
        assert not any(path.exists() for path in cgroup.dirs())
        claimed = e.containers.load_state(info.id)
        assert claimed.starting and claimed.status is ContainerStatus.EXITED
        assert claimed.addresses == {}
    finally:
        leftover.kill()
        leftover.wait()
        e.containers.update_state(info.id, starting=False)
        e.remove_container(info.id, force=True)
