"""StackSets' answers: a stack set's operations run in the background, one at a time (or queued with
ManagedExecution), automatic deployment is an operation of its own, and a stack set's template is
held to the inline size quota."""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from conformance.conftest import OU_VARIABLE, World, error_code, eventually, needs_org

HANDLE = {"Resources": {"H": {"Type": "AWS::CloudFormation::WaitConditionHandle"}}}
ENDED = ("SUCCEEDED", "FAILED", "STOPPED")


def organization_with_ou(world: World) -> str:
    """An OU with one member account beneath it: made in the emulator, XACCT_CONFORMANCE_OU on AWS."""
    org = needs_org(world).client("organizations")
    if world.on_aws:
        ou = os.environ.get(OU_VARIABLE)
        if not ou:
            pytest.skip(f"{OU_VARIABLE} names no OU whose accounts may receive a stack of one WaitConditionHandle")
        return ou
    org.create_organization(FeatureSet="ALL")
    org.enable_aws_service_access(ServicePrincipal="member.org.stacksets.cloudformation.amazonaws.com")
    root = org.list_roots()["Roots"][0]["Id"]
    ou = str(org.create_organizational_unit(ParentId=root, Name="developers")["OrganizationalUnit"]["Id"])
    made = org.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=made["Id"])["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=ou)
    return ou


def stack_set(world: World, **extra: Any) -> tuple[Any, str]:
    """A service-managed stack set of one WaitConditionHandle in the management account; removed
    afterwards with its instances."""
    cfn = needs_org(world).client("cloudformation")
    name = world.name("set")
    cfn.create_stack_set(StackSetName=name, TemplateBody=json.dumps(HANDLE), PermissionModel="SERVICE_MANAGED",
                         **{"AutoDeployment": {"Enabled": False}, **extra})  # fmt: skip

    def gone() -> None:
        for summary in cfn.list_stack_set_operations(StackSetName=name)["Summaries"]:
            finished(cfn, name, summary["OperationId"])
        ous = cfn.describe_stack_set(StackSetName=name)["StackSet"].get("OrganizationalUnitIds") or []
        if ous:
            op = cfn.delete_stack_instances(StackSetName=name, DeploymentTargets={"OrganizationalUnitIds": ous},
                                            Regions=[world.region], RetainStacks=False)["OperationId"]  # fmt: skip
            finished(cfn, name, op)
        cfn.delete_stack_set(StackSetName=name)

    world.later(gone)
    return cfn, name


def status(cfn: Any, name: str, operation: str) -> str:
    return str(
        cfn.describe_stack_set_operation(StackSetName=name, OperationId=operation)["StackSetOperation"]["Status"]
    )


def finished(cfn: Any, name: str, operation: str) -> str:
    def ended() -> str:
        found = status(cfn, name, operation)
        assert found in ENDED, found
        return found

    return eventually(ended, seconds=900, every=2)


@pytest.mark.rule("stackset-operations")
def test_an_operation_runs_in_the_background_and_another_meanwhile_is_refused(world: World) -> None:
    """CloudFormation API reference, OperationInProgressException: "Another operation is currently in
    progress for this StackSet. Only one operation can be performed for a stack set at a given time."
    CreateStackInstances answers with an OperationId while the operation is RUNNING; it ends SUCCEEDED."""
    world.configure(stack_set_seconds=2)
    ou = organization_with_ou(world)
    cfn, name = stack_set(world)
    targets = {"DeploymentTargets": {"OrganizationalUnitIds": [ou]}, "Regions": [world.region]}
    first = cfn.create_stack_instances(StackSetName=name, **targets)["OperationId"]
    assert status(cfn, name, first) in ("QUEUED", "RUNNING")
    again = error_code(lambda: cfn.update_stack_set(StackSetName=name, TemplateBody=json.dumps(HANDLE)))
    assert again == "OperationInProgressException"
    assert finished(cfn, name, first) == "SUCCEEDED"
    cfn.update_stack_set(StackSetName=name, TemplateBody=json.dumps(HANDLE))  # once it ended: accepted


@pytest.mark.rule("stackset-operations")
def test_with_managed_execution_a_second_operation_is_queued_not_refused(world: World) -> None:
    """CloudFormation API reference, ManagedExecution, Active: "When true, CloudFormation performs
    non-conflicting operations concurrently and queues conflicting operations. After conflicting
    operations finish, CloudFormation starts queued operations in request order." """
    world.configure(stack_set_seconds=2)
    ou = organization_with_ou(world)
    cfn, name = stack_set(world, ManagedExecution={"Active": True})
    assert cfn.describe_stack_set(StackSetName=name)["StackSet"]["ManagedExecution"]["Active"] is True
    targets = {"DeploymentTargets": {"OrganizationalUnitIds": [ou]}, "Regions": [world.region]}
    first = cfn.create_stack_instances(StackSetName=name, **targets)["OperationId"]
    second = cfn.update_stack_instances(StackSetName=name, **targets)["OperationId"]  # conflicts: queued
    assert status(cfn, name, first) in ("QUEUED", "RUNNING")
    assert status(cfn, name, second) in ("QUEUED", "RUNNING")
    assert finished(cfn, name, first) == "SUCCEEDED"
    assert finished(cfn, name, second) == "SUCCEEDED"


@pytest.mark.rule("stackset-operations")
def test_automatic_deployment_is_an_operation_of_its_own_after_an_account_moves(world: World) -> None:
    """StackSets user guide, "Enable or disable automatic deployments for StackSets in AWS
    Organizations": "StackSets automatically deploys additional stacks to new accounts added to the
    target organization or organizational units (OUs)" — as an operation StackSets starts itself,
    which runs after the account moved (the move does not wait for it)."""
    from conformance.conftest import emulator_only

    emulator_only(world, "moving an account between OUs of a real organization is not done on purpose")
    world.configure(stack_set_seconds=2)
    ou = organization_with_ou(world)
    org = needs_org(world).client("organizations")
    cfn, name = stack_set(world, AutoDeployment={"Enabled": True, "RetainStacksOnAccountRemoval": False})
    targets = {"DeploymentTargets": {"OrganizationalUnitIds": [ou]}, "Regions": [world.region]}
    finished(cfn, name, cfn.create_stack_instances(StackSetName=name, **targets)["OperationId"])
    root = org.list_roots()["Roots"][0]["Id"]
    made = org.create_account(AccountName="joiner", Email="joiner@example.com")["CreateAccountStatus"]
    joiner = org.describe_create_account_status(CreateAccountRequestId=made["Id"])["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=joiner, SourceParentId=root, DestinationParentId=ou)
    operations = cfn.list_stack_set_operations(StackSetName=name)["Summaries"]
    own = [o for o in operations if o["Status"] in ("QUEUED", "RUNNING")]
    assert [o["Action"] for o in own] == ["CREATE"]  # StackSets' own, still under way after the move returned
    assert error_code(lambda: cfn.update_stack_instances(StackSetName=name, **targets)) == (
        "OperationInProgressException"
    )
    assert finished(cfn, name, own[0]["OperationId"]) == "SUCCEEDED"
    placed = cfn.describe_stack_instance(
        StackSetName=name, StackInstanceAccount=joiner, StackInstanceRegion=world.region
    )
    assert placed["StackInstance"]["StackInstanceStatus"]["DetailedStatus"] == "SUCCEEDED"


@pytest.mark.rule("template-size")
def test_a_stack_set_template_over_51200_bytes_is_refused(world: World) -> None:
    """CloudFormation user guide, "CloudFormation quotas": "Template body size in a request: 51,200
    bytes" — CreateStackSet's TemplateBody as much as CreateStack's."""
    padded = {"Resources": {f"H{n}": {**HANDLE["Resources"]["H"], "Metadata": {"pad": "x" * 1000}} for n in range(60)}}
    cfn = world.a.client("cloudformation")
    name = world.name("huge")
    made = error_code(lambda: cfn.create_stack_set(StackSetName=name, TemplateBody=json.dumps(padded)))
    if not made:
        world.later(lambda: cfn.delete_stack_set(StackSetName=name))
    assert made == "ValidationError"
