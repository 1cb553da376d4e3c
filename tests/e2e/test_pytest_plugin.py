"""Stacks as test fixtures, end to end: the `compose.Stack` API and the pytest plugin, run the
way users run them (a real `pytest` process on real containers, busybox imported through the
`pycompose` CLI)."""

from __future__ import annotations

import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from compose import ServiceNotReadyError, Stack, StackError
from compose.errors import ServiceNotFoundError
from engine.api import ContainerStatus, Engine
from tests.conftest import run_cli

REPO = Path(__file__).resolve().parents[2]
EXAMPLE = REPO / "examples" / "pytest"


@pytest.fixture
def root(engine_root: Path, busybox_tarball: Path, tmp_path: Path) -> Path:
    """A private data root with busybox imported by the CLI, as a user would."""
    done = run_cli(
        ["image", "import", str(busybox_tarball), "busybox:latest"], cwd=tmp_path, root=engine_root
    )
    assert done.returncode == 0, done.stderr
    return engine_root


def run_pytest(
    args: list[str], *, cwd: Path, root: Path, timeout: float = 300
) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("COMPOSE_", "PYTEST_")) and k != "PYCOMPOSE_TEST_NO_LEAK_CHECK"
    }
    env["PYCOMPOSE_ROOT"] = str(root)
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def leftovers(root: Path) -> tuple[list[str], list[str]]:
    engine = Engine(root)
    return (
        [c.name for c in engine.list_containers()],
        [n.name for n in engine.networks.list_networks()],
    )


def copy_example(into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(EXAMPLE / "compose.yaml", into / "compose.yaml")
    return into


# ---- the example, as the project's suite runs it ----------------------------------------------
def test_example_suite_passes_and_cleans_up(root: Path) -> None:
    done = run_pytest([str(EXAMPLE), "-q"], cwd=REPO, root=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert re.search(r"\b5 passed\b", done.stdout), done.stdout
    assert leftovers(root) == ([], [])


# ---- failures ---------------------------------------------------------------------------------
FAILING_MODULE = """
    import os
    import pytest

    pytestmark = pytest.mark.compose("compose.yaml")

    def test_fails_after_using_the_stack(compose_stack):
        with open(os.environ["NAMES_FILE"], "a") as out:
            out.write(compose_stack.project_name + "\\n")
        compose_stack.service("client").wait_for_log("client got", timeout=30)
        assert compose_stack.service("web").exec(["true"])[0] == 1, "deliberate failure"
"""


def _failing_suite(tmp_path: Path, ini: str = "") -> tuple[Path, Path]:
    suite = copy_example(tmp_path / "suite")
    (suite / "pytest.ini").write_text("[pytest]\ncompose_scope = function\n" + ini)
    (suite / "test_failing.py").write_text(textwrap.dedent(FAILING_MODULE))
    return suite, tmp_path / "names.txt"


def test_failing_test_tears_the_stack_down_and_reports_its_logs(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, names = _failing_suite(tmp_path)
    monkeypatch.setenv("NAMES_FILE", str(names))
    done = run_pytest([str(suite)], cwd=suite, root=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "deliberate failure" in done.stdout
    project = names.read_text().split()[0]
    # the report carries every container's log under its own section
    assert re.search(rf"pycompose logs {project}: web-1 -+\n.*web: serving /www", done.stdout)
    assert re.search(rf"pycompose logs {project}: client-1 -+\n.*client got:", done.stdout)
    assert leftovers(root) == ([], [])


def test_keep_on_failure_leaves_the_stack_and_says_how_to_remove_it(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite, names = _failing_suite(tmp_path)
    monkeypatch.setenv("NAMES_FILE", str(names))
    done = run_pytest([str(suite), "--compose-keep-on-failure"], cwd=suite, root=root)
    try:
        assert done.returncode == 1, done.stdout + done.stderr
        project = names.read_text().split()[0]
        containers, networks = leftovers(root)
        assert sorted(containers) == [f"{project}-client-1", f"{project}-web-1"]
        assert networks == [f"{project}_default"]
        engine = Engine(root)
        assert all(c.status is ContainerStatus.RUNNING for c in engine.list_containers())
        match = re.search(r"remove it with: (PYCOMPOSE_ROOT=\S+ pycompose .* down -v)", done.stdout)
        assert match, done.stdout
        assert f"-p {project}" in match.group(1)
        # the printed command works from anywhere, as a user would paste it
        removed = subprocess.run(
            match.group(1), shell=True, cwd="/", capture_output=True, text=True, timeout=120,
            check=False,
        )
        assert removed.returncode == 0, removed.stderr
        assert leftovers(root) == ([], [])
    finally:
        Stack([str(suite / "compose.yaml")], project_name=names.read_text().split()[0]
              if names.exists() else "unused", root=root).down()


def test_two_parallel_xdist_sessions_do_not_collide(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = copy_example(tmp_path / "suite")
    (suite / "pytest.ini").write_text("[pytest]\ncompose_scope = module\n")
    module = """
        import os, time
        import pytest

        pytestmark = pytest.mark.compose("compose.yaml")

        def test_stack_is_ours(compose_stack):
            web = compose_stack.service("web")
            with open(os.environ["NAMES_FILE"], "a") as out:
                out.write(f"{compose_stack.project_name} {web.ip} {web.port(8080)}\\n")
            time.sleep(1)  # overlap with the other worker's stack
            code, out = compose_stack.service("client").exec(["wget", "-qO-", "http://web:8080/"])
            assert (code, out) == (0, "hello from web\\n")
    """
    for name in ("test_one.py", "test_two.py"):
        (suite / name).write_text(textwrap.dedent(module))
    names = tmp_path / "names.txt"
    monkeypatch.setenv("NAMES_FILE", str(names))
    done = run_pytest([str(suite), "-n", "2", "--dist", "loadfile", "-q"], cwd=suite, root=root)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "2 passed" in done.stdout
    rows = [line.split() for line in names.read_text().splitlines()]
    assert len(rows) == 2
    assert len({r[0] for r in rows}) == 2  # distinct projects
    assert {r[0].split("-")[1] for r in rows} == {"gw0", "gw1"}
    assert len({r[1] for r in rows}) == 2 and len({r[2] for r in rows}) == 2
    assert leftovers(root) == ([], [])


def test_ctrl_c_during_a_test_still_removes_the_stack(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = copy_example(tmp_path / "suite")
    names = tmp_path / "names.txt"
    (suite / "test_slow.py").write_text(
        textwrap.dedent(
            """
            import os, time
            import pytest

            @pytest.mark.compose("compose.yaml")
            def test_slow(compose_stack):
                with open(os.environ["NAMES_FILE"], "w") as out:
                    out.write(compose_stack.project_name)
                time.sleep(60)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "PYTEST_"))}
    env.update(PYCOMPOSE_ROOT=str(root), NAMES_FILE=str(names))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(suite)],
        cwd=suite, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        for _ in range(600):
            if names.exists() and names.read_text():
                break
            time.sleep(0.1)
        assert leftovers(root)[0], "the stack never came up"
        process.send_signal(signal.SIGINT)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert "KeyboardInterrupt" in output
    assert leftovers(root) == ([], [])


def test_a_stack_that_cannot_start_names_the_service_and_shows_its_log(
    root: Path, tmp_path: Path
) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "compose.yaml").write_text(
        "services:\n  db:\n    image: busybox\n"
        "    command: [sh, -c, 'echo starting db; echo config is broken >&2; exit 3']\n"
    )
    (suite / "test_db.py").write_text(
        textwrap.dedent(
            """
            import pytest

            @pytest.mark.compose("compose.yaml")
            def test_db(compose_stack):
                pass
            """
        )
    )
    done = run_pytest([str(suite)], cwd=suite, root=root)
    assert done.returncode == 1, done.stdout + done.stderr
    assert 'service "db"' in done.stdout and "exited with code 3" in done.stdout
    assert "config is broken" in done.stdout  # the log tail is in the error
    assert leftovers(root) == ([], [])


def test_no_stack_files_is_a_usage_error(root: Path, tmp_path: Path) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "test_x.py").write_text("def test_x(compose_stack):\n    pass\n")
    done = run_pytest([str(suite)], cwd=suite, root=root)
    assert done.returncode != 0
    assert "@pytest.mark.compose" in done.stdout + done.stderr


# ---- the Python API directly --------------------------------------------------------------------
def test_stack_context_manager_tears_down_on_an_exception(root: Path, tmp_path: Path) -> None:
    copy_example(tmp_path)
    project = f"api{secrets.token_hex(3)}"
    stack = Stack([tmp_path / "compose.yaml"], project_name=project, root=root)
    with pytest.raises(RuntimeError, match="boom"), stack:
        web = stack.service("web")
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", web.ip)
        assert web.port(8080) > 0
        web.wait_for_port(8080, timeout=30)
        assert stack.service("client").wait_for_log("client got", timeout=30)
        assert "web-1 | web: serving" in stack.logs()
        raise RuntimeError("boom")
    assert leftovers(root) == ([], [])


def test_stack_context_manager_tears_down_on_keyboard_interrupt(
    root: Path, tmp_path: Path
) -> None:
    copy_example(tmp_path)
    stack = Stack([tmp_path / "compose.yaml"], project_name=f"ki{secrets.token_hex(3)}", root=root)
    with pytest.raises(KeyboardInterrupt), stack:
        raise KeyboardInterrupt
    assert leftovers(root) == ([], [])


def test_service_helpers_fail_with_clear_errors(root: Path, tmp_path: Path) -> None:
    copy_example(tmp_path)
    with Stack([tmp_path / "compose.yaml"], project_name=f"er{secrets.token_hex(3)}",
               root=root) as stack:
        web = stack.service("web")
        with pytest.raises(ServiceNotFoundError, match="no such service: nope"):
            stack.service("nope")
        with pytest.raises(StackError, match="does not publish port 9999/tcp"):
            web.port(9999)
        started = time.monotonic()
        with pytest.raises(ServiceNotReadyError) as caught:
            web.wait_for_log("never printed", timeout=0.5)
        assert time.monotonic() - started < 10
        assert "web: serving" in str(caught.value)  # the log tail
        with pytest.raises(ServiceNotReadyError, match="port 9 not reachable"):
            web.wait_for_port(9, timeout=0.5)
        assert web.exec(["sh", "-c", "echo $TARGET"], env={"TARGET": "x"}) == (0, "x\n")
        assert stack.service("client").exec(["sh", "-c", "echo $TARGET"]) == (
            0,
            "http://web:8080/\n",
        )
    assert leftovers(root) == ([], [])


def test_up_wait_reports_an_unready_service_with_its_log_tail(
    root: Path, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  job:\n    image: busybox\n"
        "    command: [sh, -c, 'echo about to fail; exit 4']\n"
        "  ok:\n    image: busybox\n    command: [sh, -c, 'echo done']\n"
    )
    stack = Stack([tmp_path / "compose.yaml"], project_name=f"nr{secrets.token_hex(3)}", root=root)
    with pytest.raises(ServiceNotReadyError) as caught, stack:
        pass
    message = str(caught.value)
    assert 'service "job"' in message and "exited with code 4" in message
    assert "about to fail" in message
    assert 'service "ok"' not in message  # exiting 0 is a finished one-shot job, not a failure
    assert leftovers(root) == ([], [])


HEALTH = """
services:
  slow:
    image: busybox
    command: [sh, -c, "trap 'exit 0' TERM; sleep 1; touch /tmp/ready; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD", "test", "-e", "/tmp/ready"]
      interval: 200ms
      retries: 100
  sick:
    image: busybox
    profiles: [sick]
    command: [sh, -c, "trap 'exit 0' TERM; echo sick starting; sleep 3600 & wait"]
    healthcheck:
      test: ["CMD-SHELL", "echo probe says no; exit 1"]
      interval: 200ms
      retries: 2
"""


def test_up_waits_for_healthy_and_reports_unhealthy_with_probe_output(
    root: Path, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(HEALTH)
    with Stack([tmp_path / "compose.yaml"], project_name=f"hc{secrets.token_hex(3)}",
               root=root) as stack:
        state = stack.service("slow").container.state
        assert state.health_status == "healthy"  # not merely running: the probe passed
        assert stack.service("slow").exec(["test", "-e", "/tmp/ready"])[0] == 0
    sick = Stack([tmp_path / "compose.yaml"], project_name=f"hs{secrets.token_hex(3)}",
                 profiles=["sick"], root=root)
    with pytest.raises(ServiceNotReadyError) as caught, sick:
        pass
    message = str(caught.value)
    assert 'service "sick"' in message and "unhealthy" in message
    assert "exit 1: probe says no" in message  # the last health check results
    assert "sick starting" in message  # and the log tail
    assert leftovers(root) == ([], [])


# ---- failures the exploratory tests found -------------------------------------------------------
MIGRATION = """
services:
  migrate:
    image: busybox
    command: [sh, -c, "echo migrating; echo table users is broken >&2; exit 1"]
  app:
    image: busybox
    command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
    depends_on:
      migrate: {condition: service_completed_successfully}
"""


def test_a_failed_dependency_is_reported_with_its_log_before_teardown(
    root: Path, tmp_path: Path
) -> None:
    (tmp_path / "compose.yaml").write_text(MIGRATION)
    stack = Stack([tmp_path / "compose.yaml"], project_name=f"mg{secrets.token_hex(3)}",
                  root=root, up_timeout=60)
    with pytest.raises(ServiceNotReadyError) as caught, stack:
        pass
    message = str(caught.value)
    assert "didn't complete successfully: exit 1" in message
    assert 'service "migrate"' in message and "exited with code 1" in message
    assert "table users is broken" in message  # the log, read before the stack went
    assert leftovers(root) == ([], [])


def test_plugin_tries_a_broken_stack_once_and_reports_its_logs(
    root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    suite = tmp_path / "suite"
    suite.mkdir()
    (suite / "compose.yaml").write_text(MIGRATION)
    (suite / "pytest.ini").write_text("[pytest]\ncompose_scope = module\n")
    (suite / "test_app.py").write_text(
        textwrap.dedent(
            """
            import pytest

            pytestmark = pytest.mark.compose("compose.yaml")

            def test_one(compose_stack):
                pass

            def test_two(compose_stack):
                pass
            """
        )
    )
    done = run_pytest([str(suite), "--compose-keep-on-failure"], cwd=suite, root=root)
    try:
        assert done.returncode == 1, done.stdout + done.stderr
        assert "2 errors" in done.stdout
        containers, _ = leftovers(root)
        assert len(containers) == 1 and containers[0].endswith("-migrate-1")  # one attempt
        assert re.search(r"pycompose logs \S+: migrate-1 -+\n(.*\n)*.*table users is broken",
                         done.stdout), done.stdout
        match = re.search(r"^pycompose: kept stack \S+ .*remove it with: (.* down -v)$",
                          done.stdout, re.MULTILINE)
        assert match, done.stdout
        removed = subprocess.run(match.group(1), shell=True, cwd="/", capture_output=True,
                                 text=True, timeout=120, check=False)
        assert removed.returncode == 0, removed.stderr
    finally:
        for name in {c.rsplit("-", 2)[0] for c in leftovers(root)[0]}:
            Stack([suite / "compose.yaml"], project_name=name, root=root).down()
    assert leftovers(root) == ([], [])


def _free_loopback_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_ip_and_wait_for_port_in_host_and_service_network_modes(
    root: Path, tmp_path: Path
) -> None:
    port = _free_loopback_port()
    httpd = "trap 'kill $$!; exit 0' TERM; httpd -f -p {} & wait"
    (tmp_path / "compose.yaml").write_text(
        textwrap.dedent(
            f"""
            services:
              web:
                image: busybox
                command: [sh, -c, "trap 'exit 0' TERM; sleep 3600 & wait"]
              sidecar:
                image: busybox
                network_mode: service:web
                command: [sh, -c, "{httpd.format(8081)}"]
              hosted:
                image: busybox
                network_mode: host
                command: [sh, -c, "{httpd.format(f'127.0.0.1:{port}')}"]
            """
        )
    )
    with Stack([tmp_path / "compose.yaml"], project_name=f"nm{secrets.token_hex(3)}",
               root=root) as stack:
        web_ip = stack.service("web").ip
        assert re.fullmatch(r"\d+\.\d+\.\d+\.\d+", web_ip)
        assert stack.service("sidecar").ip == web_ip
        stack.service("sidecar").wait_for_port(8081, timeout=30)
        assert stack.service("hosted").ip == "127.0.0.1"
        stack.service("hosted").wait_for_port(port, timeout=30)
    assert leftovers(root) == ([], [])


def test_sigterm_during_a_test_still_removes_the_stack(
    root: Path, tmp_path: Path
) -> None:
    suite = copy_example(tmp_path / "suite")
    ready = tmp_path / "ready"
    (suite / "test_slow.py").write_text(
        textwrap.dedent(
            f"""
            import time
            import pytest

            @pytest.mark.compose("compose.yaml")
            def test_slow(compose_stack):
                open({str(ready)!r}, "w").close()
                time.sleep(60)
            """
        )
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMPOSE_", "PYTEST_"))}
    env.update(PYCOMPOSE_ROOT=str(root))
    process = subprocess.Popen(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", str(suite)],
        cwd=suite, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    try:
        for _ in range(600):
            if ready.exists():
                break
            time.sleep(0.1)
        assert leftovers(root)[0], "the stack never came up"
        process.send_signal(signal.SIGTERM)
        output, _ = process.communicate(timeout=120)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    assert process.returncode == 2, output  # interrupted, like Ctrl-C
    assert leftovers(root) == ([], [])
