"""`stats` as docker compose's: the containers' resource usage read from their cgroups and
network namespaces, in docker's columns and units."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import json
import re
import time

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

BUSY = (
    'image: busybox\ncommand: ["sh", "-c", "while :; do :; done"]\nstop_grace_period: 0s\n'
    "mem_limit: 64m\npids_limit: 50\n"
)
FORKS = (  # three sleeping children beside the shell: four pids in the cgroup
    'image: busybox\ncommand: ["sh", "-c", "sleep 300 & sleep 300 & sleep 300 & wait"]\n'
    "stop_grace_period: 0s\n"
)


def _rows(stack: Stack, *args: str) -> dict[str, dict[str, str]]:
    out = stack.ok("stats", "--no-stream", "--format", "json", *args).stdout
    rows = [json.loads(line) for line in out.splitlines()]
    return {row["Name"]: row for row in rows}


def test_stats_reports_cpu_memory_limit_and_pids_of_running_containers(stack: Stack) -> None:
    stack.write({"busy": BUSY, "forks": FORKS, "done": 'image: busybox\ncommand: ["true"]\n'})
    stack.ok("up", "-d")
    rows = _rows(stack)
    busy, forks = rows[f"{stack.name}-busy-1"], rows[f"{stack.name}-forks-1"]
    assert f"{stack.name}-done-1" not in rows  # exited: only with --all
    assert float(busy["CPUPerc"].rstrip("%")) > 10  # a busy loop over the last second
    assert float(forks["CPUPerc"].rstrip("%")) < 10
    usage, limit = busy["MemUsage"].split(" / ")
    assert limit == "64MiB" and usage.endswith(("KiB", "MiB"))
    assert float(busy["MemPerc"].rstrip("%")) > 0
    assert forks["MemUsage"].split(" / ")[1].endswith("GiB")  # no limit: the host's memory
    assert forks["PIDs"] == "4"
    assert len(busy["ID"]) == 12


def test_stats_all_shows_stopped_containers_with_zero_usage(stack: Stack) -> None:
    stack.write({"done": 'image: busybox\ncommand: ["true"]\n', "web": SLEEPER})
    stack.ok("up", "-d")
    for _ in range(100):  # bounded: `true` exits at once
        if stack.states().get(f"{stack.name}-done-1") == "exited":
            break
        time.sleep(0.05)
    rows = _rows(stack, "--all", "--no-trunc", "done")
    assert list(rows) == [f"{stack.name}-done-1"]
    done = rows[f"{stack.name}-done-1"]
    assert (done["CPUPerc"], done["MemUsage"], done["NetIO"], done["PIDs"]) == (
        "0.00%", "0B / 0B", "0B / 0B", "0",
    )
    assert len(done["ID"]) == 64


def test_stats_table_has_dockers_columns(stack: Stack) -> None:
    stack.write({"web": SLEEPER})
    stack.ok("up", "-d")
    lines = stack.ok("stats", "--no-stream").stdout.splitlines()
    assert re.split(" {3,}", lines[0]) == [
        "CONTAINER ID", "NAME", "CPU %", "MEM USAGE / LIMIT", "MEM %", "NET I/O",
        "BLOCK I/O", "PIDS",
    ]
    assert lines[1].split()[1] == f"{stack.name}-web-1"
    bad = stack.cli("stats", "--no-stream", "--format", "{{.Nope}}")
    assert bad.returncode != 0 and "can't evaluate field Nope" in bad.stderr
    unknown = stack.cli("stats", "--no-stream", "nosuch")
    assert unknown.returncode != 0 and "no such service: nosuch" in unknown.stderr


def test_stats_of_a_host_network_container_has_no_network_io(stack: Stack) -> None:
    """Docker reports no network counters for a container in the host's network namespace
    (they would be the host's); `{{json .}}` has the keys in the order `--format json` has."""
    stack.write({"h": SLEEPER + "network_mode: host\n"})
    stack.ok("up", "-d")
    rows = _rows(stack)
    assert rows[f"{stack.name}-h-1"]["NetIO"] == "0B / 0B"
    templated = stack.ok("stats", "--no-stream", "--format", "{{json .}}").stdout
    assert list(json.loads(templated.splitlines()[0])) == sorted(rows[f"{stack.name}-h-1"])
