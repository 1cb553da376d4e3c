"""The one table from typed errors to messages and exit codes. A traceback is a bug."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from compose.errors import ComposeError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _hint(err: Exception) -> str:
    hint = getattr(err, "hint", None)
    return f"\nhint: {hint}" if hint else ""


def _typed_errors() -> tuple[type[Exception], ...]:
    """ComposeError, plus the engine's and the network driver's error roots once their modules
    are loaded (none of their errors can have been raised before). They come through engine.api,
    which commands that never reach the engine (`config`, `--help`) must not pay ~90 ms for;
    compose reaches the engine through it, so it is normally loaded by then."""
    if "engine.errors" not in sys.modules and "netdriver.errors" not in sys.modules:
        return (ComposeError,)
    try:
        from engine.api import EngineError, NetworkError
    except Exception:  # engine.api itself does not import: the error is reported as a bug
        return (ComposeError,)
    return (ComposeError, EngineError, NetworkError)


def run_app(app: typer.Typer) -> int:
    """Run the CLI and turn every error into one clear message and an exit code."""
    try:
        result = app(standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except _typed_errors() as exc:  # evaluated only when an error gets this far
        print(f"Error: {exc}{_hint(exc)}", file=sys.stderr)
        return EXIT_FAILURE
    except Exception as exc:
        # Usage errors come from the click inside typer (vendored in new typer releases): they
        # know how to show themselves. Anything else is a bug: say so briefly unless --debug.
        if hasattr(exc, "show") and hasattr(exc, "exit_code"):
            exc.show()
            return EXIT_USAGE
        if os.environ.get("PYCOMPOSE_DEBUG") or "--debug" in sys.argv:
            traceback.print_exc()
        else:
            print(f"Error: internal error: {exc!r} (re-run with --debug)", file=sys.stderr)
        return EXIT_FAILURE
