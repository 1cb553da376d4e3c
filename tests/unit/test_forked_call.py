"""engine.forked_call: a one-off step runs in a throwaway child, its result or error comes back."""

from __future__ import annotations

import os

import pytest

from engine.forked_call import ForkedCallError, call_forked


def test_the_result_comes_back_from_a_child_process() -> None:
    parent = os.getpid()
    result = call_forked(lambda: {"pid": os.getpid(), "items": [1, "two"]})
    assert result["items"] == [1, "two"]
    assert result["pid"] != parent


def test_what_the_child_changes_stays_in_the_child() -> None:
    state = {"touched": False}

    def step() -> None:
        state["touched"] = True

    assert call_forked(step) is None
    assert state == {"touched": False}


def test_an_exception_in_the_child_is_raised_with_its_message() -> None:
    def step() -> None:
        raise ValueError("port 80 is already allocated")

    with pytest.raises(ForkedCallError, match="port 80 is already allocated"):
        call_forked(step)


def test_a_child_that_dies_without_a_result_is_an_error() -> None:
    with pytest.raises(ForkedCallError, match="without a result"):
        call_forked(lambda: os._exit(3))
