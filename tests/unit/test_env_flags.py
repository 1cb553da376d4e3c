"""`-e` flags of `run` and `exec`: Docker's rule for a bare `-e KEY`."""

from __future__ import annotations

import pytest

from compose.cli.oneoff import env_flags
from compose.errors import ComposeError


def test_key_value_and_bare_key_take_the_callers_value(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("FROM_CALLER", "caller's")
    monkeypatch.delenv("NOT_SET_ANYWHERE", raising=False)
    env = env_flags(["A=1", "EMPTY=", "WITH=eq=signs", "FROM_CALLER", "NOT_SET_ANYWHERE"])
    assert env == {"A": "1", "EMPTY": "", "WITH": "eq=signs", "FROM_CALLER": "caller's"}


def test_a_value_without_a_name_is_refused_in_words() -> None:
    with pytest.raises(ComposeError, match=r"invalid environment variable '=x' \(in -e\)"):
        env_flags(["=x"])
