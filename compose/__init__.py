"""pycompose: the Compose layer (stack file -> model -> graph -> plan -> engine calls)."""

from __future__ import annotations

import sys

if sys.argv and sys.argv[0].endswith("pycompose"):  # the console script, not a library user
    import _signal  # (not `signal`: its enum import would widen the window this closes)

    def _quiet_interrupt(_signum: int, _frame: object) -> None:
        """Ctrl-C while the command's first modules load: exit as docker compose does, with
        130 and no traceback (compose.cli.app.main puts the usual handler back)."""
        raise SystemExit(130)

    _signal.signal(_signal.SIGINT, _quiet_interrupt)

TYPE_CHECKING = False  # not `typing`'s: importing typing (~7 ms) would delay every command
if TYPE_CHECKING:
    from typing import Any

    from compose.stack import Service, ServiceNotReadyError, Stack, StackError

__all__ = ["Service", "ServiceNotReadyError", "Stack", "StackError"]


def __getattr__(name: str) -> Any:
    """The testing API (`compose.Stack`, ...) loads on first use: every CLI command imports this
    package, and `compose.stack` would add its imports to each command's start-up."""
    if name in __all__:
        from compose import stack

        return getattr(stack, name)
    raise AttributeError(f"module 'compose' has no attribute {name!r}")
