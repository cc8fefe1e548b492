"""An OU's service-managed stack set, as `--ou` drives it: made (or brought to the current template
and parameters), its instances created, deployed again or deleted, one operation at a time, each
followed to its end; the result of every account kept, with StackSets' reason for a failure.

A stack set runs one operation at a time (OperationInProgressException), and StackSets starts
operations of its own: automatic deployment runs after an account joins or leaves the OU. A stack set
made here has ManagedExecution active, so an operation asked for meanwhile is queued; one made by an
earlier version is waited for: the running operation is named, followed to its end, and the request
made again."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from xacct.errors import AwsFailure

ENDED = {"SUCCEEDED", "FAILED", "STOPPED"}
BUSY = "OperationInProgressException"
OTHERS = "StackSets' own (automatic deployment, after accounts joined or left the OU) or another run's"
PATIENCE = 3600.0  # seconds to wait for operations already running before one is refused for good
CAPABILITIES = ["CAPABILITY_NAMED_IAM"]  # the developer templates name their roles


@dataclass
class Outcome:
    operation: str
    action: str
    status: str
    results: list[dict[str, Any]] = field(default_factory=list)

    @property
    def failed(self) -> list[tuple[str, str]]:
        return [
            (str(r["Account"]), str(r.get("StatusReason") or r["Status"]))
            for r in self.results
            if r["Status"] in ("FAILED", "CANCELLED")
        ]

    @property
    def succeeded(self) -> list[str]:
        return [str(r["Account"]) for r in self.results if r["Status"] == "SUCCEEDED"]


class StackSet:
    def __init__(
        self,
        cfn: Any,
        name: str,
        call_as: str,
        region: str,
        *,
        preferences: Mapping[str, Any],
        said: Callable[[str], None],
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.cfn, self.name, self.call_as, self.region = cfn, name, call_as, region
        self.preferences, self.said, self.sleep = dict(preferences), said, sleep
        self.mine: set[str] = set()  # the operations this run started

    def describe(self) -> dict[str, Any] | None:
        try:
            found: dict[str, Any] = self.cfn.describe_stack_set(StackSetName=self.name, CallAs=self.call_as)["StackSet"]
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "StackSetNotFoundException":
                return None
            raise
        return found

    def ensure(self, template: str, parameters: Mapping[str, str], description: str) -> Outcome | None:
        """Made with automatic deployment (accounts joining the OU get the stack; leaving, lose it),
        or updated where its template or parameters differ; None when nothing had to change."""
        params = [{"ParameterKey": k, "ParameterValue": v} for k, v in parameters.items()]
        current = self.describe()
        if current is None:
            self.cfn.create_stack_set(
                StackSetName=self.name,
                Description=description,
                TemplateBody=template,
                Parameters=params,
                Capabilities=CAPABILITIES,
                PermissionModel="SERVICE_MANAGED",
                AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False},
                ManagedExecution={"Active": True},  # what is asked for while another runs is queued
                CallAs=self.call_as,
            )
            self.said(f"stack set {self.name} created")
            return None
        held = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current.get("Parameters", [])}
        if current.get("TemplateBody") == template and all(held.get(k) == v for k, v in parameters.items()):
            return None
        operation = self._start(
            self.cfn.update_stack_set,
            StackSetName=self.name,
            TemplateBody=template,
            Parameters=params,
            Capabilities=CAPABILITIES,
            OperationPreferences=self.preferences,
        )
        return self.wait(operation, "updating every instance to the current template")

    def create(self, ou: str) -> Outcome:
        operation = self._start(
            self.cfn.create_stack_instances,
            StackSetName=self.name,
            DeploymentTargets={"OrganizationalUnitIds": [ou]},
            Regions=[self.region],
            OperationPreferences=self.preferences,
        )
        return self.wait(operation, f"creating the stack instances of OU {ou}")

    def redeploy(self, ou: str, accounts: list[str]) -> Outcome:
        operation = self._start(
            self.cfn.update_stack_instances,
            StackSetName=self.name,
            DeploymentTargets={
                "OrganizationalUnitIds": [ou],
                "Accounts": accounts,
                "AccountFilterType": "INTERSECTION",
            },
            Regions=[self.region],
            OperationPreferences=self.preferences,
        )
        count = f"{len(accounts)} account{'' if len(accounts) == 1 else 's'}"
        return self.wait(operation, f"deploying again the instances of {count} that did not succeed")

    def delete(self, ou: str) -> Outcome:
        operation = self._start(
            self.cfn.delete_stack_instances,
            StackSetName=self.name,
            DeploymentTargets={"OrganizationalUnitIds": [ou]},
            Regions=[self.region],
            RetainStacks=False,
            OperationPreferences=self.preferences,
        )
        return self.wait(operation, f"deleting the stack instances of OU {ou}")

    def delete_set(self) -> None:
        self._start(self.cfn.delete_stack_set, StackSetName=self.name)
        self.said(f"stack set {self.name} deleted")

    def _start(self, call: Callable[..., Any], **request: Any) -> str:
        """Ask for an operation (its id); while another runs on the stack set, wait for that one, say
        which it is, and ask again."""
        deadline = time.monotonic() + PATIENCE
        while True:
            try:
                answer = call(**request, CallAs=self.call_as)
            except bx.ClientError as exc:
                if exc.response.get("Error", {}).get("Code") != BUSY or time.monotonic() > deadline:
                    raise
                self._wait_for_others()
                continue
            operation = str(answer.get("OperationId", ""))
            self.mine.add(operation)
            return operation

    def settle(self) -> None:
        """Let the operations running on the stack set end first (StackSets' own automatic deployment,
        placing accounts that just joined), so that what they placed is read as it ends."""
        self._wait_for_others()

    def _wait_for_others(self) -> None:
        """Follow the stack set's running and queued operations to their end, saying what they are."""
        for summary in self.running():
            op = str(summary["OperationId"])
            whose = (
                "this run's"
                if op in self.mine
                else "StackSets' own (automatic deployment, after accounts joined or left the OU) or another run's"
            )
            self.said(
                f"{self.name}: waiting for operation {op} ({summary.get('Action', '?')}, {whose}) to finish first; "
                "a stack set runs one operation at a time"
            )
            self._ended(op)

    def running(self) -> list[dict[str, Any]]:
        """The stack set's operations still running or queued, oldest first."""
        pages = self.cfn.get_paginator("list_stack_set_operations").paginate(
            StackSetName=self.name, CallAs=self.call_as
        )
        found = [o for page in pages for o in page["Summaries"] if o.get("Status") in ("RUNNING", "QUEUED", "STOPPING")]
        return sorted(found, key=lambda o: str(o.get("CreationTimestamp", "")))

    def _ended(self, operation: str) -> str:
        delay = 1.0
        while True:
            status = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation, CallAs=self.call_as
            )["StackSetOperation"]["Status"]
            if status in ENDED:
                return str(status)
            self.sleep(delay)
            delay = min(delay * 1.5, 10.0)

    def wait(self, operation: str, what: str) -> Outcome:
        """Follow an operation until it ends; a line per account as its result comes in."""
        self.said(f"{self.name}: {what} (operation {operation})")
        told: set[str] = set()
        delay = 1.0
        queued = False
        while True:
            described = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation, CallAs=self.call_as
            )["StackSetOperation"]
            if described["Status"] == "QUEUED" and not queued:
                queued = True
                ahead = [str(o["OperationId"]) for o in self.running() if o["OperationId"] != operation]
                self.said(
                    f"  queued behind operation {', '.join(ahead) or 'another'}: StackSets runs it once that ends"
                )
            results = self.results(operation)
            for r in results:
                if r["Status"] in ("SUCCEEDED", "FAILED", "CANCELLED") and r["Account"] not in told:
                    told.add(r["Account"])
                    reason = f": {r['StatusReason']}" if r.get("StatusReason") and r["Status"] != "SUCCEEDED" else ""
                    self.said(f"  {r['Account']} {r['Status']}{reason}")
            if described["Status"] in ENDED:
                return Outcome(operation, str(described["Action"]), str(described["Status"]), results)
            self.sleep(delay)
            delay = min(delay * 1.5, 10.0)

    def results(self, operation: str) -> list[dict[str, Any]]:
        pages = self.cfn.get_paginator("list_stack_set_operation_results").paginate(
            StackSetName=self.name, OperationId=operation, CallAs=self.call_as
        )
        return [r for page in pages for r in page["Summaries"]]

    def instances(self) -> dict[str, dict[str, Any]]:
        """account -> its instance in this region (StackId, the detailed status)."""
        try:
            pages = self.cfn.get_paginator("list_stack_instances").paginate(
                StackSetName=self.name, StackInstanceRegion=self.region, CallAs=self.call_as
            )
            return {str(i["Account"]): i for page in pages for i in page["Summaries"]}
        except bx.ClientError as exc:
            if exc.response.get("Error", {}).get("Code") == "StackSetNotFoundException":
                return {}
            raise


def raise_if_refused(exc: bx.ClientError, name: str) -> None:
    """An operation StackSets refused to start, said in one line."""
    error = exc.response.get("Error", {})
    raise AwsFailure(
        f"StackSets refused an operation on {name}: {error.get('Code')}: {error.get('Message')}",
        hint="fix the cause, then run the same command again (what succeeded is kept)",
    ) from exc
