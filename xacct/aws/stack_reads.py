"""What a stack is now: its status, parameters, outputs and template, who imports its exports, its
resources. The first layer of the stack engine (`stacks.py`): reads only, one account and region."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

import botocore.exceptions as bx

from xacct.aws.requests import Poller, error_code, error_message
from xacct.core.state import StackState


class StackReads:
    """Reading stacks in one account and region."""

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
        self.cfn = cfn
        # Puts a template too big to send inline where CloudFormation reads it (TemplateURL).
        self.stage = stage
        # A CloudFormation service role the change sets name (RoleARN): the stack's operations
        # then run as that role, not as the caller.
        self.service_role: str | None = None
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
