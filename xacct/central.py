"""Updating the shared central stack without losing anyone's entry.

Three layers, because the lists belong to every developer:
1. A lease in the build account: an SSM parameter created with Overwrite=False, which AWS
   creates for exactly one caller. Everyone using this tool queues behind it, so two
   onboardings never compute their lists from the same stale read. A crashed run's lease
   expires, and exactly one of those waiting takes it over (`_take_over`).
2. Read, merge and write under the lease, from values read just before the change set is
   made. Someone editing in the console does not take the lease; CloudFormation's own
   invalidation of stale change sets (executing one deletes the others) and the next layer
   catch that.
3. Read again after the update and check: this developer's entry is as intended, and every
   entry that was there before is still there (but the one removed). A lost race is retried
   from a fresh read; anything else is reported, never papered over.
"""

from __future__ import annotations

import hashlib
import json
import os
import socket
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import botocore.exceptions as bx

from xacct import registry as reg
from xacct.errors import AwsFailure
from xacct.stacks import Progress, Stacks, StackState

LEASE_SECONDS = 900
ATTEMPTS = 4


def lease_name(stack: str) -> str:
    return f"/xacct/locks/{stack}"


@contextmanager
def lease(ssm: Any, stack: str, progress: Progress, poller_sleep: Callable[[float], None]) -> Iterator[str]:
    """Hold the central stack's lease for the duration of the block."""
    name = lease_name(stack)
    me = f"{os.environ.get('USER', 'someone')}@{socket.gethostname()}:{os.getpid()}:{time.time():.3f}"
    waited = False
    while True:
        value = _lease_value(me)
        try:
            ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=False)
            break
        except bx.ClientError as exc:
            if exc.response["Error"]["Code"] != "ParameterAlreadyExists":
                raise
        holder = _read(ssm, name)
        if holder is None:
            continue
        if holder.get("expires", 0) < time.time():
            # A crashed run's lease. Everyone waiting sees it expire at about the same moment.
            if _take_over(ssm, name, holder, value):
                progress.note(stack, f"took over an expired lease held by {holder.get('holder')}")
                break
            continue
        if not waited:
            progress.note(stack, f"waiting for {holder.get('holder')} to finish updating {stack}")
            waited = True
        poller_sleep(1.0)
    try:
        yield me
    finally:
        current = _read(ssm, name)
        if current is not None and current.get("holder") == me:
            _delete_if(ssm, name, current)


def _lease_value(me: str) -> str:
    return json.dumps({"holder": me, "expires": time.time() + LEASE_SECONDS})


def renew(ssm: Any, stack: str, me: str) -> str | None:
    """Push our lease's expiry out again after a long wait. Returns who holds it instead when it
    is no longer ours (it expired and was taken over), else None."""
    name = lease_name(stack)
    current = _read(ssm, name)
    if current is None or current.get("holder") != me:
        return str((current or {}).get("holder", "nobody"))
    if current.get("expires", 0) < time.time() + 5:
        # Expired or about to: someone may be taking it over this instant; never overwrite theirs.
        return "whoever takes over the expired lease"
    value = _lease_value(me)
    ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
    return None


def _read(ssm: Any, name: str) -> dict[str, Any] | None:
    try:
        raw = ssm.get_parameter(Name=name)["Parameter"]["Value"]
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] == "ParameterNotFound":
            return None
        raise
    try:
        value = json.loads(raw)
    except ValueError:
        return {"holder": raw, "expires": 0}
    return value if isinstance(value, dict) else {"holder": raw, "expires": 0}


def _take_over(ssm: Any, name: str, expired: dict[str, Any], value: str) -> bool:
    """Replace an expired lease with ours, for exactly one of those who saw it expire.

    SSM has no compare-and-swap, so the takers first race to create a marker named after the
    expired lease (Overwrite=False: one wins). The winner checks the lease is still the expired
    one, overwrites it, and removes the marker. A late taker can create the marker only after
    that overwrite, so its check fails and it goes back to waiting.
    """
    digest = hashlib.sha256(json.dumps(expired, sort_keys=True).encode()).hexdigest()[:24]
    marker = f"{name}-takeover-{digest}"
    try:
        ssm.put_parameter(Name=marker, Value=value, Type="String", Overwrite=False)
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterAlreadyExists":
            raise
        return False
    try:
        if _read(ssm, name) != expired:
            return False
        ssm.put_parameter(Name=name, Value=value, Type="String", Overwrite=True)
        return True
    finally:
        _delete(ssm, marker)


def _delete(ssm: Any, name: str) -> None:
    try:
        ssm.delete_parameter(Name=name)
    except bx.ClientError as exc:
        if exc.response["Error"]["Code"] != "ParameterNotFound":
            raise


def _delete_if(ssm: Any, name: str, expected: dict[str, Any]) -> None:
    if _read(ssm, name) == expected:
        _delete(ssm, name)


def verify(before: reg.Registry, change: reg.Change, now: reg.Registry) -> list[str]:
    """What is wrong with the lists as read back after the update, in words."""
    problems = []
    kept = [e for e in before.entries if change.kind != "removed" or e != change.entry]
    if change.kind == "key-replaced" and change.entry:
        kept = [change.entry if e.bucket == change.entry.bucket else e for e in kept]
    missing = [e.bucket for e in kept if e not in now.entries]
    if missing:
        problems.append(f"entries missing after the update: {', '.join(missing)}")
    order = [e for e in now.entries if e in kept]
    if order != kept:
        problems.append("entries changed their order")
    if change.entry is not None:
        count = now.entries.count(change.entry)
        if change.kind == "removed" and count:
            problems.append(f"{change.entry.bucket} is still registered")
        if change.kind in ("added", "key-replaced", "unchanged") and count != 1:
            problems.append(f"{change.entry.bucket} is registered {count} times")
    if change.kind in ("added", "key-replaced", "unchanged") and not now.enabled:
        problems.append("EnableReplication is not true")
    return problems


class CentralUpdate:
    """Apply a merge or removal to the central stack's lists, exactly once."""

    def __init__(self, stacks: Stacks, ssm: Any, stack: str, progress: Progress) -> None:
        self.stacks, self.ssm, self.stack, self.progress = stacks, ssm, stack, progress

    def run(self, compute: Callable[[reg.Registry], reg.Change]) -> reg.Change:
        with lease(self.ssm, self.stack, self.progress, self.stacks.poller.sleep) as me:
            last: str = ""
            for _attempt in range(ATTEMPTS):
                state = self.stacks.wait_until_idle(self.stack, self.progress)
                other = renew(self.ssm, self.stack, me)
                if other is not None:
                    self.progress.note(
                        self.stack,
                        f"our lease expired while waiting and {other} holds it now; CloudFormation's "
                        "change-set invalidation and the check after the update still guard the lists",
                    )
                before = reg.parse(state.parameters)
                change = compute(before)
                if not change.changes_anything:
                    return change
                reg.check_limits(change)
                self._apply(state, change)
                now = reg.parse(self.stacks.describe(self.stack).parameters)
                problems = verify(before, change, now)
                if not problems:
                    return change
                last = "; ".join(problems)
                self.progress.note(self.stack, f"the lists changed under us ({last}); reading again")
            raise AwsFailure(
                f"the central stack {self.stack} kept changing while it was updated: {last}. "
                "Nothing of ours is half-applied; run the same command again."
            )

    def _apply(self, state: StackState, change: reg.Change) -> None:
        template = self.stacks.template(self.stack)
        prepared = self.stacks.prepare(
            self.stack,
            template,
            reg.render(change.after),
            state.tags,
            self.progress,
            keep=state.parameters,
        )
        try:
            self.stacks.execute(prepared, self.progress)
        except bx.ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("ChangeSetNotFound", "InvalidChangeSetStatus"):
                # Someone else's update ran first and made ours stale: re-read and retry.
                self.progress.note(self.stack, "another update landed first; reading again")
                self.stacks.discard(prepared)
                return
            raise
        except BaseException:
            self.stacks.discard(prepared)
            raise
