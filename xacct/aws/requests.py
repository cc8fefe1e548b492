"""What every CloudFormation request of this tool carries, and the pace it polls at: error fields,
idempotency tokens, parameter lists, tags and capabilities."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from typing import Any

import botocore.exceptions as bx

from xacct.core.state import StackState
from xacct.errors import Interrupted


def error_code(exc: bx.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def error_message(exc: bx.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Message", ""))


def tags_and_capabilities(state: StackState, tags: Mapping[str, str]) -> dict[str, Any]:
    # Tags mark what this tool created; an update keeps the stack's own.
    chosen = state.tags if state.exists else tags
    return {
        "Tags": [{"Key": k, "Value": v} for k, v in chosen.items()],
        "Capabilities": ["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
    }


# Status reads per second for the whole run. Each costs this machine a few milliseconds of CPU
# (a signed request, an XML answer); a hundred developers' stacks polled once a second each would
# keep one core busy with nothing but that, and slow every other step of the run. A batch's stacks
# are not left to this pace alone when they end: their kin tell them when to look (Follow).
POLLS_PER_SECOND = 30
_WAITING = [0]
_COUNT = threading.Lock()


class Poller:
    """Backoff between polls, interruptible from another thread: a quarter second after an operation
    starts (what ends quickly, a change set or an update with nothing to do, is seen as it ends, not
    a second later at every step of the chain), then a second later, then about one read a second
    per stack, up to one every 1.5 s (CloudFormation throttles accounts that poll harder), and
    less often when many stacks are waited on at once, so that the run polls at most POLLS_PER_SECOND
    times a second in all."""

    def __init__(
        self, stop: threading.Event | None = None, first: float = 0.25, cap: float = 1.5, *, priority: bool = False
    ):
        self.stop = stop or threading.Event()
        self.first, self.cap = first, cap
        # The central stack: one stack every developer of a batch waits on. Its polls are outside the
        # budget (one more read a second at most), so that a hundred developer stacks polled at
        # once never hold back the step everything else waits for.
        self.priority = priority
        self.kin = threading.Condition()
        self.took: dict[str, float] = {}  # kind of operation -> the shortest seen to its end

    def delays(self) -> Iterator[float]:
        counted = 0 if self.priority else 1
        with _COUNT:
            _WAITING[0] += counted
        try:
            delay = self.first
            while True:
                yield delay if self.priority else max(delay, _WAITING[0] / POLLS_PER_SECOND)
                delay = min(self.cap, 1.0 if delay < 1.0 else delay * 1.25)
        finally:
            with _COUNT:
                _WAITING[0] -= counted

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted("interrupted")

    def follow(self, kind: str | None) -> Follow:
        return Follow(self, kind)


class Follow:
    """One operation this run started, polled on the run's schedule and also when its kin say it
    should be over. Kin: the same operation on the same stack, started by this run in other
    accounts (a batch's hundred primary stacks): one template, started together, they end within
    moments of each other. A hundred stacks polled within the run's budget are each read every
    few seconds, and the batch waits for the last of them; so once one has ended, each of the others
    is read when it has run as long, and then a second apart while it is overdue, HINTS times at
    most: the pace stays within a few reads per operation even when the kin's guess is wrong."""

    HINTS = 3
    SPACING = 1.0  # seconds between reads of an overdue operation

    def __init__(self, poller: Poller, kind: str | None) -> None:
        self.poller, self.kind, self.start = poller, kind, time.monotonic()
        self.hints, self.hinted_at = (0 if kind else self.HINTS), float("-inf")

    def sleep(self, seconds: float) -> None:
        p, deadline = self.poller, time.monotonic() + seconds
        with p.kin:
            while True:
                if p.stop.is_set():
                    raise Interrupted("interrupted")
                now = time.monotonic()
                took = p.took.get(str(self.kind)) if self.hints < self.HINTS else None
                hint = max(self.start + took, self.hinted_at + self.SPACING) if took is not None else deadline
                if now >= min(hint, deadline):
                    if hint < deadline:
                        self.hints, self.hinted_at = self.hints + 1, now
                    return
                p.kin.wait(min(min(hint, deadline) - now, 0.25))  # the stop flag seen within a quarter second

    def ended(self) -> None:
        """The operation ended as asked: how long it took tells its kin when to look."""
        if self.kind is None:
            return
        p, took = self.poller, time.monotonic() - self.start
        with p.kin:
            if took < p.took.get(self.kind, float("inf")):
                p.took[self.kind] = took
                p.kin.notify_all()


def token() -> str:
    """A ClientRequestToken: botocore resends it with every retry of the request, so CloudFormation
    recognises a retry after a lost response as the request it already took (CloudFormation API
    reference), instead of answering AlreadyExists or InvalidChangeSetStatus to our own request."""
    return f"xacct-{uuid.uuid4().hex}"


def parameter_list(values: Mapping[str, str]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for key, value in values.items():
        if value and set(value) == {"*"}:
            out.append({"ParameterKey": key, "UsePreviousValue": True})
        else:
            out.append({"ParameterKey": key, "ParameterValue": value})
    return out
