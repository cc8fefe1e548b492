"""The emulator refuses what AWS refuses: one test per rule of xacct/sandbox/strict.py (each fails
when its rule is removed), and stack operations that fail and roll back as on AWS."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import botocore.exceptions as bx
import pytest

from tests.conftest import BUILD, CFN, DEV1, DEV2, REGION, ROOT, cfn, session, temporary
from xacct.sandbox import rules
from xacct.sandbox.iam import policies as strict_policies

if TYPE_CHECKING:
    from mypy_boto3_s3.type_defs import CopySourceTypeDef
from xacct.sandbox.emulator import Emulator


def create(name: str, resources: dict, profile: str = "dev1", **extra: object) -> str:  # type: ignore[type-arg]
    """Create a stack from a small template; its final status."""
    body = json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources, **extra})
    client = cfn(profile)
    client.create_stack(StackName=name, TemplateBody=body, Capabilities=["CAPABILITY_NAMED_IAM"])
    return str(client.describe_stacks(StackName=name)["Stacks"][0]["StackStatus"])


def failure_reason(name: str, profile: str = "dev1") -> str:
    """The failed resource's reason, as CloudFormation reports it (its newest *_FAILED event)."""
    events = cfn(profile).describe_stack_events(StackName=name)["StackEvents"]
    return next(
        str(e["ResourceStatusReason"])
        for e in events
        if e["ResourceStatus"].endswith("_FAILED") and e["LogicalResourceId"] != name
    )


def bucket(name: str, **props: object) -> dict:  # type: ignore[type-arg]
    return {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name, **props}}


def role_policy(principal: str, resource: str = "*") -> dict:  # type: ignore[type-arg]
    return {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "s3:GetObject", "Resource": resource}
        ],
    }


def test_a_second_bucket_policy_for_a_bucket_fails_already_exists(aws: Emulator) -> None:
    first = {"Version": "2012-10-17", "Statement": [{"Sid": "First", "Effect": "Deny", "Principal": "*",
             "Action": "s3:DeleteBucket", "Resource": "arn:aws:s3:::strict-owned-bucket"}]}  # fmt: skip
    status = create("Owner", {"B": bucket("strict-owned-bucket"), "P": {"Type": "AWS::S3::BucketPolicy",
                    "Properties": {"Bucket": {"Ref": "B"}, "PolicyDocument": first}}})  # fmt: skip
    assert status == "CREATE_COMPLETE"
    second = json.loads(json.dumps(first).replace('"First"', '"Second"'))
    status = create("Intruder", {"P": {"Type": "AWS::S3::BucketPolicy",
                    "Properties": {"Bucket": "strict-owned-bucket", "PolicyDocument": second}}})  # fmt: skip
    assert status == "ROLLBACK_COMPLETE"
    assert '"Bucket Policy Already Exists"' in failure_reason("Intruder")
    assert "HandlerErrorCode: AlreadyExists" in failure_reason("Intruder")
    kept = json.loads(session("dev1").client("s3").get_bucket_policy(Bucket="strict-owned-bucket")["Policy"])
    assert kept["Statement"][0]["Sid"] == "First"


def _function(**props: object) -> dict:  # type: ignore[type-arg]
    return {
        "R": {
            "Type": "AWS::IAM::Role",
            "Properties": {
                "AssumeRolePolicyDocument": {
                    "Version": "2012-10-17",
                    "Statement": [
                        {
                            "Effect": "Allow",
                            "Principal": {"Service": "lambda.amazonaws.com"},
                            "Action": "sts:AssumeRole",
                        }
                    ],
                }
            },
        },
        "F": {
            "Type": "AWS::Lambda::Function",
            "Properties": {
                "Runtime": "python3.12",
                "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["R", "Arn"]},
                "Code": {"ZipFile": "def handler(e, c):\n    return 1\n"},
                **props,
            },
        },
    }


def test_reserved_concurrency_fails_in_a_new_account(aws: Emulator) -> None:
    assert create("Reserving", _function(ReservedConcurrentExecutions=1)) == "ROLLBACK_COMPLETE"
    assert "below its minimum value of [10]" in failure_reason("Reserving")
    assert create("Plain", _function(FunctionName="strict-plain")) == "CREATE_COMPLETE"
    with pytest.raises(bx.ClientError, match="below its minimum value"):
        session("dev1").client("lambda").put_function_concurrency(
            FunctionName="strict-plain", ReservedConcurrentExecutions=1
        )


def test_policies_may_name_only_principals_that_exist(aws: Emulator) -> None:
    ghost = f"arn:aws:iam::{BUILD}:role/does-not-exist"
    key_policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost},
                  "Action": "kms:Decrypt", "Resource": "*"}]}  # fmt: skip
    assert create("GhostKey", {"K": {"Type": "AWS::KMS::Key", "Properties": {"KeyPolicy": key_policy}}}) == (
        "ROLLBACK_COMPLETE"
    )
    assert "one or more invalid principals" in failure_reason("GhostKey")
    s3 = session("dev1").client("s3")
    s3.create_bucket(Bucket="strict-principal-bucket")
    with pytest.raises(bx.ClientError, match="Invalid principal in policy"):
        s3.put_bucket_policy(Bucket="strict-principal-bucket", Policy=json.dumps(role_policy(ghost)))
    with pytest.raises(bx.ClientError, match="Invalid principal in policy"):
        session("dev1").client("iam").create_role(RoleName="trusting", AssumeRolePolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": ghost},
             "Action": "sts:AssumeRole"}]}))  # fmt: skip
    # An account root always exists; a role that exists is fine too.
    s3.put_bucket_policy(Bucket="strict-principal-bucket", Policy=json.dumps(role_policy(f"arn:aws:iam::{BUILD}:root")))
    session("build").client("iam").create_role(RoleName="does-not-exist", AssumeRolePolicyDocument="{}")
    s3.put_bucket_policy(Bucket="strict-principal-bucket", Policy=json.dumps(role_policy(ghost)))


def test_template_versioning_is_applied(aws: Emulator) -> None:
    create("Versioned", {"B": bucket("strict-versioned", VersioningConfiguration={"Status": "Enabled"})})
    assert session("dev1").client("s3").get_bucket_versioning(Bucket="strict-versioned")["Status"] == "Enabled"


def test_a_stack_with_a_non_empty_bucket_fails_to_delete(aws: Emulator) -> None:
    create("Holding", {"B": bucket("strict-holding")})
    s3 = session("dev1").client("s3")
    s3.put_object(Bucket="strict-holding", Key="artifact.zip", Body=b"x")
    cfn("dev1").delete_stack(StackName="Holding")
    assert cfn("dev1").describe_stacks(StackName="Holding")["Stacks"][0]["StackStatus"] == "DELETE_FAILED"
    assert "not empty" in failure_reason("Holding")
    assert s3.head_bucket(Bucket="strict-holding")
    s3.delete_object(Bucket="strict-holding", Key="artifact.zip")
    cfn("dev1").delete_stack(StackName="Holding")
    with pytest.raises(bx.ClientError):
        s3.head_bucket(Bucket="strict-holding")


def test_an_imported_export_blocks_deleting_its_stack(aws: Emulator) -> None:
    param = {"Type": "AWS::SSM::Parameter", "Properties": {"Name": "/strict/exported", "Type": "String", "Value": "v"}}
    create("Exporter", {"P": param}, Outputs={"O": {"Value": {"Ref": "P"}, "Export": {"Name": "StrictExport"}}})
    imported = {"Name": "/strict/imported", "Type": "String", "Value": {"Fn::ImportValue": "StrictExport"}}
    create("Importer", {"P": {**param, "Properties": imported}})
    client = cfn("dev1")
    assert client.list_imports(ExportName="StrictExport")["Imports"] == ["Importer"]
    client.delete_stack(StackName="Exporter")
    state = client.describe_stacks(StackName="Exporter")["Stacks"][0]
    assert state["StackStatus"] == "DELETE_FAILED"
    events = client.describe_stack_events(StackName="Exporter")["StackEvents"]
    assert any("Export StrictExport cannot be deleted as it is in use by Importer" in (e.get("ResourceStatusReason") or "")
               for e in events)  # fmt: skip
    client.delete_stack(StackName="Importer")
    with pytest.raises(bx.ClientError, match="is not imported by any stack"):
        client.list_imports(ExportName="StrictExport")
    client.delete_stack(StackName="Exporter")
    assert not [s for s in client.describe_stacks()["Stacks"] if s["StackName"] == "Exporter"]


def test_function_names_over_64_characters_fail(aws: Emulator) -> None:
    assert create("LongName", _function(FunctionName="f" * 65)) == "ROLLBACK_COMPLETE"
    assert "at 'functionName' failed to satisfy constraint" in failure_reason("LongName")
    # A generated name stays within the limit, whatever the stack's name (as CloudFormation's does).
    long_stack = "S" + "x" * 127
    assert create(long_stack, _function()) == "CREATE_COMPLETE"
    physical = cfn("dev1").describe_stack_resource(StackName=long_stack, LogicalResourceId="F")
    assert len(physical["StackResourceDetail"]["PhysicalResourceId"]) <= 64


def test_deprecated_runtimes_refuse_create_and_update_but_not_the_way_off(aws: Emulator) -> None:
    assert create("Old", _function(Runtime="nodejs10.x", Handler="index.handler")) == "ROLLBACK_COMPLETE"
    assert "The runtime parameter of nodejs10.x is no longer supported" in failure_reason("Old")
    # A function created before Lambda stopped creating them (2021), standing for one here.
    assert create("Kept", _function()) == "CREATE_COMPLETE"
    from tests.conftest import moto_stack

    moto_stack(DEV1, "Kept").resource_map["F"].run_time = "nodejs10.x"
    name = cfn("dev1").describe_stack_resource(StackName="Kept", LogicalResourceId="F")["StackResourceDetail"][
        "PhysicalResourceId"
    ]
    lam = session("dev1").client("lambda")
    with pytest.raises(bx.ClientError, match=r"nodejs10\.x is no longer supported"):
        lam.update_function_configuration(FunctionName=name, Runtime="nodejs10.x", Timeout=9)
    with pytest.raises(bx.ClientError, match=r"nodejs10\.x is no longer supported"):
        lam.update_function_code(FunctionName=name, ZipFile=b"PK\x05\x06" + b"\x00" * 18)
    lam.update_function_configuration(FunctionName=name, Timeout=9)  # names no runtime: accepted
    lam.update_function_configuration(FunctionName=name, Runtime="python3.12")  # the way off
    assert lam.get_function_configuration(FunctionName=name)["Runtime"] == "python3.12"


def test_a_bucket_with_acls_disabled_takes_only_the_bucket_owner_full_control_acl(aws: Emulator) -> None:
    s3 = session("dev1").client("s3")
    s3.create_bucket(Bucket="acls-default")  # bucket owner enforced: the default for new buckets
    s3.put_object(Bucket="acls-default", Key="a", Body=b"1")
    s3.put_object(Bucket="acls-default", Key="b", Body=b"1", ACL="bucket-owner-full-control")
    with pytest.raises(bx.ClientError, match="AccessControlListNotSupported"):
        s3.put_object(Bucket="acls-default", Key="c", Body=b"1", ACL="public-read")
    everyone = 'uri="http://acs.amazonaws.com/groups/global/AllUsers"'
    with pytest.raises(bx.ClientError, match="AccessControlListNotSupported"):
        s3.put_object(Bucket="acls-default", Key="d", Body=b"1", GrantRead=everyone)
    with pytest.raises(bx.ClientError, match="AccessControlListNotSupported"):
        s3.put_object_acl(Bucket="acls-default", Key="a", ACL="public-read")
    s3.create_bucket(Bucket="acls-on", ObjectOwnership="ObjectWriter")
    s3.put_object(Bucket="acls-on", Key="c", Body=b"1", ACL="public-read")  # ACLs enabled: accepted


def test_policy_documents_over_their_quota_are_refused(aws: Emulator) -> None:
    iam = session("dev1").client("iam")
    resources = [f"arn:aws:s3:::bucket-{n:04d}/*" for n in range(250)]
    big = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": resources}]}
    assert strict_policies.policy_characters(big) > strict_policies.MANAGED_POLICY_CHARACTERS
    with pytest.raises(bx.ClientError, match="LimitExceeded"):
        iam.create_policy(PolicyName="big", PolicyDocument=json.dumps(big))
    iam.create_role(RoleName="inline", AssumeRolePolicyDocument="{}")
    half = {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": resources[:180]}],
    }
    iam.put_role_policy(RoleName="inline", PolicyName="one", PolicyDocument=json.dumps(half))
    with pytest.raises(bx.ClientError, match="LimitExceeded"):
        iam.put_role_policy(RoleName="inline", PolicyName="two", PolicyDocument=json.dumps(half))


def test_ssm_values_are_held_to_their_tier(aws: Emulator) -> None:
    ssm = session("dev1").client("ssm")
    with pytest.raises(bx.ClientError, match="maximum parameter value of 4096"):
        ssm.put_parameter(Name="/strict/standard", Value="x" * 4097, Type="String")
    ssm.put_parameter(Name="/strict/tiered", Value="x" * 5000, Type="String", Tier="Intelligent-Tiering")
    with pytest.raises(bx.ClientError, match="maximum parameter value of 8192"):
        ssm.put_parameter(Name="/strict/advanced", Value="x" * 8193, Type="String", Tier="Advanced")


def test_templates_and_parameters_over_their_quota_are_refused(aws: Emulator) -> None:
    client = cfn("dev1")
    padding = {"Description": "x" * 1000}
    huge = {"Resources": {f"P{n}": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String", "Value": "v",
            **padding}} for n in range(60)}}  # fmt: skip
    with pytest.raises(bx.ClientError, match="less than or equal to 51200"):
        client.create_stack(StackName="Huge", TemplateBody=json.dumps(huge))
    small = {"Parameters": {"V": {"Type": "String"}},
             "Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {"Type": "String",
                           "Value": {"Ref": "V"}, "Tier": "Advanced"}}}}  # fmt: skip
    with pytest.raises(bx.ClientError, match="at most 4096 bytes"):
        client.create_stack(StackName="Wide", TemplateBody=json.dumps(small),
                            Parameters=[{"ParameterKey": "V", "ParameterValue": "x" * 4097}])  # fmt: skip
    client.create_stack(StackName="Wide", TemplateBody=json.dumps(small),
                        Parameters=[{"ParameterKey": "V", "ParameterValue": "x" * 4096}])  # fmt: skip


def _grant(bucket: str, principal: str, actions: list[str], condition: dict | None = None) -> str:  # type: ignore[type-arg]
    statement = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions,
                 "Resource": f"arn:aws:s3:::{bucket}/*", **({"Condition": condition} if condition else {})}  # fmt: skip
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


def test_expected_bucket_owner_is_enforced(aws: Emulator) -> None:
    dev, build = session("dev1").client("s3"), session("build").client("s3")
    dev.create_bucket(Bucket="strict-owned-by-dev1")
    dev.put_bucket_policy(
        Bucket="strict-owned-by-dev1",
        Policy=_grant("strict-owned-by-dev1", f"arn:aws:iam::{BUILD}:root", ["s3:PutObject"]),
    )
    build.create_bucket(Bucket="strict-source")
    build.put_object(Bucket="strict-source", Key="a.zip", Body=b"x")
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        build.put_object(Bucket="strict-owned-by-dev1", Key="a.zip", Body=b"x", ExpectedBucketOwner=DEV2)
    source: CopySourceTypeDef = {"Bucket": "strict-source", "Key": "a.zip"}
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        build.copy_object(Bucket="strict-owned-by-dev1", Key="a.zip", CopySource=source,
                          ExpectedBucketOwner=DEV1, ExpectedSourceBucketOwner=DEV2)  # fmt: skip
    build.copy_object(Bucket="strict-owned-by-dev1", Key="a.zip", CopySource=source,
                      ExpectedBucketOwner=DEV1, ExpectedSourceBucketOwner=BUILD)  # fmt: skip


def test_another_accounts_objects_need_both_its_bucket_policy_and_our_own(aws: Emulator) -> None:
    dev, build = session("dev1").client("s3"), session("build").client("s3")
    dev.create_bucket(Bucket="strict-guarded")
    with pytest.raises(bx.ClientError, match="AccessDenied"):  # no bucket policy at all
        build.put_object(Bucket="strict-guarded", Key="a.zip", Body=b"x")
    # Granted through the account root, to one role only (aws:PrincipalArn).
    iam = session("build").client("iam")
    trust = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS":
                        f"arn:aws:iam::{BUILD}:root"}, "Action": "sts:AssumeRole"}]})  # fmt: skip
    writer = iam.create_role(RoleName="writer", AssumeRolePolicyDocument=trust)["Role"]["Arn"]
    dev.put_bucket_policy(
        Bucket="strict-guarded",
        Policy=_grant(
            "strict-guarded",
            f"arn:aws:iam::{BUILD}:root",
            ["s3:PutObject"],
            {"ArnEquals": {"aws:PrincipalArn": writer}},
        ),
    )
    with pytest.raises(bx.ClientError, match="AccessDenied"):  # the profile's role is not the one named
        build.put_object(Bucket="strict-guarded", Key="a.zip", Body=b"x")
    creds = session("build").client("sts").assume_role(RoleArn=writer, RoleSessionName="writer-test")["Credentials"]
    as_writer = session(None, temporary(creds)).client("s3")
    with pytest.raises(bx.ClientError, match="AccessDenied"):  # its own policies grant nothing yet
        as_writer.put_object(Bucket="strict-guarded", Key="a.zip", Body=b"x")
    iam.put_role_policy(RoleName="writer", PolicyName="w", PolicyDocument=json.dumps({"Version": "2012-10-17",
                        "Statement": [{"Effect": "Allow", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::strict-guarded/*"}]}))  # fmt: skip
    as_writer.put_object(Bucket="strict-guarded", Key="a.zip", Body=b"x")
    with pytest.raises(bx.ClientError, match="AccessDenied"):  # reading was never granted
        as_writer.get_object(Bucket="strict-guarded", Key="a.zip")


def test_a_notification_needs_the_functions_permission(aws: Emulator) -> None:
    resources = {**_function(FunctionName="strict-notified"), "B": {**bucket("strict-notifying",
                 NotificationConfiguration={"LambdaConfigurations": [{"Event": "s3:ObjectCreated:*",
                 "Function": {"Fn::GetAtt": ["F", "Arn"]}}]})}}  # fmt: skip
    assert create("NoPermission", resources) == "ROLLBACK_COMPLETE"
    assert "Unable to validate the following destination configurations" in failure_reason("NoPermission")
    resources["P"] = {"Type": "AWS::Lambda::Permission", "Properties": {"Action": "lambda:InvokeFunction",
                      "FunctionName": {"Fn::GetAtt": ["F", "Arn"]}, "Principal": "s3.amazonaws.com"}}  # fmt: skip
    resources["B"]["DependsOn"] = "P"
    assert create("WithPermission", resources) == "CREATE_COMPLETE", failure_reason("WithPermission")
    config = session("dev1").client("s3").get_bucket_notification_configuration(Bucket="strict-notifying")
    assert config["LambdaFunctionConfigurations"][0]["Events"] == ["s3:ObjectCreated:*"]


def test_a_request_is_carried_out_once_and_its_retry_gets_the_first_answer(aws: Emulator) -> None:
    client = cfn("dev1")
    body = json.dumps({"Resources": {"P": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": "/strict/once", "Type": "String", "Value": "v"}}}})  # fmt: skip
    first = client.create_stack(StackName="Once", TemplateBody=body, ClientRequestToken="token-1")
    again = client.create_stack(StackName="Once", TemplateBody=body, ClientRequestToken="token-1")
    assert again["StackId"] == first["StackId"]
    with pytest.raises(bx.ClientError, match="AlreadyExists"):
        client.create_stack(StackName="Once", TemplateBody=body)
    changed = body.replace('"v"', '"w"')
    created = client.create_change_set(StackName="Once", ChangeSetName="c1", TemplateBody=changed, ClientToken="t2")
    with pytest.raises(bx.ClientError, match="AlreadyExists"):
        client.create_change_set(StackName="Once", ChangeSetName="c1", TemplateBody=changed)
    client.execute_change_set(ChangeSetName=created["Id"], ClientRequestToken="token-3")
    client.execute_change_set(ChangeSetName=created["Id"], ClientRequestToken="token-3")  # the retry
    with pytest.raises(bx.ClientError, match="InvalidChangeSetStatus"):
        client.execute_change_set(ChangeSetName=created["Id"])


# ---- operations that fail as on AWS -------------------------------------------------------------


def test_a_failed_update_rolls_back_to_the_previous_parameters(aws: Emulator) -> None:
    template = {"Parameters": {"Reserve": {"Type": "String", "Default": "none"}},
                "Conditions": {"Reserving": {"Fn::Not": [{"Fn::Equals": [{"Ref": "Reserve"}, "none"]}]}},
                "Resources": _function(ReservedConcurrentExecutions={"Fn::If": ["Reserving", 1,
                                       {"Ref": "AWS::NoValue"}]}, Description={"Ref": "Reserve"})}  # fmt: skip
    client = cfn("dev1")
    client.create_stack(StackName="Rolling", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"])
    client.update_stack(StackName="Rolling", TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM"],
                        Parameters=[{"ParameterKey": "Reserve", "ParameterValue": "1"}])  # fmt: skip
    state = client.describe_stacks(StackName="Rolling")["Stacks"][0]
    assert state["StackStatus"] == "UPDATE_ROLLBACK_COMPLETE"
    assert {p["ParameterKey"]: p["ParameterValue"] for p in state["Parameters"]} == {"Reserve": "none"}
    assert "UPDATE_FAILED" in [
        e["ResourceStatus"] for e in client.describe_stack_events(StackName="Rolling")["StackEvents"]
    ]


def test_retain_except_on_create_keeps_on_delete_and_cleans_up_a_failed_create(aws: Emulator) -> None:
    s3 = session("dev1").client("s3")
    kept = {**bucket("strict-kept"), "DeletionPolicy": "RetainExceptOnCreate"}
    assert create("Keeper", {"B": kept}) == "CREATE_COMPLETE"
    cfn("dev1").delete_stack(StackName="Keeper")
    assert s3.head_bucket(Bucket="strict-kept")  # retained when its stack goes
    failing = {"B": {**bucket("strict-rolled-back"), "DeletionPolicy": "RetainExceptOnCreate"},
               **_function(ReservedConcurrentExecutions=1)}  # fmt: skip
    failing["F"]["DependsOn"] = "B"
    assert create("Failing", failing) == "ROLLBACK_COMPLETE"
    with pytest.raises(bx.ClientError):
        s3.head_bucket(Bucket="strict-rolled-back")  # deleted by the rollback of the create


def test_deleting_a_stack_detaches_and_deletes_its_managed_policy_and_then_the_role(aws: Emulator) -> None:
    """CloudFormation's AWS::IAM::ManagedPolicy handler detaches the policy before deleting it, so the
    stack's role can go too; IAM itself refuses both while the policy is attached."""
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    resources = {
        "R": {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": trust}},
        "P": {"Type": "AWS::IAM::ManagedPolicy", "Properties": {"Roles": [{"Ref": "R"}], "PolicyDocument": document}},
    }  # fmt: skip
    assert create("Attached", resources) == "CREATE_COMPLETE"
    iam = session("dev1").client("iam")
    role = next(r["RoleName"] for r in iam.list_roles()["Roles"] if r["RoleName"].startswith("Attached"))
    [policy] = iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
    with pytest.raises(bx.ClientError, match="DeleteConflict"):
        iam.delete_role(RoleName=role)  # IAM's own refusal stays
    cfn("dev1").delete_stack(StackName="Attached")
    assert not [s for s in cfn("dev1").list_stacks()["StackSummaries"]
                if s["StackName"] == "Attached" and s["StackStatus"] != "DELETE_COMPLETE"]  # fmt: skip
    with pytest.raises(bx.ClientError, match="NoSuchEntity"):
        iam.get_policy(PolicyArn=policy["PolicyArn"])
    with pytest.raises(bx.ClientError, match="NoSuchEntity"):
        iam.get_role(RoleName=role)


def test_stack_resources_are_named_by_logical_id_and_type(aws: Emulator) -> None:
    """What the removal preview lists: every resource of the stack, by name and type; a conditional
    one when its condition holds (a developer registered), none whose condition is false."""
    from tests.conftest import deploy_central, fake_entry
    from xacct.core.state import _template_section

    deploy_central([fake_entry(1)], profile="dev1")
    summaries = cfn("dev1").list_stack_resources(StackName="CrossAccountPrimary")["StackResourceSummaries"]
    listed = {(r["LogicalResourceId"], r["ResourceType"]) for r in summaries}
    declared = _template_section((CFN / "CrossAccountPrimary.yaml").read_text(), "Resources")
    unconditional = {(name, r["Type"]) for name, r in declared.items() if "Condition" not in r}
    assert unconditional <= listed
    assert ("ReplicationWriteBuckets", "AWS::IAM::ManagedPolicy") in listed
    assert ("PipelineOtherRegionsPolicy", "AWS::IAM::ManagedPolicy") not in listed  # no other regions given
    assert all(name and rtype for name, rtype in listed)


def test_deleting_a_change_set_that_is_gone_succeeds(aws: Emulator) -> None:
    client = cfn("dev1")
    body = json.dumps({"Resources": {"B": bucket("strict-change-set")}})
    created = client.create_change_set(
        StackName="Gone", ChangeSetName="once", ChangeSetType="CREATE", TemplateBody=body
    )
    client.delete_change_set(ChangeSetName=created["Id"])
    client.delete_change_set(ChangeSetName=created["Id"])  # AWS answers 200: nothing to delete
    assert client.list_change_sets(StackName="Gone")["Summaries"] == []


def test_the_development_guide_lists_every_rule_with_its_source() -> None:
    readme = (ROOT / "docs" / "development.md").read_text()
    section = readme.split("## What the emulator enforces", 1)[1].split("\n## ", 1)[0]
    for name, rule in rules.RULES.items():
        row = next((line for line in section.splitlines() if line.startswith(f"| `{name}` |")), None)
        assert row is not None, f"docs/development.md has no row for the rule {name}"
        assert rule.source.split(";")[0].split(",")[0] in row, name
        assert all(where in row for where in rule.where), (name, rule.where)


def test_conditional_writes_hold_on_put_copy_and_complete(aws: Emulator) -> None:
    """S3 API reference, PutObject/CopyObject/CompleteMultipartUpload: If-None-Match: * and If-Match."""
    s3 = session("dev1").client("s3")
    s3.create_bucket(Bucket="conditions")
    s3.put_object(Bucket="conditions", Key="src", Body=b"source")
    first = s3.put_object(Bucket="conditions", Key="k", Body=b"1", IfNoneMatch="*")
    with pytest.raises(bx.ClientError, match="PreconditionFailed"):
        s3.put_object(Bucket="conditions", Key="k", Body=b"2", IfNoneMatch="*")
    with pytest.raises(bx.ClientError, match="PreconditionFailed"):
        s3.copy_object(Bucket="conditions", Key="k", CopySource={"Bucket": "conditions", "Key": "src"}, IfNoneMatch="*")
    with pytest.raises(bx.ClientError, match="PreconditionFailed"):
        s3.copy_object(Bucket="conditions", Key="k", CopySource={"Bucket": "conditions", "Key": "src"}, IfMatch='"0"')
    with pytest.raises(bx.ClientError, match="NoSuchKey"):
        s3.copy_object(
            Bucket="conditions", Key="absent", CopySource={"Bucket": "conditions", "Key": "src"}, IfMatch=first["ETag"]
        )
    s3.copy_object(
        Bucket="conditions", Key="k", CopySource={"Bucket": "conditions", "Key": "src"}, IfMatch=first["ETag"]
    )
    assert s3.get_object(Bucket="conditions", Key="k")["Body"].read() == b"source"
    upload = s3.create_multipart_upload(Bucket="conditions", Key="k")["UploadId"]
    part = s3.upload_part(Bucket="conditions", Key="k", UploadId=upload, PartNumber=1, Body=b"x")
    with pytest.raises(bx.ClientError, match="PreconditionFailed"):
        s3.complete_multipart_upload(
            Bucket="conditions", Key="k", UploadId=upload,
            MultipartUpload={"Parts": [{"ETag": part["ETag"], "PartNumber": 1}]}, IfNoneMatch="*",
        )  # fmt: skip


def test_of_racing_conditional_writes_exactly_one_succeeds(aws: Emulator) -> None:
    from concurrent.futures import ThreadPoolExecutor

    s3 = session("dev1").client("s3")
    s3.create_bucket(Bucket="racing")

    def write(n: int) -> bool:
        try:
            session("dev1").client("s3").put_object(Bucket="racing", Key="k", Body=str(n).encode(), IfNoneMatch="*")
        except bx.ClientError:
            return False
        return True

    with ThreadPoolExecutor(8) as pool:
        assert sum(pool.map(write, range(8))) == 1


def test_an_accounts_stacks_and_roles_can_be_walked_while_another_request_adds_one(aws: Emulator) -> None:
    """moto walks an account's stacks in Python loops while other threads' requests add theirs; a plain
    dict raises "dictionary changed size during iteration" (a 500 AWS never answers). The same happens
    here in one thread, deterministically."""
    from xacct.sandbox.cloudformation._moto import cloudformation_backends
    from xacct.sandbox.threads import Held

    cfn("dev1").describe_stacks()  # the account's backend, as the emulator made it
    stacks = cloudformation_backends[DEV1][REGION].stacks
    assert isinstance(stacks, Held)
    stacks["first"] = "a stack"
    for key in stacks:
        stacks[f"{key}-after"] = "another, added meanwhile"
    for value in stacks.values():
        stacks["last"] = value
    assert list(stacks) == ["first", "first-after", "last"]
    stacks.clear()
    from xacct.sandbox.iam._moto import iam_backends

    assert isinstance(iam_backends[DEV1]["aws"].roles, Held)  # CreateRole walks them for the same name
