"""What CloudFormation will do to each stack a run changes, in either account, for the person who
confirms: from a change set where one can be made before confirming, from the template where a
stack's change set needs another stack first, from the stack's resources for a deletion. Pure."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import quote

from xacct.core.state import Action, ResourceChange

if TYPE_CHECKING:
    from xacct.core.grants import StackChange

Source = Literal["change set", "template", "stack"]
POLICY_TYPES = ("AWS::S3::BucketPolicy", "AWS::KMS::Key", "AWS::Lambda::Permission")


def touches_policy(resource_type: str) -> bool:
    """IAM, or a resource that carries a policy of its own: what a reviewer reads first."""
    return resource_type.startswith("AWS::IAM::") or resource_type in POLICY_TYPES


@dataclass(frozen=True)
class Preview:
    side: Literal["developer", "build"]
    account: str
    region: str
    stack: str
    action: Action
    changes: tuple[ResourceChange, ...] = ()
    source: Source = "change set"
    note: str = ""  # why this preview is what it is (a template's, a preview under no lease)

    @property
    def central(self) -> bool:
        return self.side == "build"


def total(previews: Iterable[Preview]) -> str:
    """One line above the question, as `terraform plan` ends: how many stacks each operation touches,
    and the resources under them."""
    shown = list(previews)
    stacks = {a: sum(1 for p in shown if p.action == a) for a in ("create", "update", "delete")}
    resources = {a: sum(1 for p in shown for c in p.changes if c.action == a) for a in ("Add", "Modify", "Remove")}
    accounts = len({p.account for p in shown if p.action != "none"})
    return (
        f"Plan: {stacks['create']} {'stack' if stacks['create'] == 1 else 'stacks'} to create, "
        f"{stacks['update']} to update, {stacks['delete']} to delete, in {accounts} "
        f"{'account' if accounts == 1 else 'accounts'} ({resources['Add']} resources to add, "
        f"{resources['Modify']} to change, {resources['Remove']} to remove)"
    )


def batch_total(stacks: Iterable[str], developers: int, accounts: int, central: str) -> str:
    """The one line above a batch's question (--from, --from --remove, --ou): the developers, the
    stack operations by kind (`stacks`: each planned stack's action), and the central change."""
    actions = list(stacks)
    count = {a: actions.count(a) for a in ("create", "update", "delete")}
    return (
        f"Plan: {developers} {'developer' if developers == 1 else 'developers'} in {accounts} "
        f"{'account' if accounts == 1 else 'accounts'}: {count['create']} "
        f"{'stack' if count['create'] == 1 else 'stacks'} to create, {count['update']} to update, "
        f"{count['delete']} to delete; central: {central}"
    )


def fleet_total(plans: list[Any], change: Any) -> str:
    """--from's line: each developer's planned stacks, and the one central change."""
    added = len(change.after.entries) - len(change.before.entries)
    central = f"{added} added to the lists in one change set" if change.changes_anything else "no change"
    steps = [s.action for p in plans for s in p.stacks]
    return batch_total(steps, len(plans), len({p.dev_account for p in plans}), central)


def ou_total(document: dict[str, Any]) -> str:
    """--ou's line: the accounts joining and leaving, the stack instances, the one central change."""
    joining, leaving = len(document["accounts_joining"]), len(document["accounts_leaving"])
    create, remove = len(document["stack_instances_to_create"]), len(document["stack_instances_to_remove"])
    return (
        f"Plan: {joining} {'account' if joining == 1 else 'accounts'} joining, {leaving} leaving: {create} "
        f"stack {'instance' if create == 1 else 'instances'} to create, {remove} to remove "
        f"(stack set: {document['stack_set_action']}); central: one change set"
    )


def resource_changes(action: str, resources: Iterable[tuple[str, str]]) -> tuple[ResourceChange, ...]:
    """Every resource (logical id, type) with the same action: a stack to create from its
    template ("Add"), or a stack to delete ("Remove")."""
    return tuple(ResourceChange(action, logical, rtype, "", touches_policy(rtype)) for logical, rtype in resources)


CONSOLE_HOSTS = {
    # The partitions whose console is on the internet; the isolated ones have none to link to.
    "aws": "https://{region}.console.aws.amazon.com",
    "aws-us-gov": "https://console.amazonaws-us-gov.com",
    "aws-cn": "https://console.amazonaws.cn",
}


def console_url(stack_id: str) -> str | None:
    """The stack's page in the CloudFormation console, from its ARN (partition and region in it)."""
    parts = stack_id.split(":", 5)
    if len(parts) != 6 or parts[2] != "cloudformation":
        return None
    host = CONSOLE_HOSTS.get(parts[1])
    if host is None:
        return None
    region = parts[3]
    return (
        f"{host.format(region=region)}/cloudformation/home?region={region}"
        f"#/stacks/stackinfo?stackId={quote(stack_id, safe='')}"
    )


def previews(stacks: list[StackChange], plan: Any) -> list[Preview]:
    """What CloudFormation will do to each stack, from the templates (a dry run makes no change set)."""
    from xacct.core.grants import resource_changes

    actions = {step.stack: step.action for step in plan.stacks}
    return [
        Preview(
            "build" if st.side == "build" else "developer",
            st.account,
            st.region,
            st.name,
            ("update" if plan.change.changes_anything else "none")
            if st.side == "build"
            else actions.get(st.name, "none"),
            tuple(ResourceChange(a, logical, t, "", touches_policy(t)) for a, logical, t in resource_changes(st)),
            "template",
        )
        for st in stacks
    ]
