"""The garbage collector's pause around a batch's reads: always lifted, never turned on by it."""

from __future__ import annotations

import gc

import pytest

from xacct import collector


def test_paused_inside_and_running_again_after_even_on_failure() -> None:
    assert gc.isenabled()
    with collector.paused():
        assert not gc.isenabled()
    assert gc.isenabled()
    with pytest.raises(RuntimeError), collector.paused():
        raise RuntimeError("a read failed")
    assert gc.isenabled()


def test_a_caller_that_had_it_off_keeps_it_off() -> None:
    gc.disable()
    try:
        with collector.paused():
            assert not gc.isenabled()
        assert not gc.isenabled()
    finally:
        gc.enable()
