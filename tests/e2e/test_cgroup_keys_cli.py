"""The cgroup and namespace keys through `pycompose up`, as `docker compose` passes them to
Docker: no "not supported" warning any more, inspect's HostConfig as Docker's shows them."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import socket
import uuid

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401
from tests.integration.test_cgroup_keys import V1, _remove_tree


def test_cgroup_and_namespace_keys_reach_the_container(stack: Stack) -> None:
    top = f"pctest-{uuid.uuid4().hex[:10]}"
    try:
        stack.write({"k": SLEEPER + (
            f"cgroup_parent: /{top}/app\n"
            "mem_swappiness: 5\n"
            "device_cgroup_rules: ['c 10:237 rwm']\n"
            "uts: host\n"
            "cgroup: host\n"
        )})
        up = stack.ok("up", "-d")
        assert "not supported" not in up.stderr and "ignored" not in up.stderr, up.stderr
        inside = stack.ok("exec", "-T", "k", "sh", "-c",
                          "hostname; grep -c /" + top + "/app/ /proc/self/cgroup").stdout.split()
        assert inside[0] == socket.gethostname() and int(inside[1]) >= 1
        document = json.loads(stack.ok("container", "inspect", f"{stack.name}-k-1").stdout)
        host = (document[0] if isinstance(document, list) else document)["HostConfig"]
        assert host["CgroupParent"] == f"/{top}/app"
        assert host["MemorySwappiness"] == (5 if V1 else None)  # discarded on v2, as Docker
        assert host["DeviceCgroupRules"] == ["c 10:237 rwm"]
        assert host["UTSMode"] == "host" and host["CgroupnsMode"] == "host"
        stack.ok("down", "-t", "0")
    finally:
        stack.cli("down", "-t", "0")
        _remove_tree(top)
