"""`ps`'s listing without Typer: which containers, and their rows as docker compose prints
them (table, JSON, ids, service names). `ps` with the usual flags runs from here straight away
(compose.cli.fast_ps): importing Typer and building the app cost every `ps` ~40 ms, and a test
suite polling a stack's state calls it often. Templates go through the Typer command
(compose.cli.ps_cmd), whose --format errors are usage errors.

Docker compose rules this follows: plain `ps` shows the running service containers; `-a` adds
stopped ones *and* the one-off containers `run` made (`project-service-run-<hex>`); `--status`
and `--filter status=…` look at all of them too; rows are sorted by name; `--format json`
prints one object per line with docker's field names; `--format` also takes a Go-template
subset (`{{.Name}}`, `{{json .Publishers}}`, a leading `table`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from compose import labels as L
from compose.cli.go_struct import GoStruct
from compose.cli.port_display import displayable_ports
from compose.cli.states import RUNNING, is_exited
from compose.human_time import parse_rfc3339, since

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Callable

    from compose.cli import go_template
    from compose.cli.context import GlobalOptions
    from compose.orchestrator import Orchestrator
    from engine.api import ContainerInfo

# docker's default `ps` table: (header, field)
TABLE = (
    ("NAME", "Name"),
    ("IMAGE", "Image"),
    ("COMMAND", "Command"),
    ("SERVICE", "Service"),
    ("CREATED", "RunningFor"),
    ("STATUS", "Status"),
    ("PORTS", "Ports"),
)
HEADERS = {
    "ID": "CONTAINER ID",
    "Name": "NAME",
    "Names": "NAMES",
    "Project": "PROJECT",
    "Service": "SERVICE",
    "Image": "IMAGE",
    "Command": "COMMAND",
    "CreatedAt": "CREATED AT",
    "RunningFor": "CREATED",
    "Ports": "PORTS",
    "State": "STATE",
    "Status": "STATUS",
    "Size": "SIZE",
    "Labels": "LABELS",
    "Mounts": "MOUNTS",
    "LocalVolumes": "LOCAL VOLUMES",
    "Networks": "NETWORKS",
    "Health": "HEALTH",
    "ExitCode": "EXIT CODE",
    "Publishers": "PUBLISHERS",
}


def state_word(info: ContainerInfo) -> str:
    """docker's State: running containers that are frozen say `paused`."""
    if info.state.status.value == RUNNING and getattr(info.state, "paused", False):
        return "paused"
    return str(info.state.status.value)


def _status(info: ContainerInfo) -> str:
    state = info.state
    if state.status.value == RUNNING:
        health = getattr(state, "health_status", None)
        if getattr(state, "paused", False):
            suffix = " (Paused)"
        elif health == "starting":
            suffix = " (health: starting)"
        elif health:
            suffix = f" ({health})"
        else:
            suffix = ""
        return f"Up {since(state.started_at)}{suffix}"
    if is_exited(state.status):
        return f"Exited ({state.exit_code}) {since(state.finished_at)} ago"
    if state.status.value == "restarting":
        return f"Restarting ({state.exit_code}) {since(state.finished_at)} ago"
    return str(state.status.value).capitalize()




def command_column(argv: tuple[str, ...], trunc: bool) -> str:
    """Docker's own rendering (daemon/list.go): an argument with a space in single quotes,
    nothing else escaped; cut at 20 characters, then quoted as Go's %q does."""
    text = " ".join(f"'{arg}'" if " " in arg else arg for arg in argv)
    if trunc and len(text) > 20:
        text = text[:19] + "…"
    return json.dumps(text, ensure_ascii=False)


def _created_at(info: ContainerInfo) -> str:
    """Go's time.String() of the creation second, as docker prints it."""
    created: datetime = parse_rfc3339(info.record.created)
    return created.strftime("%Y-%m-%d %H:%M:%S +0000 UTC")


def _mounts(info: ContainerInfo) -> list[str]:
    return [m.source or m.target for m in info.record.spec.mounts if m.kind.value != "tmpfs"]


def _lists_ports(info: ContainerInfo) -> bool:
    return info.state.status.value == RUNNING and info.record.spec.network_mode == "bridge"


def exposed_for(orch: Orchestrator, info: ContainerInfo) -> tuple[str, ...]:
    """The container's exposed ports when `ps` lists them (running, on its own network):
    only then is its image's config read."""
    return orch.engine.exposed_ports_of(info) if _lists_ports(info) else ()


def container_ports(
    info: ContainerInfo, exposed: tuple[str, ...]
) -> list[tuple[str, int, int, str]]:
    """The running container's ports as Docker lists them: (host address, host port, port,
    protocol) for each published one, ("", 0, port, protocol) for one only exposed; none for
    a stopped container or one without a network namespace of its own."""
    if not _lists_ports(info):
        return []
    ports = [(p.host_ip, p.host_port, p.target, p.protocol) for p in info.state.ports]
    published = {f"{target}/{protocol}" for _, _, target, protocol in ports}
    for text in exposed:
        port, _, protocol = text.partition("/")
        if text not in published and port.isdigit():
            ports.append(("", 0, int(port), protocol or "tcp"))
    return sorted(ports, key=lambda p: (p[2], p[3], p[0]))


def row(
    info: ContainerInfo, trunc: bool = True, command: tuple[str, ...] | None = None,
    exposed: tuple[str, ...] = (),
) -> dict[str, object]:
    """docker compose's ContainerSummary fields for one container; `command` is what it runs
    (Engine.command_of: the image's ENTRYPOINT/CMD where the service leaves them), `exposed`
    its exposed ports (Engine.exposed_ports_of)."""
    if command is None:
        spec = info.record.spec
        command = (*(spec.entrypoint or ()), *(spec.command or ()))
    spec = info.record.spec
    state = state_word(info)
    ports = container_ports(info, exposed)
    mounts = _mounts(info)
    return {
        "Command": command_column(command, trunc),
        "CreatedAt": _created_at(info),
        "ExitCode": (info.state.exit_code or 0) if state in ("exited", "dead") else 0,
        "Health": (getattr(info.state, "health_status", None) or "") if state == RUNNING else "",
        "ID": info.id[:12] if trunc else info.id,
        "Image": spec.image,
        "Labels": ",".join(f"{k}={v}" for k, v in sorted(spec.labels.items())),
        "LocalVolumes": str(sum(1 for m in info.record.spec.mounts if m.kind.value == "volume")),
        "Mounts": ",".join(m[:15] + "…" if trunc and len(m) > 15 else m for m in mounts),
        "Name": info.name,
        "Names": info.name,
        "Networks": ",".join(sorted(info.state.addresses) or [n.network for n in spec.networks]),
        "Ports": displayable_ports(ports),
        "Project": spec.labels.get(L.PROJECT, ""),
        "Publishers": [
            GoStruct(URL=ip, TargetPort=target, PublishedPort=published, Protocol=protocol)
            for ip, published, target, protocol in ports
        ],
        "RunningFor": f"{since(info.record.created)} ago",
        "Service": spec.labels.get(L.SERVICE, ""),
        "Size": "0B",
        "State": state,
        "Status": _status(info),
    }


def _table(rows: list[dict[str, object]]) -> str:
    """docker's default `ps` table, laid out by its tabwriter (an empty PORTS cell leaves the
    STATUS column's padding at the end of the line, as docker's does)."""
    from compose.cli.go_template import tabwriter

    cells = [[h for h, _ in TABLE]] + [[str(r[k]) for _, k in TABLE] for r in rows]
    return tabwriter("\n".join("\t".join(c) for c in cells))


def label_method(infos: list[ContainerInfo]) -> dict[str, go_template.Method]:
    """`{{.Label "key"}}`: one label's value of the row's container ("" when it has none)."""
    labels = {info.name: info.labels for info in infos}

    def label(row: object, key: object = "") -> str:
        assert isinstance(row, dict)
        return str(labels.get(str(row.get("Name")), {}).get(str(key), ""))

    return {"Label": label}


def status_filters(filters: list[str]) -> list[str]:
    """`--filter KEY=VALUE`, checked as compose's parseFilter checks it: only `status` (whose
    value, like `--status`'s, is not checked: an unknown state matches nothing)."""
    from compose.errors import ComposeError

    wanted = []
    for item in filters:
        key, sep, value = item.partition("=")
        if not sep:
            raise ComposeError("arguments to --filter should be in form KEY=VAL")
        if key == "source":
            raise ComposeError("not implemented")
        if key != "status":
            raise ComposeError(f"unknown filter {key}")
        wanted.append(value)
    return wanted


def select(
    infos: list[ContainerInfo], all_: bool, states: list[str], with_orphans: bool,
    known: set[str],
) -> list[ContainerInfo]:
    """Which containers `ps` shows (docker compose's rules, see the module docstring)."""
    if not with_orphans:
        infos = [c for c in infos if c.labels.get(L.SERVICE) in known]
    if states:
        infos = [c for c in infos if state_word(c) in states]
    elif not all_:
        infos = [  # what docker lists without --all: running, paused and restarting ones
            c for c in infos
            if c.state.status.value in (RUNNING, "restarting") and c.labels.get(L.ONEOFF) != "True"
        ]
    return sorted(infos, key=lambda c: c.name)


@dataclass(frozen=True)
class PsRequest:
    """`ps`'s flags (the Typer command's parameters)."""

    services: tuple[str, ...] = ()
    all: bool = False
    quiet: bool = False
    services_only: bool = False
    format: str = "table"
    status: tuple[str, ...] = ()
    filters: tuple[str, ...] = ()
    no_trunc: bool = False
    orphans: bool = True


def listed(orch: Orchestrator, request: PsRequest) -> list[ContainerInfo]:
    """The containers `ps` shows, sorted by name."""
    wanted_states = list(request.status) + status_filters(list(request.filters))
    chosen = request.services
    orch.check_services(chosen)
    infos = orch.containers(chosen, include_oneoff=True)
    known = set(orch.project.all_service_names) | set(orch.project.services)
    with_orphans = request.orphans or not orch.project.config_files
    return select(infos, request.all, wanted_states, with_orphans, known)


def print_listing(orch: Orchestrator, request: PsRequest, infos: list[ContainerInfo]) -> bool:
    """Print the listing in every form but a template; False: `request.format` is one (as
    docker's formatter, any format but table and json: `--format yaml` prints "yaml" a row)."""
    if request.quiet:
        for info in infos:
            print(info.id)
    elif request.services_only:
        for name in dict.fromkeys(c.labels.get(L.SERVICE, "") for c in infos):
            print(name)
    elif request.format in ("json", "table"):
        rows = [
            row(c, not request.no_trunc, orch.engine.command_of(c), exposed_for(orch, c))
            for c in infos
        ]
        if request.format == "json":
            for record in rows:  # one compact object per line, as Go's json.Marshal writes it
                print(json.dumps(record, separators=(",", ":")))
        else:
            print(_table(rows))
    else:
        return False
    return True


def execute(
    flags: GlobalOptions, request: PsRequest,
    render: Callable[[Orchestrator, list[ContainerInfo]], None] | None = None,
) -> int:
    """`ps`: the fast path's (compose.cli.fast_ps, which passes no template) and the Typer
    command's, whose `render` prints a Go template's rows."""
    from compose.cli.session import load_with
    from compose.orchestrator import Orchestrator
    from engine.api import Engine

    orch = Orchestrator(Engine(), load_with(flags, allow_missing_file=True), lambda _e: None)
    infos = listed(orch, request)
    if not print_listing(orch, request, infos):
        assert render is not None, "fast_ps passes table and json formats only"
        render(orch, infos)
    return 0
