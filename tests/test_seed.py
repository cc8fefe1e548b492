"""The blog's readers: the seed project's own stacks (tests/data/seed-1.0.0), deployed as its README
says, and this tool onboarding onto them, removing from them and adopting them."""

from __future__ import annotations

import json

import pytest

from tests import seed
from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    cfn,
    moto_stack,
    onboard_args,
    run_cli,
    s3_as_function,
    session,
    stack_outputs,
    stack_parameters,
)
from xacct.sandbox.emulator import Emulator

SEED_EXPORTS = {
    "CrossAccountCMK",
    "BuildBucket",
    "PipelineBucket",
    "ReplicationFunctionArn",
    "SyncArtifactsFunction",
    "SyncArtifactsFunctionArn",
}
DEV_BUCKET = f"xacct-build-{DEV1}-{REGION}"


def exports(profile: str) -> dict[str, str]:
    return {e["Name"]: e["Value"] for e in cfn(profile).list_exports()["Exports"]}


def test_the_seed_central_stack_deploys_as_its_readme_says(aws: Emulator) -> None:
    """Created with DeployReady=false (the exported outputs of false-condition resources are not
    made), then updated to true: the resources of that condition appear, their exports with them,
    and the replication function's resource policy admits S3 (its AWS::Lambda::Permission)."""
    outputs = seed.deploy_central()
    assert set(exports("build")) >= SEED_EXPORTS
    assert outputs["ReplicationRoleArn"] == f"arn:aws:iam::{BUILD}:role/CrossAccountPipelineS3Replication"
    policy = json.loads(session("build").client("lambda").get_policy(FunctionName="S3DataReplicator")["Policy"])
    assert [s["Principal"] for s in policy["Statement"]] == [{"Service": "s3.amazonaws.com"}]


def test_onboarding_onto_the_seed_central_stack_changes_its_parameters_only(aws: Emulator) -> None:
    outputs = seed.deploy_central()
    before = cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"]
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.out + r.err
    params = stack_parameters("CrossAccountPrimary", "build")
    dev_key = session("dev1").client("cloudformation").describe_stacks(StackName="CrossAccountPrimary")
    cmk = {o["OutputKey"]: o["OutputValue"] for o in dev_key["Stacks"][0]["Outputs"]}["CMK"]
    assert params["EnableReplication"] == "true"
    assert params["ReplicationBucketList"] == DEV_BUCKET
    assert params["ReplicationBucketStarArns"] == f"arn:aws:s3:::{DEV_BUCKET}/*"
    assert params["ReplicationCMKs"] == cmk
    assert cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"] == before
    function = session("build").client("lambda").get_function_configuration(FunctionName="S3DataReplicator")
    assert function["Environment"]["Variables"]["DEST_BUCKETS"] == DEV_BUCKET
    policy = json.loads(session("dev1").client("s3").get_bucket_policy(Bucket=DEV_BUCKET)["Policy"])
    assert outputs["ReplicationRoleArn"] in json.dumps(policy)


def seed_copy(s3: object, source_bucket: str, key: str, version: str, dest_bucket: str) -> dict[str, object]:
    """The seed function's replicatePromise (CrossAccountPrimary.yaml, ReplicationFunction): the same
    parameters, the copy source given as botocore encodes it (the seed URL-encodes it by hand)."""
    return s3.copy_object(  # type: ignore[attr-defined, no-any-return]
        Bucket=dest_bucket,
        Key=key,
        ACL="bucket-owner-full-control",
        CopySource={"Bucket": source_bucket, "Key": key, "VersionId": version},
        MetadataDirective="COPY",
    )


def test_the_developer_bucket_accepts_what_the_seed_function_sends(aws: Emulator) -> None:
    """ACL bucket-owner-full-control, MetadataDirective COPY, no SSE header (the developer bucket's
    default key encrypts), from the seed's replication role. The seed's role may read only the build
    bucket itself, not its objects (its s3:Get* names the bucket ARN), so on AWS its copies fail at
    the source: the test lends it that one read to see what the developer's side accepts."""
    outputs = seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    iam = session("build").client("iam")
    iam.put_role_policy(
        RoleName="CrossAccountPipelineS3Replication",
        PolicyName="test-lends-source-read",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Effect": "Allow",
                        "Action": "s3:GetObject*",
                        "Resource": f"arn:aws:s3:::{outputs['BuildBucket']}/*",
                    }
                ],
            }
        ),
    )
    build_s3 = session("build").client("s3")
    version = build_s3.put_object(
        Bucket=outputs["BuildBucket"], Key="service/app.zip", Body=b"build 1", Metadata={"build": "1"}
    )["VersionId"]
    function = moto_stack(BUILD, "CrossAccountPrimary").resource_map["ReplicationFunction"]
    as_function = s3_as_function(function)
    seed_copy(as_function, outputs["BuildBucket"], "service/app.zip", version, DEV_BUCKET)
    got = session("dev1").client("s3").get_object(Bucket=DEV_BUCKET, Key="service/app.zip")
    assert got["Body"].read() == b"build 1"
    assert got["Metadata"] == {"build": "1"}
    assert got["ServerSideEncryption"] == "aws:kms"


def test_remove_takes_the_developer_out_of_the_seed_central_stack(aws: Emulator) -> None:
    seed.deploy_central()
    before = cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"]
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.out + r.err
    params = stack_parameters("CrossAccountPrimary", "build")
    assert (params["EnableReplication"], params["ReplicationBucketList"], params["ReplicationCMKs"]) == (
        "false",
        "",
        "",
    )
    assert cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"] == before


@pytest.mark.parametrize("command", [["--status"], ["--verify"], ["--verify", "--all"]])
def test_status_and_verify_read_a_seed_central_stack(aws: Emulator, command: list[str]) -> None:
    seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    args = onboard_args() if command == ["--verify"] else onboard_args()[:6]
    r = run_cli(*args, *command)
    assert r.code == 0, r.out + r.err
    assert DEV_BUCKET in r.out or DEV1 in r.out


def test_the_plan_says_it_found_a_seed_central_stack(aws: Emulator) -> None:
    seed.deploy_central()
    r = run_cli(*onboard_args(), "--dry-run", "--json")
    assert r.code == 0, r.err
    notes = json.loads(r.out)["notes"]
    assert any("seed project's template" in n and "only its replication parameters change" in n for n in notes)
    assert any("may read the build bucket but not the objects in it" in n for n in notes)
    text = run_cli(*onboard_args(), "--dry-run")
    assert "note: the central stack holds the seed project's template" in text.out


def test_the_seed_function_cannot_read_what_it_copies(aws: Emulator) -> None:
    """What the plan's note says, seen: the seed role's own policy does not reach the build bucket's objects."""
    outputs = seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    version = (
        session("build").client("s3").put_object(Bucket=outputs["BuildBucket"], Key="a.zip", Body=b"1")["VersionId"]
    )
    function = moto_stack(BUILD, "CrossAccountPrimary").resource_map["ReplicationFunction"]
    as_function = s3_as_function(function)
    with pytest.raises(Exception, match=r"not authorized to perform: s3:GetObject"):
        seed_copy(as_function, outputs["BuildBucket"], "a.zip", version, DEV_BUCKET)


def function_created_before_2021() -> None:
    """The seed's stack as its readers have it: its template and its function on nodejs10.x,
    created while Lambda still created functions on it (the emulator, like Lambda today, refuses to
    create one, so the stack is made with a raised runtime and then given the original's)."""
    deployed = moto_stack(BUILD, "CrossAccountPrimary")
    deployed.template = seed.template("CrossAccountPrimary", runtime="nodejs10.x")
    deployed._parse_template()
    deployed.resource_map["ReplicationFunction"].run_time = "nodejs10.x"
    deployed.resource_map["SyncArtifactsFunction"].run_time = "nodejs10.x"


def test_a_parameter_change_lambda_would_refuse_is_refused_before_any_write(aws: Emulator) -> None:
    seed.deploy_central()
    function_created_before_2021()
    before = stack_parameters("CrossAccountPrimary", "build")
    for extra in ("--dry-run", "--yes"):
        r = run_cli(*onboard_args(), extra)
        assert r.code == 2, r.out + r.err
        assert "function ReplicationFunction runs nodejs10.x" in r.err
        assert "Nothing was changed" in r.err
        assert "python onboard.py --adopt" in r.err
    assert stack_parameters("CrossAccountPrimary", "build") == before
    assert session("dev1").client("cloudformation").describe_stacks()["Stacks"] == []


def test_without_that_check_cloudformation_would_fail_and_roll_back(aws: Emulator) -> None:
    """Why the check: the emulator, as Lambda, refuses the function's update, and the stack rolls back."""
    seed.deploy_central()
    function_created_before_2021()
    cfn("build").update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": k, "UsePreviousValue": True}
            for k in (
                "RootAccountArns",
                "DeployReady",
                "PipelineBucketAccessRoleArns",
                "PipelineBucketStarArns",
                "PipelineCMKs",
            )
        ]
        + [{"ParameterKey": "ReplicationBucketList", "ParameterValue": DEV_BUCKET}],
        Capabilities=["CAPABILITY_NAMED_IAM"],
    )
    events = cfn("build").describe_stack_events(StackName="CrossAccountPrimary")["StackEvents"]
    assert events[0]["ResourceStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert any("nodejs10.x is no longer supported" in (e.get("ResourceStatusReason") or "") for e in events)


def build_args() -> list[str]:
    return onboard_args()[:6]


def everything_in(bucket: str, profile: str) -> dict[str, bytes]:
    s3 = session(profile).client("s3")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]
    return {k: s3.get_object(Bucket=bucket, Key=k)["Body"].read() for k in keys}


def test_adopt_dry_run_shows_the_move_with_nothing_replaced(aws: Emulator) -> None:
    seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    before = cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"]
    r = run_cli(*build_args(), "--adopt", "--dry-run", "--json")
    assert r.code == 0, r.out + r.err
    plan = json.loads(r.out)
    assert plan["dangers"] == []
    assert all(e["kept"] for e in plan["exports"])
    assert {e["name"] for e in plan["exports"]} == SEED_EXPORTS
    moves = {m["logical_id"]: m["action"] for m in plan["resources"]}
    assert moves["KMSKey"] == moves["BuildBucket"] == moves["PipelineBucket"] == "Modify"
    assert moves["ReplicationPolicy"] == "Remove"  # the seed's s3:* grant, replaced by narrower ones
    assert not any(m["danger"] for m in plan["resources"])
    text = run_cli(*build_args(), "--adopt", "--dry-run")
    assert "DANGER" not in text.out
    assert "dry run: nothing was changed" in text.out
    assert cfn("build").get_template(StackName="CrossAccountPrimary")["TemplateBody"] == before


def test_adopt_keeps_every_registration_object_key_and_export_and_replication_works(aws: Emulator) -> None:
    outputs = seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    build_s3 = session("build").client("s3")
    for bucket in (outputs["BuildBucket"], outputs["PipelineBucket"]):
        build_s3.put_object(Bucket=bucket, Key="service/app.zip", Body=b"built before the move")
    held = {b: everything_in(b, "build") for b in (outputs["BuildBucket"], outputs["PipelineBucket"])}
    params = stack_parameters("CrossAccountPrimary", "build")
    exported = exports("build")

    r = run_cli(*build_args(), "--adopt", "--yes")
    assert r.code == 0, r.out + r.err

    after = {k: v for k, v in stack_parameters("CrossAccountPrimary", "build").items() if k in params}
    assert after == params
    assert exports("build") == exported
    assert {b: everything_in(b, "build") for b in held} == held  # readable: the same key decrypts them
    key = session("build").client("kms").describe_key(KeyId=outputs["CMK"])["KeyMetadata"]
    assert key["KeyState"] == "Enabled"
    function = session("build").client("lambda").get_function_configuration(FunctionName="S3DataReplicator")
    assert function["Runtime"] == "python3.12"
    # This project's replicator now serves the registered developer, end to end.
    build_s3.put_object(Bucket=outputs["BuildBucket"], Key="service/next.zip", Body=b"built after the move")
    dev_s3 = session("dev1").client("s3")
    import time

    for _ in range(100):
        if "Contents" in dev_s3.list_objects_v2(Bucket=DEV_BUCKET, Prefix="service/next.zip"):
            break
        time.sleep(0.1)
    assert dev_s3.get_object(Bucket=DEV_BUCKET, Key="service/next.zip")["Body"].read() == b"built after the move"
    again = run_cli(*build_args(), "--adopt", "--dry-run")
    assert again.code == 0
    assert "already holds this project's template" in again.out


def test_an_adopted_stack_onboards_removes_and_reports_like_any_other(aws: Emulator) -> None:
    seed.deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert run_cli(*build_args(), "--adopt", "--yes").code == 0
    r = run_cli(*onboard_args("dev2", DEV2), "--yes")
    assert r.code == 0, r.out + r.err
    params = stack_parameters("CrossAccountPrimary", "build")
    assert params["ReplicationBucketList"] == f"{DEV_BUCKET},xacct-build-{DEV2}-{REGION}"
    for command in (["--status"], ["--verify", "--all"]):
        r = run_cli(*build_args(), *command)
        assert r.code == 0, r.out + r.err
    r = run_cli(*onboard_args("dev2", DEV2), "--verify")
    assert r.code == 0, r.out + r.err
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.out + r.err
    assert stack_parameters("CrossAccountPrimary", "build")["ReplicationBucketList"] == f"xacct-build-{DEV2}-{REGION}"


def test_onboarding_a_seed_developer_account_adopts_its_stacks_and_keeps_its_objects(aws: Emulator) -> None:
    central = seed.deploy_central()
    mine = seed.deploy_developer("dev1", DEV1, central)
    dev_s3 = session("dev1").client("s3")
    dev_s3.put_object(Bucket=mine["BuildBucket"], Key="mine/app.zip", Body=b"built in my fork")
    held = everything_in(mine["BuildBucket"], "dev1")
    plan = run_cli(*onboard_args(), "--dry-run", "--json")
    assert plan.code == 0, plan.out + plan.err
    steps = {s["name"]: s["action"] for s in json.loads(plan.out)["developer"]["stacks"]}
    assert steps == {"CrossAccountPrimary": "update", "CrossAccountDeploy": "none", "CrossAccountDeveloper": "update"}

    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.out + r.err
    after = stack_outputs("CrossAccountPrimary", "dev1")
    assert {k: after[k] for k in ("CMK", "BuildBucket", "PipelineBucket")} == {
        k: mine[k] for k in ("CMK", "BuildBucket", "PipelineBucket")
    }
    assert everything_in(mine["BuildBucket"], "dev1") == held
    params = stack_parameters("CrossAccountPrimary", "build")
    assert params["ReplicationBucketList"] == mine["BuildBucket"]  # registered once, by developer.sh
    deploy = cfn("dev1").describe_stack_resources(StackName="CrossAccountDeploy")["StackResources"]
    assert {r["LogicalResourceId"] for r in deploy} >= {
        "CrossAccountCodePipelineRole",
        "CrossAccountCloudFormationRole",
    }
    policy = json.loads(dev_s3.get_bucket_policy(Bucket=mine["BuildBucket"])["Policy"])
    assert central["ReplicationRoleArn"] in json.dumps(policy)
    r = run_cli(*onboard_args(), "--verify")
    assert r.code == 0, r.out + r.err


def test_removing_a_seed_developer_account_withdraws_its_trust(aws: Emulator) -> None:
    """A reader who registered with developer.sh and never onboarded with this tool: --remove takes
    the entry out, the seed's developer stack (the bucket policy admitting the central role) goes,
    and the key no longer admits the build account. The seed stacks keep their templates."""
    central = seed.deploy_central()
    mine = seed.deploy_developer("dev1", DEV1, central)
    template_before = cfn("dev1").get_template(StackName="CrossAccountPrimary")["TemplateBody"]
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.out + r.err
    params = stack_parameters("CrossAccountPrimary", "build")
    assert mine["BuildBucket"] not in params["ReplicationBucketList"]
    assert stack_parameters("CrossAccountPrimary", "dev1")["RootAccountArns"] == f"arn:aws:iam::{DEV1}:root"
    assert cfn("dev1").get_template(StackName="CrossAccountPrimary")["TemplateBody"] == template_before
    names = {s["StackName"] for s in cfn("dev1").describe_stacks()["Stacks"]}
    assert "CrossAccountDeveloper" not in names


def test_adopt_moves_only_the_seed_template(aws: Emulator) -> None:
    from tests.conftest import deploy_central as deploy_ours

    deploy_ours()
    r = run_cli(*build_args(), "--adopt", "--dry-run")
    assert r.code == 0, r.err
    assert "already holds this project's template" in r.out
    other = {
        "AWSTemplateFormatVersion": "2010-09-09",
        "Parameters": {
            p: {"Type": "String", "Default": "false" if p == "EnableReplication" else ""}
            for p in ("EnableReplication", "ReplicationBucketList", "ReplicationBucketStarArns", "ReplicationCMKs")
        },
        "Resources": {
            "P": {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/other/p", "Type": "String", "Value": "x"}}
        },
        "Outputs": {"ReplicationRoleArn": {"Value": f"arn:aws:iam::{BUILD}:role/someone"}},
    }
    cfn("build").create_stack(StackName="Other", TemplateBody=json.dumps(other))
    r = run_cli(*build_args(), "--central-stack", "Other", "--adopt", "--yes")
    assert r.code == 2
    assert "holds neither the seed project's template nor this project's" in r.err


def test_adopt_is_a_build_account_command(aws: Emulator) -> None:
    r = run_cli(*onboard_args(), "--adopt", "--dry-run")
    assert r.code == 2
    assert "--dev-profile has no effect here" in r.err
