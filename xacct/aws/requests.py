"""What every CloudFormation request of this tool carries, and the pace it polls at: error fields,
idempotency tokens, parameter lists, tags and capabilities."""

from __future__ import annotations

import threading
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
# keep one core busy with nothing but that, and slow every other step of the run.
POLLS_PER_SECOND = 60
_WAITING = [0]
_COUNT = threading.Lock()


class Poller:
    """Gentle backoff between polls (about one read a second per stack: CloudFormation throttles
    accounts that poll harder; less often when many stacks are waited on at once, so that the run
    polls at most POLLS_PER_SECOND times a second in all), interruptible from another thread."""

    def __init__(
        self, stop: threading.Event | None = None, first: float = 1.0, cap: float = 1.5, *, priority: bool = False
    ):
        self.stop = stop or threading.Event()
        self.first, self.cap = first, cap
        # The central stack: one stack every developer of a batch waits on. Its polls are outside the
        # budget (one more read a second at most), so that a hundred developer stacks polled at
        # once never hold back the step everything else waits for.
        self.priority = priority

    def delays(self) -> Iterator[float]:
        counted = 0 if self.priority else 1
        with _COUNT:
            _WAITING[0] += counted
        try:
            delay = self.first
            while True:
                yield delay if self.priority else max(delay, _WAITING[0] / POLLS_PER_SECOND)
                delay = min(self.cap, delay * 1.25)
        finally:
            with _COUNT:
                _WAITING[0] -= counted

    def sleep(self, seconds: float) -> None:
        if self.stop.wait(seconds):
            raise Interrupted("interrupted")


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
