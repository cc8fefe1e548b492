"""How CloudFormation carries out a template's resources, where moto does otherwise: DependsOn,
RetainExceptOnCreate, updates of resources moto cannot update, parameter changes reaching every
resource that uses them, AWS::NoValue in lists, and ListStackResources naming every resource."""

from __future__ import annotations

import json
import re
from typing import Any

from xacct.sandbox._moto import ActionResult
from xacct.sandbox.cloudformation._moto import cfn_models, cfn_responses, parsing
from xacct.sandbox.patching import around, replace


def install() -> None:
    _depends_on()
    _retain_except_on_create()
    _resource_updates()
    _parameter_driven_updates()
    _stack_resources_named()
    _no_value_in_lists()


def _depends_on() -> None:
    """A resource is created only after everything in its DependsOn (CloudFormation user guide,
    "DependsOn attribute"); moto creates a resource as soon as another one refers to it, and then
    skips its DependsOn (a bucket notified a function before the permission to invoke it existed)."""

    @around(parsing.ResourceMap, "__getitem__")
    def __getitem__(original: Any, self: Any, key: str) -> Any:
        if key not in self._parsed_resources:
            body = self._resource_json_map.get(key) or {}
            after = body.get("DependsOn", [])
            for dependency in [after] if isinstance(after, str) else after:
                if dependency in self._resource_json_map:
                    self[dependency]
        return original(self, key)


def _retain_except_on_create() -> None:
    """DeletionPolicy RetainExceptOnCreate keeps the resource when its stack is deleted, as Retain
    does, except when the operation that created it rolls back (CloudFormation user guide,
    "DeletionPolicy attribute"); moto knows only Retain and deletes the resource."""

    @around(parsing.ResourceMap, "delete")
    def delete(original: Any, self: Any) -> None:
        if getattr(self, "_xacct_create_rollback", False):
            original(self)
            return
        saved = {}
        for name, body in self._resource_json_map.items():
            if body.get("DeletionPolicy") == "RetainExceptOnCreate":
                saved[name] = body
                self._resource_json_map[name] = {**body, "DeletionPolicy": "Retain"}
        try:
            original(self)
        finally:
            self._resource_json_map.update(saved)


def _resource_updates() -> None:
    """Updating a resource whose type moto cannot update leaves None in its place, and every later
    Fn::GetAtt on it fails; on AWS the resource stays. An AWS::IAM::ManagedPolicy keeps its first
    document through updates in moto; AWS publishes the new document as the default version. A
    resource whose Condition turns false on update is deleted on AWS; moto keeps it. One whose
    Condition turns true is created on AWS; moto created it only when something referred to it (the
    seed's AWS::Lambda::Permission never was, so S3 could not notify its function)."""
    from xacct.sandbox.iam.resources import publish_policy_version

    @around(parsing, "parse_and_update_resource")
    def parse_and_update_resource(original: Any, logical_id: str, resource_json: dict[str, Any],
                                  resources_map: Any, account_id: str, region_name: str) -> Any:  # fmt: skip
        condition = resource_json.get("Condition")
        if condition and not resources_map.lazy_condition_map[condition]:
            return resources_map._parsed_resources.get(logical_id)  # not to exist: `update` below deletes it
        if condition and resources_map._parsed_resources.get(logical_id) is None:
            # Its condition turned true: moto holds None for it, and would hand that to the type's
            # update. Forgotten, it is made as an added resource is, then updated to the template.
            resources_map._parsed_resources.pop(logical_id, None)
        updated = original(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is not None:
            return updated
        # moto cannot update this type: the resource (created just now if its condition turned
        # true) stays, and a managed policy publishes its new document.
        existing = resources_map._parsed_resources.get(logical_id)
        if existing is not None and type(existing).__name__ == "ManagedPolicy":
            publish_policy_version(resources_map, logical_id, existing)
        return existing

    @around(parsing.ResourceMap, "update")
    def update(original: Any, self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        original(self, template, parameters)
        for logical_id, body in list(self._resource_json_map.items()):
            condition = body.get("Condition")
            resource = self._parsed_resources.get(logical_id)
            if condition and resource is not None and not self.lazy_condition_map[condition]:
                self._delete_resource(resource, body)
                self._parsed_resources.pop(logical_id, None)
            elif condition and resource is None and self.lazy_condition_map[condition]:
                _ = self[logical_id]  # its condition turned true: created, as an added resource is


def _parameter_driven_updates() -> None:
    """A parameter change must update every resource that uses the parameter; moto updates only
    those that Ref it directly, not those that use it through Fn::Sub or Fn::Split, or through a
    condition of Fn::If (an SSM value or a bucket policy stays stale). Only those: a resource whose
    Fn::If names a condition no changed parameter decides is no change (rule `parameter-changes`; API
    reference, ResourceChangeDetail: a change's source is the parameter a property references)."""

    @around(parsing.ResourceMap, "build_resource_diff")
    def build_resource_diff(original: Any, self: Any, other: dict[str, Any],
                            parameters: dict[str, Any] | None = None) -> Any:  # fmt: skip
        actions: dict[str, Any] = original(self, other, parameters)
        if not parameters:
            return actions
        declared = self._template.get("Parameters") or {}
        before = {p: self.input_parameters.get(p, (declared.get(p) or {}).get("Default")) for p in parameters}
        changed = [p for p in parameters if before[p] != parameters[p]]  # a default given again is no change
        uses = [rf"\b{re.escape(c)}\b" for c in changed]
        decided = _conditions_decided_by(other.get("Conditions") or {}, uses)
        uses += [rf'"Fn::If": \["{re.escape(c)}"' for c in decided]
        old, new = self._resource_json_map, other["Resources"]
        # moto's own list counts a parameter left at its default at creation, given again, as changed.
        actions["Modify"] = [n for n in actions["Modify"] if n not in old or n not in new or old[n] != new[n]]
        for name, body in new.items():
            text = json.dumps(body)
            if name in old and name not in actions["Modify"] and any(re.search(u, text) for u in uses):
                actions["Modify"].append(name)
        return actions


def _conditions_decided_by(conditions: dict[str, Any], uses: list[str]) -> set[str]:
    """The conditions whose value a changed parameter decides, directly or through another condition."""
    decided: set[str] = set()
    while True:
        more = {
            name
            for name, body in conditions.items()
            if name not in decided
            and any(
                re.search(u, json.dumps(body)) for u in [*uses, *(rf'"Condition": "{re.escape(d)}"' for d in decided)]
            )
        }
        if not more:
            return decided
        decided |= more


def _stack_resources_named() -> None:
    """ListStackResources names every resource by its logical id and type (API reference,
    StackResourceSummary: both required); moto leaves them empty for types whose model lacks
    the attributes (IAM managed policies, Lambda permissions). Neither it nor DescribeStackResources
    lists a resource whose condition is false: moto listed it (an empty entry in the latter)."""

    def made(stack: Any) -> list[tuple[str, Any]]:
        resources = stack.resource_map
        declared, holds = resources._resource_json_map, resources.lazy_condition_map
        return [
            (n, r)
            for n, r in resources.items()
            if not declared.get(n, {}).get("Condition") or holds[declared[n]["Condition"]]
        ]

    @replace(cfn_models.CloudFormationBackend, "describe_stack_resources")
    def describe_stack_resources(self: Any, stack_name: str, logical_resource_id: str | None) -> Any:
        stack = self.get_stack(stack_name)
        found = [r for n, r in made(stack) if logical_resource_id in (None, n)]
        return stack, found[:1] if logical_resource_id is not None else found

    @replace(cfn_responses.CloudFormationResponse, "list_stack_resources")
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
                    for logical_id, resource in made(stack)
                ]
            }
        )


def _no_value_in_lists() -> None:
    """`AWS::NoValue` removes the list item it stands for, as it removes a property ("Pseudo
    parameters reference": AWS::NoValue; "Condition functions": Fn::If): a policy whose Statement
    list holds `!If [Cond, {...}, !Ref AWS::NoValue]` has one statement fewer. moto left a null in
    the list, and refused the policy as malformed."""

    @around(parsing, "clean_json")
    def clean_json(original: Any, resource_json: Any, resources_map: Any) -> Any:
        if not isinstance(resource_json, list):
            return original(resource_json, resources_map)
        cleaned = [(item, parsing.clean_json(item, resources_map)) for item in resource_json]
        # A null that came from an intrinsic function is a removed item; a null written as such stays.
        return [value for item, value in cleaned if value is not None or not isinstance(item, dict)]
