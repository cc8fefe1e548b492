"""SIGTERM and SIGHUP end a run as Ctrl-C does: every wait stops, change sets not yet executed are
deleted, the central lease is released, the person is told what CloudFormation is still doing,
and the exit status says which signal it was (128 + its number, as shells report it).

Standard library only: the entry points install the handlers before importing anything else.
"""

from __future__ import annotations

import _thread
import signal
import sys
from types import FrameType
from typing import Any

CAUGHT = (signal.SIGTERM, signal.SIGHUP)
# An interrupt Python could not raise where it arrived: inside a callback Python runs on its own
# (a weakref callback of the import machinery, a __del__ during garbage collection), where an
# exception is "ignored" with a traceback on stderr and the program goes on. Kept here for the next
# checkpoint, and delivered again as the signal it was, which Python raises in the main thread's own
# code as soon as that runs: a run would otherwise carry on, and end 0, as if nobody had pressed it.
_PENDING: list[KeyboardInterrupt] = []
# Every signal this run received, in order: after one, whatever escapes is its doing, even an
# exception that does not say so (a Rust extension interrupted as it loads panics instead).
_RECEIVED: list[int] = []


class Terminated(KeyboardInterrupt):
    """A signal asking the run to end; handled exactly as Ctrl-C."""

    def __init__(self, signum: int) -> None:
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise(signum: int, frame: FrameType | None) -> None:
    _RECEIVED.append(signum)
    raise Terminated(signum)


def _interrupt(signum: int, frame: FrameType | None) -> None:
    _RECEIVED.append(signum)
    raise KeyboardInterrupt


def received() -> int | None:
    """The last signal this run received (None: none)."""
    return _RECEIVED[-1] if _RECEIVED else None


def install() -> None:
    signal.signal(signal.SIGINT, _interrupt)  # Python's own, but remembered (received)
    for sig in CAUGHT:
        signal.signal(sig, _raise)
    default = sys.unraisablehook

    def unraisable(info: Any) -> None:
        if isinstance(info.exc_value, KeyboardInterrupt):
            _PENDING.append(info.exc_value)
            again = info.exc_value.signum if isinstance(info.exc_value, Terminated) else signal.SIGINT
            # From a thread of its own, started without waiting for it: raised while the hook still
            # runs, it would be "ignored" once more.
            _thread.start_new_thread(_deliver, (again,))
            return
        default(info)

    sys.unraisablehook = unraisable


def _taken() -> KeyboardInterrupt | None:
    try:
        return _PENDING.pop()
    except IndexError:  # raised already, by the other way
        return None


def _deliver(signum: int) -> None:
    if _taken() is not None:
        signal.raise_signal(signum)


def check() -> None:
    """Raise the interrupt that arrived where it could not be raised, if one did."""
    pending = _taken()
    if pending is not None:
        raise pending


def interrupt_in(exc: BaseException | None) -> KeyboardInterrupt | None:
    """The Ctrl-C or signal behind an exception, wherever it sits in its chain (a KeyboardInterrupt
    raised while a module imports surfaces wrapped in another error); None when there is none."""
    seen, hops = exc, 0
    while seen is not None and hops < 20:  # a chain can loop through __context__
        if isinstance(seen, KeyboardInterrupt):
            return seen
        seen, hops = seen.__cause__ or seen.__context__, hops + 1
    return None


def exit_status(exc: BaseException) -> int:
    """128 + the signal's number: 130 for Ctrl-C (SIGINT), 143 for SIGTERM, 129 for SIGHUP."""
    return 128 + (exc.signum if isinstance(exc, Terminated) else signal.SIGINT)


def named(exc: BaseException) -> str:
    """' (SIGTERM)' for a signal other than Ctrl-C, to follow the word "interrupted"; '' for Ctrl-C."""
    return f" ({signal.Signals(exc.signum).name})" if isinstance(exc, Terminated) else ""
