"""Grants just made take effect eventually: "IAM uses a distributed computing model called eventual
consistency. Any change that you make in IAM ... takes time to become visible from all possible
endpoints" (IAM user guide, "Changes that I make are not always immediately visible"); a new bucket
policy or key policy likewise. A use of a grant this run (or StackSets, or CloudFormation) just made
that is refused for want of it is asked again, with backoff, for up to a minute, and the run says
once what it waits for. Anything else, and a refusal that outlasts the minute, is the caller's."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TypeVar

import botocore.exceptions as bx

T = TypeVar("T")
PATIENCE = 60.0  # seconds: IAM changes usually take effect within seconds, rarely more than a minute


def refused(exc: BaseException) -> bool:
    """Refused for want of a grant (AccessDenied and its kin), as a grant not yet in effect is."""
    if not isinstance(exc, bx.ClientError):
        return False
    error = exc.response.get("Error", {})
    return "AccessDenied" in str(error.get("Code", "")) or "not authorized" in str(error.get("Message", ""))


def reason(exc: BaseException) -> str:
    if isinstance(exc, bx.ClientError):
        return str(exc.response.get("Error", {}).get("Code", "")) or type(exc).__name__
    return type(exc).__name__


class Patience:
    """One run's waiting for grants: said once, whatever waits, and bounded per use."""

    def __init__(self, said: Callable[[str], None], *, sleep: Callable[[float], None] = time.sleep,
                 seconds: float | None = None) -> None:  # fmt: skip
        self.said, self.sleep = said, sleep
        self.seconds = PATIENCE if seconds is None else seconds
        self.told = False
        self.waited = 0.0
        self._lock = threading.Lock()  # a batch's threads share one

    def tell(self, what: str, why: str) -> None:
        with self._lock:
            first, self.told = not self.told, True
        if first:
            self.said(
                f"waiting for IAM: {what} was refused ({why}); grants made moments ago take effect within "
                f"seconds, so it is asked again for up to {self.seconds:.0f} s"
            )

    def call(self, use: Callable[[], T], what: str) -> T:
        """`use()`, asked again while it is refused, for up to the patience; its last refusal raised."""
        deadline = time.monotonic() + self.seconds
        delay = 1.0
        while True:
            try:
                return use()
            except bx.ClientError as exc:
                if not refused(exc) or time.monotonic() + delay > deadline:
                    raise
                self.tell(what, reason(exc))
            self.pause(delay)
            delay = min(delay * 2, 10.0)

    def pause(self, seconds: float) -> None:
        self.sleep(seconds)
        self.waited += seconds
