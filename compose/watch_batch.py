"""Changes gathered into batches, and what one batch asks of each service (pure).

docker compose debounces file events: they pile up until none came for a quiet period
(500 ms), so an editor saving ten files or a `git checkout` makes one sync, not ten. A batch
is then read against every rule: a service is rebuilt, synced, restarted or exec'd into once
per batch however many of its files changed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from compose.develop import WatchAction
from compose.watch_paths import PathMapping, RuleMatcher

QUIET_PERIOD = 0.5  # seconds without a new change that close a batch (compose's QuietPeriod)


class Debouncer:
    """Collects changed paths; `take(now)` hands them over once `quiet` seconds passed since
    the last one (times come from the caller's monotonic clock, so tests need no sleeping)."""

    def __init__(self, quiet: float = QUIET_PERIOD) -> None:
        self.quiet = quiet
        self._paths: dict[str, None] = {}  # insertion-ordered set
        self._last = 0.0

    def add(self, paths: list[str] | set[str], now: float) -> None:
        if paths:
            self._paths.update(dict.fromkeys(sorted(paths)))
            self._last = now

    def pending(self) -> bool:
        return bool(self._paths)

    def wait_time(self, now: float) -> float | None:
        """Seconds until the batch is due; None when nothing is pending."""
        if not self._paths:
            return None
        return max(0.0, self._last + self.quiet - now)

    def take(self, now: float) -> list[str]:
        """The batch when it is due (then forgotten), else nothing."""
        if not self._paths or now - self._last < self.quiet:
            return []
        batch = list(self._paths)
        self._paths.clear()
        return batch


@dataclass
class ServiceWork:
    """What one batch asks of one service: files to sync, and whether to rebuild or restart
    it, and which sync+exec hooks (rule indexes) to run once the files are in."""

    syncs: list[PathMapping] = field(default_factory=list)
    rebuild: bool = False
    restart: bool = False
    execs: list[int] = field(default_factory=list)


def plan_batch(paths: list[str], matchers: list[RuleMatcher]) -> dict[str, ServiceWork]:
    """Each service's work for these changed paths (services no rule took are left out)."""
    work: dict[str, ServiceWork] = {}
    for path in paths:
        for index, matcher in enumerate(matchers):
            mapping = matcher.mapping(path)
            if mapping is None:
                continue
            action = matcher.rule.action
            todo = work.setdefault(matcher.rule.service, ServiceWork())
            if action is WatchAction.REBUILD:
                todo.rebuild = True
            if action.syncs:
                todo.syncs.append(mapping)
            if action.restarts:
                todo.restart = True
            if action is WatchAction.SYNC_EXEC and index not in todo.execs:
                todo.execs.append(index)
    return work
