"""The one table from typed errors to messages and exit codes. A traceback is a bug."""

from __future__ import annotations

import os
import sys
import traceback

import typer

from compose.errors import ComposeError
from engine.errors import EngineError
from netdriver.errors import NetworkError

EXIT_FAILURE = 1
EXIT_USAGE = 2
EXIT_INTERRUPTED = 130


def _hint(err: Exception) -> str:
    hint = getattr(err, "hint", None)
    return f"\nhint: {hint}" if hint else ""


def run_app(app: typer.Typer) -> int:
    """Run the CLI and turn every error into one clear message and an exit code."""
    try:
        result = app(standalone_mode=False)
        return int(result) if isinstance(result, int) else 0
    except typer.Exit as exc:
        return int(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        return EXIT_INTERRUPTED
    except (ComposeError, EngineError, NetworkError) as exc:
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
