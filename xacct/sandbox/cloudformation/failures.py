"""Stack operations that fail as they fail on AWS.

moto raises a resource's error straight out of CreateStack, UpdateStack or ExecuteChangeSet (a
server error to the caller) and leaves the stack half-built. On AWS the API call succeeds and the
operation fails later: the resource gets a `*_FAILED` event carrying the resource handler's
message, and the stack rolls back (CloudFormation user guide, "Stack status codes" and
"Troubleshooting CloudFormation"):

- a failed create ends `ROLLBACK_COMPLETE` (what was created is deleted; it has no outputs and no
  exports, and can only be deleted);
- a failed update ends `UPDATE_ROLLBACK_COMPLETE` (the previous template and parameters are
  applied again), or `UPDATE_ROLLBACK_FAILED` when even that fails;
- a failed delete ends `DELETE_FAILED`, and the stack stays with what could not be deleted.

Every rule that refuses a resource raises `ResourceFailed` (or any moto error) inside its resource
handler; this module turns it into those outcomes.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from typing import Any, ClassVar

from xacct.sandbox.cloudformation._moto import Event, ExportNotFound, ValidationError, cfn_models, parsing
from xacct.sandbox.patching import around


class ResourceFailed(Exception):
    """A resource handler's refusal, worded as CloudFormation reports it."""

    def __init__(self, message: str, code: str = "InvalidRequest", logical_id: str = "", resource_type: str = ""):
        super().__init__(message)
        self.message, self.code = message, code
        self.logical_id, self.resource_type = logical_id, resource_type

    @property
    def reason(self) -> str:
        return (
            f'Resource handler returned message: "{self.message}" '
            f"(RequestToken: {uuid.uuid4()}, HandlerErrorCode: {self.code})"
        )


_GONE = {"NoSuchEntity", "NoSuchBucket", "NotFoundException", "ResourceNotFoundException", "ParameterNotFound"}


def already_gone(exc: Exception) -> bool:
    """A delete that finds its resource already deleted outside CloudFormation succeeds: the
    resource type handler contract has delete answer NotFound, which CloudFormation counts as
    deleted (CloudFormation CLI, "Resource type handler contract", Delete handlers)."""
    codes = {str(getattr(exc, name, "")) for name in ("code", "error_type", "__class__")}
    codes.add(type(exc).__name__)
    return bool(codes & _GONE) or type(exc).__name__ in ("MissingBucket", "NotFoundException")


def _as_failure(exc: Exception, logical_id: str, resource_type: str) -> ResourceFailed:
    if isinstance(exc, ResourceFailed):
        if not exc.logical_id:
            exc.logical_id, exc.resource_type = logical_id, resource_type
        return exc
    code = str(getattr(exc, "code", "") or getattr(exc, "error_type", "") or "InternalFailure")
    message = str(getattr(exc, "message", "") or exc)
    if code in ("BucketAlreadyExists", "EntityAlreadyExists", "AlreadyExistsException", "AlreadyExists"):
        code = "AlreadyExists"
    return ResourceFailed(message, code if code.isalpha() else "InternalFailure", logical_id, resource_type)


class _NoOutputs(dict[str, Any]):
    """What a stack that never finished creating reports: no outputs and no exports."""

    exports: ClassVar[list[Any]] = []


def _resource_event(stack: Any, failure: ResourceFailed, status: str) -> None:
    stack.events.append(
        Event(
            stack_id=stack.stack_id,
            stack_name=stack.name,
            logical_resource_id=failure.logical_id,
            physical_resource_id="",
            resource_type=failure.resource_type,
            resource_status=status,
            resource_status_reason=failure.reason,
            resource_properties=None,
        )
    )


def _freeze(stack: Any) -> None:
    """Keep moto from creating the rolled-back resources again when someone reads the stack
    (its resource map creates resources lazily, on first access)."""
    rmap = stack.resource_map
    rmap._resource_json_map = {k: v for k, v in rmap._resource_json_map.items() if k in rmap._parsed_resources}
    stack.output_map = _NoOutputs()


def install() -> None:
    """moto's stack model, failing and rolling back as AWS does."""

    @around(parsing, "parse_and_create_resource")
    def parse_and_create_resource(original: Any, logical_id: str, resource_json: dict[str, Any], *args: Any,
                                  **kw: Any) -> Any:  # fmt: skip
        try:
            return original(logical_id, resource_json, *args, **kw)
        except (ExportNotFound, ValidationError):
            raise  # refused when the operation starts, as AWS does: not a resource failure
        except Exception as exc:
            raise _as_failure(exc, logical_id, str(resource_json.get("Type", ""))) from exc

    @around(parsing, "parse_and_update_resource")
    def parse_and_update_resource(original: Any, logical_id: str, resource_json: dict[str, Any], *args: Any,
                                  **kw: Any) -> Any:  # fmt: skip
        try:
            return original(logical_id, resource_json, *args, **kw)
        except Exception as exc:
            raise _as_failure(exc, logical_id, str(resource_json.get("Type", ""))) from exc

    @around(parsing.ResourceMap, "_delete_resource")
    def _delete_resource(original: Any, self: Any, parsed: Any, resource_json: dict[str, Any]) -> None:
        try:
            original(self, parsed, resource_json)
        except Exception as exc:
            if already_gone(exc):
                return  # the handler contract: NotFound on delete is success
            logical_id = getattr(parsed, "logical_resource_id", "")
            raise _as_failure(exc, logical_id, str(resource_json.get("Type", ""))) from exc

    @around(cfn_models.Stack, "create_resources")
    def create_resources(original: Any, self: Any) -> None:
        try:
            original(self)
        except ResourceFailed as failure:
            roll_back_create(self, failure)

    @around(cfn_models.Stack, "update")
    def update(original: Any, self: Any, template: str, role_arn: str | None = None, parameters: Any = None,
               tags: Any = None) -> None:  # fmt: skip
        before = Before.of(self)
        try:
            # Rule `stack-role`: an update without a role keeps the stack's (moto's forgot it).
            original(self, template, role_arn or self.role_arn, parameters, tags)
        except ResourceFailed as failure:
            _resource_event(self, failure, "UPDATE_FAILED")
            roll_back_update(self, before, f"The following resource(s) failed to update: [{failure.logical_id}].")

    @around(cfn_models.Stack, "delete")
    def delete(original: Any, self: Any) -> None:
        try:
            original(self)
        except ResourceFailed as failure:
            _resource_event(self, failure, "DELETE_FAILED")
            self._add_stack_event(
                "DELETE_FAILED",
                resource_status_reason=f"The following resource(s) failed to delete: [{failure.logical_id}].",
            )
            self.status = "DELETE_FAILED"
            raise

    @around(cfn_models.CloudFormationBackend, "create_stack")
    def create_stack(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        name = kwargs.get("name", args[0] if args else "")
        try:
            stack = original(self, *args, **kwargs)
        except ResourceFailed as failure:
            # moto evaluates the exports (creating resources on the way) before create_resources.
            stack = find_stack(self, name)
            if stack is None:
                raise
            roll_back_create(stack, failure)
        if getattr(stack, "_xacct_failed", False):
            drop_exports(self, stack)
        return stack

    @around(cfn_models.CloudFormationBackend, "delete_stack")
    def delete_stack(original: Any, self: Any, name_or_stack_id: str) -> None:
        stack = find_stack(self, name_or_stack_id)
        if stack is None:
            return
        try:
            original(self, stack.stack_id)
        except ResourceFailed:
            self.stacks[stack.stack_id] = stack  # DELETE_FAILED: the stack and its exports stay


@dataclass(frozen=True)
class Before:
    """What a stack was before an update: what a rollback applies again."""

    template: str
    parameters: dict[str, Any]
    inputs: dict[str, Any]

    @classmethod
    def of(cls, stack: Any) -> Before:
        return cls(stack.template, dict(stack.parameters), dict(stack.resource_map.input_parameters))


def roll_back_update(stack: Any, before: Before, reason: str) -> None:
    """A failed update, as AWS ends it: UPDATE_ROLLBACK_IN_PROGRESS with the reason, the previous
    template and parameters applied again, UPDATE_ROLLBACK_COMPLETE (or _FAILED when even that fails)."""
    stack._add_stack_event("UPDATE_ROLLBACK_IN_PROGRESS", resource_status_reason=reason)
    try:
        stack.template = before.template
        stack._parse_template()
        stack.resource_map.input_parameters = dict(before.inputs)
        stack.resource_map.update(stack.template_dict, dict(before.inputs) or None)
        stack.output_map = stack._create_output_map()
        stack.parameters = dict(before.parameters)
    except Exception:
        stack._add_stack_event("UPDATE_ROLLBACK_FAILED")
        stack.status = "UPDATE_ROLLBACK_FAILED"
        return
    stack._add_stack_event("UPDATE_ROLLBACK_COMPLETE")
    stack.status = "UPDATE_ROLLBACK_COMPLETE"


def roll_back_create(stack: Any, failure: ResourceFailed) -> None:
    """A failed create, as AWS ends it: the resource's CREATE_FAILED event, everything created so far
    deleted (but what DeletionPolicy Retain keeps), ROLLBACK_COMPLETE, no outputs."""
    if not any(e.resource_status == "CREATE_IN_PROGRESS" and e.logical_resource_id == stack.name for e in stack.events):
        stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    _resource_event(stack, failure, "CREATE_FAILED")
    stack._add_stack_event(
        "ROLLBACK_IN_PROGRESS",
        resource_status_reason=f"The following resource(s) failed to create: [{failure.logical_id}]. "
        "Rollback requested by user.",
    )
    stack.resource_map._xacct_create_rollback = True
    with contextlib.suppress(Exception):  # what cannot be deleted stays, as on AWS (DELETE_SKIPPED)
        stack.resource_map.delete()
    stack.resource_map._xacct_create_rollback = False
    _freeze(stack)
    stack._add_stack_event("ROLLBACK_COMPLETE")
    stack.status = "ROLLBACK_COMPLETE"
    stack._xacct_failed = True


def find_stack(backend: Any, name_or_stack_id: str) -> Any:
    if name_or_stack_id in backend.stacks:
        return backend.stacks[name_or_stack_id]
    return next((s for s in backend.stacks.values() if s.name == name_or_stack_id), None)


def drop_exports(backend: Any, stack: Any) -> None:
    for name, export in list(backend.exports.items()):
        if export.exporting_stack_id == stack.stack_id:
            del backend.exports[name]


def fail_delete(stack: Any, reason: str) -> None:
    """Mark a stack DELETE_FAILED before any of its resources is touched."""
    stack._add_stack_event("DELETE_IN_PROGRESS", resource_status_reason="User Initiated")
    stack._add_stack_event("DELETE_FAILED", resource_status_reason=reason)
    stack.status = "DELETE_FAILED"
