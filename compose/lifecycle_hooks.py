"""`post_start` and `pre_stop`: commands exec'd in a service's running container.

docker compose (pkg/compose/hook.go) runs each hook with the engine's exec, in order, after the
container started (`up`, `start`) and before it is stopped (`stop`, `down`, a recreate or a
scale-down); a hook that exits non-zero fails the command with "<service> hook exited with
status N". A pre_stop hook on a container that is already gone, stopped or paused is skipped
(Docker ignores its not-found and conflict errors). `restart` runs pre_stop before and post_start
after (restart.go). Hooks do not run for a container that stops by itself or is killed.
"""

from __future__ import annotations

from collections.abc import Callable

from compose.errors import ComposeError
from compose.model import Hook, Service
from engine.api import ContainerInfo, Engine, EngineError


class HookFailedError(ComposeError):
    """A hook exited non-zero; the message is docker compose's, its output is the hint."""


def run_hooks(engine: Engine, info: ContainerInfo, service: Service, hooks: tuple[Hook, ...],
              *, skip_if_gone: bool = False,
              output: Callable[[str], None] | None = None) -> None:
    """Run `hooks` in `info`'s container one after the other; the first failure raises.
    `skip_if_gone` (pre_stop): a container no longer running is not an error. `output`: where
    each line a hook printed goes (docker compose shows them when attached: `web-1 -> | …`)."""
    for hook in hooks:
        try:
            result = engine.exec_in_container(
                info.id, hook.command, env=dict(hook.environment) or None,
                workdir=hook.working_dir, user=hook.user, privileged=hook.privileged,
            )
        except EngineError:  # not running, paused or gone: the exec could not even start
            if skip_if_gone:
                return
            raise
        if output is not None:
            for line in result.output.splitlines():
                output(line)
        if result.exit_code != 0:
            printed = result.output.strip()
            raise HookFailedError(
                f"{service.name} hook exited with status {result.exit_code}",
                hint=f"its output: {printed[-500:]}" if printed else None,
            )
