"""Organizations' answers to a member account: it sees its organization, and reads its structure only
as a delegated administrator."""

from __future__ import annotations

from typing import Any

import pytest

from conformance.conftest import World, error_code, needs_org, new_session

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
