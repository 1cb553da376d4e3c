"""netdriver.debug_log: debug messages reach a configured logging, and cost no import of
logging where nothing uses it."""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import pytest

from netdriver.debug_log import debug

REPO = Path(__file__).resolve().parents[2]


def test_a_configured_logging_gets_the_message(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="netdriver.somewhere"):
        debug("netdriver.somewhere", "attached %s to %s", "c1", "net")
    assert [(r.name, r.levelno, r.getMessage()) for r in caplog.records] == [
        ("netdriver.somewhere", logging.DEBUG, "attached c1 to net")
    ]


def test_without_logging_in_use_nothing_is_imported() -> None:
    probe = (
        "import sys\n"
        "from netdriver.debug_log import debug\n"
        "debug('netdriver.somewhere', 'attached %s', 'c1')\n"
        "print('logging' in sys.modules)\n"
    )
    done = subprocess.run([sys.executable, "-S", "-c", probe], capture_output=True, text=True,
                          check=True, cwd=REPO)
    assert done.stdout.split() == ["False"], done.stderr
