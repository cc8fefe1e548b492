"""Exports as the CloudFormation user guide describes them ("Exporting stack output values"): made
and removed by updates as by creates, imported as the region holds them, listed by ListImports, made
only when their output's condition holds; and held while another stack imports them: the stack cannot
be deleted (rule `export-in-use`), nor an update change or remove them (rule `export-update`)."""

from __future__ import annotations

from typing import Any

from xacct.sandbox._moto import ActionResult
from xacct.sandbox.cloudformation import failures
from xacct.sandbox.cloudformation._moto import ValidationError, cfn_models, cfn_responses, parsing
from xacct.sandbox.patching import around, replace


def install_gaps() -> None:
    _list_imports()
    _conditional_exports()
    _imports_see_current_exports()
    _updates_register_exports()


def install_rules() -> None:
    _in_use_on_delete()
    _in_use_on_update()


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


def register_exports(backend: Any, stack: Any) -> None:
    """The region's exports after a stack's update completed: the stack's current exports, and
    none of those it no longer declares."""
    stack.output_map = stack._create_output_map()
    current = {export.name: export for export in stack.exports}
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id and name not in current:
            del backend.exports[name]
    backend.exports.update(current)


def _list_imports() -> None:
    """ListImports, which moto lacks: the stacks importing an export; AWS answers a ValidationError
    ("Export 'NAME' is not imported by any stack.") when there is none (ListImports API)."""

    @replace(cfn_responses.CloudFormationResponse, "list_imports")
    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        stacks = importers(self.cloudformation_backend, name)
        if not stacks:
            raise ValidationError(name, message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": stacks})


def _conditional_exports() -> None:
    """An output whose condition is false is not created, and neither is its export ("Outputs":
    Condition). moto skipped such an output but still evaluated its export, so a stack whose exported
    output names a resource of a false condition (the seed's `SyncArtifactsFunctionArn` while
    `DeployReady` is false) could not be created at all."""

    @replace(parsing.OutputMap, "exports")
    def exports(self: Any) -> list[Any]:
        found = []
        for value in (self._output_json_map or {}).values():
            condition = value.get("Condition")
            if not value.get("Export") or (condition and not self._resource_map.lazy_condition_map.get(condition)):
                continue
            name = parsing.clean_json(value["Export"].get("Name"), self._resource_map)
            exported = parsing.clean_json(value.get("Value"), self._resource_map)
            found.append(parsing.Export(self._stack_id, name, exported))
        return found


def _imports_see_current_exports() -> None:
    """Fn::ImportValue resolves against the exports of the account and region as they are when the
    stack is updated ("Fn::ImportValue"). moto gave a stack created while the region had no export an
    empty map of its own, so an update could never import an export made later: the seed's BuildBucket,
    which imports its own stack's ReplicationFunctionArn once replication is enabled, failed with "No
    export named ReplicationFunctionArn found"."""

    @around(cfn_models.Stack, "update")
    def update(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        exports = cfn_models.cloudformation_backends[self.account_id][self.region_name].exports
        self.cross_stack_resources = exports
        self.resource_map.cross_stack_resources = exports
        return original(self, *args, **kwargs)


def _updates_register_exports() -> None:
    """UpdateStack makes the exports the new template declares and removes those it no longer does.
    moto registered exports only on CreateStack, so the seed's own way of deploying (create with
    DeployReady=false, then update it to true) left ReplicationFunctionArn unexported."""

    @around(cfn_models.CloudFormationBackend, "update_stack")
    def update_stack(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        stack = original(self, *args, **kwargs)
        if stack.status == "UPDATE_COMPLETE":
            register_exports(self, stack)
        return stack


def _in_use_on_delete() -> None:
    """A stack whose export another stack imports cannot be deleted: it ends DELETE_FAILED and
    keeps everything (moto deletes it and leaves the importer pointing at nothing)."""

    @around(cfn_models.CloudFormationBackend, "delete_stack")
    def delete_stack(original: Any, self: Any, name_or_stack_id: str) -> None:
        stack = failures.find_stack(self, name_or_stack_id)
        if stack is not None:
            for export in stack.exports:
                users = [s for s in importers(self, export.name) if s != stack.name]
                if users:
                    failures.fail_delete(stack, f"Export {export.name} cannot be deleted as it is in use by {users[0]}")
                    return
        original(self, name_or_stack_id)


def _in_use_on_update() -> None:
    """An update may not change or remove an output value another stack imports: it fails and rolls
    back, naming the importer ("You can't modify or remove an output value that is referenced by
    another stack"); moto changes the export and leaves the importer holding a stale value."""

    @around(cfn_models.Stack, "update")
    def update(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        backend = cfn_models.cloudformation_backends[self.account_id][self.region_name]
        held = {e.name: e.value for e in backend.exports.values() if e.exporting_stack_id == self.stack_id}
        before = failures.Before.of(self)
        original(self, *args, **kwargs)
        if self.status != "UPDATE_COMPLETE":
            return
        after = {e.name: e.value for e in self.exports}
        for name, value in held.items():
            users = [s for s in importers(backend, name) if s != self.name]
            if users and after.get(name) != value:
                verb = "updated" if name in after else "deleted"
                reason = f"Export {name} cannot be {verb} as it is in use by {', '.join(users)}"
                failures.roll_back_update(self, before, reason)
                return
