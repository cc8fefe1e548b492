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

- operations run in the background, as on AWS: the call answers at once with the operation RUNNING,
  each batch of accounts takes the emulator's `stack_set_seconds`, and the operation ends SUCCEEDED or
  FAILED; a stack set runs one operation at a time, so another meanwhile is refused with
  OperationInProgressException, unless ManagedExecution is active, which queues it (QUEUED) to run in
  request order; automatic deployment after an account joins or leaves is an operation of its own.
"""

from __future__ import annotations

import threading
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from xacct.sandbox.cloudformation._moto import ValidationError, cloudformation_backends
from xacct.sandbox.stacksets._moto import organizations_backends

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
NOT_ADMIN = (
    "You must be the master or delegated admin account of an organization before operating a SERVICE_MANAGED stack set"
)
NO_ACCESS = "You must enable organizations access to operate a service managed stack set"
LOCK = threading.RLock()  # operations and organization changes, one step at a time
GENERATION = [0]  # bumped by an emulator reset: a worker of an earlier generation stops
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
    plan: tuple[list[Any], Any] = field(default_factory=lambda: ([], None), repr=False)  # (work, step)

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
    managed: bool = False  # ManagedExecution Active: operations queue instead of being refused
    worker: threading.Thread | None = field(default=None, repr=False)

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
            "ManagedExecution": {"Active": self.managed},
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
    found: list[ManagedSet] = []
    for account, region in sorted(_OWNERS):
        found += getattr(cloudformation_backends[account][region], "xacct_managed_sets", {}).values()
    return found


# ---- the organization ----------------------------------------------------------------------------


def organization_of(account: str) -> Any:
    """The Organizations backend holding the organization `account` belongs to (None: none)."""

    own = organizations_backends[account]["aws"]
    if own.org is not None:
        return own
    master = organizations_backends.master_accounts.get(account)
    return organizations_backends[master[0]][master[1]] if master else None


def authority(account: str, call_as: str | None) -> Any:
    """The organization `account` may operate service-managed stack sets of, or the refusal."""

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
