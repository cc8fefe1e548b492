"""Service-managed stack set operations as StackSets carries them out (the model is model.py):
in the background, one at a time per stack set (others refused, or queued with ManagedExecution),
region by region and a batch of accounts at a time, each account's result kept with CloudFormation's
reason for a failure (rule `stackset-operations`)."""

from __future__ import annotations

import threading
import time
import uuid
from datetime import UTC, datetime
from typing import Any

from xacct.sandbox.cloudformation._moto import CloudFormationError, cloudformation_backends
from xacct.sandbox.settings import SETTINGS
from xacct.sandbox.stacksets.model import GENERATION, LOCK, Instance, ManagedSet, Operation


def _limits(preferences: dict[str, Any], count: int) -> tuple[int, int]:
    """(failures tolerated, accounts at a time) per region (StackSetOperationPreferences: percentages
    round down; at least one account at a time; in the default STRICT_FAILURE_TOLERANCE mode, at most
    one more account at a time than the failures tolerated)."""
    tolerance = int(preferences.get("FailureToleranceCount") or 0)
    if preferences.get("FailureTolerancePercentage") is not None:
        tolerance = int(preferences["FailureTolerancePercentage"]) * count // 100
    at_once = int(preferences.get("MaxConcurrentCount") or 1)
    if preferences.get("MaxConcurrentPercentage") is not None:
        at_once = max(1, int(preferences["MaxConcurrentPercentage"]) * count // 100)
    if preferences.get("ConcurrencyMode", "STRICT_FAILURE_TOLERANCE") == "STRICT_FAILURE_TOLERANCE":
        at_once = min(at_once, tolerance + 1)
    return tolerance, max(1, at_once)


def named(code: str, message: str) -> Exception:
    """A CloudFormation error of that code (moto has no class for it)."""

    error = type(code, (CloudFormationError,), {"code": code})
    return error(message)  # type: ignore[no-any-return]


def busy(stack_set: ManagedSet) -> list[Operation]:
    """Its operations running or queued, oldest first."""
    return [op for op in list(stack_set.operations.values()) if op.status in ("RUNNING", "QUEUED")]


def admit(stack_set: ManagedSet) -> None:
    """Before anything an operation changes: refused while another runs, unless ManagedExecution
    queues it (OperationInProgressException: "Another operation is currently in progress for this
    StackSet. Only one operation can be performed for a stack set at a given time")."""
    running = busy(stack_set)
    if running and not stack_set.managed:
        raise named(
            "OperationInProgressException",
            f"Another Operation on StackSet {stack_set.id} is in progress: {running[0].id}",
        )


def run(
    stack_set: ManagedSet,
    action: str,
    work: list[Instance],
    step: Any,
    preferences: dict[str, Any],
    targets: dict[str, Any],
    *,
    retain: bool = False,
) -> Operation:
    """One operation carrying out `step(instance) -> (succeeded, reason)` for each instance, in the
    background (`carry_out`): RUNNING at once, or QUEUED behind the stack set's running one."""
    op = Operation(str(uuid.uuid4()), action, preferences, targets, retain)
    op.status = "QUEUED" if busy(stack_set) else "RUNNING"
    op.plan = (work, step)
    stack_set.operations[op.id] = op
    if stack_set.worker is None or not stack_set.worker.is_alive():
        stack_set.worker = threading.Thread(target=_work, args=(stack_set, GENERATION[0]), daemon=True,
                                            name=f"stackset:{stack_set.name}")  # fmt: skip
        stack_set.worker.start()
    return op


def _work(stack_set: ManagedSet, generation: int) -> None:
    """A stack set's operations, one after another in the order they were asked for."""
    while True:
        with LOCK:
            pending = busy(stack_set)
            if not pending or generation != GENERATION[0]:
                stack_set.worker = None
                return
            op = pending[0]
            op.status = "RUNNING"
        carry_out(stack_set, op, generation)


def carry_out(stack_set: ManagedSet, op: Operation, generation: int) -> None:
    """Region by region (RegionOrder first), a batch of accounts at a time, each batch taking the
    emulator's `stack_set_seconds`; stopped once failures pass the tolerance."""
    work, step = op.plan
    preferences = op.preferences
    order = list(preferences.get("RegionOrder") or [])
    regions = sorted({i.region for i in work}, key=lambda r: (order.index(r) if r in order else len(order), r))
    stopped = False
    for region in regions:
        here = [i for i in work if i.region == region]
        tolerance, at_once = _limits(preferences, len(here))
        failed = 0
        for start in range(0, len(here), at_once):
            if SETTINGS.stack_set_seconds and not stopped:
                time.sleep(SETTINGS.stack_set_seconds)
            with LOCK:
                if generation != GENERATION[0]:
                    return  # the emulator was reset: nothing of this operation is left to change
                for instance in here[start : start + at_once]:
                    instance.operation = op.id
                    if stopped:
                        instance.detailed, reason = "CANCELLED", "Cancelled since failure tolerance has exceeded"
                        op.results.append(_result(instance, "CANCELLED", reason))
                        continue
                    ok, reason = step(instance)
                    failed += not ok
                    op.results.append(_result(instance, "SUCCEEDED" if ok else "FAILED", reason))
            stopped = stopped or failed > tolerance
    with LOCK:
        op.status = "FAILED" if stopped else "SUCCEEDED"
        op.ended = datetime.now(UTC)


def forget() -> None:
    """An emulator reset: operations still in flight stop before their next step."""
    with LOCK:
        GENERATION[0] += 1


def _result(instance: Instance, status: str, reason: str) -> dict[str, Any]:
    result = {
        "Account": instance.account,
        "Region": instance.region,
        "Status": status,
        "OrganizationalUnitId": instance.ou,
        "AccountGateResult": {"Status": "SKIPPED", "StatusReason": "No account gate function was configured"},
    }
    if reason:
        result["StatusReason"] = reason
    return result


def create_in_account(stack_set: ManagedSet, instance: Instance, overrides: dict[str, str]) -> tuple[bool, str]:
    """The instance's stack, created in its account by CloudFormation (a failure is the instance's)."""

    backend = cloudformation_backends[instance.account][instance.region]
    name = f"StackSet-{stack_set.name}-{uuid.uuid4()}"
    try:
        stack = backend.create_stack(
            name=name, template=stack_set.template, parameters={**stack_set.parameters, **overrides},
            tags=dict(stack_set.tags),
        )  # fmt: skip
    except Exception as exc:  # refused before any resource (a template or parameter error)
        instance.detailed, instance.reason = "FAILED", str(getattr(exc, "message", None) or exc)
        return False, instance.reason
    instance.stack_id = stack.stack_id
    if stack.status != "CREATE_COMPLETE":
        instance.detailed, instance.reason = "FAILED", failure_reason(stack)
        return False, instance.reason
    instance.detailed, instance.reason = "SUCCEEDED", ""
    return True, ""


def update_in_account(
    stack_set: ManagedSet, instance: Instance, stack: Any, overrides: dict[str, str]
) -> tuple[bool, str]:
    """The instance's stack updated to the stack set's template and parameters."""
    try:
        stack.update(stack_set.template, parameters={**stack_set.parameters, **overrides})
    except Exception as exc:
        instance.detailed, instance.reason = "FAILED", str(getattr(exc, "message", None) or exc)
        return False, instance.reason
    ok = stack.status in ("UPDATE_COMPLETE", "CREATE_COMPLETE")
    instance.detailed, instance.reason = ("SUCCEEDED", "") if ok else ("FAILED", failure_reason(stack))
    return ok, instance.reason


def delete_in_account(instance: Instance, retain: bool) -> tuple[bool, str]:

    if retain or not instance.stack_id:
        return True, ""
    backend = cloudformation_backends[instance.account][instance.region]
    try:
        backend.delete_stack(instance.stack_id)
    except Exception as exc:
        instance.detailed, instance.reason = "FAILED", str(getattr(exc, "message", None) or exc)
        return False, instance.reason
    stack = backend.stacks.get(instance.stack_id)
    if stack is not None and stack.status == "DELETE_FAILED":
        instance.detailed, instance.reason = "FAILED", failure_reason(stack)
        return False, instance.reason
    return True, ""


def failure_reason(stack: Any) -> str:
    """As StackSets words a failed instance: the first resource that failed and CloudFormation's reason."""
    for event in stack.events:
        if str(event.resource_status).endswith("_FAILED") and event.logical_resource_id != stack.name:
            return (
                f"ResourceLogicalId:{event.logical_resource_id}, ResourceType:{event.resource_type}, "
                f"ResourceStatusReason:{event.resource_status_reason}."
            )
    return f"Stack {stack.name} ended {stack.status}"


def remove(
    stack_set: ManagedSet, work: list[Instance], retain: bool, preferences: dict[str, Any], targets: Any
) -> Operation:
    def step(instance: Instance) -> tuple[bool, str]:
        ok, reason = delete_in_account(instance, retain)
        if ok:
            stack_set.instances.pop((instance.account, instance.region), None)
        return ok, reason

    return run(stack_set, "DELETE", work, step, preferences, targets, retain=retain)
