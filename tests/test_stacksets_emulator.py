"""The emulator's organization and service-managed stack sets, held to what AWS documents
(xacct/sandbox/gaps_stacksets.py): who may operate them, which accounts an OU reaches, real stacks
in the member accounts, per-account results with failures, and automatic deployment as accounts
join and leave. The build account is the organization's management account."""

from __future__ import annotations

import time
from typing import Any

import botocore.exceptions as bx
import pytest

from tests.conftest import BUILD, REGION, session, temporary
from xacct.sandbox.emulator import Emulator
from xacct.sandbox.stacksets import model as gs

BUCKET_TEMPLATE = """
Parameters:
  Suffix: {Type: String, Default: ""}
Conditions:
  Fixed: !Not [!Equals [!Ref Suffix, ""]]
Resources:
  Bucket:
    Type: AWS::S3::Bucket
    Properties:
      BucketName: !If [Fixed, !Sub "xacct-ss-${Suffix}", !Sub "xacct-ss-${AWS::AccountId}-${AWS::Region}"]
Outputs:
  Name: {Value: !Ref Bucket}
"""


def org() -> Any:
    return session("build").client("organizations", region_name=REGION)


def cfn() -> Any:
    return session("build").client("cloudformation", region_name=REGION)


def organization(*, trusted: bool = True) -> str:
    org().create_organization(FeatureSet="ALL")
    if trusted:
        org().enable_aws_service_access(ServicePrincipal=gs.STACKSETS)
    return str(org().list_roots()["Roots"][0]["Id"])


def ou(parent: str, name: str) -> str:
    return str(org().create_organizational_unit(ParentId=parent, Name=name)["OrganizationalUnit"]["Id"])


def account(name: str, parent: str | None = None) -> str:
    status = org().create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"]
    made = str(
        org().describe_create_account_status(CreateAccountRequestId=status["Id"])["CreateAccountStatus"]["AccountId"]
    )
    if parent:
        root = org().list_roots()["Roots"][0]["Id"]
        org().move_account(AccountId=made, SourceParentId=root, DestinationParentId=parent)
    return made


def inside(account_id: str, service: str) -> Any:
    """A client in a member account, through the role Organizations gave it."""
    creds = (
        session("build")
        .client("sts")
        .assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/OrganizationAccountAccessRole", RoleSessionName="test")[
            "Credentials"
        ]
    )
    return session(None, temporary(creds)).client(service)  # type: ignore[call-overload]


def stack_sets_stacks(account_id: str) -> dict[str, str]:
    stacks = inside(account_id, "cloudformation").describe_stacks()["Stacks"]
    return {s["StackName"]: s["StackStatus"] for s in stacks if s["StackName"].startswith("StackSet-buckets-")}


def stack_set(auto: bool = True, retain: bool = False, **extra: Any) -> None:
    cfn().create_stack_set(
        StackSetName="buckets",
        TemplateBody=BUCKET_TEMPLATE,
        PermissionModel="SERVICE_MANAGED",
        AutoDeployment={"Enabled": auto, "RetainStacksOnAccountRemoval": retain},
        **extra,
    )


def ended(operation: str) -> dict[str, Any]:
    """The operation once it has ended: StackSets runs operations in the background."""
    for _ in range(200):
        found = cfn().describe_stack_set_operation(StackSetName="buckets", OperationId=operation)["StackSetOperation"]
        if found["Status"] in ("SUCCEEDED", "FAILED", "STOPPED"):
            return dict(found)
        time.sleep(0.05)
    raise AssertionError(f"operation {operation} still {found['Status']}")


def settled() -> None:
    """Every operation of the stack set ended, StackSets' own (automatic deployment) included."""
    for summary in cfn().list_stack_set_operations(StackSetName="buckets")["Summaries"]:
        ended(summary["OperationId"])


def results(operation: str) -> dict[str, tuple[str, str]]:
    ended(operation)
    rows = cfn().list_stack_set_operation_results(StackSetName="buckets", OperationId=operation)["Summaries"]
    return {r["Account"]: (r["Status"], r.get("StatusReason", "")) for r in rows}


def test_only_the_management_account_with_trusted_access_operates_a_service_managed_stack_set(aws: Emulator) -> None:
    with pytest.raises(bx.ClientError, match="master or delegated admin account"):
        stack_set()
    organization(trusted=False)
    with pytest.raises(bx.ClientError, match="enable organizations access"):
        stack_set()
    org().enable_aws_service_access(ServicePrincipal=gs.STACKSETS)
    stack_set()
    assert cfn().describe_stack_set(StackSetName="buckets")["StackSet"]["AutoDeployment"]["Enabled"] is True


def test_a_delegated_administrator_operates_them_only_calling_as_one(aws: Emulator) -> None:
    organization()
    member = account("admin")
    member_cfn = inside(member, "cloudformation")
    create = {
        "StackSetName": "buckets",
        "TemplateBody": BUCKET_TEMPLATE,
        "PermissionModel": "SERVICE_MANAGED",
        "AutoDeployment": {"Enabled": False},
    }
    with pytest.raises(bx.ClientError, match="master or delegated admin account"):
        member_cfn.create_stack_set(**create, CallAs="DELEGATED_ADMIN")
    org().register_delegated_administrator(AccountId=member, ServicePrincipal=gs.STACKSETS)
    with pytest.raises(bx.ClientError, match="master or delegated admin account"):
        member_cfn.create_stack_set(**create)  # CallAs SELF, the default
    member_cfn.create_stack_set(**create, CallAs="DELEGATED_ADMIN")


def test_an_ou_reaches_every_account_beneath_it_as_a_stack_of_that_account(aws: Emulator) -> None:
    root = organization()
    top = ou(root, "developers")
    middle = ou(top, "team")
    deep = ou(middle, "squad")
    accounts = [account("a", top), account("b", middle), account("c", deep)]
    outside = account("d")  # in the root, not under the OU
    stack_set(auto=False)
    op = cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [top]}, Regions=[REGION],
        OperationPreferences={"MaxConcurrentCount": 3, "FailureToleranceCount": 2},
    )["OperationId"]  # fmt: skip
    described = ended(op)
    assert described["Status"] == "SUCCEEDED"
    assert results(op) == dict.fromkeys(accounts, ("SUCCEEDED", ""))
    instances = cfn().list_stack_instances(StackSetName="buckets")["Summaries"]
    assert sorted(i["Account"] for i in instances) == sorted(accounts)
    assert {i["StackInstanceStatus"]["DetailedStatus"] for i in instances} == {"SUCCEEDED"}
    for a in accounts:
        assert list(stack_sets_stacks(a).values()) == ["CREATE_COMPLETE"]
        inside(a, "s3").head_bucket(Bucket=f"xacct-ss-{a}-{REGION}")
    assert stack_sets_stacks(outside) == {}
    assert BUILD not in {i["Account"] for i in instances}  # the management account is never a target
    page = cfn().list_stack_instances(StackSetName="buckets", MaxResults=2)
    rest = cfn().list_stack_instances(StackSetName="buckets", NextToken=page["NextToken"])
    assert len(page["Summaries"]) == 2
    assert len(rest["Summaries"]) == 1
    assert "NextToken" not in rest


def test_a_failed_account_carries_cloudformations_reason_and_the_rest_are_cancelled(aws: Emulator) -> None:
    root = organization()
    team = ou(root, "developers")
    first, second, third = account("a", team), account("b", team), account("c", team)
    stack_set(auto=False, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "taken"}])
    op = cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION]
    )["OperationId"]  # one account at a time, no failure tolerated: the defaults
    described = ended(op)
    assert described["Status"] == "FAILED"
    got = results(op)
    assert got[first] == ("SUCCEEDED", "")  # the bucket name is global: only the first gets it
    assert got[second][0] == "FAILED"
    assert "ResourceLogicalId:Bucket" in got[second][1]
    assert "already" in got[second][1].lower()
    assert got[third][0] == "CANCELLED"
    failed = cfn().describe_stack_instance(
        StackSetName="buckets", StackInstanceAccount=second, StackInstanceRegion=REGION
    )
    assert failed["StackInstance"]["StackInstanceStatus"]["DetailedStatus"] == "FAILED"
    assert list(stack_sets_stacks(second).values()) == ["ROLLBACK_COMPLETE"]


@pytest.mark.parametrize("retain", [False, True])
def test_accounts_joining_and_leaving_the_ou_gain_and_lose_their_instances(aws: Emulator, retain: bool) -> None:
    root = organization()
    team = ou(root, "developers")
    child = ou(team, "new-starters")
    staying, leaving = account("a", team), account("b", team)
    stack_set(auto=True, retain=retain)
    cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION]
    )
    settled()
    joining = account("c")
    assert stack_sets_stacks(joining) == {}  # in the root: not a target
    org().move_account(AccountId=joining, SourceParentId=root, DestinationParentId=child)
    org().move_account(AccountId=leaving, SourceParentId=team, DestinationParentId=root)
    settled()
    instances = {i["Account"] for i in cfn().list_stack_instances(StackSetName="buckets")["Summaries"]}
    assert instances == {staying, joining}
    assert list(stack_sets_stacks(joining).values()) == ["CREATE_COMPLETE"]
    assert list(stack_sets_stacks(leaving).values()) == (["CREATE_COMPLETE"] if retain else [])
    actions = [o["Action"] for o in cfn().list_stack_set_operations(StackSetName="buckets")["Summaries"]]
    assert sorted(actions) == ["CREATE", "CREATE", "DELETE"]  # the first, then one each way


def test_removing_the_ous_instances_deletes_their_stacks_and_then_the_stack_set(aws: Emulator) -> None:
    root = organization()
    team = ou(root, "developers")
    member = account("a", team)
    stack_set(auto=True)
    cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION]
    )
    settled()
    with pytest.raises(bx.ClientError, match="StackSetNotEmpty"):
        cfn().delete_stack_set(StackSetName="buckets")
    with pytest.raises(bx.ClientError, match="OrganizationalUnit"):
        cfn().delete_stack_instances(StackSetName="buckets", Accounts=[member], Regions=[REGION], RetainStacks=False)
    op = cfn().delete_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION],
        RetainStacks=False,
    )["OperationId"]  # fmt: skip
    assert results(op) == {member: ("SUCCEEDED", "")}
    assert stack_sets_stacks(member) == {}
    cfn().delete_stack_set(StackSetName="buckets")
    with pytest.raises(bx.ClientError, match="StackSetNotFound"):
        cfn().describe_stack_set(StackSetName="buckets")


def test_a_new_accounts_access_role_trusts_the_management_account_only(aws: Emulator) -> None:
    organization()
    made = account("a")
    inside(made, "s3").create_bucket(Bucket=f"made-by-the-management-account-{made}")  # full permissions
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        session("dev1").client("sts").assume_role(
            RoleArn=f"arn:aws:iam::{made}:role/OrganizationAccountAccessRole", RoleSessionName="test"
        )


def test_a_member_reads_its_organization_only_as_a_delegated_administrator(aws: Emulator) -> None:
    root = organization()
    member = account("a")
    members_view = inside(member, "organizations")
    assert members_view.describe_organization()["Organization"]["MasterAccountId"] == BUILD
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        members_view.list_accounts()
    org().register_delegated_administrator(AccountId=member, ServicePrincipal=gs.STACKSETS)
    assert member in {a["Id"] for a in members_view.list_accounts()["Accounts"]}
    with pytest.raises(bx.ClientError, match="AccessDenied"):
        members_view.create_organizational_unit(ParentId=root, Name="not-theirs")


def test_one_account_is_deleted_alone_and_a_failed_instance_deployed_again(aws: Emulator) -> None:
    """AccountFilterType INTERSECTION narrows an OU target to the accounts listed; UpdateStackInstances
    deploys a failed instance again once its cause is gone."""
    root = organization()
    team = ou(root, "developers")
    first, second = account("a", team), account("b", team)
    stack_set(auto=False, Parameters=[{"ParameterKey": "Suffix", "ParameterValue": "taken"}])
    cfn().create_stack_instances(
        StackSetName="buckets", DeploymentTargets={"OrganizationalUnitIds": [team]}, Regions=[REGION],
        OperationPreferences={"MaxConcurrentCount": 2, "FailureToleranceCount": 1},
    )  # fmt: skip
    settled()
    assert list(stack_sets_stacks(second).values()) == ["ROLLBACK_COMPLETE"]  # the name was the first's
    only_first = {"OrganizationalUnitIds": [team], "Accounts": [first], "AccountFilterType": "INTERSECTION"}
    op = cfn().delete_stack_instances(
        StackSetName="buckets", DeploymentTargets=only_first, Regions=[REGION], RetainStacks=False
    )["OperationId"]
    assert results(op) == {first: ("SUCCEEDED", "")}
    assert stack_sets_stacks(first) == {}
    assert {i["Account"] for i in cfn().list_stack_instances(StackSetName="buckets")["Summaries"]} == {second}
    only_second = {"OrganizationalUnitIds": [team], "Accounts": [second], "AccountFilterType": "INTERSECTION"}
    op = cfn().update_stack_instances(StackSetName="buckets", DeploymentTargets=only_second, Regions=[REGION])[
        "OperationId"
    ]
    assert results(op) == {second: ("SUCCEEDED", "")}
    assert list(stack_sets_stacks(second).values()) == ["CREATE_COMPLETE"]
