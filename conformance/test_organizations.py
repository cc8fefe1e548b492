"""Organizations' answers to a member account: it sees its organization, and reads its structure only
as a delegated administrator."""

from __future__ import annotations

from typing import Any

import pytest

from conformance import make
from conformance.conftest import World, error_code, eventually, needs_org, new_session

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"


def member_in_emulator(world: World) -> tuple[Any, str]:
    """An organization whose management account is `org`, and a new member's Organizations client."""
    org = needs_org(world).client("organizations")
    org.create_organization(FeatureSet="ALL")
    made = org.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=made["Id"])["CreateAccountStatus"]["AccountId"]
    sts = needs_org(world).client("sts")
    creds = sts.assume_role(
        RoleArn=f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole", RoleSessionName="conformance"
    )["Credentials"]
    session = new_session(
        aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
        aws_session_token=creds["SessionToken"], region_name=world.region,
    )  # fmt: skip
    return session.client("organizations"), str(member)


@pytest.mark.rule("organization-reads")
def test_a_member_lists_roots_only_as_a_delegated_administrator(world: World) -> None:
    """Organizations API reference, ListRoots: "This operation can be called only from the
    organization's management account or by a member account that is a delegated administrator";
    DescribeOrganization: "This operation can be called from any account in the organization." """
    management = needs_org(world)
    if world.on_aws:
        # The second profile must be a member of the third's organization; its delegation is read, not changed.
        member = world.b.client("organizations")
        if member.describe_organization()["Organization"]["MasterAccountId"] != management.id:
            pytest.skip("the second profile's account is not a member of the third profile's organization")
        admins = management.client("organizations").list_delegated_administrators()["DelegatedAdministrators"]
        delegated = world.b.id in {a["Id"] for a in admins}
        assert error_code(member.list_roots) == ("" if delegated else "AccessDeniedException")
        return
    member, account = member_in_emulator(world)
    assert member.describe_organization()["Organization"]["MasterAccountId"] == management.id
    assert error_code(member.list_roots) == "AccessDeniedException"
    assert error_code(member.list_accounts) == "AccessDeniedException"
    management.client("organizations").register_delegated_administrator(AccountId=account, ServicePrincipal=STACKSETS)
    assert member.list_roots()["Roots"]


def writes_under_own_id(s3: Any, bucket: str, account: str) -> str:
    return error_code(lambda: s3.put_object(Bucket=bucket, Key=f"{account}/request.json", Body=b"{}"))


@pytest.mark.rule("principal-org")
def test_a_principal_carries_its_organization_and_the_ou_path_of_its_account(world: World) -> None:
    """IAM user guide, "AWS global condition context keys": aws:PrincipalOrgID, "Use this key to compare
    the identifier of the organization in AWS Organizations to which the requesting principal belongs
    with the identifier specified in the policy"; aws:PrincipalOrgPaths, "Use this key to compare the
    AWS Organizations path for the principal who is making the request to the path in the policy"
    ("o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/"); each "is included in the request context
    only if the principal is a member of an organization". An inbox for the accounts of one OU:"""
    management = needs_org(world)
    bucket = make.bucket(world, world.a)

    def inbox(org_id: str, path: str) -> None:
        statement = make.allow("*", ["s3:PutObject"], f"arn:aws:s3:::{bucket}/${{aws:PrincipalAccount}}/*")
        statement["Condition"] = {
            "StringEquals": {"aws:PrincipalOrgID": org_id},
            "ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": path},
        }
        world.a.client("s3").put_bucket_policy(Bucket=bucket, Policy=make.policy(statement))

    if world.on_aws:
        # The second profile must be a member of the third's organization; nothing is moved.
        found = world.b.client("organizations").describe_organization()["Organization"]
        if found["MasterAccountId"] != management.id:
            pytest.skip("the second profile's account is not a member of the third profile's organization")
        writer = world.b.client("s3")
        inbox(found["Id"], f"{found['Id']}/*")
        eventually(lambda: writer.put_object(Bucket=bucket, Key=f"{world.b.id}/request.json", Body=b"{}"))
        inbox(found["Id"], f"{found['Id']}/r-none/*")

        def refused() -> None:
            assert writes_under_own_id(writer, bucket, world.b.id) == "AccessDenied"

        eventually(refused)
        return
    org = management.client("organizations")
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    team = org.create_organizational_unit(ParentId=root, Name="developers")["OrganizationalUnit"]["Id"]
    made = org.create_account(AccountName="member", Email="member@example.com")["CreateAccountStatus"]
    member = org.describe_create_account_status(CreateAccountRequestId=made["Id"])["CreateAccountStatus"]["AccountId"]
    org.move_account(AccountId=member, SourceParentId=root, DestinationParentId=team)
    writer = make.assumed(world, management, f"arn:aws:iam::{member}:role/OrganizationAccountAccessRole").client("s3")
    inbox(org_id, f"{org_id}/{root}/{team}/*")
    eventually(lambda: writer.put_object(Bucket=bucket, Key=f"{member}/request.json", Body=b"{}"))
    assert writes_under_own_id(world.b.client("s3"), bucket, world.b.id) == "AccessDenied"  # in no organization
    org.move_account(AccountId=member, SourceParentId=team, DestinationParentId=root)
    assert writes_under_own_id(writer, bucket, member) == "AccessDenied"  # no longer under the OU
