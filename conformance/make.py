"""Resources a case needs, made with plain boto3 and removed when the case ends (World.undo)."""

from __future__ import annotations

import json
import time
from typing import Any

from conformance.conftest import Account, World

ENDED = ("_COMPLETE", "_FAILED")


def bucket(world: World, owner: Account, what: str = "bucket") -> str:
    name = world.name(what)
    s3 = owner.client("s3")
    where = {} if world.region == "us-east-1" else {"CreateBucketConfiguration": {"LocationConstraint": world.region}}
    s3.create_bucket(Bucket=name, **where)
    world.later(lambda: empty_and_delete(s3, name))
    return name


def empty_and_delete(s3: Any, name: str) -> None:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=name):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            s3.delete_object(Bucket=name, Key=item["Key"], VersionId=item["VersionId"])
    s3.delete_bucket(Bucket=name)


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: str, actions: list[str], resource: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": resource, **extra}


def root(account: Account) -> str:
    return f"arn:aws:iam::{account.id}:root"


def stack(world: World, owner: Account, template: dict[str, Any] | str, **extra: Any) -> tuple[str, str]:
    """A stack made from `template`, waited for; (its name, its final status). Deleted afterwards."""
    name = extra.pop("StackName", None) or world.name("stack")
    cfn = owner.client("cloudformation")
    body = template if isinstance(template, str) else json.dumps({"AWSTemplateFormatVersion": "2010-09-09", **template})
    cfn.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"], **extra)
    world.later(lambda: delete_stack(cfn, name))
    return name, settled(cfn, name)


def settled(cfn: Any, name: str, seconds: float = 600) -> str:
    """A stack's status once its operation has ended."""
    import botocore.exceptions as bx

    deadline = time.monotonic() + seconds
    while True:
        try:
            status = str(cfn.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])
        except bx.ClientError as exc:
            if "does not exist" in str(exc):
                return "DELETE_COMPLETE"  # a deleted stack is known by its id only
            raise
        if (status.endswith(ENDED) and not status.endswith("_IN_PROGRESS")) or time.monotonic() > deadline:
            return status
        time.sleep(2)


def delete_stack(cfn: Any, name: str) -> None:
    cfn.delete_stack(StackName=name)
    settled(cfn, name)


def events(cfn: Any, name: str) -> list[dict[str, Any]]:
    return list(cfn.describe_stack_events(StackName=name)["StackEvents"])


def failure_reasons(cfn: Any, name: str) -> str:
    """Every reason CloudFormation gave for the stack's failed and rolled-back events, in one text."""
    return " | ".join(
        str(e.get("ResourceStatusReason", ""))
        for e in events(cfn, name)
        if "FAILED" in e["ResourceStatus"] or "ROLLBACK_IN_PROGRESS" in e["ResourceStatus"]
    )


def role(world: World, owner: Account, trust: dict[str, Any], policies: dict[str, Any] | None = None) -> str:
    """A role in `owner` with `trust` and inline `policies` (name -> document); its ARN."""
    iam = owner.client("iam")
    name = world.name("role")[:64]
    arn = str(iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"])

    def gone() -> None:
        for policy_name in iam.list_role_policies(RoleName=name)["PolicyNames"]:
            iam.delete_role_policy(RoleName=name, PolicyName=policy_name)
        iam.delete_role(RoleName=name)

    world.later(gone)
    for policy_name, document in (policies or {}).items():
        iam.put_role_policy(RoleName=name, PolicyName=policy_name, PolicyDocument=json.dumps(document))
    return arn


def trusting(account: Account) -> dict[str, Any]:
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"AWS": root(account)}, "Action": "sts:AssumeRole"}],
    }


def assumed(world: World, by: Account, role_arn: str, seconds: float | None = None) -> Any:
    """A boto3 session of `role_arn`, assumed by `by` (retried while a new role's trust propagates)."""
    from conformance.conftest import PATIENCE, eventually, new_session

    sts = by.client("sts")
    ask = lambda: sts.assume_role(RoleArn=role_arn, RoleSessionName="conformance")["Credentials"]  # noqa: E731
    creds = eventually(ask, seconds or PATIENCE)
    return new_session(
        aws_access_key_id=creds["AccessKeyId"],
        aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"],
        region_name=world.region,
    )
