"""Change sets as the CloudFormation API reference describes them, where moto does otherwise:
ExecuteChangeSet builds a CREATE change set's stack and its exports and deletes the stack's other
change sets; a change set lists what a parameter change modifies and whether it replaces it; and a
change set runs once, its name once per stack (rule `requests-once`; a retry carrying the first
request's token is answered in requests.py)."""

from __future__ import annotations

from typing import Any

from xacct.core.create_only import CREATE_ONLY
from xacct.sandbox.cloudformation import failures
from xacct.sandbox.cloudformation._moto import CloudFormationError, cfn_models, cfn_responses, parsing
from xacct.sandbox.patching import around, replace


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"


class ChangeSetAlreadyExists(CloudFormationError):
    code = "AlreadyExistsException"


def install_gaps() -> None:
    _execute_and_delete()
    _parameter_changes_listed()


def install_rules() -> None:
    _requests_once()
    _update_by_default()


def find(backend: Any, change_set_name: str) -> Any:
    return backend.change_sets.get(change_set_name) or next(
        (cs for cs in backend.change_sets.values() if cs.change_set_name == change_set_name), None
    )


def _execute_and_delete() -> None:
    """moto builds a CREATE change set's stack with an empty template and never computes its outputs
    or registers its exports; it sets `*_COMPLETE` whatever happened; it does not delete the
    stack's other change sets, which AWS does because they no longer match the stack; an unknown
    change set is a server error where AWS answers ChangeSetNotFound; and deleting one that is
    already gone is a server error where AWS answers 200 (DeleteChangeSet's API reference lists
    InvalidChangeSetStatus as its only error)."""
    from xacct.sandbox.cloudformation.exports import register_exports

    @replace(cfn_models.CloudFormationBackend, "execute_change_set")
    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = find(self, change_set_name)
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
            # Rule `stack-role`: the change set's role becomes the stack's, for all future operations.
            role = change_set.role_arn or stack.role_arn
            stack.update(change_set.template, role_arn=role, parameters=change_set.parameters)
        change_set.execution_status = "EXECUTE_COMPLETE"
        if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            register_exports(self, stack)
        for cs_id, cs in list(self.change_sets.items()):
            if cs.stack_id == change_set.stack_id and cs is not change_set:
                del self.change_sets[cs_id]

    @replace(cfn_models.CloudFormationBackend, "delete_change_set")
    def delete_change_set(self: Any, change_set_name: str) -> None:
        for cs_id, cs in list(self.change_sets.items()):
            if change_set_name in (cs_id, cs.change_set_name):
                del self.change_sets[cs_id]
                return


def _parameter_changes_listed() -> None:
    """A change set lists the resources a parameter change modifies (CloudFormation API reference,
    ResourceChangeDetail: ChangeSource ParameterReference); moto's diff ignores the parameters, so
    a change set that only changes parameters lists nothing. A modified resource says whether it is
    replaced (ResourceChange: Replacement): True when a property its schema marks create-only
    changes in the template, or its type does."""

    def replaced(before: dict[str, Any], after: dict[str, Any]) -> str:
        if before.get("Type") != after.get("Type"):
            return "True"
        a, b = before.get("Properties") or {}, after.get("Properties") or {}
        return "True" if any(a.get(p) != b.get(p) for p in CREATE_ONLY.get(str(after.get("Type")), ())) else "False"

    @replace(cfn_models.ChangeSet, "diff")
    def diff(self: Any) -> list[Any]:
        resource_map = self.stack.resource_map
        actions = resource_map.build_resource_diff(self.template_dict, self.parameters)
        new, old = self.template_dict.get("Resources", {}), resource_map._resource_json_map
        # Rule `change-set-conditions`: a resource whose condition is false is not made, so it is no
        # change; one whose condition turns true is added, false removed (moto listed every resource).
        was = {n for n, body in old.items() if _holds(body, getattr(resource_map, "lazy_condition_map", {}))}
        will = {n for n, body in new.items() if _holds(body, _conditions(self))}
        modified = set(actions["Modify"]) | set(actions["Add"]) | set(actions["Remove"])
        actions = {
            "Add": [n for n in new if n in will and n not in was],
            "Modify": [n for n in new if n in will and n in was and n in modified],
            "Remove": [n for n in old if n in was and n not in will],
        }
        changes = []
        for action in ("Add", "Modify", "Remove"):
            for name in actions[action]:
                body = new.get(name) or old.get(name) or {}
                change = cfn_models.Change(action, name, body.get("Type", ""))
                if action == "Modify" and name in new and name in old:
                    change.replacement = replaced(old[name], new[name])  # type: ignore[attr-defined]
                changes.append(change)
        return changes


def _holds(body: dict[str, Any], conditions: Any) -> bool:
    condition = body.get("Condition")
    return not condition or bool(conditions[condition])


def _conditions(change_set: Any) -> Any:
    """The change set's conditions, evaluated from its own template and parameters (once)."""
    held = getattr(change_set, "_xacct_conditions", None)
    if held is None:
        stack = change_set.stack
        resources = parsing.ResourceMap(
            stack.stack_id, stack.name, change_set.parameters, {}, stack.region_name, stack.account_id,
            change_set.template_dict, getattr(stack, "cross_stack_resources", None) or {},
        )  # fmt: skip
        resources.load_mapping()
        resources.load_parameters()
        resources.load_conditions()
        held = change_set._xacct_conditions = resources.lazy_condition_map
    return held


def _requests_once() -> None:
    """A change set runs once: executing it again is refused (InvalidChangeSetStatus, as for a change
    set in EXECUTE_COMPLETE), and a second change set of the same name for a stack is AlreadyExists."""

    @around(cfn_models.CloudFormationBackend, "execute_change_set")
    def execute_change_set(original: Any, self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        found = find(self, change_set_name)
        if found is not None and found.execution_status == "EXECUTE_COMPLETE":
            raise InvalidChangeSetStatus(
                f"ChangeSet [{found.change_set_id}] cannot be executed in its current execution status of "
                "[EXECUTE_COMPLETE]"
            )
        original(self, change_set_name, stack_name)

    @around(cfn_models.CloudFormationBackend, "create_change_set")
    def create_change_set(original: Any, self: Any, stack_name: str, change_set_name: str, *args: Any,
                          **kwargs: Any) -> Any:  # fmt: skip
        held = self.change_sets.values()
        if any(cs.change_set_name == change_set_name and cs.stack_name == stack_name for cs in held):
            raise ChangeSetAlreadyExists(f"ChangeSet {change_set_name} already exists")
        return original(self, stack_name, change_set_name, *args, **kwargs)


def _update_by_default() -> None:
    """Rule `change-set-type`: a change set without a ChangeSetType is an UPDATE (CloudFormation API
    reference, CreateChangeSet: "By default, CloudFormation specifies UPDATE"); moto made it a CREATE,
    which built the existing stack again."""

    @around(cfn_responses.CloudFormationResponse, "create_change_set")
    def create_change_set(original: Any, self: Any) -> Any:
        if self._get_param("ChangeSetType") is None:
            given = self._get_param
            self._get_param = lambda name, if_none=None: "UPDATE" if name == "ChangeSetType" else given(name, if_none)
        return original(self)
