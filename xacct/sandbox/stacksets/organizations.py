"""Organizations as a member account meets it, where moto answers from the member's own empty
backend: a member sees its organization (DescribeOrganization: "This operation can be called from any
account in the organization"); a delegated administrator also reads it (ListRoots and the other List
and Describe calls: "This operation can be called only from the organization's management account or
by a member account that is a delegated administrator", Organizations API reference); any other call
from a member is refused (AccessDeniedException; rule `organization-reads`). Also: StackSets takes a
delegated administrator, and the account CreateAccount makes has an OrganizationAccountAccessRole with
full permissions, trusting the management account (Organizations user guide, "Accessing member accounts")."""

from __future__ import annotations

import json
from typing import Any

from xacct.sandbox.iam._moto import iam_backends
from xacct.sandbox.patching import around, replace
from xacct.sandbox.stacksets import model as gs
from xacct.sandbox.stacksets._moto import (
    FakeAccount,
    FakeDelegatedAdministrator,
    OrganizationsClientError,
    organizations_backends,
    organizations_responses,
)

ANY_MEMBER = {"DescribeOrganization"}


def principal_org(account: str) -> tuple[str, str] | None:
    """aws:PrincipalOrgID and aws:PrincipalOrgPaths for a principal of `account` (IAM user guide, "AWS
    global condition context keys": the path is "o-a1b2c3d4e5/r-ab12/ou-ab12-11111111/ou-ab12-22222222/",
    the organization, its root and each OU down to the account's own); None outside an organization,
    where neither key is in the request context (rule `principal-org`)."""
    backend = gs.organization_of(account)
    if backend is None or backend.org is None:
        return None
    member = next((a for a in backend.accounts if a.id == account), None)
    if member is None:
        return None
    parents = {ou.id: getattr(ou, "parent_id", None) for ou in backend.ou}
    chain: list[str] = []
    at = member.parent_id
    while at is not None and at not in chain:
        chain.append(at)
        at = parents.get(at)
    return backend.org.id, "/".join([backend.org.id, *reversed(chain)]) + "/"


def install() -> None:
    _members()
    _delegated_administrator()
    _access_role()


class _AccessDenied(OrganizationsClientError):
    def __init__(self) -> None:
        super().__init__("AccessDeniedException", "You don't have permissions to access this resource.")


def _members() -> None:
    @replace(organizations_responses.OrganizationsResponse, "organizations_backend")
    def organizations_backend(self: Any) -> Any:
        own = organizations_backends[self.current_account][self.partition]
        master = organizations_backends.master_accounts.get(self.current_account)
        if own.org is not None or master is None:
            return own
        management = organizations_backends[master[0]][master[1]]
        action = self._get_action()
        delegated = any(a.account.id == self.current_account and a.services for a in management.admins)
        if action in ANY_MEMBER or (delegated and action.startswith(("List", "Describe"))):
            return management
        raise _AccessDenied()


def _delegated_administrator() -> None:
    """StackSets takes a delegated administrator (StackSets user guide, "Register a delegated
    administrator"): moto's list of services that do lacks it."""
    if gs.STACKSETS not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(gs.STACKSETS)


def _access_role() -> None:
    """The account CreateAccount makes has an OrganizationAccountAccessRole with full permissions,
    trusting the management account (Organizations user guide, "Accessing member accounts")."""

    @around(FakeAccount, "__init__")
    def __init__(original: Any, self: Any, organization: Any, **kwargs: Any) -> None:
        original(self, organization, **kwargs)
        admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        role = kwargs.get("RoleName", "OrganizationAccountAccessRole")
        iam_backends[self.id]["global"].put_role_policy(role, "AdministratorAccess", json.dumps(admin))
