"""The StackSets API for service-managed stack sets (the model is in model.py), and the
organization changes that move instances with AutoDeployment. A self-managed stack set is still
moto's own."""

from __future__ import annotations

import re
from typing import Any

from xacct.sandbox._moto import ActionResult
from xacct.sandbox.cloudformation import capabilities
from xacct.sandbox.cloudformation._moto import (
    StackInstanceNotFound,
    StackSetNotEmpty,
    StackSetNotFoundException,
    ValidationError,
    cfn_responses,
    cloudformation_backends,
)
from xacct.sandbox.patching import around
from xacct.sandbox.stacksets import auto
from xacct.sandbox.stacksets import model as gs
from xacct.sandbox.stacksets import operations as ops

SET_ACTIONS = (
    "create_stack_set",
    "describe_stack_set",
    "delete_stack_set",
    "update_stack_set",
    "create_stack_instances",
    "delete_stack_instances",
    "update_stack_instances",
    "list_stack_instances",
    "describe_stack_instance",
    "describe_stack_set_operation",
    "list_stack_set_operations",
    "list_stack_set_operation_results",
)
PAGE = 100  # MaxResults of the List* calls: 1-100


def install() -> None:
    for action in SET_ACTIONS:
        _route(cfn_responses.CloudFormationResponse, action)
    _list_stack_sets(cfn_responses.CloudFormationResponse)
    auto.install()


def _route(cls: Any, action: str) -> None:
    """Service-managed stack sets here, the rest to moto."""
    ours = globals()[f"_{action}"]

    @around(cls, action)
    def handler(original: Any, self: Any) -> Any:
        backend = self.cloudformation_backend
        name = self._get_param("StackSetName") or ""
        managed = self._get_param("PermissionModel") == "SERVICE_MANAGED" if action == "create_stack_set" else None
        if managed is None:
            managed = _find(backend, name) is not None
        if not managed:
            return original(self)
        with gs.LOCK:
            return ours(self, backend, name)


def _find(backend: Any, name: str) -> gs.ManagedSet | None:
    held = gs.sets_of(backend)
    found = held.get(name) or next((s for s in list(held.values()) if s.id == name), None)
    return found if found is not None and found.status == "ACTIVE" else None


def _the(self: Any, backend: Any, name: str) -> tuple[gs.ManagedSet, Any]:

    org = gs.authority(backend.account_id, self._get_param("CallAs"))
    found = _find(backend, name)
    if found is None:
        raise StackSetNotFoundException(name)
    return found, org


def _result(body: dict[str, Any]) -> Any:

    return ActionResult(body)


def _page(self: Any, items: list[Any], key: str) -> Any:
    start = int(self._get_param("NextToken") or 0)
    size = min(int(self._get_param("MaxResults") or PAGE), PAGE)
    body: dict[str, Any] = {key: items[start : start + size]}
    if start + size < len(items):
        body["NextToken"] = str(start + size)
    return _result(body)


# ---- the API ---------------------------------------------------------------------------------------


def _create_stack_set(self: Any, backend: Any, name: str) -> Any:

    gs.authority(backend.account_id, self._get_param("CallAs"))
    if not re.match(r"^[a-zA-Z][-a-zA-Z0-9]*$", name):  # the API's pattern for StackSetName
        raise ValidationError(
            message=f"1 validation error detected: Value '{name}' at 'stackSetName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*"
        )
    if _find(backend, name) is not None:
        raise ops.named("NameAlreadyExistsException", f"StackSet {name} already exists")
    auto = self._get_params().get("AutoDeployment") or {}
    body = self._get_param("TemplateBody") or self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    capabilities.check(body, self._get_param("Capabilities", []) or [])
    stack_set = gs.ManagedSet(
        name=name,
        owner=backend.account_id,
        region=backend.region_name,
        template=body,
        parameters={p["ParameterKey"]: p["ParameterValue"] for p in self._get_param("Parameters", [])},
        capabilities=list(self._get_param("Capabilities", [])),
        description=self._get_param("Description") or "",
        tags={t["Key"]: t["Value"] for t in self._get_param("Tags", [])},
        auto=_auto(auto),
        managed=_active(self._get_params().get("ManagedExecution")),
    )
    gs.sets_of(backend)[name] = stack_set
    return _result({"StackSetId": stack_set.id})


def _auto(given: dict[str, Any]) -> dict[str, Any]:
    return {
        "Enabled": given.get("Enabled") in (True, "true"),
        "RetainStacksOnAccountRemoval": given.get("RetainStacksOnAccountRemoval") in (True, "true"),
    }


def _active(given: Any) -> bool:
    return isinstance(given, dict) and given.get("Active") in (True, "true")


def _execution(self: Any, stack_set: gs.ManagedSet) -> None:
    """ManagedExecution changed by UpdateStackSet: "You can't modify your stack set's execution
    configuration while there are running or queued operations for that stack set"."""
    given = self._get_params().get("ManagedExecution")
    if given is None or _active(given) == stack_set.managed:
        return
    if ops.busy(stack_set):
        raise ops.named("OperationInProgressException", f"Another Operation on StackSet {stack_set.id} is in progress")
    stack_set.managed = _active(given)


def _describe_stack_set(self: Any, backend: Any, name: str) -> Any:
    stack_set, _ = _the(self, backend, name)
    return _result({"StackSet": stack_set.describe()})


def _delete_stack_set(self: Any, backend: Any, name: str) -> Any:

    stack_set, _ = _the(self, backend, name)
    if ops.busy(stack_set):
        raise ops.named("OperationInProgressException", f"Another Operation on StackSet {stack_set.id} is in progress")
    if stack_set.instances:
        raise StackSetNotEmpty()
    stack_set.status = "DELETED"
    del gs.sets_of(backend)[stack_set.name]
    return _result({})


def _update_stack_set(self: Any, backend: Any, name: str) -> Any:
    """A new template or parameters, rolled out to every instance as one operation."""
    stack_set, _ = _the(self, backend, name)
    ops.admit(stack_set)
    _execution(self, stack_set)
    body = self._get_param("TemplateBody") or (
        self._get_stack_from_s3_url(self._get_param("TemplateURL")) if self._get_param("TemplateURL") else None
    )
    template = body or stack_set.template  # none given: UsePreviousTemplate, or nothing to change
    capabilities.check(template, self._get_param("Capabilities", []) or [])  # asked again, before any change
    stack_set.template = template
    for p in self._get_param("Parameters", []):
        if not p.get("UsePreviousValue"):
            stack_set.parameters[p["ParameterKey"]] = p["ParameterValue"]
    stack_set.capabilities = list(self._get_param("Capabilities", stack_set.capabilities))
    if self._get_params().get("AutoDeployment"):
        stack_set.auto = _auto(self._get_params()["AutoDeployment"])

    def step(instance: gs.Instance) -> tuple[bool, str]:
        stack = cloudformation_backends[instance.account][instance.region].stacks.get(instance.stack_id)
        if stack is None:
            return ops.create_in_account(stack_set, instance, {})
        return ops.update_in_account(stack_set, instance, stack, {})

    work = list(stack_set.instances.values())
    preferences = self._get_params().get("OperationPreferences") or {}
    op = ops.run(stack_set, "UPDATE", work, step, preferences, {"OrganizationalUnitIds": sorted(stack_set.targets)})
    return _result({"OperationId": op.id})


def _targets(self: Any, org: Any) -> tuple[dict[str, Any], list[str], dict[str, str]]:
    """DeploymentTargets: the OUs, and the accounts they reach (account -> its OU) after
    AccountFilterType: NONE all of the OUs' accounts, INTERSECTION those also listed in Accounts,
    DIFFERENCE those not listed, UNION the listed ones too (API reference, DeploymentTargets)."""

    targets = self._get_params().get("DeploymentTargets") or {}
    ous = list(targets.get("OrganizationalUnitIds") or [])
    if self._get_param("Accounts") or not ous:
        raise ValidationError(
            message="StackSets with SERVICE_MANAGED permission model can only have OrganizationalUnit as target"
        )
    beneath: dict[str, str] = {}
    for ou in ous:
        for account in gs.members_under(org, ou) if gs.known_target(org, ou) else []:
            beneath.setdefault(account, ou)
    listed = list(targets.get("Accounts") or [])
    kind = targets.get("AccountFilterType") or "NONE"
    if kind == "INTERSECTION":
        chosen = {a: o for a, o in beneath.items() if a in listed}
    elif kind == "DIFFERENCE":
        chosen = {a: o for a, o in beneath.items() if a not in listed}
    elif kind == "UNION":
        chosen = {**beneath, **{a: ous[0] for a in listed if a not in beneath}}
    else:
        chosen = beneath
    return targets, ous, chosen


def _create_stack_instances(self: Any, backend: Any, name: str) -> Any:
    stack_set, org = _the(self, backend, name)
    ops.admit(stack_set)
    targets, ous, chosen = _targets(self, org)
    regions = list(self._get_param("Regions", []))
    overrides = {p["ParameterKey"]: p["ParameterValue"] for p in self._get_param("ParameterOverrides", [])}
    for ou in ous:
        stack_set.targets.setdefault(ou, set()).update(regions)
    work = [
        gs.Instance(account, region, ou)
        for region in regions
        for account, ou in chosen.items()
        if (account, region) not in stack_set.instances
    ]
    for instance in work:
        stack_set.instances[(instance.account, instance.region)] = instance
    preferences = self._get_params().get("OperationPreferences") or {}
    op = ops.run(
        stack_set, "CREATE", work, lambda i: ops.create_in_account(stack_set, i, overrides), preferences, targets
    )
    return _result({"OperationId": op.id})


def _update_stack_instances(self: Any, backend: Any, name: str) -> Any:
    """The targeted instances deployed again: a stack that failed to be created (ROLLBACK_COMPLETE,
    which CloudFormation can only delete) is deleted and created anew, any other is updated."""

    stack_set, org = _the(self, backend, name)
    ops.admit(stack_set)
    targets, _, chosen = _targets(self, org)
    regions = set(self._get_param("Regions", []))
    overrides = {p["ParameterKey"]: p["ParameterValue"] for p in self._get_param("ParameterOverrides", [])}
    work = [i for i in list(stack_set.instances.values()) if i.region in regions and i.account in chosen]

    def step(instance: gs.Instance) -> tuple[bool, str]:
        stacks = cloudformation_backends[instance.account][instance.region]
        stack = stacks.stacks.get(instance.stack_id)
        if stack is None or stack.status in ("ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "DELETE_COMPLETE"):
            if stack is not None and stack.status != "DELETE_COMPLETE":
                stacks.delete_stack(instance.stack_id)
            return ops.create_in_account(stack_set, instance, overrides)
        return ops.update_in_account(stack_set, instance, stack, overrides)

    preferences = self._get_params().get("OperationPreferences") or {}
    op = ops.run(stack_set, "UPDATE", work, step, preferences, targets)
    return _result({"OperationId": op.id})


def _delete_stack_instances(self: Any, backend: Any, name: str) -> Any:
    stack_set, org = _the(self, backend, name)
    ops.admit(stack_set)
    targets, ous, chosen = _targets(self, org)
    regions = set(self._get_param("Regions", []))
    retain = self._get_param("RetainStacks") in (True, "true")
    whole = (targets.get("AccountFilterType") or "NONE") == "NONE"
    work = [
        i
        for i in list(stack_set.instances.values())
        if i.region in regions and (i.account in chosen or (whole and i.ou in ous))
    ]
    if whole:  # the OUs themselves are no longer targets in these regions
        for ou in ous:
            left = stack_set.targets.get(ou, set()) - regions
            if left:
                stack_set.targets[ou] = left
            else:
                stack_set.targets.pop(ou, None)
    op = ops.remove(stack_set, work, retain, self._get_params().get("OperationPreferences") or {}, targets)
    return _result({"OperationId": op.id})


def _list_stack_instances(self: Any, backend: Any, name: str) -> Any:
    stack_set, _ = _the(self, backend, name)
    account, region = self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion")
    filters = {f["Name"]: f["Values"] for f in self._get_param("Filters", [])}
    rows = [
        i.summary(stack_set)
        for i in list(stack_set.instances.values())
        if (not account or i.account == account)
        and (not region or i.region == region)
        and ("DETAILED_STATUS" not in filters or i.detailed == filters["DETAILED_STATUS"])
        and ("LAST_OPERATION_ID" not in filters or i.operation == filters["LAST_OPERATION_ID"])
    ]
    return _page(self, rows, "Summaries")


def _describe_stack_instance(self: Any, backend: Any, name: str) -> Any:

    stack_set, _ = _the(self, backend, name)
    key = (self._get_param("StackInstanceAccount"), self._get_param("StackInstanceRegion"))
    if key not in stack_set.instances:
        raise StackInstanceNotFound()
    return _result({"StackInstance": stack_set.instances[key].summary(stack_set)})


def _operation(self: Any, backend: Any, name: str) -> tuple[gs.ManagedSet, gs.Operation]:
    stack_set, _ = _the(self, backend, name)
    op = stack_set.operations.get(self._get_param("OperationId"))
    if op is None:
        raise ops.named("OperationNotFoundException", f"Operation {self._get_param('OperationId')} not found")
    return stack_set, op


def _describe_stack_set_operation(self: Any, backend: Any, name: str) -> Any:
    stack_set, op = _operation(self, backend, name)
    return _result({"StackSetOperation": op.describe(stack_set)})


def _list_stack_set_operations(self: Any, backend: Any, name: str) -> Any:
    stack_set, _ = _the(self, backend, name)
    rows = [op.describe(stack_set) for op in reversed(list(stack_set.operations.values()))]
    return _page(self, rows, "Summaries")


def _list_stack_set_operation_results(self: Any, backend: Any, name: str) -> Any:
    _, op = _operation(self, backend, name)
    return _page(self, op.results, "Summaries")


def _list_stack_sets(cls: Any) -> None:
    @around(cls, "list_stack_sets")
    def list_stack_sets(original: Any, self: Any) -> Any:
        mine = [
            {k: v for k, v in s.describe().items() if k in ("StackSetName", "StackSetId", "Description", "Status",
                                                          "AutoDeployment", "PermissionModel")}
            for s in list(gs.sets_of(self.cloudformation_backend).values())
        ]  # fmt: skip
        if not mine:
            return original(self)
        theirs = [
            {"StackSetName": s.name, "StackSetId": s.id, "Status": s.status, "PermissionModel": s.permission_model}
            for s in self.cloudformation_backend.list_stack_sets()
        ]
        return _result({"Summaries": theirs + mine})
