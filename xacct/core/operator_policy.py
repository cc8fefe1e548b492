"""`--print-policy build|developer|organization`: the least-privilege IAM policy each operator needs
to onboard, remove (with --purge), and run --status and --verify (--all included); and, for `--ou`,
what the organization profile needs beside the build operator's (the same identity by default).

Two halves. What the tool itself calls, action by action, on the resources it names. And what
CloudFormation calls with the operator's own credentials while it creates, updates and deletes the
stacks (a stack without a service role runs every resource handler as the caller): the handler
permissions of each resource type in the templates, from the CloudFormation resource schemas
(handler_permissions.py), allowed only through CloudFormation (`aws:CalledVia`, IAM user guide,
"AWS global condition context keys").
"""

from __future__ import annotations

from typing import Any, Literal

from xacct.core.answers import DevStacks, Kind
from xacct.core.handler_permissions import HANDLER_PERMISSIONS
from xacct.core.templates import KINDS, joining_template, template

Side = Literal["build", "build-cloudformation", "developer", "organization", "join"]
SIDES: tuple[Side, ...] = ("build", "build-cloudformation", "developer", "organization", "join")
# Resources only the build account's central stack makes (their conditions are false in a developer
# account), so CloudFormation never calls their handlers as the developer operator.
CENTRAL_ONLY_CONDITIONS = ("IsCentral", "HasAlertEmail", "HasAlertTopic")

STACK_READS = [
    "cloudformation:DescribeStacks",
    "cloudformation:DescribeStackEvents",
    "cloudformation:DescribeStackResources",
    "cloudformation:ListStackResources",
    "cloudformation:GetTemplate",
]
STACK_WRITES = ["cloudformation:CreateStack", "cloudformation:UpdateStack", "cloudformation:DeleteStack"]
CHANGE_SETS = [
    "cloudformation:CreateChangeSet",
    "cloudformation:DescribeChangeSet",
    "cloudformation:ExecuteChangeSet",
    "cloudformation:DeleteChangeSet",
]


def _statement(sid: str, actions: list[str], resources: list[str] | str, **extra: Any) -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Action": sorted(set(actions)), "Resource": resources, **extra}


def _types(body: str, skipped: tuple[str, ...]) -> set[str]:
    from xacct.core.member_template import load

    resources = load(body).get("Resources", {})
    return {r["Type"] for r in resources.values() if r.get("Condition") not in skipped}


def on_behalf(kinds: list[Kind], *more: str, skipped: tuple[str, ...] = ()) -> dict[str, Any]:
    """What CloudFormation's handlers call as the operator, for the templates' resource types (the
    stock templates of `kinds`, and the template texts of `more`), but those of resources under the
    conditions `skipped`, which are never made where the policy is used."""
    types = {t for body in [*(template(kind) for kind in kinds), *more] for t in _types(body, skipped)}
    actions = {a for t in types for handler in HANDLER_PERMISSIONS.get(t, {}).values() for a in handler}
    return _statement(
        "CloudFormationOnYourBehalf",
        sorted(actions),
        "*",
        Condition={"ForAnyValue:StringEquals": {"aws:CalledVia": ["cloudformation.amazonaws.com"]}},
    )


def build_policy(partition: str = "aws", central_stack: str = "CrossAccountPrimary") -> dict[str, Any]:
    p = partition
    statements = [
        _statement(
            "CentralStack",
            STACK_READS + CHANGE_SETS,
            [f"arn:{p}:cloudformation:*:*:stack/{n}/*" for n in (central_stack, "CrossAccountJoining")],
        ),
        _statement(
            "CentralLease",
            ["ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter"],
            f"arn:{p}:ssm:*:*:parameter/xacct/locks/*",
        ),
        _statement("ReadEveryDeveloperPath", ["sts:AssumeRole"], f"arn:{p}:iam::*:role/xacct-verify-*"),
        _statement(
            "StartDevelopersCurrent",
            ["lambda:InvokeFunction"],
            [
                f"arn:{p}:lambda:*:*:function:{central_stack}-Replicator-*",
                f"arn:{p}:lambda:*:*:function:S3DataReplicator",  # a seed-project stack, adopted
            ],
        ),
        _statement(
            "WhatArrived",
            ["logs:FilterLogEvents"],
            f"arn:{p}:logs:*:*:log-group:/aws/lambda/xacct-replicator-{central_stack}:*",
        ),
        _statement("RegisteredBucketsExist", ["s3:ListBucket"], f"arn:{p}:s3:::xacct-build-*"),
        _statement(
            "ReplicationRoleGrants",
            ["iam:ListAttachedRolePolicies", "iam:GetPolicy", "iam:GetPolicyVersion"],
            [f"arn:{p}:iam::*:role/{central_stack}-ReplicationRole-*", f"arn:{p}:iam::*:policy/{central_stack}-*"],
        ),
        # Joining: its inbox (--requests, --approve, --reject, --status); --enable-joining needs the
        # organization policy beside this one.
        _statement(
            "JoiningInbox",
            ["s3:ListBucket", "s3:GetObject", "s3:PutObject"],
            f"arn:{p}:s3:::xacct-join-*",  # the inbox and its objects: IAM's * spans the "/"
        ),
        # --status: the delivery alarms (DescribeAlarms takes no narrower resource when it names
        # alarms by name) and who their topic tells.
        _statement("DeliveryAlarms", ["cloudwatch:DescribeAlarms"], "*"),
        _statement("WhoIsTold", ["sns:ListSubscriptionsByTopic"], f"arn:{p}:sns:*:*:{central_stack}-Alerts-*"),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def build_cloudformation_policy() -> dict[str, Any]:
    """The second half of the build operator's: what CloudFormation calls as the operator while it
    updates the central stack (and the joining stack), a managed policy of its own beside `build`
    (one managed policy holds 6,144 characters)."""
    return {"Version": "2012-10-17", "Statement": [on_behalf(["CrossAccountPrimary"], joining_template())]}


def join_policy(partition: str = "aws", stacks: DevStacks | None = None) -> dict[str, Any]:
    """`--join` and `--leave`: the developer's own stacks, and in the build account nothing but the
    inbox: the published facts, this account's request and this account's answer."""
    p = partition
    mine = "${aws:PrincipalAccount}"
    developer = developer_policy(partition, stacks)["Statement"]
    kept = [
        s
        for s in developer
        if s["Sid"] in ("DeveloperStacks", "AccountExports", "LargeTemplates", "StageLargeTemplates")
    ]
    statements = [
        *kept,
        _statement("ReadOwnPrimaryStack", ["s3:GetBucketPolicy"], f"arn:{p}:s3:::xacct-build-*"),
        _statement(
            "ReadTheFacts",
            ["s3:GetObject"],
            [f"arn:{p}:s3:::xacct-join-*/facts.json", f"arn:{p}:s3:::xacct-join-*/answers/{mine}/*"],
        ),
        _statement("FileOwnRequest", ["s3:PutObject"], f"arn:{p}:s3:::xacct-join-*/requests/{mine}/*"),
        on_behalf(list(KINDS), skipped=CENTRAL_ONLY_CONDITIONS),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def developer_policy(partition: str = "aws", stacks: DevStacks | None = None) -> dict[str, Any]:
    p = partition
    names = (stacks or DevStacks()).names
    artifact_buckets = [f"arn:{p}:s3:::xacct-build-*", f"arn:{p}:s3:::xacct-pipeline-*"]
    statements = [
        _statement(
            "DeveloperStacks",
            [*STACK_READS, *CHANGE_SETS, *STACK_WRITES],
            [f"arn:{p}:cloudformation:*:*:stack/{n}/*" for n in names],
        ),
        # Listing stacks, exports and their importers has no resource to scope to.
        _statement(
            "AccountExports",
            ["cloudformation:DescribeStacks", "cloudformation:ListExports", "cloudformation:ListImports"],
            "*",
        ),
        _statement(
            "ArtifactBuckets",
            ["s3:ListBucket", "s3:ListBucketVersions", "s3:GetBucketPolicy", "s3:DeleteBucket"],
            artifact_buckets,
        ),
        _statement(
            "PurgeArtifacts", ["s3:DeleteObject", "s3:DeleteObjectVersion"], [f"{b}/*" for b in artifact_buckets]
        ),
        _statement(
            "ArtifactKey", ["kms:DescribeKey", "kms:GetKeyPolicy", "kms:ScheduleKeyDeletion"], f"arn:{p}:kms:*:*:key/*"
        ),
        _statement(
            "LargeTemplates",
            ["s3:ListBucket", "s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration"],
            f"arn:{p}:s3:::xacct-templates-*",
        ),
        _statement("StageLargeTemplates", ["s3:PutObject", "s3:GetObject"], f"arn:{p}:s3:::xacct-templates-*/*"),
        on_behalf(list(KINDS), skipped=CENTRAL_ONLY_CONDITIONS),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


STACK_SET_ACTIONS = [
    "cloudformation:CreateStackSet",
    "cloudformation:DescribeStackSet",
    "cloudformation:UpdateStackSet",
    "cloudformation:DeleteStackSet",
    "cloudformation:CreateStackInstances",
    "cloudformation:UpdateStackInstances",
    "cloudformation:DeleteStackInstances",
    "cloudformation:ListStackInstances",
    "cloudformation:DescribeStackSetOperation",
    "cloudformation:ListStackSetOperations",
    "cloudformation:ListStackSetOperationResults",
]
ORGANIZATION_READS = [
    "organizations:DescribeOrganization",
    "organizations:DescribeOrganizationalUnit",
    "organizations:ListAccounts",
    "organizations:ListAccountsForParent",
    "organizations:ListOrganizationalUnitsForParent",
    "organizations:ListAWSServiceAccessForOrganization",
    "organizations:ListDelegatedAdministrators",
]


def organization_policy(partition: str = "aws") -> dict[str, Any]:
    """`--ou` and `--enable-joining`: the organization read (Organizations' List and Describe calls are
    authorized on the organization as a whole); the OU's stack sets, `xacct-ou-*`, with their instances
    in the OU's accounts (`stackset-target`) and the resource types they deploy (`type/resource`), which
    StackSets makes in the member accounts with its own service-linked roles; the registrar's code."""
    p = partition
    statements = [
        _statement("ReadTheOrganization", ORGANIZATION_READS, "*"),
        # --verify --all finds the OU accounts' stacks through the stack sets; listing takes no resource.
        _statement("FindTheOusStackSets", ["cloudformation:ListStackSets"], "*"),
        # --enable-joining: the registrar's code, staged where CloudFormation's Lambda reads it.
        _statement(
            "StageRegistrarCode",
            ["s3:ListBucket", "s3:CreateBucket", "s3:PutBucketPublicAccessBlock", "s3:PutLifecycleConfiguration"],
            f"arn:{p}:s3:::xacct-templates-*",
        ),
        _statement("StagedCode", ["s3:PutObject", "s3:GetObject"], f"arn:{p}:s3:::xacct-templates-*/*"),
        _statement(
            "TheOusStackSets",
            STACK_SET_ACTIONS,
            [
                f"arn:{p}:cloudformation:*:*:stackset/xacct-ou-*:*",
                f"arn:{p}:cloudformation:*:*:stackset-target/xacct-ou-*:*/*",
                f"arn:{p}:cloudformation:*::type/resource/*",
            ],
        ),
    ]
    return {"Version": "2012-10-17", "Statement": statements}


def policy(
    side: Side, partition: str = "aws", central_stack: str | None = None, stacks: DevStacks | None = None
) -> dict[str, Any]:
    """The policy for one side, for the stacks named (--central-stack, --dev-stacks), or the defaults."""
    if side == "organization":
        return organization_policy(partition)
    if side == "join":
        return join_policy(partition, stacks)
    if side == "build":
        return build_policy(partition, central_stack or "CrossAccountPrimary")
    if side == "build-cloudformation":
        return build_cloudformation_policy()
    return developer_policy(partition, stacks)
