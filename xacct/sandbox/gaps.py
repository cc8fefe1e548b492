"""Where moto's CloudFormation does something other than what AWS documents, and the product
depends on it (services in gaps_services.py).

Each function closes one gap towards AWS's documented behaviour; none makes moto accept anything
AWS refuses (those rules are in `strict.py`). The product never knows: it talks to whatever
endpoint botocore is given, exactly as it does on AWS.
"""

from __future__ import annotations

import json
import re
from typing import Any

from xacct.sandbox import (
    failures,
    gaps_capabilities,
    gaps_organizations,
    gaps_services,
    gaps_stacksets_api,
    gaps_templates,
    s3_lifecycle,
)

_PATCHED = "_xacct_gaps"


def install() -> None:
    from moto.cloudformation import models

    if getattr(models.CloudFormationBackend, _PATCHED, False):
        return
    failures.install()
    _change_sets()
    _depends_on()
    _retain_except_on_create()
    _resource_updates()
    _parameter_driven_updates()
    _change_sets_list_parameter_changes()
    _generated_function_names()
    _list_imports()
    _stack_resources_named()
    _no_value_in_lists()
    gaps_services.install()
    gaps_templates.install()
    gaps_stacksets_api.install()
    gaps_organizations.install()
    gaps_capabilities.install()
    s3_lifecycle.install()
    setattr(models.CloudFormationBackend, _PATCHED, True)


def _change_sets() -> None:
    """ExecuteChangeSet as the ExecuteChangeSet API reference describes it.

    moto builds a CREATE change set's stack with an empty template and never computes its outputs
    or registers its exports; it sets `*_COMPLETE` whatever happened; it does not delete the
    stack's other change sets, which AWS does because they no longer match the stack; an
    unknown change set is a server error where AWS answers ChangeSetNotFound; and deleting one
    that is already gone is a server error where AWS answers 200 (DeleteChangeSet's API
    reference lists InvalidChangeSetStatus as its only error).
    """
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import CloudFormationError

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
        )
        if change_set is None:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        stack = self.stacks[change_set.stack_id]
        if change_set.change_set_type == "CREATE":
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.cross_stack_resources = self.exports  # what create_stack gives for Fn::ImportValue
            stack.resource_map = stack._create_resource_map()
            stack.create_resources()  # ends CREATE_COMPLETE, or ROLLBACK_COMPLETE (failures.py)
            if stack.status == "CREATE_COMPLETE":
                stack.output_map = stack._create_output_map()
                try:
                    self._validate_export_uniqueness(stack)
                except failures.ResourceFailed as failure:
                    failures.roll_back_create(stack, failure)
        else:
            stack.update(change_set.template, role_arn=stack.role_arn, parameters=change_set.parameters)
        change_set.execution_status = "EXECUTE_COMPLETE"
        if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            gaps_templates.register_exports(self, stack)
        for cs_id, cs in list(self.change_sets.items()):
            if cs.stack_id == change_set.stack_id and cs is not change_set:
                del self.change_sets[cs_id]

    def delete_change_set(self: Any, change_set_name: str) -> None:
        for cs_id, cs in list(self.change_sets.items()):
            if change_set_name in (cs_id, cs.change_set_name):
                del self.change_sets[cs_id]
                return

    models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]
    models.CloudFormationBackend.delete_change_set = delete_change_set  # type: ignore[method-assign]


def _depends_on() -> None:
    """A resource is created only after everything in its DependsOn (CloudFormation user guide,
    "DependsOn attribute"); moto creates a resource as soon as another one refers to it, and then
    skips its DependsOn (a bucket notified a function before the permission to invoke it existed)."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.__getitem__

    def __getitem__(self: Any, key: str) -> Any:
        if key not in self._parsed_resources:
            body = self._resource_json_map.get(key) or {}
            after = body.get("DependsOn", [])
            for dependency in [after] if isinstance(after, str) else after:
                if dependency in self._resource_json_map:
                    self[dependency]
        return original(self, key)

    parsing.ResourceMap.__getitem__ = __getitem__  # type: ignore[method-assign]


def _retain_except_on_create() -> None:
    """DeletionPolicy RetainExceptOnCreate keeps the resource when its stack is deleted, as Retain
    does, except when the operation that created it rolls back (CloudFormation user guide,
    "DeletionPolicy attribute"); moto knows only Retain and deletes the resource."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.delete

    def delete(self: Any) -> None:
        if getattr(self, "_xacct_create_rollback", False):
            return original(self)
        saved = {}
        for name, body in self._resource_json_map.items():
            if body.get("DeletionPolicy") == "RetainExceptOnCreate":
                saved[name] = body
                self._resource_json_map[name] = {**body, "DeletionPolicy": "Retain"}
        try:
            original(self)
        finally:
            self._resource_json_map.update(saved)

    parsing.ResourceMap.delete = delete  # type: ignore[method-assign]


def _resource_updates() -> None:
    """Updating a resource whose type moto cannot update leaves None in its place, and every later
    Fn::GetAtt on it fails; on AWS the resource stays. An AWS::IAM::ManagedPolicy keeps its first
    document through updates in moto; AWS publishes the new document as the default version. A
    resource whose Condition turns false on update is deleted on AWS; moto keeps it. One whose
    Condition turns true is created on AWS; moto created it only when something referred to it (the
    seed's AWS::Lambda::Permission never was, so S3 could not notify its function)."""
    from moto.cloudformation import parsing

    update_resource = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        updated = update_resource(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is not None:
            return updated
        # moto cannot update this type: the resource (created just now if its condition turned
        # true) stays, and a managed policy publishes its new document.
        existing = resources_map._parsed_resources.get(logical_id)
        if existing is not None and type(existing).__name__ == "ManagedPolicy":
            _publish_policy_version(resources_map, logical_id, existing)
        return existing

    parsing.parse_and_update_resource = parse_and_update_resource

    original_update = parsing.ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        original_update(self, template, parameters)
        for logical_id, body in list(self._resource_json_map.items()):
            condition = body.get("Condition")
            resource = self._parsed_resources.get(logical_id)
            if condition and resource is not None and not self.lazy_condition_map[condition]:
                self._delete_resource(resource, body)
                self._parsed_resources.pop(logical_id, None)
            elif condition and resource is None and self.lazy_condition_map[condition]:
                _ = self[logical_id]  # its condition turned true: created, as an added resource is

    parsing.ResourceMap.update = update  # type: ignore[method-assign]


def _publish_policy_version(resource_map: Any, logical_id: str, policy: Any) -> None:
    """The new document as the default version, as AWS does (at most five versions)."""
    from moto.cloudformation import parsing
    from moto.iam import models as iam

    document = parsing.clean_json(
        resource_map._resource_json_map[logical_id]["Properties"]["PolicyDocument"], resource_map
    )
    current = next(v for v in policy.versions if v.is_default).document
    if (json.loads(current) if isinstance(current, str) else current) == document:
        return
    backend = iam.iam_backends[policy.account_id][policy.partition]
    old = [v for v in policy.versions if not v.is_default]
    if len(policy.versions) >= 5 and old:
        backend.delete_policy_version(policy.arn, old[0].version_id)
    backend.create_policy_version(policy.arn, json.dumps(document), set_as_default=True)


def _parameter_driven_updates() -> None:
    """A parameter change must update every resource that uses the parameter; moto updates only
    those that Ref it directly, not those that use it through Fn::If, Fn::Sub or Fn::Split (an SSM
    value or a bucket policy stays stale)."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other: dict[str, Any], parameters: dict[str, Any] | None = None) -> Any:
        actions: dict[str, Any] = original(self, other, parameters)
        if not parameters:
            return actions
        changed = [p for p in parameters if self.input_parameters.get(p) != parameters[p]]
        old, new = self._resource_json_map, other["Resources"]
        for name, body in new.items():
            text = json.dumps(body)
            if (
                name in old
                and name not in actions["Modify"]
                and (any(re.search(rf"\b{re.escape(c)}\b", text) for c in changed) or '"Fn::If"' in text)
            ):
                actions["Modify"].append(name)
        return actions

    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign,assignment]


def _change_sets_list_parameter_changes() -> None:
    """A change set lists the resources a parameter change modifies (CloudFormation API reference,
    ResourceChangeDetail: ChangeSource ParameterReference); moto's diff ignores the parameters, so
    a change set that only changes parameters lists nothing. A modified resource says whether it is
    replaced (ResourceChange: Replacement): True when a property its schema marks create-only
    changes in the template, or its type does."""
    from moto.cloudformation import models

    from xacct.core.create_only import CREATE_ONLY

    def replaced(before: dict[str, Any], after: dict[str, Any]) -> str:
        if before.get("Type") != after.get("Type"):
            return "True"
        a, b = before.get("Properties") or {}, after.get("Properties") or {}
        return "True" if any(a.get(p) != b.get(p) for p in CREATE_ONLY.get(str(after.get("Type")), ())) else "False"

    def diff(self: Any) -> list[Any]:
        resource_map = self.stack.resource_map
        actions = resource_map.build_resource_diff(self.template_dict, self.parameters)
        new, old = self.template_dict.get("Resources", {}), resource_map._resource_json_map
        changes = []
        for action in ("Add", "Modify", "Remove"):
            for name in actions[action]:
                body = new.get(name) or old.get(name) or {}
                change = models.Change(action, name, body.get("Type", ""))
                if action == "Modify" and name in new and name in old:
                    change.replacement = replaced(old[name], new[name])  # type: ignore[attr-defined]
                changes.append(change)
        return changes

    models.ChangeSet.diff = diff  # type: ignore[method-assign]


def _generated_function_names() -> None:
    """A Lambda function without FunctionName gets a generated name that CloudFormation keeps
    within the 64-character limit (stack name and logical id truncated); moto's grows with the
    stack name."""
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = original(resource_type, stack_name, logical_id)
        if resource_type == "AWS::Lambda::Function" and len(name) > 64:
            suffix = name.rsplit("-", 1)[1]
            head = f"{stack_name}-{logical_id}"[: 64 - len(suffix) - 1].rstrip("-")
            name = f"{head}-{suffix}"
        return name

    parsing.generate_resource_name = generate_resource_name


def importers(backend: Any, export_name: str) -> list[str]:
    """The stacks whose template imports `export_name` (a literal Fn::ImportValue)."""
    found = []
    for stack in backend.stacks.values():
        if stack.status in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS"):
            continue
        if export_name in _imports(getattr(stack, "template_dict", {}) or {}):
            found.append(stack.name)
    return found


def _imports(node: Any) -> set[str]:
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            if key == "Fn::ImportValue" and isinstance(value, str):
                found.add(value)
            else:
                found |= _imports(value)
        return found
    if isinstance(node, list):
        return set().union(*(_imports(v) for v in node)) if node else set()
    return set()


def _list_imports() -> None:
    """ListImports, which moto lacks: the stacks importing an export; AWS answers a ValidationError
    ("Export 'NAME' is not imported by any stack.") when there is none (ListImports API)."""
    from moto.cloudformation import responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        stacks = importers(self.cloudformation_backend, name)
        if not stacks:
            raise ValidationError(name, message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": stacks})

    responses.CloudFormationResponse.list_imports = list_imports  # type: ignore[attr-defined]


def _stack_resources_named() -> None:
    """ListStackResources names every resource by its logical id and type (API reference,
    StackResourceSummary: both required); moto leaves them empty for types whose model lacks
    the attributes (IAM managed policies, Lambda permissions)."""
    from moto.cloudformation import responses
    from moto.core.responses import ActionResult

    def list_stack_resources(self: Any) -> Any:
        stack, _ = self.cloudformation_backend.list_stack_resources(self._get_param("StackName"))
        declared = stack.resource_map._resource_json_map
        return ActionResult(
            {
                "StackResourceSummaries": [
                    {
                        "ResourceStatus": "CREATE_COMPLETE",
                        "LogicalResourceId": logical_id,
                        "LastUpdatedTimestamp": stack.creation_time,
                        "PhysicalResourceId": getattr(resource, "physical_resource_id", "") or logical_id,
                        "ResourceType": declared.get(logical_id, {}).get("Type", ""),
                    }
                    for logical_id, resource in stack.resource_map.items()
                ]
            }
        )

    responses.CloudFormationResponse.list_stack_resources = list_stack_resources  # type: ignore[method-assign]


def _no_value_in_lists() -> None:
    """`AWS::NoValue` removes the list item it stands for, as it removes a property ("Pseudo
    parameters reference": AWS::NoValue; "Condition functions": Fn::If): a policy whose Statement
    list holds `!If [Cond, {...}, !Ref AWS::NoValue]` has one statement fewer. moto left a null in
    the list, and refused the policy as malformed."""
    from moto.cloudformation import parsing

    original = parsing.clean_json

    def clean_json(resource_json: Any, resources_map: Any) -> Any:
        if not isinstance(resource_json, list):
            return original(resource_json, resources_map)
        cleaned = [(item, clean_json(item, resources_map)) for item in resource_json]
        # A null that came from an intrinsic function is a removed item; a null written as such stays.
        return [value for item, value in cleaned if value is not None or not isinstance(item, dict)]

    parsing.clean_json = clean_json
