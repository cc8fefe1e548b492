"""Every request authorized as AWS authorizes it, on the emulator (rules `authorized`, `key-policy`,
`assume-role-trust`, `conditions`, `lambda-execution-role`), and the product holding under it."""

from __future__ import annotations

import json
from typing import Any

import botocore.exceptions as bx
import pytest

from tests.conftest import BUILD, DEV1, DEV2, REGION, deploy_central, onboard_args, run_cli, session
from xacct.sandbox import identities
from xacct.sandbox.emulator import Emulator


def denied(call: Any, *args: Any, **kwargs: Any) -> str:
    with pytest.raises(bx.ClientError) as caught:
        call(*args, **kwargs)
    code = caught.value.response["Error"]["Code"]
    assert code in ("AccessDenied", "AccessDeniedException"), caught.value
    return str(caught.value)


def operator(aws: Emulator, name: str, account: str, statements: list[dict[str, Any]]) -> str:
    """A profile reaching a role that holds exactly these statements."""
    identities.role(account, name, {"Version": "2012-10-17", "Statement": statements})
    aws.add_profile(name, account, role=name)
    return name


def test_a_role_may_do_only_what_its_own_policies_allow(aws: Emulator) -> None:
    admin = session("build").client("ssm")
    admin.put_parameter(Name="/team/a", Value="1", Type="String")
    admin.put_parameter(Name="/other/b", Value="2", Type="String")
    reader = operator(
        aws,
        "ParamReader",
        BUILD,
        [
            {
                "Effect": "Allow",
                "Action": "ssm:GetParameter",
                "Resource": f"arn:aws:ssm:{REGION}:{BUILD}:parameter/team/*",
            }
        ],
    )
    ssm = session(reader).client("ssm")
    assert ssm.get_parameter(Name="/team/a")["Parameter"]["Value"] == "1"
    message = denied(ssm.get_parameter, Name="/other/b")
    assert "ssm:GetParameter" in message
    assert "parameter/other/b" in message
    denied(session(reader).client("s3").list_buckets)
    denied(session(reader).client("cloudformation").describe_stacks)
    assert session(reader).client("sts").get_caller_identity()["Account"] == BUILD  # always allowed


def key_policy(*accounts: str, actions: list[str] | None = None) -> str:
    statements = [
        {
            "Sid": "AccountAdministers",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:aws:iam::{DEV1}:root"},
            "Action": "kms:*",
            "Resource": "*",
        }
    ]
    if accounts:
        roots = [f"arn:aws:iam::{a}:root" for a in accounts]
        statements.append(
            {"Effect": "Allow", "Principal": {"AWS": roots}, "Action": actions or ["kms:*"], "Resource": "*"}
        )
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def test_a_key_admits_only_whom_its_policy_admits_including_for_what_s3_does_with_it(aws: Emulator) -> None:
    dev_kms, dev_s3 = session("dev1").client("kms"), session("dev1").client("s3")
    key = dev_kms.create_key(Policy=key_policy())["KeyMetadata"]["Arn"]
    build_kms, build_s3 = session("build").client("kms"), session("build").client("s3")
    denied(build_kms.encrypt, KeyId=key, Plaintext=b"x")  # an administrator elsewhere is nobody to this key
    bucket = f"kms-test-{DEV1}"
    dev_s3.create_bucket(Bucket=bucket)
    dev_s3.put_bucket_encryption(
        Bucket=bucket,
        ServerSideEncryptionConfiguration={
            "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms", "KMSMasterKeyID": key}}]
        },
    )
    grant = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{BUILD}:root"},
        "Action": ["s3:PutObject", "s3:GetObject"],
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    dev_s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({"Version": "2012-10-17", "Statement": [grant]}))
    message = denied(build_s3.put_object, Bucket=bucket, Key="a", Body=b"x")  # S3 asks KMS as the caller
    assert "kms:GenerateDataKey" in message
    dev_kms.put_key_policy(KeyId=key, PolicyName="default", Policy=key_policy(BUILD, actions=["kms:GenerateDataKey"]))
    build_s3.put_object(Bucket=bucket, Key="a", Body=b"x")
    assert "kms:Decrypt" in denied(build_s3.get_object, Bucket=bucket, Key="a")
    assert dev_s3.get_object(Bucket=bucket, Key="a")["Body"].read() == b"x"  # the owner reads it


def test_assume_role_needs_a_role_that_exists_and_trusts_the_caller(aws: Emulator) -> None:
    dev_sts = session("dev1").client("sts")
    denied(dev_sts.assume_role, RoleArn=f"arn:aws:iam::{BUILD}:role/Nobody", RoleSessionName="s1")
    iam = session("build").client("iam")

    def trust(principal: dict[str, str]) -> str:
        statement = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
        return json.dumps({"Version": "2012-10-17", "Statement": [statement]})

    lambda_only = iam.create_role(
        RoleName="LambdaOnly", AssumeRolePolicyDocument=trust({"Service": "lambda.amazonaws.com"})
    )
    denied(session("build").client("sts").assume_role, RoleArn=lambda_only["Role"]["Arn"], RoleSessionName="s1")
    for_dev1 = iam.create_role(RoleName="ForDev1", AssumeRolePolicyDocument=trust({"AWS": f"arn:aws:iam::{DEV1}:root"}))
    creds = dev_sts.assume_role(RoleArn=for_dev1["Role"]["Arn"], RoleSessionName="s1")["Credentials"]
    assert creds["AccessKeyId"]
    denied(session("dev2").client("sts").assume_role, RoleArn=for_dev1["Role"]["Arn"], RoleSessionName="s1")


def test_a_deny_the_emulator_cannot_evaluate_applies_and_the_tls_deny_keeps_its_conditions(aws: Emulator) -> None:
    s3 = session("build").client("s3")
    bucket = f"deny-test-{BUILD}"
    s3.create_bucket(Bucket=bucket)

    def policy(condition: dict[str, Any]) -> str:
        deny = {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"}
        return json.dumps({"Version": "2012-10-17", "Statement": [{**deny, "Condition": condition}]})

    s3.put_bucket_policy(Bucket=bucket, Policy=policy({"StringNotEquals": {"aws:SourceVpce": "vpce-1"}}))
    denied(s3.put_object, Bucket=bucket, Key="a", Body=b"x")
    tls_and_account = {"Bool": {"aws:SecureTransport": "true"}, "StringEquals": {"AWS:PrincipalAccount": BUILD}}
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(tls_and_account))
    denied(s3.put_object, Bucket=bucket, Key="a", Body=b"x")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy({"Bool": {"aws:SecureTransport": "false"}}))
    s3.put_object(Bucket=bucket, Key="a", Body=b"x")  # every request to AWS travels over TLS


# ---- the product under enforcement -------------------------------------------------------------


def test_verify_all_names_the_developer_whose_reader_role_is_gone(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0
    r = run_cli("--verify", "--all", "--build-profile", "build")
    assert r.code == 0, r.out + r.err
    iam = session("dev2").client("iam")
    role = f"xacct-verify-{BUILD}-{REGION}"
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    iam.delete_role(RoleName=role)
    r = run_cli("--verify", "--all", "--build-profile", "build", "--json")
    assert r.code == 3, r.err
    states = {d["account"]: d["state"] for d in json.loads(r.out)["developers"]}
    assert states == {DEV1: "healthy", DEV2: "unverifiable"}


def test_after_remove_no_key_of_the_developer_trusts_the_build_account(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    kms = session("dev1").client("kms")
    keys = [k["KeyArn"] for k in kms.list_keys()["Keys"]]
    assert any(BUILD in kms.get_key_policy(KeyId=k, PolicyName="default")["Policy"] for k in keys)
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.out + r.err
    for key in keys:
        assert BUILD not in kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"], key


def test_remove_completes_after_a_developer_resource_was_deleted_by_hand(aws: Emulator) -> None:
    """On AWS a stack delete that finds a resource gone completes (the handler answers NotFound)."""
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    iam = session("dev1").client("iam")
    role = f"xacct-verify-{BUILD}-{REGION}"
    for name in iam.list_role_policies(RoleName=role)["PolicyNames"]:
        iam.delete_role_policy(RoleName=role, PolicyName=name)
    iam.delete_role(RoleName=role)
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.out + r.err
    assert session("dev1").client("cloudformation").describe_stacks()["Stacks"] == [] or all(
        s["StackName"] != "CrossAccountDeveloper"
        for s in session("dev1").client("cloudformation").describe_stacks()["Stacks"]
    )


def test_no_value_in_a_statement_list_removes_that_statement(aws: Emulator) -> None:
    """As AWS does (Fn::If with AWS::NoValue), and as the seed project's templates rely on: moto left a
    null in the list and refused the managed policy as malformed."""
    allow = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*"}
    statements = [{"Fn::If": ["WithExtra", {**allow, "Action": "s3:PutObject"}, {"Ref": "AWS::NoValue"}]}, allow]
    template = {
        "Parameters": {"Extra": {"Type": "String", "Default": "no"}},
        "Conditions": {"WithExtra": {"Fn::Equals": [{"Ref": "Extra"}, "yes"]}},
        "Resources": {
            "Policy": {
                "Type": "AWS::IAM::ManagedPolicy",
                "Properties": {"PolicyDocument": {"Version": "2012-10-17", "Statement": statements}},
            }
        },
    }
    cfn = session("build").client("cloudformation")
    cfn.create_stack(StackName="NoValue", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    assert cfn.describe_stacks(StackName="NoValue")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    arn = cfn.describe_stack_resources(StackName="NoValue")["StackResources"][0]["PhysicalResourceId"]
    iam = session("build").client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    document: Any = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]
    assert [s["Action"] for s in document["Statement"]] == ["s3:GetObject"]
