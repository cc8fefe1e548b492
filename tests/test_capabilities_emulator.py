"""The emulator asks for capabilities as CloudFormation does (CreateStack, UpdateStack and
CreateChangeSet, `Capabilities`): IAM resources need CAPABILITY_IAM, custom-named ones
CAPABILITY_NAMED_IAM; without them the call is refused and nothing is made."""

from __future__ import annotations

import json

import botocore.exceptions as bx
import pytest

from tests.conftest import cfn
from xacct.sandbox.emulator import Emulator

TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}]}  # fmt: skip
ROLE = {"Type": "AWS::IAM::Role", "Properties": {"AssumeRolePolicyDocument": TRUST}}
NAMED = {
    "Type": "AWS::IAM::Role",
    "Properties": {"AssumeRolePolicyDocument": TRUST, "RoleName": "named-by-the-template"},
}
TOPIC = {"Type": "AWS::SNS::Topic"}


def body(**resources: object) -> str:
    return json.dumps({"AWSTemplateFormatVersion": "2010-09-09", "Resources": resources})


def refused(call: object, **kwargs: object) -> str:
    with pytest.raises(bx.ClientError) as caught:
        call(**kwargs)  # type: ignore[operator]
    assert caught.value.response["Error"]["Code"] == "InsufficientCapabilitiesException"
    return str(caught.value.response["Error"]["Message"])


def names() -> list[str]:
    return [s["StackName"] for s in cfn("dev1").describe_stacks()["Stacks"]]


@pytest.mark.parametrize(
    ("resources", "needed", "enough"),
    [
        ({"Role": ROLE}, "CAPABILITY_IAM", ["CAPABILITY_IAM"]),
        ({"Role": NAMED}, "CAPABILITY_NAMED_IAM", ["CAPABILITY_NAMED_IAM"]),
    ],
    ids=["iam", "named-iam"],
)
def test_iam_resources_need_their_capability(aws: Emulator, resources: dict, needed: str, enough: list[str]) -> None:  # type: ignore[type-arg]
    client = cfn("dev1")
    less = [] if needed == "CAPABILITY_IAM" else ["CAPABILITY_IAM"]
    said = refused(client.create_stack, StackName="caps", TemplateBody=body(**resources), Capabilities=less)
    assert said == f"Requires capabilities : [{needed}]"
    assert "caps" not in names()
    refused(client.create_change_set, StackName="caps", ChangeSetName="c1", ChangeSetType="CREATE",
            TemplateBody=body(**resources), Capabilities=less)  # fmt: skip
    assert "caps" not in names()
    client.create_stack(StackName="caps", TemplateBody=body(**resources), Capabilities=enough)
    assert client.describe_stacks(StackName="caps")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    # An update keeping the template asks again.
    refused(client.update_stack, StackName="caps", UsePreviousTemplate=True, Capabilities=less)


def test_a_template_without_iam_resources_needs_none(aws: Emulator) -> None:
    client = cfn("dev1")
    client.create_stack(StackName="plain", TemplateBody=body(Topic=TOPIC))
    assert client.describe_stacks(StackName="plain")["Stacks"][0]["StackStatus"] == "CREATE_COMPLETE"
    refused(client.update_stack, StackName="plain", TemplateBody=body(Topic=TOPIC, Role=ROLE))


def test_a_stack_set_of_iam_resources_needs_its_capability_on_create_and_on_update(aws: Emulator) -> None:
    from tests.test_stacksets_emulator import cfn as build_cfn
    from tests.test_stacksets_emulator import organization

    organization()
    create = {"StackSetName": "roles", "TemplateBody": body(Role=NAMED), "PermissionModel": "SERVICE_MANAGED",
              "AutoDeployment": {"Enabled": False}}  # fmt: skip
    said = refused(build_cfn().create_stack_set, **create, Capabilities=["CAPABILITY_IAM"])
    assert said == "Requires capabilities : [CAPABILITY_NAMED_IAM]"
    assert not build_cfn().list_stack_sets(Status="ACTIVE")["Summaries"]
    build_cfn().create_stack_set(**create, Capabilities=["CAPABILITY_NAMED_IAM"])
    refused(build_cfn().update_stack_set, StackSetName="roles", UsePreviousTemplate=True)
    refused(build_cfn().update_stack_set, StackSetName="roles", TemplateBody=body(Other=ROLE))
    kept = build_cfn().describe_stack_set(StackSetName="roles")["StackSet"]["TemplateBody"]
    assert kept == body(Role=NAMED)  # a refused update changes nothing
