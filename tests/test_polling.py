"""How a run polls the stacks it started: a batch's stacks of one kind are read when their kin say
they should be over, a few times at most, and an interruption is seen at once."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from xacct.aws.requests import Follow, Poller
from xacct.errors import Interrupted


def slept(follow: Follow, seconds: float) -> float:
    start = time.monotonic()
    follow.sleep(seconds)
    return time.monotonic() - start


def test_a_stack_whose_kin_have_ended_is_read_then_and_then_a_second_apart_a_few_times() -> None:
    poller = Poller()
    first, late, other = (poller.follow(kind) for kind in ("create Primary", "create Primary", "update Primary"))
    first.start = late.start = other.start = time.monotonic() - 10  # all three started ten seconds ago
    first.ended()  # one ended after ten seconds: the others of its kind are due now
    assert slept(late, 30) < 5  # read now, not after the run's 30-second delay
    assert 0.5 < slept(late, 30) < 5  # overdue: again a second later
    assert slept(late, 30) < 5
    assert slept(late, 1.5) >= 1.4  # Follow.HINTS used: the run's own pace again
    assert slept(other, 1.0) >= 0.9  # another kind of operation learns nothing from it


def test_a_shorter_kin_wakes_a_stack_already_sleeping() -> None:
    poller = Poller()
    waiting, done = poller.follow("create Deploy"), poller.follow("create Deploy")
    waiting.start = done.start = time.monotonic() - 5
    took: list[float] = []
    sleeper = threading.Thread(target=lambda: took.append(slept(waiting, 30)))
    sleeper.start()
    time.sleep(0.3)
    done.ended()
    sleeper.join(10)
    assert took
    assert took[0] < 5


def test_an_operation_not_started_by_the_run_keeps_the_runs_pace() -> None:
    poller = Poller()
    theirs, ours = poller.follow(None), poller.follow("create Primary")
    ours.start = time.monotonic() - 10
    ours.ended()
    assert slept(theirs, 1.0) >= 0.9


def test_an_interruption_ends_the_sleep_at_once() -> None:
    stop = threading.Event()
    follow = Poller(stop).follow("create Primary")
    threading.Timer(0.2, stop.set).start()
    start = time.monotonic()
    with pytest.raises(Interrupted):
        follow.sleep(30)
    assert time.monotonic() - start < 5


def test_a_stack_that_ends_without_its_own_event_is_reported_ended() -> None:
    """The live view marks a stack done on its terminal event; when the events read never hold it
    (cut short, or the stack read first), the status read is reported as that event instead."""
    from xacct.aws.requests import Poller
    from xacct.aws.stack_waits import StackWaits

    class Events:
        def paginate(self, StackName: str) -> list[dict[str, Any]]:
            return [{"StackEvents": [{"EventId": "1", "LogicalResourceId": "Db", "ResourceType": "AWS::S3::Bucket",
                                      "ResourceStatus": "CREATE_COMPLETE"}]}]  # fmt: skip

    class Cfn:
        def get_paginator(self, name: str) -> Events:
            return Events()

        def describe_stacks(self, StackName: str) -> dict[str, Any]:
            return {"Stacks": [{"StackName": StackName, "StackStatus": "CREATE_COMPLETE", "StackId": "id"}]}

    seen: list[tuple[str, str]] = []

    class Record:
        def note(self, stack: str, text: str) -> None:
            pass

        def event(self, stack: str, event: Any) -> None:
            seen.append((str(event.get("LogicalResourceId")), str(event.get("ResourceStatus"))))

    StackWaits(Cfn(), poller=Poller(first=0.0, cap=0.0)).wait("Stack", Record())
    assert seen[-1] == ("Stack", "CREATE_COMPLETE")
