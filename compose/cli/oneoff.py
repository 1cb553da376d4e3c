"""`run`: a one-off container for a service (labelled oneoff=True, named
`<project>-<service>-run-<hex>`), after starting what it depends on. Attached, it streams the
container's output and returns its exit code; `--rm` removes it afterwards.

This is the command's body without Typer, so the fast path (compose.cli.fast_run) and the
Typer command (compose.cli.run_cmd) share it: one behaviour, two ways in.
"""

from __future__ import annotations

import dataclasses
import os
import signal
import sys
from dataclasses import dataclass
from pathlib import Path

from compose.cli.context import GlobalOptions
from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up

if TYPE_CHECKING:
    import socket
    from collections.abc import Sequence
    from typing import Any

    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo, Engine


@dataclass(frozen=True)
class RunRequest:
    """The `run` flags, as docker compose v2 names them."""

    service: str
    command: tuple[str, ...] = ()
    detach: bool = False
    name: str | None = None
    rm: bool = False
    env: tuple[str, ...] = ()
    env_from_file: tuple[str, ...] = ()  # --env-from-file: env files for this one-off
    volumes: tuple[str, ...] = ()
    entrypoint: str | None = None
    workdir: str | None = None
    user: str | None = None
    no_deps: bool = False
    labels: tuple[str, ...] = ()
    publish: tuple[str, ...] = ()
    service_ports: bool = False
    # docker compose's -i (on by default): the container's stdin is kept open, and ours when
    # attached. None: not given (on), which matters to the pty choice (`terminal_choice`).
    interactive: bool | None = None
    no_tty: bool = False  # -T: no pty even when attached to a terminal
    tty: bool = False  # -t: a pty, even when ours is no terminal (docker compose's -t)
    cap_add: tuple[str, ...] = ()
    cap_drop: tuple[str, ...] = ()
    build: bool = False  # --build: build the service's image first
    pull: str | None = None  # --pull always|missing|never
    quiet_pull: bool = False
    quiet_build: bool = False  # --quiet-build: no build output
    # -q/--quiet: no progress, pull or build lines; the one-off's own output still shows
    quiet: bool = False
    # docker compose: a one-off answers to its container name only, not to the service name
    # (a `run` next to `up` must not take a share of the service's traffic) unless asked.
    use_aliases: bool = False
    remove_orphans: bool = False


def env_flags(items: Sequence[str]) -> dict[str, str]:
    """`-e KEY=VALUE`, or `-e KEY` to pass the caller's value along (Docker's rule); `run` and
    `exec` read their `-e` flags alike."""
    env: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not key:
            raise ComposeError(f"invalid environment variable {item!r} (in -e)")
        if sep:
            env[key] = value
        elif key in os.environ:
            env[key] = os.environ[key]
    return env


def _run_env(request: RunRequest) -> dict[str, str]:
    """docker compose's `run` environment: `-e` values, then each `--env-from-file` file
    adds what `-e` did not set (its `${VAR}` read from the `-e` values)."""
    env = env_flags(request.env)
    if not request.env_from_file:
        return env
    from compose.dotenv import read_dotenv  # (it loads yaml: ~25 ms a `run` need not pay)

    for name in request.env_from_file:
        for key, value in read_dotenv(Path(name), env.get).items():
            if key not in env and value is not None:
                env[key] = value
    return env


@dataclass(frozen=True)
class TerminalChoice:
    """What a one-off gets of a terminal: a pty (Docker's Tty) and an open stdin (OpenStdin)."""

    tty: bool
    stdin_open: bool


def terminal_choice(request: RunRequest, stdin_tty: bool, stdout_tty: bool) -> TerminalChoice:
    """docker compose's choice, whatever the service's `tty` and `stdin_open` say (its run
    replaces both): with -t a pty; else one when our stdout is a terminal, unless -T, or
    unless our stdin is no terminal and -i was not given. Stdin open unless
    --interactive=false, detached too. A pty fed from a stdin that is no terminal is refused,
    as docker's CLI refuses it (`-t`, or `-i` from a terminal, with stdin piped): its input
    would be typed into a terminal, echoed and edited as keys."""
    interactive = request.interactive is not False
    if request.tty:
        tty = True
    elif request.no_tty:
        tty = False
    else:
        tty = stdout_tty and (stdin_tty or request.interactive is not None)
    if tty and interactive and not stdin_tty:
        raise ComposeError("the input device is not a TTY", hint="use -T to run without one")
    return TerminalChoice(tty=tty, stdin_open=interactive)


def _oneoff_name(project: str, service: str, sep: str) -> str:
    """docker compose's one-off name: `<project>-<service>-run-<12 hex>` (`_` with
    --compatibility)."""
    return sep.join((project, service, "run", os.urandom(6).hex()))


def _labels(items: tuple[str, ...]) -> dict[str, str]:
    """`-l KEY=VALUE` labels; docker compose refuses one without `=`."""
    labels: dict[str, str] = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep:
            raise ComposeError(f"label must be set as KEY=VALUE (got {item!r} in -l)")
        labels[key] = value
    return labels


def _mounts(items: tuple[str, ...], project_volumes: dict[str, str], base: Path) -> tuple[Any, ...]:
    from compose.volume_syntax import parse_volume
    from engine.api import MountKind, MountSpec

    mounts = []
    for item in items:
        try:
            parsed = parse_volume(item, base)
        except ValueError as exc:
            raise ComposeError(f"{exc} (in -v)") from None
        kind = MountKind.BIND if parsed["type"] == "bind" else MountKind.VOLUME
        source = parsed.get("source")
        if kind is MountKind.VOLUME and source:
            source = project_volumes.get(source, source)
        bind = parsed.get("bind") or {}
        mounts.append(
            MountSpec(
                kind, parsed["target"], source, bool(parsed.get("read_only", False)),
                # `docker compose run -v ./dir:/x` makes a missing host dir (short syntax).
                create_host_path=bool(bind.get("create_host_path", False)),
                propagation=bind.get("propagation"),
                no_copy=bool((parsed.get("volume") or {}).get("nocopy", False)),
            )
        )
    return tuple(mounts)


def _ports(items: tuple[str, ...], service: str) -> tuple[Any, ...]:
    """`-p [[IP:]HOST:]CONTAINER[/PROTO]` in the stack file's short syntax."""
    from compose.port_syntax import parse_port
    from engine.api import PortSpec

    specs = []
    for item in items:
        try:
            parsed = parse_port(item)
        except ValueError as exc:
            raise ComposeError(f"service {service}: invalid -p {item!r}: {exc}") from None
        for mapping in parsed:
            specs.append(
                PortSpec(
                    int(mapping["target"]),
                    str(mapping["published"]) if mapping.get("published") else None,
                    mapping.get("host_ip"),
                    mapping.get("protocol", "tcp"),
                )
            )
    return tuple(specs)


def execute(flags: GlobalOptions, request: RunRequest) -> int:
    """Run the one-off; the exit code the CLI should end with (the container's when attached).

    The supervisor fork server is started first, before this process imports the engine, so
    its Python start-up runs on the other core while this process loads the project and
    prepares the container."""
    if flags.dry_run:
        from compose.cli.context import check_dry_run

        check_dry_run("run")  # refused: a one-off cannot be shown without being run
    from engine import prewarm_supervisors

    prewarm_supervisors()
    from compose.cli.session import compatible, deferred_progress, warned
    from compose.orchestrator import Orchestrator
    from compose.project_cache import load_cached
    from engine.api import Engine

    project = compatible(flags, warned(load_cached(flags.load_options())))  # as load_with
    if request.quiet:
        flags = dataclasses.replace(flags, progress="quiet")
    view = deferred_progress(flags)
    try:
        return _run(Orchestrator(Engine(), project, view), flags, request)
    finally:
        view.close()  # idempotent; _run closes it before streaming output


def _run(orch: Orchestrator, flags: GlobalOptions, request: RunRequest) -> int:
    from compose import labels as L
    from compose.cli.session import close_progress
    from compose.container_spec import build_container_spec
    from compose.orchestrator import UpOptions
    from compose.scheduler import parallel_limit

    service = request.service
    if request.publish and request.service_ports:
        raise ComposeError("--service-ports and --publish are incompatible")
    if request.tty and request.no_tty:
        raise ComposeError("--tty and --no-TTY can't be used together")
    choice = terminal_choice(request, os.isatty(0), os.isatty(1))
    orch.check_services((service,))
    if service not in orch.project.services:
        raise ComposeError(f"service {service} is not enabled (check its profiles)")
    definition = orch.project.services[service]
    if (definition.network_mode or "bridge") == "bridge":
        from engine import prewarm_network_attach

        prewarm_network_attach()  # the fork server loads the attach path while we prepare
    orch.check_models([service])  # before anything is made
    orch.check_service_files([service])
    orch.warn_unsupported([service])
    if not request.quiet:
        orch.image_report = lambda line: print(line, file=sys.stderr)  # builds show, as in up
    deps = [n for n in orch.service_names((service,)) if n != service]
    if deps and not request.no_deps:
        orch.up(UpOptions(
            services=tuple(deps), parallel=parallel_limit(flags.parallel),
            remove_orphans=request.remove_orphans,
        ))
    elif request.remove_orphans:
        orch.remove_orphans()
    image_id = orch._resolve_images(
        [service], build=request.build, pull=request.pull, quiet_pull=request.quiet_pull,
        quiet_build=request.quiet_build,
    )[service]
    orch.ensure_resources([service])
    spec = build_container_spec(orch.project, definition, 1, image_id)
    extra_labels = _labels(request.labels)
    sep = orch.project.container_separator
    volumes = {k: v.name for k, v in orch.project.volumes.items()}
    # `-v` replaces the service's mount of the same target (docker compose keys them by
    # target), else both were mounted there, one over the other.
    asked = _mounts(request.volumes, volumes, orch.project.working_dir)
    targets = {m.target.rstrip("/") for m in asked}
    kept_mounts = tuple(m for m in spec.mounts if m.target.rstrip("/") not in targets)
    overrides: dict[str, object] = {
        "name": request.name or _oneoff_name(orch.project.name, service, sep),
        "labels": {**spec.labels, **extra_labels, L.ONEOFF: "True"},
        "env": {**spec.env, **_run_env(request)},
        "mounts": kept_mounts + asked,
    }
    if hasattr(spec, "ports"):  # docker: a one-off publishes only what it is asked to
        kept = tuple(spec.ports) if request.service_ports else ()
        overrides["ports"] = kept + _ports(request.publish, service)
    elif request.publish or request.service_ports:
        raise ComposeError("publishing ports is not supported by this engine yet")
    if request.command:
        overrides["command"] = tuple(request.command)
    if request.entrypoint is not None:
        from compose.normalize import shell_split  # imports the YAML layer: only when asked

        overrides["entrypoint"] = tuple(shell_split(request.entrypoint) or ())
        if not request.command:
            overrides["command"] = None  # docker: --entrypoint resets the image's command too
    if not request.use_aliases:
        overrides["networks"] = tuple(
            dataclasses.replace(a, aliases=()) for a in spec.networks
        )
    if request.cap_add or request.cap_drop:
        overrides["cap_add"] = (*spec.cap_add, *request.cap_add)
        overrides["cap_drop"] = (*spec.cap_drop, *request.cap_drop)
    if request.workdir:
        overrides["working_dir"] = request.workdir
    if request.user:
        overrides["user"] = request.user
    if request.rm:  # Docker's AutoRemove
        overrides["auto_remove"] = True
    # docker compose runs a one-off without the service's restart policy: it ends once.
    overrides["restart_policy"] = "no"
    overrides["tty"], overrides["stdin_open"] = choice.tty, choice.stdin_open
    # Attached, the stdin is ours (Docker's StdinOnce); detached, it stays open for `attach`.
    attach_stdin = choice.stdin_open and not request.detach
    overrides["stdin_once"] = attach_stdin
    # With a pty and our stdin, the pty's master is relayed to our terminal; a pty without
    # our stdin (--interactive=false) shows its output through the log.
    use_tty = choice.tty and attach_stdin
    spec = dataclasses.replace(spec, **overrides)  # type: ignore[arg-type]
    made: list[str] = []
    spec = orch.name_anonymous_volumes(spec, made=made)
    # A volume `-v NAME:/path` names that the file does not declare is Docker's implicit one,
    # with no labels: not the project's, so `down -v` leaves it (docker compose removes the
    # declared ones only).
    declared = {v.name for v in orch.project.volumes.values()}
    for mount in spec.mounts:
        if mount.kind.value == "volume" and mount.source:
            ours = mount.source in declared
            orch.engine.ensure_volume(mount.source, {L.PROJECT: orch.project.name} if ours else {})
    close_progress(orch)
    engine = orch.engine
    try:
        info = engine.create_container(spec)
    except BaseException:
        orch.release_fresh_volumes(made)
        raise
    try:
        orch.inject_service_files(info, definition)  # docker compose: right after the create
    except BaseException:
        engine.remove_container(info.id, force=True)
        orch.release_fresh_volumes(made)
        raise
    # Attached with --rm, we remove it once its output is read; its supervisor does only if
    # we are gone first (killed), and with -d.
    attached = engine.hold_attached(info.id) if request.rm and not request.detach else -1
    console = engine.open_console(info.id) if use_tty else None
    stdin = engine.open_stdin(info.id) if attach_stdin and not use_tty else -1
    try:
        engine.start_container(info.id)
    except BaseException:
        if stdin >= 0:
            os.close(stdin)
        if console is not None:
            console.close()
        if request.rm:
            engine.remove_container(info.id, force=True)
        if attached >= 0:
            os.close(attached)
        raise
    if request.detach:
        orch.run_lifecycle_hooks(info, "post_start")  # a failure is the command's, as in up
        print(info.name)
        return 0
    if orch.has_lifecycle_hooks(info, "post_start"):
        _post_start_beside(orch, info)
    if stdin >= 0:
        import threading

        threading.Thread(target=_feed_stdin, args=(stdin,), daemon=True).start()
    return _follow(orch, info, request.rm, console, attached)


def _post_start_beside(orch: Orchestrator, info: ContainerInfo) -> None:
    """An attached one-off's post_start hooks run beside its output, as docker compose runs
    them once the container started: a short command may be gone before they can (no error);
    a hook that fails is a warning, the one-off goes on."""
    import threading

    def run() -> None:
        from engine.api import EngineError

        try:
            orch.run_lifecycle_hooks(info, "post_start", skip_if_gone=True)
        except (ComposeError, EngineError) as exc:
            print(f"WARN[0000] {exc}", file=sys.stderr)

    threading.Thread(target=run, daemon=True).start()


def _feed_stdin(target: int) -> None:
    """Copy our stdin into the container's until ours ends; the close is its EOF (a process
    killed meanwhile closes it too). Output comes back through the log, as with Docker."""
    try:
        source = sys.stdin.fileno() if sys.stdin is not None else -1
        while source >= 0 and (data := os.read(source, 65536)):
            view = memoryview(data)
            while view:
                view = view[os.write(target, view) :]
    except (OSError, ValueError):
        pass  # our stdin is closed or unreadable: the container gets its EOF
    finally:
        os.close(target)


def _relay(engine: Engine, console: socket.socket) -> bool:
    """Our terminal is the container's until its side closes it, or until the detach keys
    (docker's config file's, else ctrl-p,ctrl-q) leave it running: True then. Its
    supervisor keeps its terminal meanwhile, and from then on logs it and types what `attach`
    sends into it."""
    from compose.cli.detach_keys import DetachScanner, configured_detach_keys
    from compose.cli.terminal import raw_terminal
    from engine.api import ConsoleEnd

    sys.stdout.flush()
    scanner = DetachScanner(configured_detach_keys())
    with raw_terminal(os.isatty(0)):
        end = engine.relay_console(console, detach=scanner.feed)
    return end is ConsoleEnd.DETACHED


def _follow(
    orch: Orchestrator, info: ContainerInfo, remove: bool, console: socket.socket | None,
    attached: int,
) -> int:
    """Stream the one-off's output until it exits (or, with a `console`, relay its terminal
    to ours, in raw mode: Ctrl-C goes to the container); SIGTERM (or Ctrl-C without a
    terminal) stops it. With `remove`, it is removed at the end: by us, or, when stopped, by
    its supervisor, once we let go of it (`attached`: Engine.hold_attached)."""
    import gc

    # The fast path ran until here without the collector (compose.cli.fast_run); following
    # may last as long as the container: collect again, except what start-up left (frozen).
    gc.freeze()
    gc.enable()
    engine = orch.engine
    container_id = info.id
    previous = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    code = 0
    detached = False
    try:
        if console is not None:
            detached = _relay(engine, console)
            if detached:  # docker's `run -it` detached: it runs on, we end with 0
                return 0
        else:  # (a relayed terminal's output is in the log too: shown already)
            for line in engine.logs(container_id, follow=True):
                stream = sys.stderr if line.stream == "stderr" else sys.stdout
                stream.write(line.text)  # as docker's attach: partial records join up
                stream.flush()
        code = engine.wait_container(container_id) or 0
    except KeyboardInterrupt:
        if attached >= 0:  # its supervisor removes it as it ends: the stop waits for that
            os.close(attached)
            attached = -1
        engine.stop_container(container_id, 0)
        code = 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if remove and not detached:  # detached, its supervisor removes it once it ends
            if engine.find_container(container_id) is not None:
                engine.remove_container(container_id, force=True)
            orch.remove_anonymous_volumes(info)
        if attached >= 0:
            os.close(attached)
    return code
