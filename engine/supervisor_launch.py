"""Detach the supervisor from the CLI: fork once more and let the middle process exit, so the
supervisor is re-parented to init and the CLI never collects a zombie."""

from __future__ import annotations

import contextlib
import os
import sys


def main() -> None:
    if os.fork() > 0:
        os._exit(0)
    with contextlib.suppress(OSError):
        os.setsid()
    from engine.supervisor import main as supervise

    sys.exit(supervise(sys.argv[1:]))


if __name__ == "__main__":
    main()
