"""The one engine every stack operation goes through. Change sets for every write, so the user sees
what CloudFormation will do; nothing at all when the deployed template and parameters already match.
Three layers, each a class of its own module: reading a stack (`stack_reads.py`), following one
until CloudFormation stops working on it (`stack_waits.py`), and, here, changing one."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions as bx

from xacct.aws.requests import error_message, parameter_list, tags_and_capabilities, token
from xacct.aws.stack_waits import StackWaits
from xacct.core.preview import touches_policy
from xacct.core.state import Prepared, Progress, ResourceChange, StackState, carried, remaining_text
from xacct.core.status import Next, decide
from xacct.errors import AwsFailure

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# CloudFormation quotas: a template body sent inline, and one read from S3 (TemplateURL).
INLINE_TEMPLATE_LIMIT = 51_200
URL_TEMPLATE_LIMIT = 1_048_576


class Stacks(StackWaits):
    """Stack operations in one account and region: reading (`stack_reads.py`), waiting
    (`stack_waits.py`) and, here, changing."""

    # ---- change sets -------------------------------------------------------------------

    def prepare(
        self,
        name: str,
        template: str,
        parameters: Mapping[str, str],
        tags: Mapping[str, str],
        progress: Progress,
        *,
        keep: Mapping[str, str] | None = None,
        created: Callable[[], object] | None = None,
    ) -> Prepared:
        """Make a change set for `name`, or decide that there is nothing to do. `keep` holds deployed
        parameter values to pass again unchanged (read just before); a value reading back as asterisks
        (NoEcho) is kept with UsePreviousValue instead. `created`: called once CloudFormation has it."""
        state = self._ready(name, progress)
        if state.exists and self.matches(state, template, parameters):
            return Prepared(name, "none")
        change_type = "UPDATE" if state.exists else "CREATE"
        params = parameter_list(carried(template, state, parameters, keep))
        kwargs: dict[str, Any] = {
            "StackName": name,
            "ChangeSetName": f"xacct-{uuid.uuid4().hex[:12]}",
            "ChangeSetType": change_type,
            "Parameters": params,
            **tags_and_capabilities(state, tags),
        }
        if self.service_role:
            kwargs["RoleARN"] = self.service_role
        kwargs.update(self.template_source(name, template))
        progress.note(self._tag(name), f"creating a change set ({change_type.lower()})")
        made = self.cfn.create_change_set(**kwargs, ClientToken=token())
        prepared = Prepared(name, "update" if state.exists else "create", made["Id"])
        if created is not None:
            created()
        try:
            prepared.changes = self._wait_change_set(prepared)
        except BaseException:
            self.discard(prepared)
            raise
        if prepared.action == "none":
            self.discard(prepared)
        return prepared

    def template_source(self, name: str, template: str) -> dict[str, str]:
        """TemplateBody up to CloudFormation's inline limit; above it, a TemplateURL (never
        UsePreviousTemplate, which would silently keep the old template)."""
        size = len(template.encode())
        if size <= INLINE_TEMPLATE_LIMIT:
            return {"TemplateBody": template}
        if size > URL_TEMPLATE_LIMIT or self.stage is None:
            raise AwsFailure(
                f"the template of {name} is {size:,} bytes: over the {INLINE_TEMPLATE_LIMIT:,} bytes CloudFormation "
                f"takes inline" + (f" and the {URL_TEMPLATE_LIMIT:,} it reads from S3" if self.stage else "")
            )
        return {"TemplateURL": self.stage(name, template)}

    def _ready(self, name: str, progress: Progress, known: StackState | None = None) -> StackState:
        """The stack once it can take an operation: waited for, or cleared away if it is a dead
        shell; refused when a person must act first."""
        state = self.wait_until_idle(name, progress, known)
        decision = decide(state.status, name, self.where)
        if decision.next is Next.BLOCKED:
            raise AwsFailure(decision.reason + remaining_text(state))
        if decision.next is Next.RECREATE:
            progress.note(self._tag(name), f"{decision.reason}: deleting it to create it again")
            self.delete(name, progress)
            return StackState(name)
        return state

    def apply_direct(
        self,
        name: str,
        template: str,
        parameters: Mapping[str, str],
        tags: Mapping[str, str],
        progress: Progress,
        *,
        known: StackState | None = None,
    ) -> StackState:
        """Create or update without a change set, when nobody is to review one (--yes), as
        `cdk deploy --method=direct` does: a change set costs CloudFormation seconds per step.
        Nothing at all happens when the stack already matches. `known`: the stack as just read."""
        state = self._ready(name, progress, known)
        if state.exists and self.matches(state, template, parameters):
            progress.note(self._tag(name), "up to date")
            return state
        kwargs: dict[str, Any] = {
            "StackName": name,
            **self.template_source(name, template),
            "Parameters": parameter_list(carried(template, state, parameters, None)),
            **tags_and_capabilities(state, tags),
        }
        action = "update" if state.exists else "create"
        marker = self.latest_event(name) if state.exists else None
        try:
            (self.cfn.update_stack if state.exists else self.cfn.create_stack)(**kwargs, ClientRequestToken=token())
        except bx.ClientError as exc:
            if any(m in error_message(exc) for m in NO_CHANGES):
                return self.describe(name)
            raise
        return self._follow(name, action, progress, marker)

    def _follow(
        self, name: str, action: str, progress: Progress, marker: str | None, target: str | None = None
    ) -> StackState:
        """Follow an operation CloudFormation has just started on `name` (waiting on `target`,
        its stack id, when the name stops resolving after a delete). It stays recorded in flight
        when interrupted: CloudFormation goes on without us."""
        tag = self._tag(name)
        self.inflight[tag] = action
        progress.note(tag, f"{action} in progress")
        try:
            state = self.wait(target or name, progress, marker, label=name, started=action)
        except AwsFailure:
            self.inflight.pop(tag, None)
            raise
        self.inflight.pop(tag, None)
        self.finished[tag] = state.status or "done"
        return state

    def _wait_change_set(self, prepared: Prepared) -> list[ResourceChange]:
        for delay in self.poller.delays():
            cs = self.cfn.describe_change_set(ChangeSetName=prepared.change_set_id)
            if cs["Status"] in ("CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE"):
                break
            self.poller.sleep(delay)
        if cs["Status"] == "FAILED":
            reason = cs.get("StatusReason", "")
            if any(marker in reason for marker in NO_CHANGES):
                prepared.action = "none"
                return []
            raise AwsFailure(f"CloudFormation refused the change set for {prepared.stack}: {reason}")
        changes = []
        for c in cs.get("Changes", []):
            rc = c.get("ResourceChange", {})
            rtype = rc.get("ResourceType", "")
            changes.append(
                ResourceChange(
                    action=rc.get("Action", ""),
                    logical_id=rc.get("LogicalResourceId", ""),
                    resource_type=rtype,
                    replacement=rc.get("Replacement", "") or "",
                    touches_policy=touches_policy(rtype),
                )
            )
        return changes

    def execute(self, prepared: Prepared, progress: Progress) -> StackState:
        if prepared.action == "none" or not prepared.change_set_id:
            return self.describe(prepared.stack)
        marker = self.latest_event(prepared.stack)
        self.cfn.execute_change_set(ChangeSetName=prepared.change_set_id, ClientRequestToken=token())
        return self._follow(prepared.stack, prepared.action, progress, marker)

    def discard(self, prepared: Prepared) -> None:
        """Leave nothing behind: the change set, and for a CREATE the empty stack too."""
        if not prepared.change_set_id:
            return
        with contextlib.suppress(bx.ClientError):
            self.cfn.delete_change_set(ChangeSetName=prepared.change_set_id)
        # A CREATE change set leaves an empty stack in review behind it.
        if self.describe(prepared.stack).status == "REVIEW_IN_PROGRESS":
            self.cfn.delete_stack(StackName=prepared.stack, ClientRequestToken=token())
        prepared.change_set_id = None

    # ---- deleting ----------------------------------------------------------------------

    def delete(self, name: str, progress: Progress) -> None:
        state = self.wait_until_idle(name, progress)
        if not state.exists:
            return
        marker = self.latest_event(name)
        self.cfn.delete_stack(StackName=state.stack_id or name, ClientRequestToken=token())
        try:
            final = self._follow(name, "delete", progress, marker, target=state.stack_id)
        except AwsFailure as exc:
            raise AwsFailure(exc.message + remaining_text(self.describe(name))) from exc
        if final.status == "DELETE_FAILED":
            raise AwsFailure(f"stack {name} is DELETE_FAILED" + remaining_text(final))
