"""What a container does as Docker's would, where a tester found ours differ: exec and kill
of a paused container, the image's STOPSIGNAL, an exec's limits and groups, swap beside
mem_limit. Observed from outside and inside the container, as a user would."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

from pathlib import Path

from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

QUIET = SLEEPER + "network_mode: none\n"


def test_exec_into_a_paused_container_is_refused_and_kill_ends_it(stack: Stack) -> None:
    """Docker refuses an exec into a paused container (ours hung, frozen with it), and a
    kill of a paused one thaws it so that it dies."""
    stack.write({"t": QUIET})
    stack.ok("up", "-d")
    stack.ok("pause", "t")
    refused = stack.cli("exec", "-T", "t", "echo", "hi", timeout=20)
    assert refused.returncode != 0 and "is paused, unpause the container" in refused.stderr
    stack.ok("kill", "t")
    assert stack.states() == {f"{stack.name}-t-1": "exited"}


def test_the_image_stopsignal_is_what_stop_sends(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text(
        "FROM busybox\nSTOPSIGNAL SIGUSR1\n"
        "CMD [\"sh\", \"-c\", \"trap 'exit 7' USR1; trap 'exit 8' TERM; "
        "while :; do sleep 0.1; done\"]\n"
    )
    stack.write({"img": "build: .\nnetwork_mode: none\n"})
    stack.ok("up", "-d", "--build")
    stack.ok("stop", "-t", "5", "img")
    rows = stack.rows()
    assert rows[0]["ExitCode"] == 7, rows


def test_an_exec_runs_under_the_container_s_limits_and_groups(stack: Stack) -> None:
    stack.write({"r": QUIET + (
        "ulimits: {nofile: {soft: 1000, hard: 2000}, nproc: 77}\n"
        "oom_score_adj: 500\nuser: '65534:65534'\ngroup_add: ['10', '20']\n"
    )})
    stack.ok("up", "-d")
    script = "cat /proc/self/oom_score_adj; ulimit -n; ulimit -u; id -G"
    plain = stack.ok("exec", "-T", "r", "sh", "-c", script).stdout.split("\n")
    assert plain[:3] == ["500", "1000", "77"], plain
    assert plain[3].split() == ["65534", "10", "20"], plain
    as_root = stack.ok("exec", "-T", "-u", "0", "r", "sh", "-c", "id -G").stdout.split()
    assert as_root == ["0", "10", "20"]  # Docker keeps group_add for exec -u


def test_mem_limit_alone_allows_as_much_swap_as_memory(stack: Stack) -> None:
    """Docker: without memswap_limit, MemorySwap is twice mem_limit."""
    stack.write({"m": QUIET + "mem_limit: 50m\n"})
    stack.ok("up", "-d")
    doc = stack.ok("container", "inspect", f"{stack.name}-m-1").stdout
    assert '"MemorySwap": 104857600' in doc
    container_id = stack.ok("ps", "-q", "--no-trunc", "m").stdout.strip()
    memory = Path("/sys/fs/cgroup/memory/pycompose") / container_id
    assert memory.is_dir() or not Path("/sys/fs/cgroup/memory").is_dir()  # v1 here
    memsw = memory / "memory.memsw.limit_in_bytes"
    if memsw.exists():  # swap accounting on
        assert memsw.read_text().strip() == "104857600"


def test_domainname_is_in_the_hosts_line_and_a_relative_working_dir_is_refused(
    stack: Stack,
) -> None:
    stack.write({"d": SLEEPER + "hostname: myhost\ndomainname: example.org\n"})
    stack.ok("up", "-d")
    hosts = stack.ok("exec", "-T", "d", "cat", "/etc/hosts").stdout
    assert any(line.split()[1:] == ["myhost.example.org", "myhost"]
               for line in hosts.splitlines() if line and not line.startswith("#")), hosts
    stack.write({"d": SLEEPER + "working_dir: relative/dir\n"})
    refused = stack.cli("up", "-d")
    assert refused.returncode == 1
    assert "'relative/dir' is invalid, it needs to be an absolute path" in refused.stderr
