"""Changed host paths, from `watchfiles` (inotify through Rust's notify crate), as one queue.

Directories are watched recursively. A file is watched through its directory, without
recursion: editors save by writing a temporary file and renaming it over the old one, and
a watch on the file itself ends with the inode it was on (the second save would go unseen).
A path not made yet is watched through its directory too. Each kind runs in a thread of its
own (`watchfiles.watch` takes one `recursive` for all its paths); both stop with `stop`.
"""

from __future__ import annotations

import os
import queue
import threading

from compose.errors import ComposeError

TYPE_CHECKING = False  # `typing` costs every command ~4 ms of start-up
if TYPE_CHECKING:
    from collections.abc import Iterable

STEP_MS = 50  # watchfiles groups events this close together before yielding them
POLL_MS = 100  # how often a watcher wakes without events, to see the stop flag
READY_SECONDS = 30.0  # at most this long for the watches to be in place (a huge tree)


class WatchFailed(ComposeError):
    """The file watcher itself failed (a watched directory vanished, inotify limits)."""


def watch_roots(paths: Iterable[str]) -> tuple[list[str], list[str]]:
    """(directories to watch recursively, directories to watch alone) for these paths; a path
    whose directory does not exist either cannot be watched (rather than some far ancestor,
    the whole disk at worst)."""
    deep: list[str] = []
    flat: list[str] = []
    for path in paths:
        if os.path.isdir(path):
            chosen, root = deep, path
        else:
            chosen, root = flat, os.path.dirname(path) or "/"
            if not os.path.isdir(root):
                raise ComposeError(f"cannot watch {path}: neither it nor its directory exists")
        if root not in chosen:
            chosen.append(root)
    return deep, [root for root in flat if root not in deep]


class FileEvents:
    """The changed paths under `paths` until `stop` is set: `next_changes` hands them over."""

    def __init__(self, paths: Iterable[str], stop: threading.Event) -> None:
        self.stop = stop
        self.changes: queue.Queue[set[str] | BaseException] = queue.Queue()
        deep, flat = watch_roots(paths)
        kinds = [(roots, recursive) for roots, recursive in ((deep, True), (flat, False)) if roots]
        self.ready = [threading.Event() for _ in kinds]
        self.threads = [
            threading.Thread(target=self._pump, args=(roots, recursive, ready), daemon=True,
                             name="watchfiles")
            for (roots, recursive), ready in zip(kinds, self.ready, strict=True)
        ]

    def start(self) -> None:
        """Start watching; returns once every watch is in place (its first empty look came
        back), so that a change made after "Watch enabled" is never missed."""
        for thread in self.threads:
            thread.start()
        for ready in self.ready:
            ready.wait(READY_SECONDS)

    def _pump(self, roots: list[str], recursive: bool, ready: threading.Event) -> None:
        import watchfiles

        try:
            for changes in watchfiles.watch(
                *roots, recursive=recursive, watch_filter=None, debounce=POLL_MS * 4,
                step=STEP_MS, stop_event=self.stop, rust_timeout=POLL_MS, yield_on_timeout=True,
                raise_interrupt=False, ignore_permission_denied=True,
            ):
                ready.set()
                if changes:
                    self.changes.put({path for _change, path in changes})
        except Exception as exc:  # whatever the watcher raised ends the watch, said as such
            self.changes.put(exc)
        finally:
            ready.set()

    def next_changes(self, timeout: float) -> set[str]:
        """Paths changed since the last call (empty after `timeout` seconds without any);
        raises WatchFailed when a watcher failed."""
        try:
            item = self.changes.get(timeout=timeout)
        except queue.Empty:
            return set()
        if isinstance(item, BaseException):
            why = str(item) or type(item).__name__
            raise WatchFailed(f"Watch disabled with errors: {why}") from item
        return item

    def join(self, timeout: float) -> None:
        for thread in self.threads:
            thread.join(timeout)
