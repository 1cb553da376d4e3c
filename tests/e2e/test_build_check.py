"""`build --check` through the CLI: BuildKit's checks on each buildable service's Dockerfile,
reported as buildx reports them, nothing built; exit status BuildKit's lint status (1 when a
warning was found; with `# check=error=true` also its error), 0 for a clean Dockerfile."""

# ruff: noqa: F811  (the fixtures come from test_orchestration; pytest injects them by name)

from __future__ import annotations

from tests.e2e.test_orchestration import Stack, root, stack  # noqa: F401

WARNED = "FROM busybox as build\nCOPY $NOPE /x\nCMD echo hi\n"


def test_build_check_reports_warnings_and_builds_nothing(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text(WARNED)
    (stack.directory / "strict").mkdir()
    (stack.directory / "strict" / "Dockerfile").write_text("# check=error=true\n" + WARNED)
    stack.write({"app": "build: .\n", "strict": "build: ./strict\n", "pulled": "image: busybox\n"})
    images_before = stack.ok("image", "ls", "-q").stdout
    checked = stack.cli("build", "--check", "app")
    assert checked.returncode == 1, checked.stderr  # BuildKit's status: warnings were found
    assert checked.stderr == ""
    out = checked.stdout
    assert out.startswith("app\n\nCheck complete, 3 warnings have been found!\n")  # bake's
    for rule in ("FromAsCasing", "UndefinedVar", "JSONArgsRecommended"):
        assert f"WARNING: {rule} - https://docs.docker.com/go/dockerfile/rule/" in out
    assert "Usage of undefined variable '$NOPE'" in out  # busybox is here: its env is known
    assert "Dockerfile:2\n--------------------\n   1 |     FROM busybox as build\n" \
           "   2 | >>> COPY $NOPE /x\n" in out
    strict = stack.cli("build", "--check")
    assert strict.returncode == 1
    assert strict.stdout.count("Check complete, 3 warnings have been found!") == 2
    assert "--------------------\n\nstrict\n\nCheck complete" in strict.stdout  # targets
    assert strict.stdout.endswith(
        "\nerror: lint violation found for rules: FromAsCasing, JSONArgsRecommended, "
        "UndefinedVar\n")
    assert stack.ok("image", "ls", "-q").stdout == images_before  # nothing was built


def test_build_check_of_a_clean_dockerfile_exits_0(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text("# check=skip=JSONArgsRecommended\n"
                                                 "FROM busybox\nCMD echo hi\n")
    stack.write({"app": "build: .\n"})
    clean = stack.ok("build", "--check")
    assert clean.stdout == "app\n\nCheck complete, no warnings found.\n"


def test_build_check_of_a_broken_dockerfile_fails_naming_the_line(stack: Stack) -> None:
    (stack.directory / "Dockerfile").write_text("FROM busybox\nNOPE x\n")
    stack.write({"app": "build: .\n"})
    broken = stack.cli("build", "--check")
    assert broken.returncode == 1
    assert "Dockerfile:2: unknown instruction: NOPE" in broken.stderr
    assert "Traceback" not in broken.stderr
