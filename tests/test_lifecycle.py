"""Whole lifecycles on the strict emulator: what AWS would refuse is refused here too, so these
are the onboardings, removals and purges a user can expect to finish on AWS."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import botocore.exceptions as bx
import pytest
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import PipeInput, create_pipe_input
from prompt_toolkit.output import DummyOutput

from tests.conftest import (
    BUILD,
    CFN,
    DEV1,
    DEV2,
    REGION,
    cfn,
    deploy_central,
    fake_entry,
    onboard_args,
    run_cli,
    session,
    stack,
    stack_outputs,
    stack_parameters,
)
from xacct.aws import buckets
from xacct.core import registry as reg
from xacct.core.state import Silent
from xacct.errors import AwsFailure
from xacct.sandbox.emulator import Emulator

TWO = [fake_entry(1), fake_entry(2)]
DEV_STACKS = ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper")


def central() -> reg.Registry:
    return reg.parse(stack_parameters("CrossAccountPrimary", "build"))


def statuses(profile: str) -> dict[str, str]:
    return {s["StackName"]: s["StackStatus"] for s in cfn(profile).describe_stacks()["Stacks"]}


def exists(profile: str, bucket: str) -> bool:
    try:
        session(profile).client("s3").head_bucket(Bucket=bucket)
    except bx.ClientError:
        return False
    return True


def test_two_developers_onboard_one_leaves_and_returns_the_other_is_purged(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args("dev1", DEV1), "--yes").code == 0
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0
    b1, b2 = f"xacct-build-{DEV1}-{REGION}", f"xacct-build-{DEV2}-{REGION}"
    assert central().buckets == [TWO[0][0], TWO[1][0], b1, b2]

    removed = run_cli(*onboard_args("dev1", DEV1), "--remove", "--yes")
    assert removed.code == 0, removed.err
    assert central().buckets == [TWO[0][0], TWO[1][0], b2]
    # The build bucket keeps its one policy, as its owner now declares it: TLS only, no grant.
    policy = json.loads(session("dev1").client("s3").get_bucket_policy(Bucket=b1)["Policy"])
    assert [(s["Sid"], s["Effect"]) for s in policy["Statement"]] == [("TlsOnly", "Deny")]
    assert stack_parameters("CrossAccountPrimary", "dev1")["ReplicationWriterRoleArn"] == ""
    assert "CrossAccountDeveloper" not in statuses("dev1")

    back = run_cli(*onboard_args("dev1", DEV1), "--yes")
    assert back.code == 0, back.err
    assert central().buckets == [TWO[0][0], TWO[1][0], b2, b1]

    purged = run_cli(*onboard_args("dev2", DEV2), "--remove", "--purge", "--yes")
    assert purged.code == 0, purged.err
    assert central().buckets == [TWO[0][0], TWO[1][0], b1]
    assert statuses("dev2") == {}
    assert not exists("dev2", b2)
    assert not exists("dev2", f"xacct-pipeline-{DEV2}-{REGION}")
    keys = session("dev2").client("kms")
    states = [keys.describe_key(KeyId=k["KeyId"])["KeyMetadata"]["KeyState"] for k in keys.list_keys()["Keys"]]
    assert states == ["PendingDeletion"]

    for profile in ("build", "dev1"):
        assert all(s.endswith("_COMPLETE") and "ROLLBACK" not in s for s in statuses(profile).values())
    assert sorted(statuses("dev1")) == sorted(DEV_STACKS)
    # And a purged account can be onboarded again from nothing.
    again = run_cli(*onboard_args("dev2", DEV2), "--yes")
    assert again.code == 0, again.err
    assert central().buckets == [TWO[0][0], TWO[1][0], b1, b2]


def test_a_bucket_left_by_a_deleted_stack_is_refused_before_anything_starts(aws: Emulator) -> None:
    """The template retains its buckets when the stack is deleted; creating it again would fail
    half-way on "already exists", so the tool says so first, with the command that clears it."""
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    for name in ("CrossAccountDeveloper", "CrossAccountDeploy", "CrossAccountPrimary"):
        cfn("dev1").delete_stack(StackName=name)
    assert exists("dev1", f"xacct-build-{DEV1}-{REGION}")
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 2
    assert f"the bucket xacct-build-{DEV1}-{REGION} already exists without its stack CrossAccountPrimary" in r.err
    assert f"aws s3 rb s3://xacct-build-{DEV1}-{REGION} --force --profile dev1 --region {REGION}" in r.err
    assert statuses("dev1") == {}


def test_an_export_name_another_stack_holds_is_refused_before_anything_starts(aws: Emulator) -> None:
    """Export names are unique per account and region: a stack of the developer's own exporting
    BuildBucket would make the primary's create fail half-way, so it is said first, by name."""
    deploy_central(TWO)
    other = {
        "Resources": {"Topic": {"Type": "AWS::SNS::Topic"}},
        "Outputs": {"Name": {"Value": {"Fn::GetAtt": ["Topic", "TopicName"]}, "Export": {"Name": "BuildBucket"}}},
    }
    cfn("dev1").create_stack(StackName="TheirOwn", TemplateBody=json.dumps(other))
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 2, r.out + r.err
    assert f"the export name BuildBucket is already taken in {DEV1} ({REGION}) by the stack TheirOwn" in r.err
    assert statuses("dev1") == {"TheirOwn": "CREATE_COMPLETE"}
    assert stack_parameters("CrossAccountPrimary", "build")["ReplicationBucketList"] == ",".join(e[0] for e in TWO)


def test_a_purge_that_fails_half_way_is_finished_by_running_it_again(aws: Emulator) -> None:
    """The key is known only from the primary stack's outputs: purge schedules it before deleting
    the stack, so a failure on the way leaves the stack, and the re-run finds everything again."""
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    key = stack_outputs("CrossAccountPrimary", "dev1")["CMK"]
    kms = session("dev1").client("kms")
    policy = json.loads(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
    held = {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "kms:ScheduleKeyDeletion", "Resource": "*"}
    kms.put_key_policy(
        KeyId=key, PolicyName="default", Policy=json.dumps({**policy, "Statement": [*policy["Statement"], held]})
    )
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code != 0
    assert "CrossAccountPrimary" in statuses("dev1")
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=json.dumps(policy))
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 0, r.out + r.err
    assert statuses("dev1") == {}
    assert kms.describe_key(KeyId=key)["KeyMetadata"]["KeyState"] == "PendingDeletion"
    assert not exists("dev1", f"xacct-build-{DEV1}-{REGION}")
    assert not exists("dev1", f"xacct-pipeline-{DEV1}-{REGION}")


def test_purge_refuses_while_another_stack_imports_an_export(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    body = {
        "Resources": {
            "P": {
                "Type": "AWS::SSM::Parameter",
                "Properties": {"Name": "/app/bucket", "Type": "String", "Value": {"Fn::ImportValue": "BuildBucket"}},
            }
        }
    }
    cfn("dev1").create_stack(StackName="MyApp", TemplateBody=json.dumps(body))
    before = statuses("dev1"), central()
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 2, r.err
    assert "CrossAccountPrimary cannot be deleted: its export BuildBucket is imported by MyApp" in r.err
    assert (statuses("dev1"), central()) == before


def test_purge_refuses_while_a_stack_runs_with_a_deployment_role(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    role = stack_outputs("CrossAccountDeploy", "dev1")["CloudFormationExecutionRoleArn"]
    body = {"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/app/x", "Type": "String",
            "Value": "v"}}}}  # fmt: skip
    cfn("dev1").create_stack(StackName="Deployed", TemplateBody=json.dumps(body), RoleARN=role)
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 2, r.err
    assert "CrossAccountDeploy cannot be deleted: CloudFormation runs Deployed with its deployment role" in r.err
    assert "CrossAccountDeveloper" in statuses("dev1")


@pytest.fixture
def keys() -> Iterator[object]:
    with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
        yield pipe


def test_purge_asks_once_before_anything_starts_naming_each_bucket_and_its_count(
    aws: Emulator, keys: PipeInput
) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    s3 = session("dev1").client("s3")
    build, pipeline = f"xacct-build-{DEV1}-{REGION}", f"xacct-pipeline-{DEV1}-{REGION}"
    for n in range(3):
        s3.put_object(Bucket=build, Key="app.zip", Body=f"build {n}".encode())  # three versions
    s3.put_object(Bucket=pipeline, Key="run/out.zip", Body=b"x")
    before = statuses("dev1"), central()
    # Every answer given: nothing is asked but the account id, and a wrong one changes nothing.
    keys.send_text("111\r")
    r = run_cli(*onboard_args(), "--remove", "--purge", interactive=True)
    assert r.code == 0, r.err
    assert f"{build} holds 3 object versions, deleted with it" in r.out
    assert f"{pipeline} holds 1 object versions, deleted with it" in r.out
    assert "Not confirmed: nothing was changed." in r.out
    assert (statuses("dev1"), central()) == before
    keys.send_text(f"{DEV1}\r")
    r = run_cli(*onboard_args(), "--remove", "--purge", interactive=True)
    assert r.code == 0, r.err
    assert statuses("dev1") == {}
    assert not exists("dev1", build)
    assert not exists("dev1", pipeline)


def test_emptying_reports_each_version_s3_would_not_delete(aws: Emulator) -> None:
    s3 = session("dev1").client("s3")
    s3.create_bucket(Bucket="locked-artifacts", ObjectLockEnabledForBucket=True)
    s3.put_object(Bucket="locked-artifacts", Key="free.zip", Body=b"x")
    s3.put_object(
        Bucket="locked-artifacts",
        Key="held.zip",
        Body=b"x",
        ObjectLockMode="COMPLIANCE",
        ObjectLockRetainUntilDate="2099-01-01T00:00:00Z",
    )
    with pytest.raises(
        AwsFailure, match=r"locked-artifacts: 1 object versions could not be deleted \(1 were\): held.zip"
    ):
        buckets.empty(s3, "locked-artifacts", Silent())


def test_stale_same_account_deployment_roles_are_dropped(aws: Emulator) -> None:
    """A primary marked deploy-ready by an earlier version names the developer account's own
    deployment roles; those need no grant, and once CrossAccountDeploy is gone the names are stale.
    An onboarding drops them and keeps roles of other accounts."""
    deploy_central(TWO)
    other = f"arn:aws:iam::{DEV2}:role/deployer"
    own = f"arn:aws:iam::{DEV1}:role/CrossAccountDeploy-PipelineDeployRole-OLD"
    cfn("dev1").create_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=(CFN / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[
            {
                "ParameterKey": "RootAccountArns",
                "ParameterValue": f"arn:aws:iam::{BUILD}:root,arn:aws:iam::{DEV2}:root",
            },
            {"ParameterKey": "DeployReady", "ParameterValue": "true"},
            {"ParameterKey": "PipelineBucketAccessRoleArns", "ParameterValue": f"{own},{other}"},
        ],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert run_cli(*onboard_args(), "--yes").code == 0
    params = stack_parameters("CrossAccountPrimary", "dev1")
    assert params["PipelineBucketAccessRoleArns"] == other
    assert params["DeployReady"] == "true"  # still accepted, and kept as it was
    assert stack("CrossAccountDeploy", "dev1") is not None
    assert boto3  # the profiles, not a default session, reach the accounts
