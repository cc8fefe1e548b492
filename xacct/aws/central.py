"""Updating the shared central stack without losing anyone's entry.

Three layers, because the lists belong to every developer:
1. A lease in the build account (lease.py): everyone using this tool queues behind it, so two
   onboardings never compute their lists from the same stale read. A dead run's lease is taken
   over within about a minute (at once when it died on this machine).
2. Read, merge and write under the lease, from values read just before the change set is made.
   Someone editing in the console does not take the lease; CloudFormation's own invalidation of
   stale change sets (executing one deletes the others) and the next layer catch that.
3. Wait until CloudFormation is done with the stack, read it again and check: this developer's
   entry is as intended, and every entry that was there before is still there (but the one
   removed). A lost race is retried from a fresh read; anything else is reported, never papered
   over. Whatever an execute call answered (a retry after a lost response may say the change set
   no longer exists), only the state read back at the end decides.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import botocore.exceptions as bx

from xacct.aws.lease import Lease
from xacct.aws.stacks import Stacks
from xacct.core import capacity
from xacct.core import registry as reg
from xacct.core.state import Progress, StackState
from xacct.errors import AwsFailure

ATTEMPTS = 4


def verify(before: reg.Registry, change: reg.Change, now: reg.Registry) -> list[str]:
    """What is wrong with the lists as read back after the update, in words: every entry the
    change meant to keep or add is there once and in its order, every one it took out is gone.
    Entries someone else added meanwhile are theirs and allowed. Holds for one developer's change
    and for a batch's alike."""
    problems = []
    intended = list(change.after.entries)
    missing = [e.bucket for e in intended if e not in now.entries]
    if missing:
        problems.append(f"entries missing after the update: {', '.join(missing)}")
    order = [e for e in now.entries if e in intended]
    if not missing and order != intended:
        problems.append("entries changed their order")
    for e in intended:
        count = now.entries.count(e)
        if count > 1:
            problems.append(f"{e.bucket} is registered {count} times")
    for e in before.entries:
        if e not in intended and e in now.entries:
            problems.append(f"{e.bucket} is still registered")
    if change.after.enabled and not now.enabled:
        problems.append("EnableReplication is not true")
    return problems


class CentralUpdate:
    """Apply a merge or removal to the central stack's lists, exactly once."""

    def __init__(
        self,
        stacks: Stacks,
        ssm: Any,
        stack: str,
        progress: Progress,
        created: Callable[[], object] | None = None,
        *,
        held: Lease | None = None,
    ) -> None:
        self.stacks, self.ssm, self.stack, self.progress = stacks, ssm, stack, progress
        self.created = created  # told when CloudFormation has the change set
        self.held = held  # the lease, when the caller holds it already (the registrar: checks under it)

    def run(self, compute: Callable[[reg.Registry], reg.Change]) -> reg.Change:
        lease = self.held or Lease(self.ssm, self.stack, self.progress, self.stacks.poller.sleep)
        with contextlib.nullcontext(lease) if self.held else lease.held():
            last: str = ""
            for _attempt in range(ATTEMPTS):
                state = self.stacks.wait_until_idle(self.stack, self.progress)
                if lease.lost:
                    self.progress.note(
                        self.stack,
                        f"our lease was taken over by {lease.lost}; CloudFormation's change-set invalidation "
                        "and the check after the update still guard the lists",
                    )
                before = reg.parse(state.parameters, reg.partition_of(state.stack_id))
                change = compute(before)
                if not change.changes_anything:
                    return change
                capacity.check_limits(change)
                self._apply(state, change)
                final = self.stacks.wait_until_idle(self.stack, self.progress)
                now = reg.parse(final.parameters, reg.partition_of(final.stack_id))
                problems = verify(before, change, now)
                if not problems and final.status in ("UPDATE_COMPLETE", "CREATE_COMPLETE"):
                    return change
                last = "; ".join(problems) or f"the stack ended {final.status}"
                self.progress.note(self.stack, f"the lists are not as intended ({last}); reading again")
            raise AwsFailure(
                f"the central stack {self.stack} kept changing while it was updated: {last}. "
                "Nothing of ours is half-applied; run the same command again."
            )

    def _apply(self, state: StackState, change: reg.Change) -> None:
        from xacct.core.templates import template as stock
        from xacct.core.upgrade import central_template

        values = reg.render(change.after)
        held = self.stacks.template(self.stack)
        body, upgrade = central_template(held, values, stock("CrossAccountPrimary"), len(change.before.held(0)))
        self._deploy(state, body, values, upgrade)

    def _deploy(self, state: StackState, body: str, values: dict[str, str], upgrade: str | None) -> None:
        """One change set of `values` (every other parameter kept) on `body`, executed; an upgrade
        that would replace anything is refused. A change set made stale by someone else's update is
        left: only what is read back once the stack is idle decides."""
        prepared = self.stacks.prepare(
            self.stack, body, values, state.tags, self.progress, keep=state.parameters, created=self.created
        )
        replaced = (
            [c.logical_id for c in prepared.changes if c.replacement in ("True", "Conditional")] if upgrade else []
        )
        if replaced:
            self.stacks.discard(prepared)
            raise AwsFailure(
                f"upgrading the central stack {self.stack}'s template would replace {', '.join(replaced)} "
                "(CloudFormation's change set); nothing was changed"
            )
        try:
            self.stacks.execute(prepared, self.progress)
        except bx.ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code in ("ChangeSetNotFound", "InvalidChangeSetStatus"):
                # Someone else's update made ours stale, or this is the retry of our own execute
                # whose answer was lost: only what is read back once the stack is idle decides.
                self.progress.note(self.stack, "the change set was not executed by this call; reading again")
                self.stacks.discard(prepared)
                return
            raise
        except BaseException:
            self.stacks.discard(prepared)
            raise

    def set_parameters(self, values: dict[str, str], upgrade_to: Callable[[str], tuple[str, str | None]]) -> bool:
        """Parameters beside the registry's (`--alerts`), under the lease: every other value kept, the
        template upgraded when `upgrade_to` says so (nothing replaced), the registry read back
        unchanged. False: the stack already holds them."""
        lease = self.held or Lease(self.ssm, self.stack, self.progress, self.stacks.poller.sleep)
        with contextlib.nullcontext(lease) if self.held else lease.held():
            state = self.stacks.wait_until_idle(self.stack, self.progress)
            held = self.stacks.template(self.stack)
            body, upgrade = upgrade_to(held)
            if upgrade is None and all(state.parameters.get(k, "") == v for k, v in values.items()):
                return False
            before = reg.parse(state.parameters, reg.partition_of(state.stack_id))
            self._deploy(state, body, values, upgrade)
            final = self.stacks.wait_until_idle(self.stack, self.progress)
            now = reg.parse(final.parameters, reg.partition_of(final.stack_id))
            if final.status not in ("UPDATE_COMPLETE", "CREATE_COMPLETE"):
                raise AwsFailure(f"the central stack {self.stack} ended {final.status}; its events say why")
            if any(final.parameters.get(k, "") != v for k, v in values.items()):
                raise AwsFailure(
                    f"the central stack {self.stack} was updated by someone else meanwhile, and its alert parameters "
                    "are not as asked; nothing of ours is half-applied: run the same command again"
                )
            if (now.entries, now.enabled) != (before.entries, before.enabled):
                raise AwsFailure(
                    f"the central stack {self.stack}'s registry changed while its alert parameters were set: "
                    "someone updated it outside this tool. Run --status and compare"
                )
            return True
