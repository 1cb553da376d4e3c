"""What the start-up of a command and of the supervisors' fork server must not pay for: the
real `inspect` (~10 ms with ast, dis and tokenize; dataclasses imports it,
engine.deferred_inspect keeps it unloaded until a name of it is used), and on the CLI's fast
paths the `typing` module (~4 ms; annotations are never evaluated, so our modules import it
under TYPE_CHECKING only; in the fork server pyseccomp imports it, when Docker's default
seccomp program is not compiled on disk yet: tests/unit/test_seccomp_program_cache.py)."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

CLI_PATHS = (
    "import engine; engine.cache_dataclass_methods()\n"
    "import compose.cli.app, compose.cli.fast_run, compose.cli.fast_up, compose.cli.fast_down\n"
    "import compose.cli.fast_ps, compose.cli.ps_listing\n"
    "import compose.cli.oneoff, compose.cli.session, compose.cli.startup, compose.cli.teardown\n"
    "import compose.project_cache, compose.orchestrator, compose.container_spec, engine.api\n"
)
FORK_SERVER = (
    "from engine import supervisor_zygote as z\n"
    "z._preload_core()\n"
    "z._preload_netlink()\n"
)


@pytest.mark.parametrize(
    ("code", "flags", "typing_loaded"),
    [(CLI_PATHS, [], "False"), (FORK_SERVER, ["-S"], None)],
    ids=["cli-fast-paths", "fork-server"],
)
def test_typing_and_inspect_stay_unloaded(
    code: str, flags: list[str], typing_loaded: str | None
) -> None:
    probe = code + textwrap.dedent("""
        import sys
        print("typing" in sys.modules, "ast" in sys.modules, "dis" in sys.modules)
        print(*sorted(set(sys.modules) & {
            "logging", "traceback", "random", "tempfile", "ctypes", "shutil"}))
    """)
    path = os.pathsep.join([str(REPO), *sys.path[1:]])  # -S: the venv's packages by hand
    done = subprocess.run([sys.executable, *flags, "-c", probe], capture_output=True,
                          text=True, check=True, env={**os.environ, "PYTHONPATH": path})
    first, _, loaded = done.stdout.partition("\n")
    typing, ast, dis = first.split()
    assert (ast, dis) == ("False", "False"), done.stderr
    if typing_loaded is not None:
        assert typing == typing_loaded
    # logging (with traceback, linecache, tokenize) only for messages nobody configured a
    # handler for (netdriver.debug_log); tempfile and random only where files are written or
    # the resolver answers (not even for pyseccomp's ctypes.util in the fork server: ~6 ms).
    # ctypes (libc's functions: engine.syscalls) and shutil (with bz2 and lzma) only where the
    # kernel is called or a tree copied: not for the CLI's checks, flags or a record's removal.
    expected = [] if typing_loaded is not None else ["ctypes"]
    assert loaded.split() == expected, done.stderr


def test_reading_the_hosts_networks_loads_no_pyroute2() -> None:
    """Making a network dumps the host's addresses and routes (netdriver.rtnl): four messages,
    read with struct. pyroute2's decoders cost ~22 ms of every `up` that makes one (its
    netlink package brings typing, logging and inspect). Tests still load its classes, and
    its link message class (its plugins, pyroute2.config with multiprocessing) only on use."""
    probe = textwrap.dedent("""
        import sys
        from netdriver import host_links
        assert host_links.host_networks()  # at least the loopback's 127.0.0.0/8
        print("pyroute2" in sys.modules)
        from netdriver.rtnl import messages
        p2 = messages()
        assert p2.ifaddrmsg and p2.rtmsg
        print("pyroute2.netlink.rtnl.ifinfmsg" in sys.modules, "multiprocessing" in sys.modules)
        from netdriver.pyroute2_messages import ifinfmsg  # loaded on first use, for tests
        print(ifinfmsg.__name__)
    """)
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=REPO)
    assert done.stdout.split() == ["False", "False", "False", "ifinfmsg"], done.stderr


def test_the_fast_paths_own_steps_load_neither_typing_nor_inspect(tmp_path: Path) -> None:
    """What the fast paths run before the command's work: reading the global flags (a
    `typing.cast` there cost every `run`, `up` and `down` ~5 ms) and, for `down`, its request
    (a dataclass: made before the method cache is installed, it loaded the real `inspect`,
    ~12 ms). `--rmi bogus` makes `down` fail right after, before any engine work."""
    probe = textwrap.dedent("""
        import sys
        from compose.cli import fast_down, fast_run

        def report(exc):
            print("typing" in sys.modules, "ast" in sys.modules, type(exc).__name__)
            return 1

        fast_run._report = report
        fast_down.fast_down(["--progress", "quiet", "down", "--rmi", "bogus"])
    """)
    env = {**os.environ, "PYCOMPOSE_ROOT": str(tmp_path / "root"),
           "PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache")}
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                          check=True, cwd=tmp_path, env={**env, "PYTHONPATH": str(REPO)})
    assert done.stdout.split() == ["False", "False", "ComposeError"], done.stderr


def test_ps_through_the_fast_path_loads_no_typer(tmp_path: Path) -> None:
    """`ps` is what a test suite polls: Typer and click (~40 ms) stay unloaded, and so do
    `typing` and `inspect`, for the usual spellings (the stack file read from the project
    cache, as after the first command)."""
    (tmp_path / "compose.yaml").write_text("services:\n  web:\n    image: busybox\n")
    probe = textwrap.dedent("""
        import sys
        from compose.cli import fast_ps

        code = fast_ps.fast_ps(["ps", "-a", "--format", "json"])
        print(code, "typer" in sys.modules, "typing" in sys.modules, "ast" in sys.modules)
    """)
    env = {**os.environ, "PYCOMPOSE_ROOT": str(tmp_path / "root"),
           "PYCOMPOSE_CACHE_DIR": str(tmp_path / "cache"), "PYTHONPATH": str(REPO)}
    for _ in ("fills the project cache", "reads it"):
        done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True,
                              check=True, cwd=tmp_path, env=env)
    assert done.stdout.split() == ["0", "False", "False", "False"], done.stderr
