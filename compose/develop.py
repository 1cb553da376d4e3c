"""`develop.watch`: the rules `watch` (and `up --watch`) follow, as typed values.

Normalization (compose.normalize) already gave every rule its long shape (absolute `path`,
lists for `ignore`/`include`, an argv for `exec.command`); this module only reads that shape,
so the loader stays the one place that parses the file.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass, field

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from typing import Any

    from compose.model import Service


class WatchAction(enum.Enum):
    """What a change under a rule's path does to the service (the Compose Specification's
    `develop.watch[].action`)."""

    SYNC = "sync"
    REBUILD = "rebuild"
    RESTART = "restart"
    SYNC_RESTART = "sync+restart"
    SYNC_EXEC = "sync+exec"

    @property
    def syncs(self) -> bool:
        """Copies the changed files into the containers (and so needs a `target`)."""
        return self in (WatchAction.SYNC, WatchAction.SYNC_RESTART, WatchAction.SYNC_EXEC)

    @property
    def restarts(self) -> bool:
        return self in (WatchAction.RESTART, WatchAction.SYNC_RESTART)


# The actions whose rule needs `target` (where in the container the files go).
SYNC_ACTIONS = frozenset(a.value for a in WatchAction if a.syncs)


@dataclass(frozen=True)
class ExecHook:
    """`exec:` of a sync+exec rule: the command run in every container of the service after a
    sync, as `docker compose exec` would run it."""

    command: tuple[str, ...]
    user: str | None = None
    privileged: bool = False
    working_dir: str | None = None
    environment: dict[str, str | None] = field(default_factory=dict)


@dataclass(frozen=True)
class WatchRule:
    """One `develop.watch` entry of one service: changes under host `path` (absolute) that no
    `ignore` pattern excludes (and, when `include` is set, that one of its patterns names)
    trigger `action`; sync actions copy them under `target` in the container."""

    service: str
    path: str
    action: WatchAction
    target: str | None = None
    ignore: tuple[str, ...] = ()
    include: tuple[str, ...] = ()
    initial_sync: bool = False
    exec: ExecHook | None = None


def _exec_hook(raw: dict[str, Any] | None) -> ExecHook | None:
    if not raw:
        return None
    return ExecHook(
        command=tuple(raw.get("command") or ()),
        user=raw.get("user"),
        privileged=bool(raw.get("privileged", False)),
        working_dir=raw.get("working_dir"),
        environment=dict(raw.get("environment") or {}),
    )


def watch_rules(service: Service) -> tuple[WatchRule, ...]:
    """The service's rules, in file order (empty when it has no `develop.watch`)."""
    develop = service.raw.get("develop") or {}
    return tuple(
        WatchRule(
            service=service.name,
            path=str(rule["path"]),
            action=WatchAction(rule["action"]),
            target=rule.get("target"),
            ignore=tuple(rule.get("ignore") or ()),
            include=tuple(rule.get("include") or ()),
            initial_sync=bool(rule.get("initial_sync", False)),
            exec=_exec_hook(rule.get("exec")),
        )
        for rule in develop.get("watch") or ()
    )
