"""Status and verify: who is registered, how much room is left, and whether one developer's
replication path holds, link by link, each broken link with its fix."""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

import botocore.exceptions as bx

from xacct import registry as reg
from xacct.answers import Answers
from xacct.flows import REPLICATION_ROLE_OUTPUT, Context, account_root, check_central, developer_bucket
from xacct.stacks import StackState
from xacct.status import STABLE


@dataclass(frozen=True)
class Link:
    name: str
    ok: bool
    detail: str
    fix: str = ""


def status_json(a: Answers, registry: reg.Registry) -> dict[str, Any]:
    cap = reg.capacity(registry)
    return {
        "central": {"account": a.build_account, "region": a.build_region, "stack": a.central_stack},
        "replication": registry.enabled,
        "developers": [
            {
                "position": i,
                "account": reg.key_account(e.cmk),
                "region": reg.key_region(e.cmk),
                "bucket": e.bucket,
                "cmk": e.cmk,
            }
            for i, e in enumerate(registry.entries, 1)
        ],
        "capacity": {"registered": cap.used, "fits": cap.fits},
    }


def _statements(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    statements = doc.get("Statement", [])
    return statements if isinstance(statements, list) else [statements]


def _as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _grants(statement: dict[str, Any], principal: str, action: str, resource: str | None = None) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    who = statement.get("Principal", {})
    principals = _as_list(who.get("AWS", [])) if isinstance(who, dict) else _as_list(who)
    actions = _as_list(statement.get("Action", []))
    resources = _as_list(statement.get("Resource", []))
    return (
        principal in principals
        and action in actions
        and (resource is None or resource in resources or "*" in resources)
    )


class Verifier:
    """Reads both accounts and checks each link of one developer's replication path."""

    def __init__(self, ctx: Context) -> None:
        self.ctx = ctx
        self.a = ctx.answers
        self.onboard_command = "onboard again (the command is below)"

    def run(self, *, probe: bool, can_probe: bool) -> tuple[list[Link], list[str]]:
        a, ctx = self.a, self.ctx
        p, d, v = a.stacks()
        central = ctx.build_stacks().describe(a.central_stack or "")
        registry = check_central(a, central, ctx.where(ctx.build))
        dev = ctx.dev_stacks()
        states = {n: dev.describe(n) for n in (p, d, v)}
        primary = states[p]
        bucket = developer_bucket(primary, a.dev_account or "", a.dev_region or "")
        cmk = primary.outputs.get("CMK")
        role = central.outputs[REPLICATION_ROLE_OUTPUT]
        links = [
            self._registered(registry, bucket, cmk),
            Link(
                "replication enabled",
                registry.enabled,
                f"EnableReplication is {'true' if registry.enabled else 'false'}",
                "" if registry.enabled else f"{self.onboard_command}: onboarding turns replication on",
            ),
            self._stacks(states),
            self._bucket_policy(bucket, role, states[v]),
            self._key_policy(cmk),
            self._central_role(role, bucket, cmk),
        ]
        if probe:
            links.append(
                self._probe(central, bucket)
                if can_probe
                else Link("probe", True, "not run: the sandbox's emulator cannot run the replication function")
            )
        return links, self._orphans(registry, bucket, primary)

    def _registered(self, registry: reg.Registry, bucket: str, cmk: str | None) -> Link:
        entry = next((e for e in registry.entries if e.bucket == bucket), None)
        if entry is None:
            return Link("registered centrally", False, f"{bucket} is not in the central lists", self.onboard_command)
        if cmk and entry.cmk != cmk:
            return Link(
                "registered centrally",
                False,
                f"{bucket} is registered with key {entry.cmk}, but its key is {cmk}",
                f"{self.onboard_command}: it replaces the key in place",
            )
        return Link("registered centrally", True, f"{bucket} at position {registry.entries.index(entry) + 1}")

    def _stacks(self, states: dict[str, StackState]) -> Link:
        bad = [f"{n} {s.status or 'missing'}" for n, s in states.items() if s.status not in STABLE]
        if bad:
            return Link("developer stacks", False, ", ".join(bad), self.onboard_command)
        return Link("developer stacks", True, ", ".join(f"{n} {s.status}" for n, s in states.items()))

    def _bucket_policy(self, bucket: str, role: str, developer: StackState) -> Link:
        name = "bucket policy admits the central role"
        if not developer.exists:
            return Link(name, False, f"the stack {developer.name} does not exist", self.onboard_command)
        try:
            policy = self.ctx.dev.client("s3").get_bucket_policy(Bucket=bucket)["Policy"]
        except bx.ClientError as exc:
            policy, why = None, exc.response["Error"]["Code"]
        else:
            why = "no statement allows it s3:PutObject"
        star = reg.star_arn_for(bucket, self.ctx.dev.partition)
        if policy and any(_grants(s, role, "s3:PutObject", star) for s in _statements(policy)):
            return Link(name, True, f"{role} may put objects into {bucket}")
        _, _, v = self.a.stacks()
        where = self.ctx.where(self.ctx.dev)
        return Link(
            name,
            False,
            f"{bucket}: {why}",
            f"the policy was changed outside CloudFormation: aws cloudformation delete-stack --stack-name {v}{where}, "
            f"then {self.onboard_command}",
        )

    def _key_policy(self, cmk: str | None) -> Link:
        name = "developer key admits the build account"
        if not cmk:
            return Link(name, False, "the developer key does not exist", self.onboard_command)
        root = account_root(self.ctx.dev.partition, self.a.build_account or "")
        try:
            policy = self.ctx.dev.client("kms").get_key_policy(KeyId=cmk, PolicyName="default")["Policy"]
        except bx.ClientError as exc:
            return Link(name, False, f"cannot read the key policy: {exc.response['Error']['Code']}")
        if any(_grants(s, root, "kms:GenerateDataKey") for s in _statements(policy)):
            return Link(name, True, f"{root} may encrypt with {cmk}")
        return Link(name, False, f"the key policy of {cmk} does not admit {root}", self.onboard_command)

    def _central_role(self, role: str, bucket: str, cmk: str | None) -> Link:
        name = "central role may write and encrypt"
        iam = self.ctx.build.client("iam")
        role_name = role.rsplit("/", 1)[1]
        resources: set[str] = set()
        for attached in iam.list_attached_role_policies(RoleName=role_name)["AttachedPolicies"]:
            pol = iam.get_policy(PolicyArn=attached["PolicyArn"])["Policy"]
            version = iam.get_policy_version(PolicyArn=attached["PolicyArn"], VersionId=pol["DefaultVersionId"])
            for s in _statements(version["PolicyVersion"]["Document"]):
                resources.update(_as_list(s.get("Resource", [])))
        missing = [r for r in (reg.star_arn_for(bucket, self.ctx.build.partition), cmk) if r and r not in resources]
        if missing:
            return Link(name, False, f"the replication role's policies lack {', '.join(missing)}", self.onboard_command)
        return Link(name, True, f"{role_name} has {bucket} and its key")

    def _probe(self, central: StackState, bucket: str) -> Link:
        key = f"xacct-probe/{uuid.uuid4().hex}.txt"
        source = central.outputs.get("BuildBucket", "")
        self.ctx.build.client("s3").put_object(Bucket=source, Key=key, Body=b"xacct replication probe\n")
        s3 = self.ctx.dev.client("s3")
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            try:
                s3.head_object(Bucket=bucket, Key=key)
            except bx.ClientError:
                self.ctx.poller.sleep(2)
                continue
            return Link("probe", True, f"s3://{source}/{key} arrived in {bucket}")
        return Link(
            "probe",
            False,
            f"s3://{source}/{key} did not arrive in {bucket} within 90 s",
            "read the replication function's log group /aws/lambda/xacct-replicator-* in the build account",
        )

    def _orphans(self, registry: reg.Registry, bucket: str, primary: StackState) -> list[str]:
        found = []
        s3 = self.ctx.build.client("s3")
        for e in registry.entries:
            if e.bucket == bucket:
                if not primary.exists:
                    found.append(e.bucket)
                continue
            try:
                s3.head_bucket(Bucket=e.bucket)
            except bx.ClientError as exc:
                if exc.response["Error"]["Code"] in ("404", "NoSuchBucket", "NotFound"):
                    found.append(e.bucket)
        return found
