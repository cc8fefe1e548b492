"""Service-managed stack sets, as the StackSets user guide and the CloudFormation API reference
describe them. moto 5 keeps a service-managed stack instance as a hidden stack that no account can
see, targets only an OU's direct children, ignores AutoDeployment and CallAs, and reports every
operation SUCCEEDED. Here instead:

- only the organization's management account, or a delegated administrator for StackSets calling
  with CallAs=DELEGATED_ADMIN, may operate one ("You must be the master or delegated admin account
  of an organization before operating a SERVICE_MANAGED stack set"), and only with trusted access
  enabled for member.org.stacksets.cloudformation.amazonaws.com ("You must enable organizations
  access to operate a service managed stack set");
- an OU target reaches every active account beneath it, at any depth, never the management account
  (StackSets does not deploy to it with service-managed permissions);
- each instance is a real stack in its account, `StackSet-NAME-UUID`, created by CloudFormation's
  own machinery (so a resource that fails fails the instance, with its reason);
- an operation runs its accounts MaxConcurrentCount at a time, stops once failures pass the
  FailureToleranceCount (the rest CANCELLED), and keeps a result per account;
- with AutoDeployment, an account that joins a target OU gets the stack set's instances in its
  regions and one that leaves loses them (or keeps the stacks, RetainStacksOnAccountRemoval).

Operations finish before the call returns; the API reports them as AWS does once they end.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
NOT_ADMIN = (
    "You must be the master or delegated admin account of an organization before operating a SERVICE_MANAGED stack set"
)
NO_ACCESS = "You must enable organizations access to operate a service managed stack set"
LOCK = threading.RLock()  # operations and organization changes, one at a time
_OWNERS: set[tuple[str, str]] = set()  # (account, region) of CloudFormation backends holding a managed set


@dataclass
class Instance:
    account: str
    region: str
    ou: str
    stack_id: str = ""
    detailed: str = "PENDING"
    reason: str = ""
    operation: str = ""

    def summary(self, stack_set: ManagedSet) -> dict[str, Any]:
        status = {"SUCCEEDED": "CURRENT", "INOPERABLE": "INOPERABLE"}.get(self.detailed, "OUTDATED")
        return {
            "StackSetId": stack_set.id,
            "Region": self.region,
            "Account": self.account,
            "StackId": self.stack_id,
            "Status": status,
            "StatusReason": self.reason,
            "StackInstanceStatus": {"DetailedStatus": self.detailed},
            "OrganizationalUnitId": self.ou,
            "DriftStatus": "NOT_CHECKED",
            "LastOperationId": self.operation,
        }


@dataclass
class Operation:
    id: str
    action: str
    preferences: dict[str, Any]
    targets: dict[str, Any]
    retain: bool = False
    status: str = "RUNNING"
    created: datetime = field(default_factory=lambda: datetime.now(UTC))
    ended: datetime | None = None
    results: list[dict[str, Any]] = field(default_factory=list)

    def describe(self, stack_set: ManagedSet) -> dict[str, Any]:
        failed = sum(1 for r in self.results if r["Status"] == "FAILED")
        described = {
            "OperationId": self.id,
            "StackSetId": stack_set.id,
            "Action": self.action,
            "Status": self.status,
            "OperationPreferences": self.preferences,
            "RetainStacks": self.retain,
            "CreationTimestamp": self.created,
            "DeploymentTargets": self.targets,
            "StatusDetails": {"FailedStackInstancesCount": failed},
        }
        if self.ended:
            described["EndTimestamp"] = self.ended
        if self.status == "FAILED":
            described["StatusReason"] = f"{failed} stack instance(s) failed, more than the failure tolerance"
        return described


@dataclass
class ManagedSet:
    name: str
    owner: str
    region: str
    template: str
    parameters: dict[str, str]
    capabilities: list[str]
    description: str
    tags: dict[str, str]
    auto: dict[str, Any]
    id: str = ""
    status: str = "ACTIVE"
    targets: dict[str, set[str]] = field(default_factory=dict)  # OU -> regions deployed there
    instances: dict[tuple[str, str], Instance] = field(default_factory=dict)
    operations: dict[str, Operation] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.id = self.id or f"{self.name}:{uuid.uuid4()}"

    @property
    def arn(self) -> str:
        return f"arn:aws:cloudformation:{self.region}:{self.owner}:stackset/{self.id}"

    def describe(self) -> dict[str, Any]:
        return {
            "StackSetName": self.name,
            "StackSetId": self.id,
            "Description": self.description,
            "Status": self.status,
            "TemplateBody": self.template,
            "Parameters": dict(self.parameters),  # moto's serializer makes the Key/Value lists of both
            "Capabilities": self.capabilities,
            "Tags": dict(self.tags),
            "StackSetARN": self.arn,
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": self.auto,
            "OrganizationalUnitIds": sorted(self.targets),
            "Regions": sorted({r for regions in self.targets.values() for r in regions}),
            "ManagedExecution": {"Active": False},
        }


def sets_of(backend: Any) -> dict[str, ManagedSet]:
    """The service-managed stack sets of one CloudFormation backend (gone with it on reset)."""
    held: dict[str, ManagedSet] | None = getattr(backend, "xacct_managed_sets", None)
    if held is None:
        held = {}
        backend.xacct_managed_sets = held
        _OWNERS.add((backend.account_id, backend.region_name))
    return held


def every_set() -> list[ManagedSet]:
    from moto.cloudformation.models import cloudformation_backends

    found: list[ManagedSet] = []
    for account, region in sorted(_OWNERS):
        found += getattr(cloudformation_backends[account][region], "xacct_managed_sets", {}).values()
    return found


# ---- the organization ----------------------------------------------------------------------------


def organization_of(account: str) -> Any:
    """The Organizations backend holding the organization `account` belongs to (None: none)."""
    from moto.organizations.models import organizations_backends

    own = organizations_backends[account]["aws"]
    if own.org is not None:
        return own
    master = organizations_backends.master_accounts.get(account)
    return organizations_backends[master[0]][master[1]] if master else None


def authority(account: str, call_as: str | None) -> Any:
    """The organization `account` may operate service-managed stack sets of, or the refusal."""
    from moto.cloudformation.exceptions import ValidationError

    org = organization_of(account)
    if org is None:
        raise ValidationError(message=NOT_ADMIN)
    if (call_as or "SELF") == "DELEGATED_ADMIN":
        if not any(a.account.id == account and STACKSETS in a.services for a in org.admins):
            raise ValidationError(message=NOT_ADMIN)
    elif org.account_id != account:
        raise ValidationError(message=NOT_ADMIN)
    if not any(s["ServicePrincipal"] == STACKSETS for s in org.services):
        raise ValidationError(message=NO_ACCESS)
    return org


def members_under(org: Any, ou_id: str) -> list[str]:
    """Active accounts beneath an OU (or the root), at any depth, without the management account."""
    reached = {ou_id}
    grew = True
    while grew:
        more = {ou.id for ou in org.ou if getattr(ou, "parent_id", None) in reached} - reached
        reached |= more
        grew = bool(more)
    return [a.id for a in org.accounts if a.parent_id in reached and a.status == "ACTIVE" and a.id != org.account_id]


def known_target(org: Any, ou_id: str) -> bool:
    return any(ou.id == ou_id for ou in org.ou)


# ---- operations ------------------------------------------------------------------------------------


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
    """Carry out `step(instance) -> (succeeded, reason)` region by region (RegionOrder first), a
    batch of accounts at a time, as one operation with a result per account."""
    op = Operation(str(uuid.uuid4()), action, preferences, targets, retain)
    stack_set.operations[op.id] = op
    order = list(preferences.get("RegionOrder") or [])
    regions = sorted({i.region for i in work}, key=lambda r: (order.index(r) if r in order else len(order), r))
    stopped = False
    for region in regions:
        here = [i for i in work if i.region == region]
        tolerance, at_once = _limits(preferences, len(here))
        failed = 0
        for start in range(0, len(here), at_once):
            for instance in here[start : start + at_once]:
                instance.operation = op.id
                if stopped:
                    instance.detailed, ok, reason = "CANCELLED", False, "Cancelled since failure tolerance has exceeded"
                    op.results.append(_result(instance, "CANCELLED", reason))
                    continue
                ok, reason = step(instance)
                failed += not ok
                op.results.append(_result(instance, "SUCCEEDED" if ok else "FAILED", reason))
            stopped = stopped or failed > tolerance
    op.status = "FAILED" if stopped else "SUCCEEDED"
    op.ended = datetime.now(UTC)
    return op


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
    from moto.cloudformation.models import cloudformation_backends

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
    from moto.cloudformation.models import cloudformation_backends

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
