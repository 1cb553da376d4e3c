"""Which host changes a watch rule takes and where they land, and how changes are batched."""

from __future__ import annotations

from pathlib import Path

import pytest

from compose.develop import ExecHook, WatchAction, WatchRule
from compose.watch_batch import Debouncer, plan_batch
from compose.watch_paths import PathMapping, RootedPatterns, RuleMatcher, read_dockerignore
from engine.api import DockerIgnore


def _rule(**overrides: object) -> WatchRule:
    values: dict[str, object] = {
        "service": "web", "path": "/src", "action": WatchAction.SYNC, "target": "/app",
    }
    values.update(overrides)
    return WatchRule(**values)  # type: ignore[arg-type]


def test_a_file_under_the_path_maps_under_the_target() -> None:
    matcher = RuleMatcher(_rule(), None)
    assert matcher.mapping("/src/a/b.txt") == PathMapping("/src/a/b.txt", "/app/a/b.txt")
    assert matcher.mapping("/src") == PathMapping("/src", "/app")
    assert matcher.mapping("/srcother/x") is None  # a sibling with the same prefix
    assert matcher.mapping("/elsewhere/x") is None


def test_a_rule_without_target_only_notices_the_change() -> None:
    matcher = RuleMatcher(_rule(action=WatchAction.REBUILD, target=None), None)
    assert matcher.mapping("/src/x") == PathMapping("/src/x", None)


@pytest.mark.parametrize(("path", "taken"), [
    ("/src/main.py", True),
    ("/src/build.tmp", False),  # ignore: *.tmp (rooted at the rule's path)
    ("/src/sub/build.tmp", True),  # `*` does not cross `/`, as in .dockerignore
    ("/src/node_modules/pkg/index.js", False),  # a directory pattern takes what is below
    ("/src/.git/HEAD", False),
    ("/src/.main.py.swp", False),  # vim
    ("/src/4913", False),
    ("/src/main.py~", False),
    ("/src/.#main.py", False),  # emacs
    ("/src/main.py___jb_tmp___", False),  # JetBrains
    ("/src/.idea/workspace.xml", False),
])
def test_ignore_patterns_and_editor_files(path: str, taken: bool) -> None:
    matcher = RuleMatcher(_rule(ignore=("*.tmp", "node_modules/")), None)
    assert (matcher.mapping(path) is not None) is taken


def test_include_restricts_to_matching_files() -> None:
    matcher = RuleMatcher(_rule(include=("*.py", "assets/")), None)
    assert matcher.mapping("/src/app.py") is not None
    assert matcher.mapping("/src/assets/logo.png") is not None
    assert matcher.mapping("/src/readme.md") is None


def test_the_build_contexts_dockerignore_applies(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("# comment\nsecrets/\n*.log\n!keep.log\n")
    ignore = RootedPatterns(str(tmp_path), DockerIgnore(read_dockerignore(str(tmp_path), None)))
    matcher = RuleMatcher(_rule(path=str(tmp_path)), ignore)
    assert matcher.mapping(f"{tmp_path}/secrets/key") is None
    assert matcher.mapping(f"{tmp_path}/debug.log") is None
    assert matcher.mapping(f"{tmp_path}/keep.log") is not None
    assert matcher.mapping(f"{tmp_path}/app.py") is not None


def test_the_dockerfiles_own_ignore_file_wins(tmp_path: Path) -> None:
    (tmp_path / ".dockerignore").write_text("a\n")
    (tmp_path / "Dockerfile.dev.dockerignore").write_text("b\n")
    assert read_dockerignore(str(tmp_path), "Dockerfile.dev") == ["b"]
    assert read_dockerignore(str(tmp_path), "Dockerfile") == ["a"]
    assert read_dockerignore(str(tmp_path / "none"), "Dockerfile") == []


def test_debounce_waits_for_a_quiet_period() -> None:
    debouncer = Debouncer(quiet=0.5)
    assert debouncer.wait_time(0.0) is None
    debouncer.add({"/a"}, now=10.0)
    assert debouncer.take(10.3) == []  # still changing, maybe
    debouncer.add({"/b", "/a"}, now=10.4)  # a new change restarts the quiet period
    assert debouncer.take(10.8) == []
    assert debouncer.wait_time(10.8) == pytest.approx(0.1)
    assert debouncer.take(10.9) == ["/a", "/b"]  # each path once
    assert not debouncer.pending()
    assert debouncer.take(20.0) == []


def test_a_batch_asks_each_service_once() -> None:
    matchers = [
        RuleMatcher(_rule(), None),
        RuleMatcher(_rule(service="api", action=WatchAction.SYNC_RESTART), None),
        RuleMatcher(_rule(service="api", path="/hooks", action=WatchAction.SYNC_EXEC,
                          target="/h", exec=ExecHook(("true",))), None),
        RuleMatcher(_rule(service="img", path="/src/deps", action=WatchAction.REBUILD,
                          target=None), None),
        RuleMatcher(_rule(service="other", path="/other"), None),
        RuleMatcher(_rule(service="cfg", path="/src/deps", action=WatchAction.RESTART,
                          target=None), None),
    ]
    work = plan_batch(["/src/a", "/src/deps/req.txt", "/hooks/x", "/hooks/y"], matchers)
    assert set(work) == {"web", "api", "img", "cfg"}
    assert work["cfg"].restart and not work["cfg"].syncs
    assert [m.container_path for m in work["web"].syncs] == ["/app/a", "/app/deps/req.txt"]
    assert not work["web"].restart and not work["web"].rebuild
    assert work["api"].restart
    assert work["api"].execs == [2]  # one run however many of its files changed
    assert [m.container_path for m in work["api"].syncs] == [
        "/app/a", "/app/deps/req.txt", "/h/x", "/h/y"]
    assert work["img"].rebuild and not work["img"].syncs
