"""What a CloudFormation request needs authorized: the action on the stack (by its ARN, once made), or
on the stack set (`stackset/NAME:ID`, the Service Authorization Reference's resource for them)."""

from __future__ import annotations

from xacct.sandbox import access
from xacct.sandbox.access import Call, Check
from xacct.sandbox.cloudformation.requests import CLOUDFORMATION, SERVICE_ROLE_ACTIONS


def stack_arn(name: str, account: str, region: str) -> str:
    from xacct.sandbox.cloudformation._moto import cloudformation_backends

    if name.startswith("arn:"):
        return name
    backend = cloudformation_backends[account][region]
    for stack in list(backend.stacks.values()):
        if stack.name == name and stack.status != "DELETE_COMPLETE":
            return str(stack.stack_id)
    return access.arn("cloudformation", region, account, f"stack/{name}/*")


def stack_set_arn(name: str, account: str, region: str) -> str:
    """The stack set a call names, as the Service Authorization Reference's `stackset` resource
    (arn:...:stackset/NAME:ID); one not made yet by its name and any id."""
    from xacct.sandbox.stacksets import model

    if name.count(":") == 1:  # given by its id, NAME:UUID
        return access.arn("cloudformation", region, account, f"stackset/{name}")
    from xacct.sandbox.cloudformation._moto import cloudformation_backends

    held = model.sets_of(cloudformation_backends[account][region]).get(name)
    return access.arn("cloudformation", region, account, f"stackset/{held.id if held else name + ':*'}")


def checks(call: Call) -> list[Check]:
    from xacct.sandbox.cloudformation._moto import cloudformation_backends

    action = f"cloudformation:{call.operation}"
    stack_set = call.params.get("StackSetName")
    if stack_set:
        return [Check(action, stack_set_arn(str(stack_set), call.caller.account, call.region))]
    name = call.params.get("StackName")
    change_set = str(call.params.get("ChangeSetName") or "")
    if not name and change_set.startswith("arn:"):
        backend = cloudformation_backends[call.caller.account][call.region]
        found = backend.change_sets.get(change_set)
        name = found.stack_id if found is not None else None
    passed = []
    role = str(call.params.get("RoleARN") or "")
    if role and call.operation in SERVICE_ROLE_ACTIONS:
        # "To pass a role (and its permissions) to an AWS service, a user must have permissions to pass
        # the role to the service" (IAM user guide): a role of the caller's own account (rule `service-role`).
        owner = role.split(":")[4] if role.count(":") >= 5 else None
        passed = [Check("iam:PassRole", role, owner, context={"iam:passedtoservice": (CLOUDFORMATION,)})]
    if not name:
        return [Check(action, "*"), *passed]
    return [Check(action, stack_arn(str(name), call.caller.account, call.region)), *passed]
