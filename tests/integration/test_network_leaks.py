"""Issue 5's leak acceptance: after 50 `up`/`down` cycles of a 3-network project (one network
internal, a published port, a service on all three), the host has no extra links, rules,
netns, mounts, cgroups or processes.

The cycles drive the code `pycompose up -d` / `down` run (load_project -> Orchestrator ->
Engine) in this process, which keeps 50 cycles to a few seconds each way. Other sessions may
use the same kernel at the same time: only objects that carry one of *our* marks (the data
root, the containers' ids, our bridges and veth names) count as leaks.
"""

from __future__ import annotations

import time
import uuid
from pathlib import Path

from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import DownOptions, Orchestrator, UpOptions
from engine.api import Engine
from engine.dns_control import resolver_running
from netdriver import names
from tests.leaks import kernel_snapshot

CYCLES = 50

STACK = """
services:
  a:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    ports: ["80"]
    networks: [one, two, three]
  b:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [two]
  c:
    image: busybox
    command: ["sleep", "300"]
    stop_grace_period: 0s
    networks: [three]
networks:
  one: {}
  two: {}
  three:
    internal: true
"""


def test_fifty_up_down_cycles_of_a_three_network_project_leave_nothing(
    engine_with_busybox: Engine, tmp_path: Path
) -> None:
    engine = engine_with_busybox
    directory = tmp_path / "leaks"
    directory.mkdir()
    (directory / "compose.yaml").write_text(STACK)
    project = load_project(
        LoadOptions(project_name=f"leak{uuid.uuid4().hex[:6]}", cwd=directory, environ={})
    )
    orchestrator = Orchestrator(engine, project)
    before = kernel_snapshot()
    marks: set[str] = {str(engine.layout.root)}
    seen_bridges: set[str] = set()
    try:
        for _ in range(CYCLES):
            orchestrator.up(UpOptions())
            running = engine.list_containers()
            assert sorted(c.status.value for c in running) == ["running"] * 3
            networks = engine.networks.list_networks()
            assert len(networks) == 3
            for info in running:
                marks.add(info.id)
                marks.update(names.host_veth_name(n.id, info.id) for n in networks)
            seen_bridges.update(n.bridge for n in networks)
            orchestrator.down(DownOptions(remove_orphans=True, timeout=0))
            assert engine.list_containers() == [] and engine.networks.list_networks() == []
    finally:  # a failed cycle must not strand containers and bridges
        orchestrator.down(DownOptions(remove_orphans=True, timeout=0))
    marks |= seen_bridges
    assert len(seen_bridges) == 3 * CYCLES  # fresh networks every cycle, not one reused set
    for _ in range(50):  # bounded: the resolver leaves at the nudge of the last removal
        if not resolver_running(engine.layout.root):
            break
        time.sleep(0.1)
    leaked = {
        kind: [item for item in items if any(mark in item for mark in marks)]
        for kind, items in kernel_snapshot().leaked_since(before).items()
    }
    assert {kind: items for kind, items in leaked.items() if items} == {}
    assert not resolver_running(engine.layout.root)
