"""What a stack's status means for the next step. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Any


class Next(Enum):
    CREATE = "create"  # no stack
    UPDATE = "update"  # stable: a change set may be made
    WAIT = "wait"  # CloudFormation is working on it
    RECREATE = "recreate"  # dead shell: delete, then create
    BLOCKED = "blocked"  # a person must act first


@dataclass(frozen=True)
class Decision:
    next: Next
    reason: str = ""


STABLE = {
    "CREATE_COMPLETE",
    "UPDATE_COMPLETE",
    "UPDATE_ROLLBACK_COMPLETE",
    "IMPORT_COMPLETE",
    "IMPORT_ROLLBACK_COMPLETE",
}
FAILED_ENDINGS = {
    "CREATE_FAILED",
    "ROLLBACK_COMPLETE",
    "ROLLBACK_FAILED",
    "DELETE_FAILED",
    "UPDATE_ROLLBACK_COMPLETE",
    "UPDATE_ROLLBACK_FAILED",
    "UPDATE_FAILED",
    "IMPORT_ROLLBACK_COMPLETE",
    "IMPORT_ROLLBACK_FAILED",
}


def is_in_progress(status: str | None) -> bool:
    # REVIEW_IN_PROGRESS is a resting state (a CREATE change set not executed), not work.
    return bool(status) and status != "REVIEW_IN_PROGRESS" and str(status).endswith("_IN_PROGRESS")


def is_terminal(status: str | None) -> bool:
    return not is_in_progress(status)


def decide(status: str | None, stack: str, where: str = "") -> Decision:
    """The next step for a stack in `status` (None: it does not exist)."""
    if status is None or status == "DELETE_COMPLETE":
        return Decision(Next.CREATE)
    if status in STABLE:
        return Decision(Next.UPDATE)
    if status == "REVIEW_IN_PROGRESS":
        return Decision(Next.RECREATE, f"{stack} was left empty in REVIEW_IN_PROGRESS by a change set never executed")
    if is_in_progress(status):
        return Decision(Next.WAIT, f"{stack} is {status}")
    if status in ("ROLLBACK_COMPLETE", "CREATE_FAILED"):
        return Decision(Next.RECREATE, f"{stack} failed to create ({status}) and can only be deleted")
    if status == "UPDATE_ROLLBACK_FAILED":
        return Decision(
            Next.BLOCKED,
            f"{stack} is UPDATE_ROLLBACK_FAILED; fix the resource named in its events, then run "
            f"aws cloudformation continue-update-rollback --stack-name {stack}{where}",
        )
    if status == "DELETE_FAILED":
        return Decision(Next.BLOCKED, f"{stack} is DELETE_FAILED")
    return Decision(
        Next.BLOCKED,
        f"{stack} is {status}; resolve it in the CloudFormation console, or delete it with "
        f"aws cloudformation delete-stack --stack-name {stack}{where}",
    )


def why_failed(stack: str, status: str | None, events: list[dict[str, Any]]) -> str:
    """What a failed operation says: the first resource that failed, with CloudFormation's reason;
    else the reason the stack gave for rolling back (an export another stack imports, say, which no
    resource's failure names)."""
    failed = [e for e in events if str(e.get("ResourceStatus", "")).endswith("_FAILED")]
    rolled = [e for e in events if str(e.get("ResourceStatus", "")).endswith("ROLLBACK_IN_PROGRESS")]
    first = next((e for e in [*failed, *rolled] if e.get("ResourceStatusReason")), failed[0] if failed else None)
    text = f"stack {stack} ended {status}"
    if first is not None:
        text += (
            f": {first['LogicalResourceId']} ({first.get('ResourceType', '?')}) "
            f"{first['ResourceStatus']}: {first.get('ResourceStatusReason', 'no reason given')}"
        )
    return text
