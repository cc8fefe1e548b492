"""Start a developer current: the central replication function copies the current version of every
artifact of the build bucket into the developer's bucket (its role is the one the bucket admits).
The tool drives it a chunk at a time (about 20 seconds each, well inside Lambda's 15-minute limit),
so that a large build bucket shows progress and no invocation runs long."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from xacct.aws.patience import Patience
from xacct.core.state import StackState
from xacct.errors import AwsFailure

FUNCTION_OUTPUT = "ReplicatorArn"
BUDGET_SECONDS = 20


@dataclass
class Synced:
    bucket: str
    copied: int = 0
    current: int = 0  # already held (or newer)
    failed: int = 0
    failures: list[dict[str, Any]] = field(default_factory=list)
    grouped: bool = False  # the function answered per bucket: several may share an invocation

    def to_json(self) -> dict[str, Any]:
        return {
            "copied": self.copied,
            "already_current": self.current,
            "failed": self.failed,
            "failures": self.failures,
        }


def available(central: StackState) -> bool:
    """Whether the central stack's function can sync (this project's template; the seed's cannot)."""
    return bool(central.outputs.get(FUNCTION_OUTPUT) and central.outputs.get("BuildBucket"))


def sync(
    lam: Any,
    central: StackState,
    bucket: str,
    progress: Callable[[Synced], None] | None = None,
    waiting: Patience | None = None,
) -> Synced:
    """Copy until the function says it is done; each chunk's totals reported as it returns."""
    return sync_group(lam, central, [bucket], lambda done: progress(done[0]) if progress else None, waiting)[0]


def sync_group(
    lam: Any,
    central: StackState,
    buckets: list[str],
    progress: Callable[[list[Synced]], None] | None = None,
    waiting: Patience | None = None,
) -> list[Synced]:
    """Several buckets through one invocation at a time (each bucket's totals from the function's
    `by_target`). A function of an earlier template answers totals only: for one bucket that is
    the bucket's own, and `grouped` stays False: the caller goes on one bucket at a time.

    A bucket whose copies were refused for want of grants the onboarding just made (the function
    marks such a refusal not permanent) is synced again, with backoff, while `waiting` allows: what
    it already holds is skipped, so each artifact is still copied once."""
    done = {b: Synced(b) for b in buckets}
    pending, delay = list(buckets), 2.0
    deadline = time.monotonic() + (waiting.seconds if waiting else 0)
    while True:
        copied_before = {b: done[b].copied for b in pending}
        for fresh in _pass(lam, central, pending, progress):
            held = done[fresh.bucket]
            held.copied += fresh.copied
            held.current = max(0, fresh.current - copied_before[fresh.bucket])  # copied earlier: not "already there"
            held.failed, held.failures, held.grouped = fresh.failed, fresh.failures, fresh.grouped
        refused = [b for b in pending if done[b].failed and _refusals_only(done[b].failures)]
        if not refused or waiting is None or time.monotonic() + delay > deadline:
            return [done[b] for b in buckets]
        first = done[refused[0]].failures[0]
        code = str(first.get("reason", "")).split(":")[0] or "AccessDenied"  # the code; the rest names the ARNs
        waiting.tell(f"the central replication role's copy into {refused[0]}", code)
        waiting.pause(delay)
        pending, delay = refused, min(delay * 2, 15.0)


def _refusals_only(failures: list[dict[str, Any]]) -> bool:
    """Every failure a refusal the function expects to pass (a target registered minutes ago)."""
    return bool(failures) and all(
        f.get("permanent") is False
        and ("AccessDenied" in str(f.get("reason")) or "not authorized" in str(f.get("reason")))
        for f in failures
    )


def _pass(
    lam: Any, central: StackState, buckets: list[str], progress: Callable[[list[Synced]], None] | None
) -> list[Synced]:
    """One sync of the buckets through the function, chunk after chunk until it says it is done."""
    done = [Synced(b) for b in buckets]
    start_after: str | None = None
    while True:
        payload = {
            "xacct": "sync",
            "bucket": central.outputs["BuildBucket"],
            "targets": buckets,
            "start_after": start_after,
            "budget_seconds": BUDGET_SECONDS,
        }
        answer = lam.invoke(
            FunctionName=central.outputs[FUNCTION_OUTPUT], InvocationType="RequestResponse", Payload=json.dumps(payload)
        )
        body = json.loads(answer["Payload"].read() or b"null")
        if answer.get("FunctionError") or not isinstance(body, dict):
            reason = body.get("errorMessage") if isinstance(body, dict) else body
            raise AwsFailure(f"the replication function could not sync {', '.join(buckets)}: {reason}")
        by = body.get("by_target")
        if not isinstance(by, dict) and len(buckets) > 1:
            raise AwsFailure(f"the replication function of {central.name} syncs one bucket at a time")
        for synced in done:
            synced.grouped = isinstance(by, dict)
            copied, current, failed = by.get(synced.bucket, (0, 0, 0)) if isinstance(by, dict) else _totals(body)
            synced.copied, synced.current, synced.failed = (
                synced.copied + copied,
                synced.current + current,
                synced.failed + failed,
            )
            mine = [f for f in body.get("failures") or [] if f.get("target", synced.bucket) in (synced.bucket, "")]
            synced.failures = (synced.failures + mine)[:20]
        start_after = body.get("next")
        if not start_after:
            return done
        if progress is not None:  # more to come: say how far it got
            progress(done)


def _totals(body: dict[str, Any]) -> tuple[int, int, int]:
    return int(body.get("delivered", 0)), int(body.get("skipped", 0)), int(body.get("failed", 0))
