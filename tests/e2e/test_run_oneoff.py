"""`pycompose run` as a user sees it, on the fast path (no Typer) and on the Typer path alike:
output streamed while the container runs, another process sees the one-off running, Ctrl-C /
SIGTERM stop it and `--rm` leaves nothing, exit codes and stderr passed through."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PYCOMPOSE, run_cli

STACK = "services:\n  svc:\n    image: busybox\n    stop_grace_period: 1s\n"


class Project:
    def __init__(self, directory: Path, root: Path) -> None:
        self.directory = directory
        self.root = root
        self.name = f"oneoff{uuid.uuid4().hex[:8]}"
        (directory / "compose.yaml").write_text(STACK)

    def cli(self, *args: str, input: str | None = None) -> subprocess.CompletedProcess[str]:
        return run_cli(["-p", self.name, *args], cwd=self.directory, root=self.root, input=input)

    def popen(self, *args: str) -> subprocess.Popen[str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
        env["PYCOMPOSE_ROOT"] = str(self.root)
        return subprocess.Popen(
            [PYCOMPOSE, "-p", self.name, *args], cwd=self.directory, env=env, text=True,
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )

    def states(self) -> dict[str, str]:
        from engine.api import Engine

        engine = Engine(self.root)
        found = engine.list_containers({"com.docker.compose.project": self.name})
        return {c.name: c.status.value for c in found}

    def containers(self) -> list[str]:
        from engine.api import Engine

        engine = Engine(self.root)
        return [c.name for c in engine.list_containers({"com.docker.compose.project": self.name})]


@pytest.fixture
def project(tmp_path: Path, busybox_tarball: Path) -> Iterator[Project]:
    root = tmp_path / "root"
    imported = run_cli(
        ["image", "import", str(busybox_tarball), "busybox"], cwd=tmp_path, root=root
    )
    assert imported.returncode == 0, imported.stderr
    made = Project(tmp_path, root)
    yield made
    made.cli("down", "-v", "-t", "0", "--remove-orphans")


def _first_line(process: subprocess.Popen[str], seconds: float = 30) -> str:
    assert process.stdout is not None
    ready, _, _ = select.select([process.stdout], [], [], seconds)
    assert ready, "no output streamed while the container runs"
    return process.stdout.readline()


@pytest.mark.parametrize("how", ["SIGINT", "SIGTERM"])
def test_output_streams_ps_sees_the_run_and_an_interrupt_removes_it(
    project: Project, how: str
) -> None:
    process = project.popen("run", "--rm", "svc", "sh", "-c", "echo started; exec sleep 60")
    try:
        assert _first_line(process) == "started\n"  # streamed: the container still runs
        # what another terminal's `ps` reads: the engine's state files, observed liveness
        running = project.states()
        assert [s for n, s in running.items() if n.startswith(f"{project.name}-svc-run-")] == [
            "running"
        ], running
        began = time.monotonic()
        process.send_signal(getattr(signal, how))
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 130
    assert time.monotonic() - began < 20  # stopped, not left to sleep out its 60 s
    assert project.containers() == []


def test_exit_code_stdout_and_stderr_are_passed_through(project: Project) -> None:
    result = project.cli("run", "--rm", "svc", "sh", "-c", "echo out; echo err >&2; exit 7")
    assert result.returncode == 7
    assert result.stdout == "out\n"
    assert "err\n" in result.stderr
    assert project.containers() == []


def test_stdin_is_the_containers_and_its_end_is_the_containers_eof(project: Project) -> None:
    """docker compose's `run` is interactive by default: piped input reaches the command, and
    the end of ours ends its (`cat` returns); several lines, read one at a time."""
    result = project.cli("run", "--rm", "svc", "cat", input="hello\n" * 20000)
    assert (result.returncode, result.stdout.count("hello\n")) == (0, 20000), result.stderr
    result = project.cli(
        "run", "--rm", "-T", "svc", "sh", "-c", 'read a; read b; echo "$b $a"; exit 4',
        input="one\ntwo\n",
    )
    assert (result.returncode, result.stdout) == (4, "two one\n")
    assert project.cli("run", "--rm", "svc", "cat").returncode == 0  # empty stdin: EOF at once
    assert project.containers() == []


def test_a_terminal_gets_a_pty_of_the_container(project: Project) -> None:
    """On a terminal, `run` gives the command a pty (as docker compose does unless -T): it
    sees /dev/pts/0, TERM and our window size, keys reach it, its exit code is ours."""
    import pty
    import struct
    import termios
    from fcntl import ioctl

    master, slave = pty.openpty()
    ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(project.root)
    process = subprocess.Popen(
        [PYCOMPOSE, "-p", project.name, "--progress", "quiet", "run", "--rm", "svc", "sh", "-c",
         'read line; tty; echo "$TERM $(stty size) $line"; exit 6'],
        cwd=project.directory, env=env, stdin=slave, stdout=slave, stderr=slave,
        start_new_session=True,
    )
    os.close(slave)
    try:
        os.write(master, b"typed\r")
        output = b""
        deadline = time.monotonic() + 30
        while process.poll() is None and time.monotonic() < deadline:
            if select.select([master], [], [], 0.2)[0]:
                with contextlib.suppress(OSError):
                    output += os.read(master, 4096)
        assert process.wait(timeout=10) == 6, output
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(master)
    text = output.decode(errors="replace")
    assert "/dev/pts/0" in text and "xterm 40 100 typed" in text, text
    assert project.containers() == []


def test_t_without_a_terminal_is_refused_and_T_disables_the_pty(project: Project) -> None:
    """docker compose's `run -t` with a stdin that is no terminal is its CLI's "the input
    device is not a TTY" (nothing made); without our stdin (--interactive=false) the pty is
    given and its output comes through it (CRLF line ends); `-T` gives none."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(project.root)
    script = "[ -t 0 ] && echo tty || echo notty; exit 3"
    # combined short flags (-it, -iT) are Typer's to parse, the others the fast parser's
    for flags, expected in ((("-t",), None), (("--tty",), None), (("-it",), None),
                            (("-t", "--interactive=false"), b"tty\r\n"),
                            (("-T",), b"notty\n"), (("-iT",), b"notty\n"), ((), b"notty\n")):
        result = subprocess.run(
            [PYCOMPOSE, "-p", project.name, "run", "--rm", *flags, "svc", "sh", "-c", script],
            cwd=project.directory, env=env, stdin=subprocess.DEVNULL, capture_output=True,
            timeout=120, check=False,
        )
        if expected is None:
            assert result.returncode == 1, (flags, result)
            assert b"the input device is not a TTY" in result.stderr, (flags, result)
        else:
            assert (result.returncode, result.stdout) == (3, expected), (flags, result)
    assert project.containers() == []


def test_a_one_off_ignores_the_services_restart_policy_and_tty(project: Project) -> None:
    """docker compose runs a one-off without the service's restart policy (it ends once, its
    exit code is ours) and with the pty and stdin its own flags choose: piped input reaches a
    `tty: true` service's command as plain input."""
    (project.directory / "compose.yaml").write_text(
        STACK + "    restart: always\n    tty: true\n    stdin_open: false\n"
    )
    once = project.cli("run", "svc", "sh", "-c", "echo once; exit 3")
    assert (once.returncode, once.stdout) == (3, "once\n"), once
    time.sleep(1)  # a restart policy would have started it again by now
    assert set(project.states().values()) == {"exited"}
    piped = project.cli("run", "--rm", "svc", "sh", "-c", "[ -t 0 ] || cat", input="hi\n")
    assert (piped.returncode, piped.stdout) == (0, "hi\n"), piped


def test_run_d_takes_its_terminal_and_stdin_from_the_flags(project: Project) -> None:
    """`run -d` as docker compose's: no pty without a terminal even for a `tty: true` service,
    stdin kept open even when the service says `stdin_open: false`."""
    from engine.api import Engine

    (project.directory / "compose.yaml").write_text(
        STACK + "    tty: true\n    stdin_open: false\n"
    )
    name = project.cli("run", "-d", "svc", "sleep", "30").stdout.strip()
    spec = Engine(project.root).inspect(name).record.spec
    assert (spec.tty, spec.stdin_open) == (False, True)


def test_dockers_boolean_spellings(project: Project) -> None:
    """`--rm=false`, `-T=true`: docker's spellings, read by the Typer path (the fast parser
    leaves them to it); a value Go cannot read is docker's error."""
    kept = project.cli("run", "--rm=false", "-T=true", "svc", "sh", "-c", "[ -t 0 ] || echo no")
    assert (kept.returncode, kept.stdout) == (0, "no\n"), kept.stderr
    assert len(project.containers()) == 1  # not removed: --rm=false
    gone = project.cli("run", "--rm=true", "--tty=false", "svc", "true")
    assert gone.returncode == 0 and len(project.containers()) == 1, gone.stderr
    bad = project.cli("run", "--rm=maybe", "svc", "true")
    assert bad.returncode == 1
    assert 'invalid argument "maybe" for "--rm" flag: strconv.ParseBool' in bad.stderr


def _gone_within(project: Project, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if project.containers() == []:
            return True
        time.sleep(0.1)
    return False



def _kill_once_started(project: Project, *args: str) -> None:
    """The CLI SIGKILLed once its one-off printed its first line (a CI runner killing the job)."""
    process = project.popen(*args)
    try:
        assert _first_line(process) == "started\n"
        process.kill()
        process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()


def test_rm_removes_the_one_off_even_without_its_cli(project: Project) -> None:
    """Docker's AutoRemove: `run -d --rm` is removed when it exits, and so is an attached
    `run --rm` whose CLI was killed (its supervisor removes it once no client holds it)."""
    detached = project.cli("run", "-d", "--rm", "svc", "sh", "-c", "sleep 0.3")
    assert detached.returncode == 0, detached.stderr
    assert _gone_within(project, 20)
    _kill_once_started(project, "run", "--rm", "svc", "sh", "-c", "echo started; sleep 1")
    assert _gone_within(project, 20)


def test_a_killed_run_rm_leaves_no_anonymous_volume(project: Project) -> None:
    """`run --rm` whose CLI is SIGKILLed (a CI runner killing the job): its supervisor removes
    the one-off when its command ends, and its anonymous volume with it, as Docker's
    AutoRemove does (one was left per killed run)."""
    (project.directory / "compose.yaml").write_text(STACK + '    volumes: ["/scratch"]\n')
    _kill_once_started(project, "run", "--rm", "-T", "svc", "sh", "-c", "echo started; sleep 2")
    assert _gone_within(project, 20), "the --rm one-off was not removed after its command ended"
    deadline = time.monotonic() + 10  # removed just after the container, by the same process
    while (left := project.cli("volume", "ls", "-q").stdout.split()) and (
        time.monotonic() < deadline
    ):
        time.sleep(0.2)
    assert left == [], f"anonymous volumes left by a killed run --rm: {left}"


def test_typer_path_runs_the_same_command(project: Project) -> None:
    """Combined short flags are not read by the fast path: Typer runs them, same result."""
    result = project.cli("run", "-dT", "svc", "sleep", "300")
    assert result.returncode == 0, result.stderr
    name = result.stdout.strip()
    assert name.startswith(f"{project.name}-svc-run-")
    assert project.containers() == [name]


def test_errors_are_one_line_with_the_right_exit_code(project: Project) -> None:
    missing = project.cli("run", "--rm", "nosuch", "true")
    assert missing.returncode == 1
    assert missing.stderr.strip() == "Error: no such service: nosuch"
    usage = project.cli("run", "--rm")
    assert usage.returncode == 2
    assert "Missing argument" in usage.stderr
    assert project.containers() == []


def test_env_from_file_fills_what_e_does_not_set(project: Project) -> None:
    """docker compose's `run --env-from-file`: each file adds the variables `-e` did not set,
    with the env-file syntax (`${VAR}` of earlier lines); a missing file is an error."""
    (project.directory / "one.env").write_text("A=from-file\nB=${A}-b\nC=file\n")
    done = project.cli("run", "--rm", "--env-from-file", "one.env", "-e", "C=cli", "svc",
                       "sh", "-c", 'echo "$A $B $C"')
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "from-file from-file-b cli"
    missing = project.cli("run", "--rm", "--env-from-file", "nope.env", "svc", "true")
    assert missing.returncode == 1 and "env file nope.env not found" in missing.stderr


def test_a_run_with_the_project_cached_loads_no_yaml(project: Project) -> None:
    """A `run --rm` of an unchanged project takes it from the project cache: the loader's
    modules (yaml, jsonschema: ~25 ms) stay unloaded however the run is given its
    environment (a lazy import once put them back on every run)."""
    traced = {"PYTHONPROFILEIMPORTTIME": "1"}  # the cache key holds the environment: twice
    for _ in range(2):
        done = run_cli(["-p", project.name, "run", "--rm", "-e", "X=1", "svc", "true"],
                       cwd=project.directory, root=project.root, env=traced)
        assert done.returncode == 0, done.stderr
    imported = {line.rsplit("|", 1)[-1].strip() for line in done.stderr.splitlines()
                if line.startswith("import time:")}
    assert "compose.cli.oneoff" in imported  # the trace is there
    assert not imported & {"yaml", "jsonschema", "compose.loader", "compose.dotenv"}
