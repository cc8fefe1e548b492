"""Organizations as a member account meets it, where moto answers from the member's own empty
backend: a member sees its organization (DescribeOrganization: "This operation can be called from any
account in the organization"); a delegated administrator also reads it (ListRoots and the other List
and Describe calls: "This operation can be called only from the organization's management account or
by a member account that is a delegated administrator", Organizations API reference); any other call
from a member is refused (AccessDeniedException). Also: StackSets takes a delegated administrator, and the account
CreateAccount makes has an OrganizationAccountAccessRole with full permissions, trusting the
management account (Organizations user guide, "Accessing member accounts")."""

from __future__ import annotations

from typing import Any

from xacct.sandbox import gaps_stacksets as gs

ANY_MEMBER = {"DescribeOrganization"}


def install() -> None:
    from moto.organizations import responses

    if getattr(responses.OrganizationsResponse, "_xacct_members", False):
        return
    _members()
    _delegated_administrator()
    _access_role()
    responses.OrganizationsResponse._xacct_members = True  # type: ignore[attr-defined]


def _members() -> None:
    from moto.organizations import responses
    from moto.organizations.exceptions import OrganizationsClientError
    from moto.organizations.models import organizations_backends

    class AccessDenied(OrganizationsClientError):
        def __init__(self) -> None:
            super().__init__("AccessDeniedException", "You don't have permissions to access this resource.")

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
        raise AccessDenied()

    responses.OrganizationsResponse.organizations_backend = property(organizations_backend)  # type: ignore[method-assign,assignment]


def _delegated_administrator() -> None:
    """StackSets takes a delegated administrator (StackSets user guide, "Register a delegated
    administrator"): moto's list of services that do lacks it."""
    from moto.organizations.models import FakeDelegatedAdministrator

    if gs.STACKSETS not in FakeDelegatedAdministrator.SUPPORTED_SERVICES:
        FakeDelegatedAdministrator.SUPPORTED_SERVICES.append(gs.STACKSETS)


def _access_role() -> None:
    from moto.organizations.models import FakeAccount

    original = FakeAccount.__init__

    def __init__(self: Any, organization: Any, **kwargs: Any) -> None:
        original(self, organization, **kwargs)
        import json

        from moto.iam.models import iam_backends

        admin = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        role = kwargs.get("RoleName", "OrganizationAccountAccessRole")
        iam_backends[self.id]["global"].put_role_policy(role, "AdministratorAccess", json.dumps(admin))

    FakeAccount.__init__ = __init__  # type: ignore[method-assign]
