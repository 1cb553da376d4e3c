"""`pycompose [global flags] run [flags] SERVICE [COMMAND...]` without Typer.

A one-off `run --rm svc true` should cost about what the container costs. Typer (with the
pydantic it builds each parameter's coercion from) takes ~120 ms to import and parse before any
work starts, so the common spellings of `run` are parsed here, by a table of the same options
the Typer command declares (tests/unit/test_fast_run.py keeps the two in step). Anything else —
`--help`, an unknown or combined flag, `--`, a missing SERVICE, a bad `--parallel` — returns
None and the Typer app handles it, so usage errors and help look exactly as before.

Once argv names `run`, the supervisor fork server is started before anything else is imported:
this module imports nothing at all until then (not typing, re or collections: ~8 ms that would
delay the server's start), so the server's start-up overlaps with all of the CLI's own.
"""

from __future__ import annotations

TYPE_CHECKING = False  # typing itself is one of the imports to keep out of the way
if TYPE_CHECKING:
    from collections.abc import Callable, Sequence
    from typing import Any, NoReturn

    import typer

    from compose.cli.context import GlobalOptions
    from compose.cli.oneoff import RunRequest


class OptionTable:
    """Option spellings -> field name: those that take a value, and boolean flags (set True;
    a field written `!field` is set False: a `--no-x` spelling).
    Fields named in `multiple` collect every occurrence; others keep the last (as click).
    (A plain class, not a dataclass or NamedTuple: their modules would load before the fork
    server starts.)"""

    __slots__ = ("flags", "multiple", "values")

    def __init__(
        self,
        values: dict[str, str],
        flags: dict[str, str | None],  # None: accepted and ignored (`-T`)
        multiple: frozenset[str] = frozenset(),
    ) -> None:
        self.values = values
        self.flags = flags
        self.multiple = multiple


GLOBAL_OPTIONS = OptionTable(
    values={
        "-f": "files",
        "--file": "files",
        "-p": "project_name",
        "--project-name": "project_name",
        "--project-directory": "project_directory",
        "--env-file": "env_files",
        "--profile": "profiles",
        "--parallel": "parallel",
        "--progress": "progress",
        "--ansi": "ansi",
        "--workdir": "workdir",
    },
    flags={
        "--debug": "debug",
        "--all-resources": "all_resources",
        "--compatibility": "compatibility",
        "--dry-run": "dry_run",
        "--no-ansi": "no_ansi",
    },
    multiple=frozenset({"files", "env_files", "profiles"}),
)

RUN_OPTIONS = OptionTable(
    values={
        "--name": "name",
        "-e": "env",
        "--env": "env",
        "--env-from-file": "env_from_file",
        "-v": "volumes",
        "--volume": "volumes",
        "--entrypoint": "entrypoint",
        "-w": "workdir",
        "--workdir": "workdir",
        "-u": "user",
        "--user": "user",
        "-l": "labels",
        "--label": "labels",
        "-p": "publish",
        "--publish": "publish",
        "--cap-add": "cap_add",
        "--cap-drop": "cap_drop",
        "--pull": "pull",
    },
    flags={
        "-d": "detach",
        "--detach": "detach",
        "--rm": "rm",
        "--no-deps": "no_deps",
        "-T": "no_tty",
        "--no-TTY": "no_tty",
        "-t": "tty",
        "--tty": "tty",
        "--no-tty": "!tty",  # docker's --tty=false: as -T
        "-i": "interactive",  # on by default: attached, stdin is the container's
        "--interactive": "interactive",
        "--no-interactive": "!interactive",
        "-P": "service_ports",
        "--service-ports": "service_ports",
        "--build": "build",
        "--quiet-pull": "quiet_pull",
        "--quiet-build": "quiet_build",
        "-q": "quiet",
        "--quiet": "quiet",
        "--use-aliases": "use_aliases",
        "--remove-orphans": "remove_orphans",
    },
    multiple=frozenset(
        {"env", "env_from_file", "volumes", "labels", "publish", "cap_add", "cap_drop"}
    ),
)



def _is_integer(text: str) -> bool:
    """What click reads as an int here: `-?[0-9]+` (ASCII digits), without loading `re`."""
    digits = text[1:] if text.startswith("-") else text
    return digits.isascii() and digits.isdigit()


class _Decline(Exception):
    """This argv is not one the fast path is sure to read as Typer would."""


def _options(args: list[str], table: OptionTable) -> dict[str, Any]:
    """Consume leading options from `args` (in place) into a field -> value mapping."""
    found: dict[str, Any] = {}  # lists for `multiple` fields
    while args and args[0].startswith("-"):
        token = args.pop(0)
        name, eq, attached = token.partition("=") if token.startswith("--") else (token, "", "")
        if not eq and not token.startswith("--") and len(token) > 2:
            name, attached, eq = token[:2], token[2:], "="  # `-fFILE`: click's attached value
        if name in table.values:
            if eq:
                value = attached
            elif args:
                value = args.pop(0)
            else:
                raise _Decline
            key = table.values[name]
            if key in table.multiple:
                found.setdefault(key, []).append(value)
            else:
                found[key] = value
        elif name in table.flags and not eq:
            key_or_none = table.flags[name]
            if key_or_none is not None:
                found[key_or_none.lstrip("!")] = not key_or_none.startswith("!")
        else:
            raise _Decline  # --help, `--`, combined short flags, unknown: Typer decides
    return found


def command_name(argv: Sequence[str]) -> str | None:
    """argv's command (global options before it read as `parse` reads them), None when there
    is none or the options need Typer (`--help`, unknown)."""
    read = _read_globals(argv)
    return read[1][0] if read is not None and read[1] else None


def command_args(argv: Sequence[str], name: str) -> tuple[dict[str, Any], list[str]] | None:
    """The global options before the command `name` and the arguments after it, as every fast
    path's `parse` starts; None when argv names another command or needs Typer."""
    read = _read_globals(argv)
    if read is None or read[1][:1] != [name]:
        return None
    return read[0], read[1][1:]


def _read_globals(argv: Sequence[str]) -> tuple[dict[str, Any], list[str]] | None:
    args = list(argv)
    try:
        given = _options(args, GLOBAL_OPTIONS)
    except _Decline:
        return None
    return given, args


def parse(argv: Sequence[str]) -> tuple[GlobalOptions, RunRequest] | None:
    """The global options and run request this argv means, or None to let Typer parse it."""
    from compose.cli.oneoff import RunRequest

    command = command_args(argv, "run")
    if command is None:
        return None
    given, args = command
    try:
        wanted = _options(args, RUN_OPTIONS)
    except _Decline:
        return None
    if not args:
        return None  # no SERVICE: Typer's usage error
    flags = global_flags(given)
    if flags is None:
        return None
    for key in RUN_OPTIONS.multiple:
        if key in wanted:
            wanted[key] = tuple(wanted[key])
    if wanted.get("tty") is False:  # --no-tty (--tty=false): as the Typer command reads it
        wanted["no_tty"] = True
    request = RunRequest(service=args[0], command=tuple(args[1:]), **wanted)
    return flags, request


def as_floats(wanted: dict[str, Any], fields: Sequence[str]) -> bool:
    """Turn the given `fields` of `wanted` into floats as click's FLOAT does (float()); False
    when one is not a number (Typer's "not a valid float" is then the fast path's decline)."""
    for key in fields:
        if key in wanted:
            try:
                wanted[key] = float(str(wanted[key]))
            except ValueError:
                return False
    return True


def global_flags(given: dict[str, Any]) -> GlobalOptions | None:
    """The global options `_options(args, GLOBAL_OPTIONS)` found, as the Typer callback makes
    them; None when Typer must report them (`--parallel` not an integer, a bad `--ansi`). No
    `typing.cast` here: importing typing would cost every fast path ~5 ms."""
    from compose.errors import ComposeError

    parallel = given.get("parallel")
    if parallel is not None and not _is_integer(str(parallel)):
        return None  # Typer's "not a valid integer"
    try:
        return _global_flags(given, parallel)
    except ComposeError:
        return None  # the Typer callback raises it again, through the one error table


def _global_flags(given: dict[str, Any], parallel: object) -> GlobalOptions:
    from compose.cli.context import make_global_options

    return make_global_options(
        files=tuple(given.get("files", [])),
        project_name=given.get("project_name"),
        project_directory=given.get("project_directory"),
        env_files=tuple(given.get("env_files", [])),
        profiles=tuple(given.get("profiles", [])),
        debug=bool(given.get("debug", False)),
        parallel=int(str(parallel)) if parallel is not None else None,
        progress=given.get("progress"),
        all_resources=bool(given.get("all_resources", False)),
        ansi=given.get("ansi"),
        compatibility=bool(given.get("compatibility", False)),
        dry_run=bool(given.get("dry_run", False)),
        no_ansi=bool(given.get("no_ansi", False)),
        workdir=given.get("workdir"),
    )


def fast_run(argv: Sequence[str]) -> int | None:
    """Run `run` when the fast path can read argv; None: hand argv to the Typer app.

    No collections while the run path imports and starts the container: they found nothing
    to free, and cost ~4 ms. compose.cli.oneoff turns the collector back on (without the
    objects made so far: gc.freeze) before it follows the container's output."""
    import gc  # built in: nothing loads before the fork server starts (`_prewarm`)

    gc.disable()
    try:
        return run_fast_command(argv, "run", parse, _execute, prepare=_prewarm)
    finally:
        gc.enable()


def _prewarm() -> None:
    from engine import prewarm_supervisors

    prewarm_supervisors()  # `run --help` and usage errors start it for nothing: it exits with us


def _execute(flags: GlobalOptions, request: RunRequest) -> int:
    from compose.cli.oneoff import execute

    return execute(flags, request)


def exit_now(code: int) -> NoReturn:
    """End the process after a fast `run`, skipping the interpreter's teardown: freeing every
    module and object one by one cost ~15 ms of a one-off's wall time, for memory the kernel
    takes back at once anyway. What teardown does that matters still happens: the exit
    handlers (logging's flush) and the flush of stdout/stderr. With another thread still
    running, or a stream that cannot be flushed, the ordinary exit handles it as before."""
    import atexit
    import os
    import sys
    import threading

    if threading.active_count() > 1:
        sys.exit(code)
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the interpreter reports it (a closed pipe: exit status 120)
    os._exit(code)


def run_fast_command(
    argv: Sequence[str], name: str, parse: Callable[[Sequence[str]], Any],
    execute: Callable[..., int], prepare: Callable[[], None] | None = None,
) -> int | None:
    """A fast path's whole run (`up`, `down`, `ps`, `exec`): None unless argv names `name` and
    `parse` reads it; else `execute(flags, request)`'s exit code, an error worded by the one
    error table. The command check comes before `parse`, whose imports every other command
    would pay for nothing; `prepare` (`up`'s fork-server prewarm) and the dataclass methods'
    cache before it too: its request is the first dataclass, and `dataclasses` imported before
    the cache loads the real `inspect` (~12 ms; engine.deferred_inspect)."""
    if command_name(argv) != name:
        return None
    if prepare is not None:
        prepare()
    from engine import cache_dataclass_methods

    cache_dataclass_methods()
    parsed = parse(argv)
    if parsed is None:
        return None
    try:
        return execute(*parsed)
    except BaseException as exc:  # the one error table (compose.cli.errors) words it
        return _report(exc)


def _report(exc: BaseException) -> int:
    """Map an error to its message and exit code through compose.cli.errors.run_app, by
    replaying it where run_app expects the Typer app to raise it."""
    from typing import cast

    from compose.cli.errors import run_app

    def replay(**_: object) -> NoReturn:
        raise exc

    return run_app(cast("typer.Typer", replay))
