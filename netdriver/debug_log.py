"""Debug messages without importing `logging`.

`logging` (with `traceback`, `linecache`, `tokenize`, `string`) costs a command or the
supervisors' fork server ~8 ms to import, and the engine and the network driver only ever log
at DEBUG. When nothing has imported `logging`, nothing has configured a handler either, and a
debug message would go nowhere: it is dropped without the import. The CLI's `--debug` and any
program that configures logging import it first, and then the message goes out as usual.
"""

from __future__ import annotations

import sys


def debug(logger: str, message: str, *args: object) -> None:
    """`logging.getLogger(logger).debug(message, *args)`, when logging is in use."""
    if "logging" in sys.modules:
        import logging

        logging.getLogger(logger).debug(message, *args)
