"""The one engine every stack operation goes through. Change sets for every write, so the user sees
what CloudFormation will do; nothing at all when the deployed template and parameters already match;
waiting by polling stack events every second or two (never the 30-second waiters), reporting each
event as it arrives."""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions as bx

from xacct.aws.requests import Poller, error_code, error_message, parameter_list, tags_and_capabilities, token
from xacct.core.preview import touches_policy
from xacct.core.state import Prepared, Progress, ResourceChange, StackState, carried, remaining_text
from xacct.core.status import FAILED_ENDINGS, Next, decide, is_in_progress, why_failed
from xacct.errors import AwsFailure

NO_CHANGES = ("didn't contain changes", "No updates are to be performed")
# CloudFormation quotas: a template body sent inline, and one read from S3 (TemplateURL).
INLINE_TEMPLATE_LIMIT = 51_200
URL_TEMPLATE_LIMIT = 1_048_576
STACK_TYPE = "AWS::CloudFormation::Stack"


class Stacks:
    """Stack operations in one account and region."""

    def __init__(
        self,
        cfn: Any,
        where: str = "",
        poller: Poller | None = None,
        label: str = "",
        inflight: dict[str, str] | None = None,
        *,
        finished: dict[str, str] | None = None,
        stage: Callable[[str, str], str] | None = None,
    ) -> None:
        self.cfn, self.stage = cfn, stage  # stage: puts a template too big to send inline where CloudFormation reads it
        # Operations started and not yet seen to finish, shared by a run's engines, so an
        # interruption can say what CloudFormation is still doing.
        self.inflight = inflight if inflight is not None else {}
        self.finished = finished if finished is not None else {}  # operations seen to end: tag -> status
        self.label = label  # which account, for progress lines: both may hold a CrossAccountPrimary
        self.where = where  # " --profile P --region R", for commands we suggest
        self.poller = poller or Poller()

    def _tag(self, name: str) -> str:
        return f"{self.label}:{name}" if self.label else name

    # ---- reading -----------------------------------------------------------------------

    def describe(self, name: str) -> StackState:
        try:
            stacks = self.cfn.describe_stacks(StackName=name)["Stacks"]
        except bx.ClientError as exc:
            if error_code(exc) == "ValidationError" and "does not exist" in error_message(exc):
                return StackState(name)
            raise
        s = stacks[0]
        return StackState(
            name=name,
            status=s["StackStatus"],
            stack_id=s["StackId"],
            parameters={p["ParameterKey"]: p.get("ParameterValue", "") for p in s.get("Parameters", [])},
            outputs={o["OutputKey"]: o["OutputValue"] for o in s.get("Outputs", [])},
            tags={t["Key"]: t["Value"] for t in s.get("Tags", [])},
            remaining=self._left_behind(name) if s["StackStatus"] == "DELETE_FAILED" else (),
        )

    def _left_behind(self, name: str) -> tuple[str, ...]:
        resources = self.cfn.describe_stack_resources(StackName=name)["StackResources"]
        return tuple(
            f"{r['LogicalResourceId']} ({r.get('PhysicalResourceId', '?')})"
            for r in resources
            if r.get("ResourceStatus") != "DELETE_COMPLETE"
        )

    def template(self, name: str) -> str:
        body = self.cfn.get_template(StackName=name, TemplateStage="Original")["TemplateBody"]
        if isinstance(body, str):
            return body
        import json

        return json.dumps(body)

    def matches(self, state: StackState, template: str, parameters: Mapping[str, str]) -> bool:
        """True when the deployed template and the given parameters are what we would deploy."""
        if not state.exists:
            return False
        if any(state.parameters.get(k) != v for k, v in parameters.items()):
            return False
        return self.template(state.name).strip() == template.strip()

    def importers(self, state: StackState) -> dict[str, list[str]]:
        """For each export of a stack, the stacks that import it (ListImports)."""
        if not state.exists:
            return {}
        found: dict[str, list[str]] = {}
        for page in self.cfn.get_paginator("list_exports").paginate():
            for export in page.get("Exports", []):
                if export.get("ExportingStackId") != state.stack_id:
                    continue
                try:
                    imports = [
                        name
                        for p in self.cfn.get_paginator("list_imports").paginate(ExportName=export["Name"])
                        for name in p.get("Imports", [])
                    ]
                except bx.ClientError as exc:
                    if "is not imported by any stack" not in error_message(exc):
                        raise
                    imports = []
                found[export["Name"]] = imports
        return found

    def resources(self, name: str) -> list[tuple[str, str]]:
        """The stack's resources as (logical id, type): what deleting it deletes."""
        found = []
        for page in self.cfn.get_paginator("list_stack_resources").paginate(StackName=name):
            found += [(r["LogicalResourceId"], r["ResourceType"]) for r in page["StackResourceSummaries"]]
        return found

    def service_roles(self) -> dict[str, str]:
        """Every live stack of this account and region that CloudFormation runs with a service role."""
        roles: dict[str, str] = {}
        for page in self.cfn.get_paginator("describe_stacks").paginate():
            for s in page.get("Stacks", []):
                if s.get("RoleARN") and s.get("StackStatus") != "DELETE_COMPLETE":
                    roles[s["StackName"]] = s["RoleARN"]
        return roles

    # ---- waiting -----------------------------------------------------------------------

    def latest_event(self, name: str) -> str | None:
        """The newest event id of a stack, so that what follows an operation can be told apart
        without trusting clocks."""
        try:
            events = self.cfn.describe_stack_events(StackName=name)["StackEvents"]
        except bx.ClientError:
            return None
        return str(events[0]["EventId"]) if events else None

    def _new_events(self, name: str, marker: str | None, seen: set[str]) -> list[dict[str, Any]]:
        fresh: list[dict[str, Any]] = []
        pages = self.cfn.get_paginator("describe_stack_events").paginate(StackName=name)
        for page in pages:
            done = False
            for ev in page["StackEvents"]:
                if ev["EventId"] in seen or ev["EventId"] == marker:
                    done = True
                    break
                fresh.append(ev)
            if done:
                break
        seen.update(ev["EventId"] for ev in fresh)
        return list(reversed(fresh))

    def wait(
        self,
        name: str,
        progress: Progress,
        marker: str | None = None,
        label: str | None = None,
        *,
        started: str | None = None,
    ) -> StackState:
        """Follow a stack until CloudFormation stops working on it; report each event. Only the events
        are polled (one call a poll); the stack itself is read when its own terminal event shows up,
        and every fifth poll in case an event is missed. `started`: the operation this run just
        started: first read after a poll's delay (not a hundred read at once), and when its kin end."""
        seen: set[str] = set()
        failures: list[dict[str, Any]] = []
        follow = self.poller.follow(f"{started} {label or name}" if started else None)
        for poll, delay in enumerate(self.poller.delays()):
            if started and poll == 0:
                follow.sleep(delay)
            ended = False
            for ev in self._new_events(name, marker, seen):
                progress.event(self._tag(label or name), ev)
                status = str(ev.get("ResourceStatus", ""))
                if status.endswith("_FAILED") or (
                    status.endswith("ROLLBACK_IN_PROGRESS") and ev.get("ResourceStatusReason")
                ):
                    failures.append(ev)  # a rollback's own reason names what no resource failure does
                if ev.get("ResourceType") == STACK_TYPE and not status.endswith("_IN_PROGRESS"):
                    ended = True
            if ended or poll % 5 == 4:
                state = self.describe(name)
                if not is_in_progress(state.status):
                    break
            follow.sleep(delay)
        if state.status in FAILED_ENDINGS or (state.status or "").endswith("_FAILED"):
            raise AwsFailure(why_failed(state.name, state.status, failures))
        follow.ended()
        return state

    def wait_until_idle(self, name: str, progress: Progress, known: StackState | None = None) -> StackState:
        """`known`: the stack as the caller has just read it (not read again)."""
        state = known if known is not None else self.describe(name)
        if is_in_progress(state.status):
            progress.note(self._tag(name), f"{name} is {state.status}; waiting for CloudFormation to finish it first")
            try:
                return self.wait(name, progress, self.latest_event(name))
            except AwsFailure:
                # Someone else's operation failed; what matters is the state it left.
                return self.describe(name)
        return state

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
