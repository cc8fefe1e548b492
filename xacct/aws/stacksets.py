"""An OU's service-managed stack set, as `--ou` drives it: made (or brought to the current template
and parameters), its instances created, deployed again or deleted, one operation at a time, each
followed to its end; the result of every account kept, with StackSets' reason for a failure."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import botocore.exceptions as bx

from xacct.errors import AwsFailure

ENDED = {"SUCCEEDED", "FAILED", "STOPPED"}
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
                CallAs=self.call_as,
            )
            self.said(f"stack set {self.name} created")
            return None
        held = {p["ParameterKey"]: p.get("ParameterValue", "") for p in current.get("Parameters", [])}
        if current.get("TemplateBody") == template and all(held.get(k) == v for k, v in parameters.items()):
            return None
        operation = self.cfn.update_stack_set(
            StackSetName=self.name,
            TemplateBody=template,
            Parameters=params,
            Capabilities=CAPABILITIES,
            OperationPreferences=self.preferences,
            CallAs=self.call_as,
        )["OperationId"]
        return self.wait(operation, "updating every instance to the current template")

    def create(self, ou: str) -> Outcome:
        operation = self.cfn.create_stack_instances(
            StackSetName=self.name,
            DeploymentTargets={"OrganizationalUnitIds": [ou]},
            Regions=[self.region],
            OperationPreferences=self.preferences,
            CallAs=self.call_as,
        )["OperationId"]
        return self.wait(operation, f"creating the stack instances of OU {ou}")

    def redeploy(self, ou: str, accounts: list[str]) -> Outcome:
        operation = self.cfn.update_stack_instances(
            StackSetName=self.name,
            DeploymentTargets={
                "OrganizationalUnitIds": [ou],
                "Accounts": accounts,
                "AccountFilterType": "INTERSECTION",
            },
            Regions=[self.region],
            OperationPreferences=self.preferences,
            CallAs=self.call_as,
        )["OperationId"]
        return self.wait(operation, f"deploying {len(accounts)} failed instances again")

    def delete(self, ou: str) -> Outcome:
        operation = self.cfn.delete_stack_instances(
            StackSetName=self.name,
            DeploymentTargets={"OrganizationalUnitIds": [ou]},
            Regions=[self.region],
            RetainStacks=False,
            OperationPreferences=self.preferences,
            CallAs=self.call_as,
        )["OperationId"]
        return self.wait(operation, f"deleting the stack instances of OU {ou}")

    def delete_set(self) -> None:
        self.cfn.delete_stack_set(StackSetName=self.name, CallAs=self.call_as)
        self.said(f"stack set {self.name} deleted")

    def wait(self, operation: str, what: str) -> Outcome:
        """Follow an operation until it ends; a line per account as its result comes in."""
        self.said(f"{self.name}: {what} (operation {operation})")
        told: set[str] = set()
        delay = 1.0
        while True:
            described = self.cfn.describe_stack_set_operation(
                StackSetName=self.name, OperationId=operation, CallAs=self.call_as
            )["StackSetOperation"]
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
