"""CloudFormation's answers: quotas on a request, requests carried out once, exports held while they
are imported, and what its resource handlers refuse. Each case quotes the AWS sentence it checks."""

from __future__ import annotations

import json
import time
from typing import Any

import botocore.exceptions as bx
import pytest

from conformance import make
from conformance.conftest import World, error_code, eventually

HANDLE = {"Type": "AWS::CloudFormation::WaitConditionHandle"}  # a resource that costs and does nothing


def exporter(name: str, value: str = "one") -> dict[str, Any]:
    """A stack exporting `name`, whose value is a parameter."""
    return {
        "Parameters": {"V": {"Type": "String", "Default": value}},
        "Resources": {"H": HANDLE},
        "Outputs": {"Out": {"Value": {"Ref": "V"}, "Export": {"Name": name}}},
    }


def importer(name: str) -> dict[str, Any]:
    return {"Resources": {"H": HANDLE}, "Outputs": {"Got": {"Value": {"Fn::ImportValue": name}}}}


def exported(cfn: Any, name: str) -> str | None:
    found = [e for page in cfn.get_paginator("list_exports").paginate() for e in page["Exports"] if e["Name"] == name]
    return str(found[0]["Value"]) if found else None


@pytest.mark.rule("export-in-use")
def test_an_imported_export_blocks_deleting_its_stack(world: World) -> None:
    """CloudFormation user guide, "Exporting stack output values": "You can't delete a stack if another
    stack references one of its outputs." The stack ends DELETE_FAILED and keeps the export."""
    cfn = world.a.client("cloudformation")
    export = world.name("export")
    source, status = make.stack(world, world.a, exporter(export))
    assert status == "CREATE_COMPLETE"
    user, status = make.stack(world, world.a, importer(export))
    assert status == "CREATE_COMPLETE"
    assert cfn.list_imports(ExportName=export)["Imports"] == [user]
    cfn.delete_stack(StackName=source)
    assert make.settled(cfn, source) == "DELETE_FAILED"
    assert f"Export {export} cannot be deleted as it is in use by {user}" in make.failure_reasons(cfn, source)
    assert exported(cfn, export) == "one"


@pytest.mark.rule("export-update")
def test_an_update_may_not_change_or_remove_an_imported_export(world: World) -> None:
    """CloudFormation user guide, "Exporting stack output values": "You can't modify or remove an output
    value that is referenced by another stack." The update fails and rolls back, naming the importer
    ("Export NAME cannot be updated as it is in use by STACK"); the export keeps its value."""
    cfn = world.a.client("cloudformation")
    export = world.name("export")
    source, _ = make.stack(world, world.a, exporter(export))
    user, _ = make.stack(world, world.a, importer(export))
    cfn.update_stack(StackName=source, TemplateBody=json.dumps(exporter(export, "two")))
    assert make.settled(cfn, source) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"Export {export} cannot be updated as it is in use by {user}" in make.failure_reasons(cfn, source)
    assert exported(cfn, export) == "one"
    without = {"Parameters": {"V": {"Type": "String", "Default": "one"}}, "Resources": {"H": HANDLE}}
    cfn.update_stack(StackName=source, TemplateBody=json.dumps(without))
    assert make.settled(cfn, source) == "UPDATE_ROLLBACK_COMPLETE"
    assert f"Export {export} cannot be deleted as it is in use by {user}" in make.failure_reasons(cfn, source)
    assert exported(cfn, export) == "one"
    # An export nobody imports may change.
    make.delete_stack(cfn, user)
    cfn.update_stack(StackName=source, TemplateBody=json.dumps(exporter(export, "two")))
    assert make.settled(cfn, source) == "UPDATE_COMPLETE"
    assert exported(cfn, export) == "two"


@pytest.mark.rule("template-size")
def test_a_template_body_over_51200_bytes_is_refused(world: World) -> None:
    """CloudFormation user guide, "CloudFormation quotas": "Template body size in a request: 51,200
    bytes. To use a larger template body, separate your template into multiple templates by using,
    for example, nested stacks. Or upload the template to an Amazon S3 bucket." """
    cfn = world.a.client("cloudformation")
    padded = {"Resources": {f"H{n}": {**HANDLE, "Metadata": {"pad": "x" * 1000}} for n in range(60)}}
    body = json.dumps(padded)
    assert len(body.encode()) > 51_200
    assert error_code(lambda: cfn.create_stack(StackName=world.name("huge"), TemplateBody=body)) == "ValidationError"


@pytest.mark.rule("parameter-size")
def test_a_parameter_value_over_4096_bytes_is_refused(world: World) -> None:
    """CloudFormation user guide, "CloudFormation quotas": "Parameter value size: 4,096 bytes" ("The
    maximum size of a parameter value")."""
    cfn = world.a.client("cloudformation")
    template = json.dumps({"Parameters": {"V": {"Type": "String"}}, "Resources": {"H": HANDLE}})
    name = world.name("wide")
    over = [{"ParameterKey": "V", "ParameterValue": "x" * 4097}]
    assert error_code(lambda: cfn.create_stack(StackName=name, TemplateBody=template, Parameters=over)) == (
        "ValidationError"
    )
    _, status = make.stack(world, world.a, template, StackName=name,
                           Parameters=[{"ParameterKey": "V", "ParameterValue": "x" * 4096}])  # fmt: skip
    assert status == "CREATE_COMPLETE"


@pytest.mark.rule("requests-once")
def test_a_request_is_carried_out_once_and_a_retry_with_its_token_gets_the_first_answer(world: World) -> None:
    """CloudFormation API reference, CreateStack, ClientRequestToken: "Specify this token if you plan
    to retry requests so that CloudFormation knows that you're not attempting to create a stack with
    the same name"; CreateChangeSet, ChangeSetName: "must be unique among all change sets that are
    associated with the specified stack"; a change set runs once (ExecuteChangeSet: InvalidChangeSetStatus)."""
    cfn = world.a.client("cloudformation")
    name = world.name("once")
    body = json.dumps({"Resources": {"H": HANDLE}})
    first = cfn.create_stack(StackName=name, TemplateBody=body, ClientRequestToken="xacct-conformance-1")
    world.later(lambda: make.delete_stack(cfn, name))
    again = cfn.create_stack(StackName=name, TemplateBody=body, ClientRequestToken="xacct-conformance-1")
    assert again["StackId"] == first["StackId"]
    assert error_code(lambda: cfn.create_stack(StackName=name, TemplateBody=body)) == "AlreadyExistsException"
    make.settled(cfn, name)
    changed = json.dumps({"Resources": {"H": HANDLE, "H2": HANDLE}})
    made = cfn.create_change_set(StackName=name, ChangeSetName="c1", TemplateBody=changed)["Id"]
    assert error_code(lambda: cfn.create_change_set(StackName=name, ChangeSetName="c1", TemplateBody=changed)) == (
        "AlreadyExistsException"
    )
    while cfn.describe_change_set(ChangeSetName=made)["Status"] in ("CREATE_PENDING", "CREATE_IN_PROGRESS"):
        time.sleep(2)
    cfn.execute_change_set(ChangeSetName=made, ClientRequestToken="xacct-conformance-2")
    cfn.execute_change_set(ChangeSetName=made, ClientRequestToken="xacct-conformance-2")  # the retry: the same answer
    make.settled(cfn, name)
    assert error_code(lambda: cfn.execute_change_set(ChangeSetName=made)) in (
        "InvalidChangeSetStatus",
        "ChangeSetNotFound",
    )


@pytest.mark.rule("one-bucket-policy")
def test_a_second_bucket_policy_resource_for_one_bucket_fails_already_exists(world: World) -> None:
    """The AWS::S3::BucketPolicy resource schema: its primaryIdentifier is /properties/Bucket (one
    policy per bucket), so creating a second fails: "Bucket Policy Already Exists" (HandlerErrorCode:
    AlreadyExists); the first is kept."""
    cfn = world.a.client("cloudformation")
    bucket = make.bucket(world, world.a)
    first = {"Version": "2012-10-17", "Statement": [{"Sid": "First", "Effect": "Deny", "Principal": "*",
             "Action": "s3:DeleteBucket", "Resource": f"arn:aws:s3:::{bucket}"}]}  # fmt: skip
    policy = {"Type": "AWS::S3::BucketPolicy", "Properties": {"Bucket": bucket, "PolicyDocument": first}}
    _, status = make.stack(world, world.a, {"Resources": {"P": policy}})
    assert status == "CREATE_COMPLETE"
    second = json.loads(json.dumps(policy).replace('"First"', '"Second"'))
    intruder, status = make.stack(world, world.a, {"Resources": {"P": second}})
    assert status == "ROLLBACK_COMPLETE"
    assert "Already Exists" in make.failure_reasons(cfn, intruder) or "AlreadyExists" in make.failure_reasons(
        cfn, intruder
    )
    kept = json.loads(world.a.client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    assert kept["Statement"][0]["Sid"] == "First"


@pytest.mark.rule("template-versioning")
def test_a_templates_versioning_configuration_versions_the_bucket(world: World) -> None:
    """AWS::S3::Bucket, VersioningConfiguration: "Enables multiple versions of all objects in this
    bucket." A bucket made with Status Enabled reports Enabled, and each put is a new version."""
    name = world.name("versioned")
    bucket = {"Type": "AWS::S3::Bucket", "Properties": {"BucketName": name,
              "VersioningConfiguration": {"Status": "Enabled"}}}  # fmt: skip
    s3 = world.a.client("s3")
    _, status = make.stack(world, world.a, {"Resources": {"B": bucket}})
    world.later(lambda: make.empty_and_delete(s3, name))  # before the stack's own delete, which needs it empty
    assert status == "CREATE_COMPLETE"
    assert s3.get_bucket_versioning(Bucket=name)["Status"] == "Enabled"
    first = s3.put_object(Bucket=name, Key="k", Body=b"1")["VersionId"]
    second = s3.put_object(Bucket=name, Key="k", Body=b"2")["VersionId"]
    assert first != second
    assert first not in (None, "null")


@pytest.mark.rule("bucket-not-empty")
def test_a_stack_whose_bucket_holds_objects_fails_to_delete(world: World) -> None:
    """S3 API reference, DeleteBucket: "All objects (including all object versions and delete markers)
    in the bucket must be deleted before the bucket itself can be deleted." A stack that owns such a
    bucket ends DELETE_FAILED ("The bucket you tried to delete is not empty") and the bucket stays."""
    cfn, s3 = world.a.client("cloudformation"), world.a.client("s3")
    name = world.name("holding")
    stack, _ = make.stack(world, world.a, {"Resources": {"B": {"Type": "AWS::S3::Bucket",
                          "Properties": {"BucketName": name}}}})  # fmt: skip
    world.later(lambda: make.empty_and_delete(s3, name))
    s3.put_object(Bucket=name, Key="artifact.zip", Body=b"x")
    cfn.delete_stack(StackName=stack)
    assert make.settled(cfn, stack) == "DELETE_FAILED"
    assert "not empty" in make.failure_reasons(cfn, stack)
    s3.head_bucket(Bucket=name)


@pytest.mark.rule("parameter-constraints")
def test_a_parameter_value_that_breaks_its_constraints_is_refused(world: World) -> None:
    """CloudFormation user guide, "Parameters": "AllowedPattern: A regular expression that represents the
    patterns to allow for String types. The pattern must match the entire parameter value provided";
    "ConstraintDescription: A string that explains a constraint when the constraint is violated";
    AllowedValues, MinValue and MaxValue likewise. The call is refused (ValidationError) and nothing made."""
    cfn = world.a.client("cloudformation")
    template = json.dumps({
        "Parameters": {
            "BuildAccount": {"Type": "String", "AllowedPattern": "^[0-9]{12}$",
                             "ConstraintDescription": "a 12-digit account id"},
            "Enable": {"Type": "String", "Default": "false", "AllowedValues": ["true", "false"]},
            "Days": {"Type": "Number", "Default": 30, "MinValue": 1},
        },
        "Resources": {"H": HANDLE},
    })  # fmt: skip
    name = world.name("constrained")

    def create(**values: str) -> str:
        parameters = [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]
        return error_code(lambda: cfn.create_stack(StackName=name, TemplateBody=template, Parameters=parameters))

    assert create(BuildAccount="12345") == "ValidationError"
    assert create(BuildAccount="123456789012", Enable="maybe") == "ValidationError"
    assert create(BuildAccount="123456789012", Days="0") == "ValidationError"
    assert not [s for s in cfn.list_stacks()["StackSummaries"] if s["StackName"] == name]
    _, status = make.stack(world, world.a, template, StackName=name,
                           Parameters=[{"ParameterKey": "BuildAccount", "ParameterValue": "123456789012"}])  # fmt: skip
    assert status == "CREATE_COMPLETE"


CLOUDFORMATION = "cloudformation.amazonaws.com"


@pytest.mark.rule("service-role")
def test_a_service_role_is_passed_only_with_pass_role_and_only_if_cloudformation_may_assume_it(world: World) -> None:
    """IAM user guide, "Grant a user permissions to pass a role to an AWS service": "To pass a role (and
    its permissions) to an AWS service, a user must have permissions to pass the role to the service";
    CloudFormation user guide, "CloudFormation service role": the role must trust
    cloudformation.amazonaws.com; a role it cannot assume is refused: "Role ... is invalid or cannot be
    assumed"."""
    trust = {"Effect": "Allow", "Principal": {"Service": CLOUDFORMATION}, "Action": "sts:AssumeRole"}
    service = make.role(world, world.a, {"Version": "2012-10-17", "Statement": [trust]})
    stranger = make.role(world, world.a, make.trusting(world.a))  # trusts the account, not CloudFormation
    anything = {"Effect": "Allow", "Action": "cloudformation:*", "Resource": "*"}
    deploy = {"Version": "2012-10-17", "Statement": [anything]}
    passing = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole",
               "Resource": [service, stranger],
               "Condition": {"StringEquals": {"iam:PassedToService": CLOUDFORMATION}}}]}  # fmt: skip
    without = make.assumed(world, world.a, make.role(world, world.a, make.trusting(world.a), {"deploy": deploy}))
    able = make.assumed(world, world.a, make.role(world, world.a, make.trusting(world.a), {"d": deploy, "p": passing}))
    body = json.dumps({"Resources": {"Handle": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}})
    name = world.name("passed")
    refused = without.client("cloudformation")

    def needs_pass_role() -> None:
        assert error_code(lambda: refused.create_stack(StackName=name, TemplateBody=body, RoleARN=service)) == (
            "AccessDenied"
        )

    eventually(needs_pass_role)
    cfn = able.client("cloudformation")

    def cannot_be_assumed() -> None:
        try:
            cfn.create_stack(StackName=world.name("stranger"), TemplateBody=body, RoleARN=stranger)
        except bx.ClientError as exc:
            error = exc.response["Error"]
            wanted = ("ValidationError", f"Role {stranger} is invalid or cannot be assumed")
            assert (error["Code"], error["Message"]) == wanted
            return
        raise AssertionError("a role that does not trust CloudFormation was taken")

    eventually(cannot_be_assumed)
    eventually(lambda: cfn.create_stack(StackName=name, TemplateBody=body, RoleARN=service))
    world.later(lambda: make.delete_stack(world.a.client("cloudformation"), name))
    assert make.settled(cfn, name) == "CREATE_COMPLETE"
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["RoleARN"] == service


@pytest.mark.rule("stack-role")
def test_a_change_sets_service_role_stays_the_stacks_for_every_later_operation(world: World) -> None:
    """CloudFormation API reference, CreateChangeSet, RoleARN: "CloudFormation uses this role for all
    future operations on the stack. Provided that users have permission to operate on this stack,
    CloudFormation uses this role even if the users don't have permission to pass it." """
    trust = {"Effect": "Allow", "Principal": {"Service": CLOUDFORMATION}, "Action": "sts:AssumeRole"}
    service = make.role(world, world.a, {"Version": "2012-10-17", "Statement": [trust]})
    cfn = world.a.client("cloudformation")

    def handles(*names: str) -> str:
        return json.dumps({"Resources": {n: {"Type": "AWS::CloudFormation::WaitConditionHandle"} for n in names}})

    name = world.name("remembered")
    cfn.create_stack(StackName=name, TemplateBody=handles("First"))
    world.later(lambda: make.delete_stack(cfn, name))
    assert make.settled(cfn, name) == "CREATE_COMPLETE"
    assert "RoleARN" not in cfn.describe_stacks(StackName=name)["Stacks"][0]

    def change(body: str, **role: str) -> None:
        made = eventually(lambda: cfn.create_change_set(StackName=name, ChangeSetName=world.name("cs"),
                                                        ChangeSetType="UPDATE", TemplateBody=body, **role))  # fmt: skip
        cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
        cfn.execute_change_set(ChangeSetName=made["Id"])
        cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 1})

    change(handles("First", "Second"), RoleARN=service)
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["RoleARN"] == service
    change(handles("First", "Second", "Third"))  # no RoleARN given: the stack's is used, and kept
    assert cfn.describe_stacks(StackName=name)["Stacks"][0]["RoleARN"] == service


@pytest.mark.rule("change-set-type")
def test_a_change_set_without_a_type_updates_the_stack(world: World) -> None:
    """CloudFormation API reference, CreateChangeSet, ChangeSetType: "By default, CloudFormation
    specifies UPDATE." """
    cfn = world.a.client("cloudformation")
    handle = {"Type": "AWS::CloudFormation::WaitConditionHandle"}
    name = world.name("untyped")
    cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": {"First": handle}}))
    world.later(lambda: make.delete_stack(cfn, name))
    assert make.settled(cfn, name) == "CREATE_COMPLETE"
    body = json.dumps({"Resources": {"First": handle, "Second": handle}})
    made = cfn.create_change_set(StackName=name, ChangeSetName=world.name("cs"), TemplateBody=body)
    cfn.get_waiter("change_set_create_complete").wait(ChangeSetName=made["Id"], WaiterConfig={"Delay": 1})
    cfn.execute_change_set(ChangeSetName=made["Id"])
    cfn.get_waiter("stack_update_complete").wait(StackName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    resources = cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
    assert sorted(r["LogicalResourceId"] for r in resources) == ["First", "Second"]


CONDITIONED = """
Parameters:
  Name: {Type: String, Default: ""}
Conditions:
  Always: !Equals ["a", "a"]
  Named: !And [!Condition Always, !Not [!Equals [!Ref Name, ""]]]
Resources:
  Handle:
    Type: AWS::CloudFormation::WaitConditionHandle
Outputs:
  Named:
    Condition: Named
    Value: "named"
"""


@pytest.mark.rule("condition-short-form")
def test_a_condition_named_by_its_short_form_inside_and_is_evaluated(world: World) -> None:
    """CloudFormation user guide, "Condition functions": "Condition: the name of the condition ...",
    YAML short form `!Condition condition_name`, usable inside Fn::And, Fn::Or and Fn::Not; an output
    under a condition that holds is made ("Outputs", Condition)."""
    cfn = world.a.client("cloudformation")
    name, status = make.stack(world, world.a, CONDITIONED, Parameters=[{"ParameterKey": "Name", "ParameterValue": "x"}])
    assert status == "CREATE_COMPLETE"
    outputs = cfn.describe_stacks(StackName=name)["Stacks"][0].get("Outputs", [])
    assert [o["OutputKey"] for o in outputs] == ["Named"]


SOMETIMES = """
Parameters:
  Wanted: {Type: String, Default: "no", AllowedValues: ["yes", "no"]}
Conditions:
  IsOn: !Equals [!Ref Wanted, "yes"]
Resources:
  Always:
    Type: AWS::CloudFormation::WaitConditionHandle
  Sometimes:
    Type: AWS::CloudFormation::WaitConditionHandle
    Condition: IsOn
"""


@pytest.mark.rule("change-set-conditions")
def test_a_change_set_lists_only_resources_whose_condition_holds(world: World) -> None:
    """CloudFormation template reference, "Condition attribute": "CloudFormation creates the resource
    only when the condition evaluates to true." A change set lists what executing it would do (user
    guide, "Update CloudFormation stacks using change sets"): a resource under a false condition is no
    change; one whose condition turns true is an Add, false a Remove."""
    cfn = world.a.client("cloudformation")
    name = world.name("conditions")
    world.later(lambda: make.delete_stack(cfn, name))

    def changes(change_set: str, on: str, kind: str) -> list[tuple[str, str]]:
        cfn.create_change_set(
            StackName=name, ChangeSetName=change_set, TemplateBody=SOMETIMES, ChangeSetType=kind,
            Parameters=[{"ParameterKey": "Wanted", "ParameterValue": on}],
        )  # fmt: skip
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        found = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)["Changes"]
        return sorted((c["ResourceChange"]["Action"], c["ResourceChange"]["LogicalResourceId"]) for c in found)

    def execute(change_set: str) -> list[str]:
        cfn.execute_change_set(StackName=name, ChangeSetName=change_set)
        make.settled(cfn, name)
        return sorted(
            r["LogicalResourceId"] for r in cfn.list_stack_resources(StackName=name)["StackResourceSummaries"]
        )

    assert changes("off", "no", "CREATE") == [("Add", "Always")]
    assert execute("off") == ["Always"]
    assert changes("on", "yes", "UPDATE") == [("Add", "Sometimes")]
    assert execute("on") == ["Always", "Sometimes"]
    assert changes("off-again", "no", "UPDATE") == [("Remove", "Sometimes")]


TWO_PARAMETERS = """
Parameters:
  First: {Type: String, Default: "a"}
  Second: {Type: String, Default: ""}
Conditions:
  HasSecond: !Not [!Equals [!Ref Second, ""]]
  AlsoSecond: !And [!Condition HasSecond, !Equals ["x", "x"]]
Resources:
  UsesFirst:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !Ref First}
  SubsFirst:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !Sub "first ${First}"}
  UsesSecond:
    Type: AWS::SSM::Parameter
    Properties: {Type: String, Value: !If [AlsoSecond, "second", "none"]}
"""


@pytest.mark.rule("parameter-changes")
def test_a_parameter_change_modifies_only_the_resources_that_use_it(world: World) -> None:
    """CloudFormation API reference, ResourceChangeDetail: a change's ChangeSource is
    "ParameterReference" for "resource properties that reference the changed parameter"; a resource
    whose properties use neither the parameter nor a condition it decides is not changed. Through a
    condition (Fn::If), by way of another condition, it is."""
    cfn = world.a.client("cloudformation")
    name, status = make.stack(world, world.a, TWO_PARAMETERS)
    assert status == "CREATE_COMPLETE"

    def modified(change_set: str, first: str, second: str) -> list[str]:
        cfn.create_change_set(
            StackName=name, ChangeSetName=change_set, UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "First", "ParameterValue": first},
                        {"ParameterKey": "Second", "ParameterValue": second}],
        )  # fmt: skip
        cfn.get_waiter("change_set_create_complete").wait(
            StackName=name, ChangeSetName=change_set, WaiterConfig={"Delay": 1, "MaxAttempts": 120}
        )
        found = cfn.describe_change_set(StackName=name, ChangeSetName=change_set)["Changes"]
        cfn.delete_change_set(StackName=name, ChangeSetName=change_set)
        return sorted(
            c["ResourceChange"]["LogicalResourceId"] for c in found if c["ResourceChange"]["Action"] == "Modify"
        )

    assert modified("first", "b", "") == ["SubsFirst", "UsesFirst"]
    assert modified("second", "a", "y") == ["UsesSecond"]  # First given again at its default: no change
