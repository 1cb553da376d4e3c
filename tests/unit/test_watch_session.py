"""A watch session applying batches to a project's containers (on the FakeEngine): what is
copied in, removed, restarted and run, and what it refuses before anything starts."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from compose.errors import ComposeError
from compose.loader import load_project
from compose.model import LoadOptions
from compose.orchestrator import Orchestrator
from compose.watch import NOT_CONFIGURED, WatchOptions, WatchSession
from tests.unit.fake_engine import FakeEngine

STACK = """
    name: w
    services:
      web:
        image: busybox
        scale: 2
        develop:
          watch:
            - {path: ./src, action: sync, target: /app, ignore: ["*.tmp"]}
            - {path: ./conf, action: sync+restart, target: /etc/app}
            - path: ./hooks
              action: sync+exec
              target: /hooks
              exec: {command: [sh, -c, reload], user: "1000", environment: {MODE: dev}}
      db:
        image: busybox
"""


class Session:
    """The session, the fake engine under it, and what it printed."""

    def __init__(self, tmp_path: Path, stack: str = STACK, up: bool = True,
                 options: WatchOptions = WatchOptions()) -> None:
        (tmp_path / "compose.yaml").write_text(textwrap.dedent(stack))
        for part in ("src", "conf", "hooks"):
            (tmp_path / part).mkdir(exist_ok=True)
        self.root = tmp_path
        self.engine = FakeEngine()
        project = load_project(LoadOptions(cwd=tmp_path, environ={}))
        self.orch = Orchestrator(self.engine, project)  # type: ignore[arg-type]
        if up:
            self.orch.up()
        self.lines: list[str] = []
        self.warnings: list[str] = []
        self.session = WatchSession(self.orch, options, self.lines.append, self.warnings.append)

    def write(self, rel: str, text: str) -> str:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
        return str(path)


def test_sync_copies_changed_files_into_every_replica(tmp_path: Path) -> None:
    s = Session(tmp_path)
    changed = [s.write("src/index.html", "hi"), s.write("src/css/site.css", "body{}"),
               s.write("src/scratch.tmp", "x")]
    s.session.handle(changed)
    assert s.lines == ['Syncing service "web" after 2 changes were detected']
    assert {name for name, _, _ in s.engine.extracted} == {"w-web-1", "w-web-2"}
    _, dest, members = s.engine.extracted[0]
    assert dest == "/"
    assert members == {"app/css/site.css": b"body{}", "app/index.html": b"hi"}
    assert s.engine.execs == []
    assert s.warnings == []


def test_a_file_gone_from_the_host_is_removed_in_the_container(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.session.handle([str(tmp_path / "src" / "old.txt")])
    assert sorted(s.engine.execs)[0][:2] == ("w-web-1", ("rm", "-rf", "/app/old.txt"))
    assert s.engine.extracted == []


def test_a_new_directory_is_copied_whole_once(tmp_path: Path) -> None:
    s = Session(tmp_path)
    changed = [str(tmp_path / "src" / "pkg"), s.write("src/pkg/a.py", "a")]
    s.session.handle(changed)
    _, _, members = s.engine.extracted[0]
    assert members == {"app/pkg": None, "app/pkg/a.py": b"a"}


def test_sync_restart_restarts_after_the_copy(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.session.handle([s.write("conf/app.ini", "x=1")])
    assert s.lines == ['Syncing service "web" after 1 changes were detected',
                       'service(s) ["web"] restarted']
    assert s.engine.actions("start").count("w-web-1") == 2  # up, then the restart
    last_start = max(t for t, a, n in s.engine.timeline if a == "start" and n == "w-web-1")
    assert s.engine.first("extract", "w-web-1") < last_start


def test_sync_exec_runs_the_hook_once_per_container(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.session.handle([s.write("hooks/a", "1"), s.write("hooks/b", "2")])
    assert sorted((name, argv) for name, argv, _ in s.engine.execs) == [
        ("w-web-1", ("sh", "-c", "reload")), ("w-web-2", ("sh", "-c", "reload"))]
    assert s.engine.execs[0][2] == {"env": {"MODE": "dev"}, "workdir": None, "user": "1000",
                                    "privileged": False}


def test_initial_sync_copies_the_tree_but_not_ignored_files(tmp_path: Path) -> None:
    stack = STACK.replace("ignore: [\"*.tmp\"]}", "ignore: [\"*.tmp\"], initial_sync: true}")
    s = Session(tmp_path, stack)
    s.write("src/a.txt", "a")
    s.write("src/b.tmp", "b")
    s.write("src/Dockerfile", "FROM x")
    s.write("src/.git/HEAD", "ref")
    s.session.initial_sync()
    _, _, members = s.engine.extracted[0]
    assert members == {"app/a.txt": b"a"}


def test_nothing_to_watch_is_refused(tmp_path: Path) -> None:
    with pytest.raises(ComposeError, match=NOT_CONFIGURED):
        Session(tmp_path, up=False, options=WatchOptions(services=("db",)))


def test_rebuild_without_build_is_refused(tmp_path: Path) -> None:
    stack = STACK.replace("action: sync, target: /app,", "action: rebuild,")
    with pytest.raises(ComposeError, match='can\'t watch service "web" with action rebuild '
                                           "without a build context"):
        Session(tmp_path, stack, up=False)


def test_a_bind_mounted_path_is_not_watched(tmp_path: Path) -> None:
    stack = STACK.replace("scale: 2", "scale: 2\n        volumes: [./src:/app]")
    s = Session(tmp_path, stack)
    assert s.warnings == [f"path '{tmp_path}/src' also declared by a bind mount volume, this "
                          "path won't be monitored!"]
    s.session.handle([s.write("src/a", "a")])
    assert s.engine.extracted == []


def test_a_failed_batch_is_reported_and_the_watch_goes_on(tmp_path: Path) -> None:
    s = Session(tmp_path)

    def broken(*_args: object, **_kwargs: object) -> None:
        raise ComposeError("disk full")

    s.session.sync = broken  # type: ignore[method-assign]
    s.session.handle([s.write("src/a", "a")])
    assert s.warnings == ["Error handling changed files: disk full"]


@pytest.mark.parametrize(("argv", "message"), [
    (["up", "--watch", "-d"], "--detach cannot be combined with .* or --watch"),
    (["up", "-w", "--wait"], "--detach cannot be combined with .* or --watch"),
    (["up", "--watch", "--no-build"], "--no-build and --watch are incompatible"),
])
def test_up_watch_refuses_what_compose_refuses(argv: list[str], message: str) -> None:
    from compose.cli import startup
    from compose.cli.fast_up import parse

    parsed = parse(argv)
    assert parsed is not None and parsed[1].watch
    with pytest.raises(ComposeError, match=message):
        startup.execute(*parsed)


def test_a_path_that_cannot_be_watched_is_refused_before_the_up(tmp_path: Path) -> None:
    stack = STACK.replace("./hooks", "./missing/hooks")
    with pytest.raises(ComposeError, match="missing/hooks: neither it nor its directory"):
        Session(tmp_path, stack, up=False)


def test_a_very_large_batch_is_announced(tmp_path: Path) -> None:
    s = Session(tmp_path)
    s.session.handle([str(tmp_path / "elsewhere" / str(n)) for n in range(1001)])
    assert s.warnings == ["Very large batch of file changes detected: 1001 files. This may "
                          "impact performance."]
    assert s.lines == ["Large batch of file changes detected. If you just switched branches, "
                       "this is expected."]


def test_synced_files_keep_their_owner_by_number(tmp_path: Path) -> None:
    import io
    import tarfile

    from compose.watch_paths import PathMapping
    from compose.watch_sync import tar_feed

    source = tmp_path / "a.txt"
    source.write_text("a")
    buffer = io.BytesIO()
    tar_feed([PathMapping(str(source), "/app/a.txt")])(buffer)
    buffer.seek(0)
    with tarfile.open(fileobj=buffer) as tar:
        member = tar.getmember("app/a.txt")
    assert (member.uid, member.gid) == (source.stat().st_uid, source.stat().st_gid)
    assert member.uname == member.gname == ""
