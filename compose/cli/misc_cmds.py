"""`top`, `events`, `ls`, `wait`, `version`: small commands that look at what runs.

`top` reads /proc for the processes in a container's pid namespace (read-only observation;
the engine facade has no `top` yet). `events` is built from observed state changes by polling,
like a daemonless engine must.
"""

from __future__ import annotations

import json
import os
import re
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path

import typer

from compose.cli import list_format
from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from engine.api import ContainerInfo

EVENT_POLL = 0.2
COMPOSE_LABELS = "com.docker.compose."  # label prefix `events` leaves out, like compose


# ---- top -----------------------------------------------------------------------------------
def _pid_namespace(pid: int) -> str | None:
    try:
        return os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return None


def _process_row(pid: int, boot: float, ticks: int) -> list[str] | None:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        status = Path(f"/proc/{pid}/status").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    fields = stat[stat.rindex(")") + 2 :].split()
    ppid = fields[1]
    cpu_ticks = int(fields[11]) + int(fields[12])
    started = boot + int(fields[19]) / ticks
    uid = next((ln.split()[1] for ln in status.splitlines() if ln.startswith("Uid:")), "0")
    try:
        import pwd

        user = pwd.getpwuid(int(uid)).pw_name
    except (KeyError, ValueError):
        user = uid
    seconds = cpu_ticks // ticks
    cmd = " ".join(p.decode(errors="replace") for p in cmdline.split(b"\0") if p)
    if not cmd:
        cmd = "[" + stat[stat.index("(") + 1 : stat.rindex(")")] + "]"
    return [
        user,
        str(pid),
        ppid,
        "0",
        datetime.fromtimestamp(started).strftime("%H:%M"),
        "?",
        f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}",
        cmd,
    ]


def container_processes(init_pid: int) -> list[list[str]]:
    """Rows for every host process in the pid namespace of `init_pid`."""
    namespace = _pid_namespace(init_pid)
    if namespace is None:
        return []
    boot = time.time() - float(Path("/proc/uptime").read_text().split()[0])
    ticks = os.sysconf("SC_CLK_TCK")
    rows = []
    for entry in sorted((e for e in os.listdir("/proc") if e.isdigit()), key=int):
        if _pid_namespace(int(entry)) == namespace:
            row = _process_row(int(entry), boot, ticks)
            if row:
                rows.append(row)
    return rows


def top(ctx: typer.Context, services: list[str] = typer.Argument(None)) -> None:
    """Display the running processes."""
    from compose.cli.go_template import tabwriter
    from compose.cli.session import orchestrator
    from engine.api import ContainerStatus

    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = tuple(services or ())
    orch.check_services(chosen)
    header = ["UID", "PID", "PPID", "C", "STIME", "TTY", "TIME", "CMD"]
    for info in sorted(orch.containers(chosen), key=lambda c: c.name):
        if info.status is not ContainerStatus.RUNNING or not info.state.pid:
            continue
        # compose 2.29's psPrinter: each process's cells tab-ended (so CMD is padded too),
        # then an empty line, through tabwriter(min width 5, padding 3)
        lines = ["\t".join(header), *("\t".join(r) + "\t" for r in
                                       container_processes(info.state.pid)), ""]
        table = tabwriter("\n".join(lines), min_width=5)
        print(f"{info.name}\n{table}")


# ---- events ----------------------------------------------------------------------------------
# per container: (status, health, started_at, info)
Snapshot = dict[str, tuple[str, str | None, str | None, object]]
# (action, container info, extra actor attributes)
Change = tuple[str, object, dict[str, str]]


def _snapshot(orch: object) -> Snapshot:
    from compose.orchestrator import Orchestrator

    assert isinstance(orch, Orchestrator)
    infos = [orch.engine.with_live_oom(c) for c in orch.containers()]  # no one-offs, as compose
    return {
        c.id: (
            c.status.value, getattr(c.state, "health_status", None), c.state.started_at, c
        )
        for c in infos
    }


def _kills(old: object, new: object) -> list[dict[str, str]]:
    """Docker's `kill` events (one per signal kill/stop sent) between two observed states."""
    sent = getattr(new, "kill_count", 0) - getattr(old, "kill_count", 0)
    signals: list[int] = list(getattr(new, "recent_signals", []))
    return [
        {"signal": str(signals[index - sent])} if sent - index <= len(signals) else {}
        for index in range(max(sent, 0))
    ]


def _delta(old: object, new: object, counter: str) -> int:
    return max(getattr(new, counter, 0) - getattr(old, counter, 0), 0)


def _deaths(old: object, new: object, count: int) -> list[dict[str, str]]:
    """The `die` attributes of `count` runs ended since the last look, oldest first: exit codes
    from the engine's record of the last few; the newest also from the state itself."""
    codes: list[int] = list(getattr(new, "recent_exit_codes", []))
    recorded = _delta(old, new, "die_count")
    out: list[dict[str, str]] = []
    for index in range(count):
        back = count - index
        if recorded >= back and back <= len(codes):
            out.append({"exitCode": str(codes[-back])})
        elif back == 1:
            out.append(_die(new))
        else:
            out.append({})
    return out


def _die(state: object) -> dict[str, str]:
    code = getattr(state, "exit_code", None)
    return {} if code is None else {"exitCode": str(code)}


def _life(
    old: tuple[str, str | None, object] | None, new: tuple[str, str | None, object]
) -> list[tuple[str, dict[str, str]]]:
    """Docker's actions for one container between two looks, given (status, started_at, state)
    then and now. Several runs may have begun and ended in between (a restart: kill, die, stop,
    start, restart; a restart policy: die, start), so counters recorded by the engine say how
    many of each happened, and they are put in Docker's order."""
    old_status, old_started, old_state = old if old is not None else ("created", None, None)
    status, started, state = new
    was_running = old_status == "running"
    is_running = status == "running"
    begun = bool(started) and started != old_started
    died = _delta(old_state, state, "die_count")
    if died == 0 and was_running and (begun or not is_running):
        died = 1  # seen to end, though not counted (a supervisor that was killed)
    starts = died - int(was_running) + int(is_running) if begun else 0
    starts = max(starts, int(begun))
    dies = _deaths(old_state, state, died)
    kills = _kills(old_state, state)
    stops = _delta(old_state, state, "stop_count")
    out: list[tuple[str, dict[str, str]]] = []
    last_start: int | None = None  # `restart` follows the start it made
    if starts and not was_running:
        if old_started:
            # A run seen ended at the last look: a stop counted since and not matched by a
            # death since ended that run (the look fell between its `die` and its `stop`),
            # so it comes before this start.
            early = max(0, stops - len(dies))
            out += [("stop", {})] * early
            stops -= early
        out.append(("start", {}))
        last_start = len(out) - 1
        starts -= 1
    out += [("kill", attrs) for attrs in kills]
    if dies:
        out.append(("die", dies.pop(0)))
    out += [("stop", {})] * stops
    while starts:
        out.append(("start", {}))
        last_start = len(out) - 1
        starts -= 1
        if dies and (starts or not is_running):
            out.append(("die", dies.pop(0)))
    out += [("die", attrs) for attrs in dies]
    at = len(out) if last_start is None else last_start + 1
    out[at:at] = [("restart", {})] * _delta(old_state, state, "restart_requests")
    out = _with_attaches(out, old_state, state, before_start=not was_running)
    return out + _pauses_and_commits(old_state, state)


def _with_attaches(
    steps: list[tuple[str, dict[str, str]]], old: object, new: object, before_start: bool
) -> list[tuple[str, dict[str, str]]]:
    """Docker's `attach` events since the last look, counted by the engine: before the start
    of a container seen stopped (an attached `up` attaches, then starts), else after what
    else happened (`attach` to a running one)."""
    attaches: list[tuple[str, dict[str, str]]] = [("attach", {})] * _delta(old, new, "attach_count")
    starts = (i for i, (action, _) in enumerate(steps) if action == "start" and before_start)
    at = next(starts, len(steps))
    return [*steps[:at], *attaches, *steps[at:]]


def _pauses_and_commits(old: object, new: object) -> list[tuple[str, dict[str, str]]]:
    """Docker's pause/unpause events since the last look (counted by the engine: a commit's
    freeze is over before a poller may look; the paused flag when uncounted), alternating from
    the state then, with the commits before the last thaw: Docker's pause, commit, unpause."""
    was = bool(getattr(old, "paused", False))
    count = _delta(old, new, "pause_count") + _delta(old, new, "unpause_count")
    if not count:
        count = int(bool(getattr(new, "paused", False)) != was)
    order = ("unpause", "pause") if was else ("pause", "unpause")
    steps: list[tuple[str, dict[str, str]]] = [(order[i % 2], {}) for i in range(count)]
    commits = _commits(old, new)
    if commits and steps and steps[-1][0] == "unpause":
        return steps[:-1] + commits + steps[-1:]
    return steps + commits


def _commits(old: object, new: object) -> list[tuple[str, dict[str, str]]]:
    """Docker's `commit` events (comment, imageID, imageRef) since the last look; the engine
    keeps the attributes of the last few."""
    count = _delta(old, new, "commit_count")
    kept: list[dict[str, str]] = list(getattr(new, "recent_commits", []))
    recent = kept[-count:] if count else []
    return [("commit", {})] * (count - len(recent)) + [("commit", dict(a)) for a in recent]


def _with_oom(
    steps: list[tuple[str, dict[str, str]]], then: tuple[str, object, object] | None,
    state: object,
) -> list[tuple[str, dict[str, str]]]:
    """Docker's `oom` when the kernel OOM-killed a process of the container since the last look
    (its OOMKilled turned true): before the `die` it caused, or on its own when the container
    went on (a child was killed)."""
    old_state = None if then is None else then[2]
    if not getattr(state, "oom_killed", False) or getattr(old_state, "oom_killed", False):
        return steps
    at = next((i for i, (action, _) in enumerate(steps) if action == "die"), len(steps))
    return [*steps[:at], ("oom", {}), *steps[at:]]


def _changes(
    before: Snapshot, after: Snapshot, removed: Callable[[str], object | None] = lambda _: None
) -> Iterator[Change]:
    """docker's container actions, inferred from two observations: a container may have gone
    through several states between them (created and started, killed, stopped, restarted,
    removed), so every step it must have taken is reported, in Docker's order.
    `removed(id)` is the final state of a container deleted since the last look, if known."""
    for cid, (status, health, started, info) in after.items():
        state = getattr(info, "state", None)
        old = before.get(cid)
        if old is None:
            yield "create", info, {}
        then = None if old is None else (old[0], old[2], getattr(old[3], "state", None))
        steps = _with_oom(_life(then, (status, started, state)), then, state)
        for action, attrs in steps:
            yield action, info, attrs
        # Docker reports health changes only: `starting` is where every run begins
        if health and health != "starting" and (old is None or old[1] != health):
            yield f"health_status: {health}", info, {}
    for cid, (status, _health, started, info) in before.items():
        if cid not in after:
            old_state = getattr(info, "state", None)
            final = removed(cid)
            if final is not None:
                now = (getattr(final, "status", status), getattr(final, "started_at", started))
                final_status = getattr(now[0], "value", now[0])
                then = (status, started, old_state)
                steps = _life(then, (str(final_status), now[1], final))
                for action, attrs in _with_oom(steps, then, final):
                    yield action, info, attrs
            elif status == "running":
                yield "die", info, {}
            yield "destroy", info, {}


def rfc3339_nano(moment: datetime) -> str:
    """Go's JSON of a time.Time in UTC: RFC 3339, the fraction's trailing zeros dropped."""
    fraction = f"{moment.microsecond:06d}".rstrip("0")
    return moment.strftime("%Y-%m-%dT%H:%M:%S") + (f".{fraction}" if fraction else "") + "Z"


def _event_line(
    when: datetime, action: str, info: ContainerInfo, extra: dict[str, str], as_json: bool
) -> str:
    """One event as docker compose prints it (its Event.String(), or `--json`'s object)."""
    from compose import labels as L

    attributes = {  # docker's actor attributes minus compose's own labels
        **{k: v for k, v in info.labels.items() if not k.startswith(COMPOSE_LABELS)},
        "image": info.record.spec.image,
        "name": info.name,
    }
    attributes.update(extra)  # exitCode of die, signal of kill, commit's image
    if as_json:
        record = {
            "time": rfc3339_nano(when),
            "type": "container",
            "action": action,
            "id": info.id,
            "service": info.labels.get(L.SERVICE, ""),
            "attributes": attributes,
        }
        # Go marshals compose's event map: keys sorted, no spaces.
        return json.dumps(record, sort_keys=True, separators=(",", ":"))
    attrs = ", ".join(f"{k}={v}" for k, v in attributes.items())
    stamp = when.strftime("%Y-%m-%d %H:%M:%S.%f")
    # compose's Event.String() ends in a newline and is printed with Println
    return f"{stamp} container {action} {info.id} ({attrs})\n"


def _event_time(value: str | None, flag: str) -> datetime | None:
    """`--since`/`--until` through the one parser `logs` uses too (engine.api)."""
    from compose.human_time import parse_rfc3339
    from engine.api import docker_time_flag

    return None if value is None else parse_rfc3339(docker_time_flag(value, flag))


def events(
    ctx: typer.Context,
    services: list[str] = typer.Argument(None),
    as_json: bool = typer.Option(False, "--json", help="Output events as a stream of json"),
    since: str = typer.Option(
        None, "--since", help="Show all events created since timestamp (e.g. "
        "2013-01-02T13:23:37Z) or relative (e.g. 42m for 42 minutes)"
    ),
    until: str = typer.Option(
        None, "--until", help="Stream events until this timestamp (e.g. 2013-01-02T13:23:37Z) "
        "or relative (e.g. 42m for 42 minutes)"
    ),
    until_seconds: float = typer.Option(
        None, "--until-seconds", hidden=True, help="Stop after this many seconds (tests)"
    ),
) -> None:
    """Receive real time events from containers."""
    from compose import labels as L
    from compose.cli.event_history import recorded_events
    from compose.cli.session import orchestrator
    from engine.api import ContainerInfo

    start, end = _event_time(since, "since"), _event_time(until, "until")
    orch = orchestrator(ctx, allow_missing_file=True, quiet=True)
    chosen = set(services or ())
    orch.check_services(tuple(chosen))

    def wanted(info: ContainerInfo) -> bool:
        return not chosen or info.labels.get(L.SERVICE, "") in chosen

    deadline = None if until_seconds is None else time.monotonic() + until_seconds
    before = _snapshot(orch)
    last = datetime.now(UTC)
    if start is not None or end is not None:  # docker replays the past only when asked
        infos = [c[3] for c in before.values() if isinstance(c[3], ContainerInfo)]
        for past in recorded_events(filter(wanted, infos), start, end):
            print(_event_line(past.time, past.action, past.info, past.attributes, as_json),
                  flush=True)
    try:
        while (deadline is None or time.monotonic() < deadline) and (
            end is None or datetime.now(UTC) < end
        ):
            time.sleep(EVENT_POLL)
            after = _snapshot(orch)
            for action, info, extra in _changes(before, after, orch.engine.removed_container_state):
                assert isinstance(info, ContainerInfo)
                now = last = max(datetime.now(UTC), last)  # in order even if the clock steps
                if not wanted(info) or (start is not None and now < start):
                    continue
                if end is not None and now > end:
                    return
                print(_event_line(now, action, info, extra, as_json), flush=True)
            before = after
    except KeyboardInterrupt:
        return


# ---- ls --------------------------------------------------------------------------------------
def ls(
    all_: bool = typer.Option(False, "-a", "--all", help="Show all stopped Compose projects"),
    quiet: bool = typer.Option(False, "-q", "--quiet", help="Only display project names"),
    fmt: str = typer.Option(
        "table", "--format", help="Format the output. Values: [table | json] (or '{{json .}}')"
    ),
    filters: list[str] = typer.Option(
        None, "--filter", help="Filter output based on conditions provided (name=REGEXP)"
    ),
) -> None:
    """List running compose projects (from the labels of this host's containers)."""
    from compose import labels as L
    from compose.cli.ps_cmd import state_word
    from engine.api import Engine

    wanted = _name_filters(filters or [])
    counts: dict[str, dict[str, int]] = {}
    files: dict[str, list[str]] = {}
    for info in sorted(Engine().list_containers(), key=lambda c: c.name):
        name = info.labels.get(L.PROJECT)
        # as compose: without -a only what docker lists without --all (running ones) counts
        if not name or not (all_ or info.state.status.value in ("running", "restarting")):
            continue
        state = state_word(info)
        counts.setdefault(name, {})[state] = counts.get(name, {}).get(state, 0) + 1
        for path in info.labels.get(L.CONFIG_FILES, "").split(","):
            if path and path not in files.setdefault(name, []):
                files[name].append(path)
    rows: list[dict[str, object]] = [
        {
            "Name": name,
            "Status": ", ".join(f"{s}({n})" for s, n in sorted(counts[name].items())),
            "ConfigFiles": ",".join(files.get(name, [])),
        }
        for name in sorted(counts)
        if not wanted or any(_matches(w, name) for w in wanted)
    ]
    if quiet:
        for row in rows:
            print(row["Name"])
        return
    cells = [[str(r["Name"]), str(r["Status"]), str(r["ConfigFiles"])] for r in rows]
    try:
        text = list_format.render_list(rows, fmt, ("NAME", "STATUS", "CONFIG FILES"), cells)
    except list_format.FormatError as exc:
        raise ComposeError(str(exc)) from None
    print(text, end="")


def _name_filters(filters: list[str]) -> list[str]:
    """`ls --filter name=X` (`name` is the only key compose accepts)."""
    wanted = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise ComposeError("bad format of filter (expected name=value)")
        if key != "name":
            raise ComposeError(f"invalid filter '{key}'")
        wanted.append(value)
    return wanted


def _matches(pattern: str, name: str) -> bool:
    """moby's filters.Match: a regular expression searched in the name; one that does not
    compile matches nothing."""
    try:
        return re.search(pattern, name) is not None
    except re.error:
        return False


# ---- wait ------------------------------------------------------------------------------------
def wait(
    ctx: typer.Context,
    services: list[str] = typer.Argument(..., help="Services to wait for"),
    down_project: bool = typer.Option(
        False, "--down-project", help="Drops the project when the first container stops"
    ),
) -> None:
    """Block until the services' running containers stop; exit with the last exit code.

    As docker compose v2 does: its running containers (one-offs included) are waited for, one
    line is printed as each stops, the exit code is the last one's, and no running container
    is an error."""
    from compose.cli.session import orchestrator
    from compose.orchestrator import DownOptions

    orch = orchestrator(ctx, quiet=True)
    orch.check_services(tuple(services))
    infos = [
        c
        for c in orch.containers(tuple(services), include_oneoff=True)
        if c.status.active
    ]
    if not infos:
        raise ComposeError(f'no containers for project "{orch.project.name}"')
    code = 0
    pending = list(infos)
    try:
        while pending:
            for info in list(pending):
                current = orch.engine.find_container(info.id)
                if current is None:  # removed meanwhile (`run --rm`, `down`): nothing to say
                    pending.remove(info)
                    continue
                if current.status.active:
                    continue
                code = current.state.exit_code or 0
                print(f'container "{info.id}" exited with status code {code}', flush=True)
                pending.remove(info)
            if pending:
                time.sleep(0.1)
    except KeyboardInterrupt:
        raise typer.Exit(130) from None
    if down_project:
        orch.down(DownOptions(remove_orphans=True))
    raise typer.Exit(code)


# ---- version ---------------------------------------------------------------------------------
def version(
    short: bool = typer.Option(False, "--short", help="Shows only Compose's version number"),
    fmt: str = typer.Option("pretty", "-f", "--format", help="pretty or json"),
) -> None:
    """Show the Docker Compose version information."""
    from compose import labels as L

    if short:
        print(L.COMPOSE_VERSION)
    elif fmt == "json":
        print(json.dumps({"version": f"v{L.COMPOSE_VERSION}"}, separators=(",", ":")))
    else:
        print(f"Docker Compose version v{L.COMPOSE_VERSION}")
    sys.stdout.flush()


def register(app: typer.Typer) -> None:
    app.command()(top)
    app.command()(events)
    app.command()(ls)
    app.command()(wait)
    app.command()(version)
