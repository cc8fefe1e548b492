"""Following a stack until CloudFormation stops working on it: its events polled (never the
30-second waiters), each reported as it arrives, the stack itself read when its own terminal event
shows up. The second layer of the stack engine (`stacks.py`)."""

from __future__ import annotations

from typing import Any

import botocore.exceptions as bx

from xacct.aws.stack_reads import StackReads
from xacct.core.state import Progress, StackState
from xacct.core.status import FAILED_ENDINGS, is_in_progress, why_failed
from xacct.errors import AwsFailure

STACK_TYPE = "AWS::CloudFormation::Stack"


class StackWaits(StackReads):
    """Reading stacks, and waiting for them."""

    # ---- waiting -----------------------------------------------------------------------

    def latest_event(self, name: str) -> str | None:
        """The newest event id of a stack, so that what follows an operation can be told apart
        without trusting clocks."""
        try:
            events = self.cfn.describe_stack_events(StackName=name)["StackEvents"]
        except bx.ClientError:
            return None
        return str(events[0]["EventId"]) if events else None

    def _new_events(self, name: str, marker: str | None, seen: set[str]) -> list[dict[str, Any]]:
        fresh: list[dict[str, Any]] = []
        pages = self.cfn.get_paginator("describe_stack_events").paginate(StackName=name)
        for page in pages:
            done = False
            for ev in page["StackEvents"]:
                if ev["EventId"] in seen or ev["EventId"] == marker:
                    done = True
                    break
                fresh.append(ev)
            if done:
                break
        seen.update(ev["EventId"] for ev in fresh)
        return list(reversed(fresh))

    def wait(
        self,
        name: str,
        progress: Progress,
        marker: str | None = None,
        label: str | None = None,
        *,
        started: str | None = None,
    ) -> StackState:
        """Follow a stack until CloudFormation stops working on it; report each event.

        Only the events are polled (one call a poll); the stack itself is read when its own
        terminal event shows up, and every fifth poll in case an event is missed. `started`: an
        operation this run has just started, which nothing can have finished yet: the first read
        waits a poll's delay (a hundred stacks started at once would otherwise all be read at once),
        and it is read again as soon as another stack's operation of its kind has run as long.
        """
        seen: set[str] = set()
        failures: list[dict[str, Any]] = []
        follow = self.poller.follow(f"{started} {label or name}" if started else None)
        for poll, delay in enumerate(self.poller.delays()):
            if started and poll == 0:
                follow.sleep(delay)
            ended = False
            for ev in self._new_events(name, marker, seen):
                progress.event(self._tag(label or name), ev)
                status = str(ev.get("ResourceStatus", ""))
                if status.endswith("_FAILED") or (
                    status.endswith("ROLLBACK_IN_PROGRESS") and ev.get("ResourceStatusReason")
                ):
                    failures.append(ev)  # a rollback's own reason names what no resource failure does
                if ev.get("ResourceType") == STACK_TYPE and not status.endswith("_IN_PROGRESS"):
                    ended = True
            if ended or poll % 5 == 4:
                state = self.describe(name)
                if not is_in_progress(state.status):
                    break
            follow.sleep(delay)
        if not ended:
            # Ended without its own event among those read (an event list cut short, or the stack
            # read first): its status is reported as the stack's last event, so that nothing
            # shows it still in progress.
            progress.event(
                self._tag(label or name),
                {"ResourceType": STACK_TYPE, "LogicalResourceId": label or name, "ResourceStatus": state.status},
            )
        if state.status in FAILED_ENDINGS or (state.status or "").endswith("_FAILED"):
            raise AwsFailure(why_failed(state.name, state.status, failures))
        follow.ended()
        return state

    def wait_until_idle(self, name: str, progress: Progress, known: StackState | None = None) -> StackState:
        """`known`: the stack as the caller has just read it (not read again)."""
        state = known if known is not None else self.describe(name)
        if is_in_progress(state.status):
            progress.note(self._tag(name), f"{name} is {state.status}; waiting for CloudFormation to finish it first")
            try:
                return self.wait(name, progress, self.latest_event(name))
            except AwsFailure:
                # Someone else's operation failed; what matters is the state it left.
                return self.describe(name)
        return state
