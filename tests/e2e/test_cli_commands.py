"""The everyday commands as a user types them: create, start, restart, kill, rm, ps filters,
top, images, events --json, cp, ls, wait, version."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

import io
import json
import os
import subprocess
import tarfile
import time
from pathlib import Path

import pytest

from tests.conftest import run_cli
from tests.e2e.test_orchestration import SLEEPER, Stack, root, stack  # noqa: F401

TWO = {"db": SLEEPER, "web": SLEEPER + "depends_on: [db]\n"}


def test_create_then_start_then_restart_kill_rm(stack: Stack) -> None:
    stack.write(TWO)
    stack.ok("create")
    assert set(stack.states().values()) == {"created"}
    stack.ok("start")
    assert set(stack.states().values()) == {"running"}
    before = stack.ids()
    restarted = stack.ok("restart", "-t", "0", "web")
    assert f"Container {stack.name}-web-1  Restarted" in restarted.stderr
    assert stack.ids() == before
    assert set(stack.states().values()) == {"running"}
    bad = stack.cli("kill", "-s", "NOSUCH", "web")
    assert bad.returncode == 1 and "invalid signal: NOSUCH" in bad.stderr
    assert "Killing" not in bad.stderr and "Traceback" not in bad.stderr
    bad = stack.cli("logs", "-n", "abc", "web")
    assert bad.returncode == 2 and "--tail: 'abc' is not a number or all" in bad.stderr
    assert set(stack.states().values()) == {"running"}
    stack.ok("kill", "-s", "SIGKILL", "web")
    assert stack.states()[f"{stack.name}-web-1"] == "exited"
    refused = stack.cli("rm", "web")  # not a terminal: needs -f
    assert refused.returncode == 1 and "-f" in refused.stderr
    stack.ok("rm", "-f", "web")
    assert set(stack.ids()) == {f"{stack.name}-db-1"}
    stack.ok("rm", "-f", "-s", "db")
    assert stack.ids() == {}


def test_ps_flags(stack: Stack) -> None:
    stack.write({**TWO, "once": 'image: busybox\ncommand: ["true"]\n'})
    stack.ok("up", "-d")
    for _ in range(100):
        if stack.states().get(f"{stack.name}-once-1") == "exited":
            break
        time.sleep(0.1)
    running = stack.ok("ps", "--services").stdout.split()
    assert running == ["db", "web"]
    assert stack.ok("ps", "-a", "--services").stdout.split() == ["db", "once", "web"]
    exited = stack.ok("ps", "--status", "exited", "--format", "json").stdout.splitlines()
    assert [json.loads(line)["Service"] for line in exited] == ["once"]
    filtered = stack.ok("ps", "--filter", "status=running", "-q").stdout.split()
    assert len(filtered) == 2 and all(len(i) == 64 for i in filtered)
    # compose filters by state without checking the value: an unknown one matches nothing
    assert stack.ok("ps", "--filter", "status=sleeping", "-q").stdout == ""
    table = stack.ok("ps").stdout.splitlines()
    assert table[0].split()[:4] == ["NAME", "IMAGE", "COMMAND", "SERVICE"]
    assert len(table) == 3


def test_top_images_ls_version(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    top = stack.ok("top").stdout.splitlines()
    assert top[0] == f"{stack.name}-db-1"
    assert top[1].split() == ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    assert top[2].split()[0] == "root" and top[2].rstrip().endswith("sleep 300")
    images = stack.ok("images").stdout.splitlines()
    assert images[1].split()[:3] == [f"{stack.name}-db-1", "busybox", "latest"]
    listed = json.loads(stack.ok("ls", "--format", "json").stdout)
    mine = [p for p in listed if p["Name"] == stack.name]
    assert mine and mine[0]["Status"] == "running(1)"
    assert str(stack.directory / "compose.yaml") in mine[0]["ConfigFiles"]
    assert stack.ok("version", "--short").stdout.strip().startswith("2.")


def test_events_json_reports_state_changes(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    env = {k: v for k, v in os.environ.items() if not k.startswith("COMPOSE_")}
    env["PYCOMPOSE_ROOT"] = str(stack.root)
    watcher = subprocess.Popen(
        ["pycompose", "-p", stack.name, "events", "--json", "--until-seconds", "6"],
        cwd=stack.directory,
        env=env,
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)  # the watcher has taken its first snapshot
    stack.ok("up", "-d")
    stack.ok("stop", "-t", "0")
    out, _ = watcher.communicate(timeout=30)
    events = [json.loads(line) for line in out.splitlines()]
    # as docker compose prints them: Go's marshalling of a map, keys sorted, no spaces
    assert all(line.startswith('{"action":"') and '", "' not in line for line in out.splitlines())
    actions = [e["action"] for e in events]
    assert actions[:2] == ["create", "start"], actions
    assert "die" in actions
    assert {e["service"] for e in events} == {"db"}
    assert events[0]["attributes"]["name"] == f"{stack.name}-db-1"


def _wait_for_file(stack: Stack, service: str, path: str) -> None:
    """Until the service's container has made `path` (its command's set-up is done); ~5 s."""
    for _ in range(100):
        if stack.cli("exec", "-T", service, "test", "-e", path).returncode == 0:
            return
        time.sleep(0.05)


def test_cp_both_ways_running_and_stopped(stack: Stack, tmp_path: Path) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    stack.ok("cp", "db:/etc/passwd", str(tmp_path / "passwd"))
    assert (tmp_path / "passwd").read_text().startswith("root:")
    (tmp_path / "note.txt").write_text("hello from the host\n")
    stack.ok("cp", str(tmp_path / "note.txt"), "db:/tmp/")
    stack.ok("cp", "db:/tmp/note.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "hello from the host\n"
    stack.ok("stop", "-t", "0")
    stack.ok("cp", "db:/tmp/note.txt", str(tmp_path / "stopped.txt"))  # from the upper dir
    assert (tmp_path / "stopped.txt").read_text() == "hello from the host\n"
    stack.ok("cp", "db:/bin/busybox", str(tmp_path / "bb"))  # from the image layer
    assert (tmp_path / "bb").stat().st_size > 100_000
    missing = stack.cli("cp", "db:/nope", str(tmp_path / "x"))
    assert missing.returncode == 1 and "could not find" in missing.stderr
    # `..` climbs no further than the container's root, as in docker: its hostname file
    stack.ok("cp", "db:/../../etc/hostname", str(tmp_path / "y"))
    assert (tmp_path / "y").read_text() != Path("/etc/hostname").read_text()


def test_cp_never_follows_a_containers_symlink_to_the_host_and_streams_tars(
    stack: Stack, tmp_path: Path
) -> None:
    """A container's absolute symlink resolves in the container (docker's chrootarchive):
    `cp` cannot be made to read or write host files through it. `-` is a tar stream."""
    host_dir = tmp_path / "hostdir"
    host_dir.mkdir()
    (host_dir / "secret").write_text("host secret\n")
    link = f'ln -s {host_dir} /escape; touch /linked; sleep 300'
    stack.write({"evil": f'image: busybox\ncommand: ["sh", "-c", "{link}"]\n'})
    stack.ok("up", "-d")
    _wait_for_file(stack, "evil", "/linked")
    stolen = stack.cli("cp", "evil:/escape/secret", str(tmp_path / "got"))
    assert stolen.returncode == 1 and not (tmp_path / "got").exists()
    (tmp_path / "payload").write_text("pwned\n")
    stack.cli("cp", str(tmp_path / "payload"), "evil:/escape/")
    assert sorted(p.name for p in host_dir.iterdir()) == ["secret"]
    env = {**os.environ, "PYCOMPOSE_ROOT": str(stack.root)}
    base = ["pycompose", "-p", stack.name]
    out = subprocess.run([*base, "cp", "evil:/etc/hostname", "-"], cwd=stack.directory,
                         env=env, capture_output=True, check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(out)) as tar:
        assert tar.getnames() == ["hostname"]
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        item = tarfile.TarInfo("d/f")
        item.size = 3
        tar.addfile(item, io.BytesIO(b"hi\n"))
    subprocess.run([*base, "cp", "-", "evil:/tmp"], cwd=stack.directory, env=env,
                   input=packed.getvalue(), capture_output=True, check=True, timeout=60)
    stack.ok("cp", "evil:/tmp/d/f", str(tmp_path / "f"))
    assert (tmp_path / "f").read_text() == "hi\n"


def test_cp_into_a_scaled_service_reaches_every_replica_unless_index(
    stack: Stack, tmp_path: Path
) -> None:
    """As docker compose's: a copy into a service goes to each of its containers (a tar on
    stdin too), `--index N` to one; a copy out of it comes from the first."""
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d", "--scale", "db=2")
    (tmp_path / "note.txt").write_text("to all\n")
    stack.ok("cp", str(tmp_path / "note.txt"), "db:/tmp/")
    packed = io.BytesIO()
    with tarfile.open(fileobj=packed, mode="w") as tar:
        item = tarfile.TarInfo("streamed")
        item.size = 3
        tar.addfile(item, io.BytesIO(b"hi\n"))
    env = {**os.environ, "PYCOMPOSE_ROOT": str(stack.root)}
    subprocess.run(["pycompose", "-p", stack.name, "cp", "-", "db:/tmp"], cwd=stack.directory,
                   env=env, input=packed.getvalue(), capture_output=True, check=True, timeout=60)
    (tmp_path / "note.txt").write_text("to two\n")
    stack.ok("cp", "--index", "2", str(tmp_path / "note.txt"), "db:/tmp/")
    seen = [stack.ok("exec", "-T", "--index", n, "db", "cat", "/tmp/note.txt", "/tmp/streamed")
            .stdout for n in ("1", "2")]
    assert seen == ["to all\nhi\n", "to two\nhi\n"]
    stack.ok("cp", "db:/tmp/note.txt", str(tmp_path / "back.txt"))
    assert (tmp_path / "back.txt").read_text() == "to all\n"


NSS_MODULE = """
#include <stdio.h>
__attribute__((constructor)) static void loaded(void) {
    FILE *f = fopen("/loaded-by-cp", "w");
    if (f) { fputs("ran in pycompose cp\\n", f); fclose(f); }
}
"""


def test_cp_loads_no_name_service_module_of_the_container(stack: Stack, tmp_path: Path) -> None:
    """docker cp's CVE-2019-14271: a tar writer chrooted in the container that looks up user
    names loads the `libnss_*.so` the container's nsswitch.conf names, as root, outside the
    container's isolation. The module here leaves a file when it is loaded."""
    source = tmp_path / "evil.c"
    source.write_text(NSS_MODULE)
    module = tmp_path / "libnss_evil.so.2"
    subprocess.run(["gcc", "-shared", "-fPIC", "-o", str(module), str(source)], check=True)
    conf = "printf 'passwd: evil\\ngroup: evil\\n' > /etc/nsswitch.conf"
    script = f"mkdir -p /lib/x86_64-linux-gnu /lib64; {conf}; touch /ready; sleep 300"
    stack.write({"evil": f'image: busybox\ncommand: ["sh", "-c", "{script}"]\n'})
    stack.ok("up", "-d")
    _wait_for_file(stack, "evil", "/ready")
    for libdir in ("/lib/x86_64-linux-gnu/", "/lib64/"):
        stack.ok("cp", str(module), f"evil:{libdir}")
    stack.ok("cp", "evil:/etc/hostname", str(tmp_path / "hostname"))  # tar of container files
    stack.ok("cp", "-a", "evil:/etc/hostname", str(tmp_path / "hostname-a"))
    stack.ok("cp", "-a", str(tmp_path / "hostname"), "evil:/tmp/")  # names from our tar
    assert stack.cli("exec", "-T", "evil", "test", "-e", "/loaded-by-cp").returncode == 1


def test_export_writes_the_containers_own_files_without_its_mounts(
    stack: Stack, tmp_path: Path
) -> None:
    """compose's `export`: the container's filesystem (image and its changes); volume and bind
    mount points are there as the empty directories they are in it, their contents are not."""
    (tmp_path / "bound").mkdir()
    (tmp_path / "bound" / "host-file").write_text("host\n")
    script = "echo inside > /made; echo vol > /data/in-volume; touch /ready; sleep 300"
    stack.write(
        {"app": f'image: busybox\ncommand: ["sh", "-c", "{script}"]\nstop_grace_period: 0s\n'
                f"volumes: [data:/data, {tmp_path / 'bound'}:/bound]\n"},
        "volumes:\n  data: {}\n",
    )
    stack.ok("up", "-d")
    _wait_for_file(stack, "app", "/ready")
    out = tmp_path / "app.tar"
    stack.ok("export", "app", "-o", str(out))
    assert out.stat().st_mode & 0o777 == 0o600
    with tarfile.open(out) as tar:
        names = set(tar.getnames())
        made = tar.extractfile("made")
        assert made is not None and made.read() == b"inside\n"
    assert {"bin/busybox", "data", "bound", "proc", "ready"} <= names
    assert not {n for n in names if n.startswith(("data/", "bound/", "proc/", "sys/"))}
    env = {**os.environ, "PYCOMPOSE_ROOT": str(stack.root)}
    piped = subprocess.run(["pycompose", "-p", stack.name, "export", "app"], cwd=stack.directory,
                           env=env, capture_output=True, check=True, timeout=60).stdout
    with tarfile.open(fileobj=io.BytesIO(piped)) as tar:
        assert set(tar.getnames()) == names
    for bad in (str(tmp_path), f"{tmp_path}/", str(tmp_path / "no" / "such.tar")):
        refused = stack.cli("export", "app", "-o", bad)
        assert refused.returncode == 1, refused.stderr
        assert "failed to export container: invalid output path" in refused.stderr
        assert "internal error" not in refused.stderr
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []
    stack.ok("stop", "app")
    stopped = stack.cli("export", "app", "-o", str(tmp_path / "none.tar"))
    assert stopped.returncode == 1 and 'service "app" is not running' in stopped.stderr
    assert not (tmp_path / "none.tar").exists()


def test_cp_trailing_slash_follow_link_and_read_only_as_docker(
    stack: Stack, tmp_path: Path
) -> None:
    """docker cp's rules: a DEST ending in `/` must be an existing directory (both ways);
    `-L` copies what a symlink points to (resolved in the container); a read-only rootfs
    is refused in words (no `[Errno 30]`)."""
    script = "echo target > /real; ln -s /real /link; touch /ready; sleep 300"
    stack.write({
        "app": f'image: busybox\ncommand: ["sh", "-c", "{script}"]\nstop_grace_period: 0s\n',
        "ro": SLEEPER + "read_only: true\n",
    })
    stack.ok("up", "-d")
    _wait_for_file(stack, "app", "/ready")
    (tmp_path / "in.txt").write_text("hi\n")
    into_missing = stack.cli("cp", str(tmp_path / "in.txt"), "app:/nodir/")
    assert into_missing.returncode == 1 and "/nodir" in into_missing.stderr
    assert stack.cli("exec", "-T", "app", "test", "-e", "/nodir").returncode == 1
    out_missing = stack.cli("cp", "app:/real", f"{tmp_path}/nodir/")
    assert out_missing.returncode == 1
    assert "the destination directory must exist" in out_missing.stderr
    assert not (tmp_path / "nodir").exists()
    stack.ok("cp", str(tmp_path / "in.txt"), "app:/tmp/")
    assert stack.ok("exec", "-T", "app", "cat", "/tmp/in.txt").stdout == "hi\n"
    stack.ok("cp", "app:/link", str(tmp_path / "as-link"))
    assert (tmp_path / "as-link").is_symlink()
    stack.ok("cp", "-L", "app:/link", str(tmp_path / "as-file"))
    assert not (tmp_path / "as-file").is_symlink()
    assert (tmp_path / "as-file").read_text() == "target\n"
    refused = stack.cli("cp", str(tmp_path / "in.txt"), "ro:/x.txt")
    assert refused.returncode == 1 and "Read-only file system" in refused.stderr
    assert "[Errno" not in refused.stderr


def test_cp_to_and_from_a_stopped_containers_volume_and_bind(
    stack: Stack, tmp_path: Path
) -> None:
    """A stopped container's volumes and binds are where its processes will see them (Docker's
    archive API mounts them): a file copied to a volume's path landed under the mount point,
    hidden from the next run, while `cp` said it was done."""
    bound = tmp_path / "bound"
    bound.mkdir()
    stack.write({"s": SLEEPER + f"volumes: [v:/v, {bound}:/b]\n"}, "volumes:\n  v: {}\n")
    stack.ok("up", "-d")
    stack.ok("exec", "-T", "s", "sh", "-c", "echo before > /v/first")
    stack.ok("stop")
    (tmp_path / "second").write_text("copied while stopped\n")
    stack.ok("cp", str(tmp_path / "second"), "s:/v/second")
    stack.ok("cp", str(tmp_path / "second"), "s:/b/third")
    assert (bound / "third").read_text() == "copied while stopped\n"
    stack.ok("cp", "s:/v/first", str(tmp_path / "first"))
    assert (tmp_path / "first").read_text() == "before\n"
    stack.ok("start")
    seen = stack.ok("exec", "-T", "s", "cat", "/v/second", "/b/third").stdout
    assert seen == "copied while stopped\n" * 2


def test_wait_returns_the_exit_code(stack: Stack) -> None:
    stack.write({"job": 'image: busybox\ncommand: ["sh", "-c", "sleep 2; exit 5"]\n'})
    stack.ok("up", "-d")
    result = stack.cli("wait", "job")
    assert result.returncode == 5, result.stderr
    assert result.stdout.startswith('container "') and result.stdout.endswith(
        " exited with status code 5\n"
    )


@pytest.mark.parametrize("mode", ["json", "quiet"])
def test_progress_modes(stack: Stack, mode: str) -> None:
    stack.write({"db": SLEEPER})
    result = stack.cli("--progress", mode, "up", "-d")
    assert result.returncode == 0, result.stderr
    if mode == "quiet":
        assert result.stderr == ""
    else:
        records = [json.loads(line) for line in result.stderr.splitlines()]
        assert {"id", "status", "elapsed"} <= set(records[0])
        assert records[-1]["status"] == "Started"


def test_down_rmi_all_removes_the_services_images(stack: Stack) -> None:
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    kept = stack.ok("down", "--rmi", "local", "-t", "0")
    assert "Image busybox" not in kept.stderr
    assert "busybox" in stack.ok("image", "ls").stdout
    stack.ok("up", "-d")
    gone = stack.ok("down", "--rmi", "all", "-t", "0")
    assert "Image busybox  Removed" in gone.stderr
    assert "busybox" not in stack.ok("image", "ls").stdout
    bad = stack.cli("down", "--rmi", "some")
    assert bad.returncode == 1 and "invalid --rmi value" in bad.stderr


def test_run_publishes_only_what_it_is_asked_to(stack: Stack) -> None:
    import socket
    import urllib.request

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    stack.write({"web": "image: busybox\n"})
    name = stack.ok(
        "run",
        "-d",
        "-p",
        f"127.0.0.1:{port}:80",
        "web",
        "sh",
        "-c",
        "mkdir -p /w; echo pong > /w/index.html; exec httpd -f -p 80 -h /w",
    ).stdout.strip()
    assert name.startswith(f"{stack.name}-web-run-")
    body = b""
    for _ in range(50):  # bounded: 5 s for httpd to listen
        try:
            body = urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=2).read()
            break
        except OSError:
            time.sleep(0.1)
    assert body == b"pong\n"


def test_stop_ends_a_container_waiting_to_restart(stack: Stack) -> None:
    """`restart: always` between two runs (state `restarting`): `stop` cancels the restart,
    as Docker's does, and says so; the container stays exited."""
    stack.write({"flaky": 'image: busybox\ncommand: ["sh", "-c", "exit 3"]\nrestart: always\n'})
    stack.ok("up", "-d")
    name = f"{stack.name}-flaky-1"
    seen = 0  # consecutive looks at it waiting: the back-off has grown long enough to stop in
    for _ in range(200):  # the back-off doubles from 100 ms: within a few runs it waits
        seen = seen + 1 if stack.states().get(name) == "restarting" else 0
        if seen == 2:
            break
        time.sleep(0.05)
    assert seen == 2, stack.states()
    stopped = stack.ok("stop", "-t", "1")
    assert f"Container {name}  Stopped" in stopped.stderr
    assert stack.states()[name] == "exited"
    time.sleep(1.0)  # longer than the back-off it was in: no restart came
    assert stack.states()[name] == "exited"


def test_pause_and_unpause_refuse_the_wrong_state(stack: Stack) -> None:
    """As docker's daemon: pausing a paused container (or unpausing a running one) is an
    error naming it, not a silent success."""
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    name = f"{stack.name}-db-1"
    assert f"Container {name}  Paused" in stack.ok("pause").stderr
    again = stack.cli("pause")
    assert again.returncode == 1 and f"container {name} is already paused" in again.stderr
    assert f"Container {name}  Unpaused" in stack.ok("unpause").stderr
    again = stack.cli("unpause")
    assert again.returncode == 1 and f"container {name} is not paused" in again.stderr
    assert stack.states()[name] == "running"


def test_down_by_project_name_alone_removes_it(stack: Stack, tmp_path: Path) -> None:
    """`pycompose -p NAME down` from a directory without a stack file: docker compose finds the
    project by its labels and removes it all (the containers are not orphans there)."""
    stack.write({"db": SLEEPER})
    stack.ok("up", "-d")
    elsewhere = tmp_path / "empty"
    elsewhere.mkdir()
    result = run_cli(["-p", stack.name, "down", "-t", "0"], cwd=elsewhere, root=stack.root)
    assert result.returncode == 0, result.stderr
    assert "orphan" not in result.stderr
    assert stack.rows() == []
    from engine.api import Engine

    assert not [n for n in Engine(stack.root).networks.list_networks() if stack.name in n.name]


def test_down_keeps_a_network_another_project_still_uses(stack: Stack, tmp_path: Path) -> None:
    """Another project's container on our network: `down` reports the network as still in
    use and exits 0 (docker compose's warning event), the network stays for the other
    project."""
    shared = f"{stack.name}-shared"
    stack.write({"db": SLEEPER}, f"networks:\n  default:\n    name: {shared}\n")
    stack.ok("up", "-d")
    other = Stack(tmp_path / "other", stack.root)
    other.directory.mkdir()
    other.write(
        {"app": SLEEPER}, f"networks:\n  default:\n    name: {shared}\n    external: true\n"
    )
    try:
        other.ok("up", "-d")
        result = stack.cli("down", "-t", "0")
        assert result.returncode == 0, result.stderr
        assert f" Network {shared}  Resource is still in use" in result.stderr
        assert other.ok("exec", "-T", "app", "true").returncode == 0
    finally:
        other.cli("down", "-t", "0")
    stack.ok("down", "-t", "0")  # once the other project is gone, it goes


def test_exec_reads_dockers_boolean_spellings(stack: Stack) -> None:
    """`exec --interactive=false`: an empty stdin; `--tty=false`: no pty (as -T); on both the
    fast path and Typer's (combined short flags)."""
    stack.write({"web": SLEEPER})
    stack.ok("up", "-d")

    def exec_(*args: str) -> subprocess.CompletedProcess[str]:
        return run_cli(["-p", stack.name, "exec", *args], cwd=stack.directory, root=stack.root,
                       input="typed\n")

    assert exec_("-T", "web", "cat").stdout == "typed\n"
    assert exec_("-T", "--interactive=false", "web", "cat").stdout == ""
    assert exec_("--no-interactive", "-T", "web", "cat").stdout == ""
    assert exec_("--tty=false", "web", "sh", "-c", "[ -t 0 ] || cat").stdout == "typed\n"
    assert exec_("-iT", "web", "cat").stdout == "typed\n"
