"""The organization as `--ou` reads it, before anything is written: who the organization profile is
to it (the management account, or a delegated administrator for StackSets, which then calls with
CallAs=DELEGATED_ADMIN), whether StackSets has trusted access, and the active accounts beneath an
OU at any depth. Each refusal names the fix. Organizations throttles its API (ADF #788: past 250
accounts), so the tree is read one parent at a time, page by page, with botocore's adaptive retries."""

from __future__ import annotations

import re
from dataclasses import dataclass

import botocore.exceptions as bx

from xacct.aws.gateway import Gateway, describe_error, who
from xacct.errors import InvalidInput

STACKSETS = "member.org.stacksets.cloudformation.amazonaws.com"
OU_ID = re.compile(r"^ou-[0-9a-z]{4,32}-[a-z0-9]{8,32}$")  # Organizations API reference, OrganizationalUnitId


@dataclass(frozen=True)
class Member:
    account: str
    name: str
    parent: str  # the OU directly holding it


@dataclass(frozen=True)
class OrgView:
    organization: str
    management: str
    caller: str
    call_as: str  # SELF or DELEGATED_ADMIN
    ou: str
    ou_name: str
    members: tuple[Member, ...]
    accounts: frozenset[str]  # every active account of the organization


def ou_problem(ou: str) -> str | None:
    if OU_ID.match(ou):
        return None
    return (
        f"--ou {ou!r} is not an OU id: they look like ou-ab12-cdefgh34 "
        "(aws organizations list-roots, then list-organizational-units-for-parent)"
    )


def read(gw: Gateway, ou: str) -> OrgView:
    """Everything `--ou` needs of the organization, or the refusal (InvalidInput, exit 2)."""
    problem = ou_problem(ou)
    if problem:
        raise InvalidInput(problem)
    org = gw.organizations
    caller = gw.account()
    try:
        described = org.describe_organization()["Organization"]
    except bx.ClientError as exc:
        if _code(exc) in ("AccessDenied", "AccessDeniedException"):
            raise InvalidInput(
                f"{_who(gw)} may not read the organization: {exc.response.get('Error', {}).get('Message', '')}",
                hint="give it what --ou needs beside the build operator's policy: python onboard.py --print-policy "
                "organization",
            ) from exc
        if _code(exc) == "AWSOrganizationsNotInUseException":
            raise InvalidInput(
                f"{_who(gw)} reaches account {caller}, which is in no AWS Organization",
                hint="name the organization's management account with --org-profile",
            ) from exc
        raise describe_error(exc, gw.profile) or exc from exc
    management = str(described["MasterAccountId"])
    call_as = "SELF" if caller == management else _delegated(gw, caller, management, str(described["Id"]))
    _trusted(gw, management)
    try:
        name = str(org.describe_organizational_unit(OrganizationalUnitId=ou)["OrganizationalUnit"]["Name"])
    except bx.ClientError as exc:
        if _code(exc) in ("OrganizationalUnitNotFoundException", "InvalidInputException"):
            raise InvalidInput(
                f"OU {ou} does not exist in organization {described['Id']}",
                hint="aws organizations list-roots, then aws organizations list-organizational-units-for-parent "
                "--parent-id ROOT_ID",
            ) from exc
        raise
    members = tuple(m for m in _beneath(gw, ou) if m.account != management)
    if not members:
        raise InvalidInput(
            f"OU {ou} ({name}) has no active accounts, its child OUs included: there is nobody to onboard",
            hint="aws organizations move-account --account-id ID --source-parent-id PARENT "
            f"--destination-parent-id {ou}",
        )
    everyone = frozenset(
        str(a["Id"]) for page in org.get_paginator("list_accounts").paginate() for a in page["Accounts"] if _active(a)
    )
    return OrgView(str(described["Id"]), management, caller, call_as, ou, name, members, everyone)


def _delegated(gw: Gateway, caller: str, management: str, organization: str) -> str:
    refusal = InvalidInput(
        f"{_who(gw)} reaches account {caller}, which is neither the management account ({management}) of "
        f"organization {organization} nor a delegated administrator for StackSets",
        hint="use the management account's profile (--org-profile), or register this account from it: aws "
        f"organizations register-delegated-administrator --account-id {caller} --service-principal {STACKSETS}",
    )
    try:
        pages = gw.organizations.get_paginator("list_delegated_administrators").paginate(ServicePrincipal=STACKSETS)
        admins = {str(a["Id"]) for page in pages for a in page["DelegatedAdministrators"]}
    except bx.ClientError as exc:
        if _code(exc) == "AccessDeniedException":  # a plain member may not even ask
            raise refusal from exc
        raise
    if caller not in admins:
        raise refusal
    return "DELEGATED_ADMIN"


def _trusted(gw: Gateway, management: str) -> None:
    pages = gw.organizations.get_paginator("list_aws_service_access_for_organization").paginate()
    enabled = {str(s["ServicePrincipal"]) for page in pages for s in page["EnabledServicePrincipals"]}
    if STACKSETS not in enabled:
        raise InvalidInput(
            "StackSets has no trusted access to the organization, so it cannot deploy to its accounts",
            hint=f"from the management account ({management}): aws organizations enable-aws-service-access "
            f"--service-principal {STACKSETS}",
        )


def _beneath(gw: Gateway, ou: str) -> list[Member]:
    """Active accounts under `ou` and its child OUs at any depth, breadth first."""
    org = gw.organizations
    found: list[Member] = []
    parents = [ou]
    while parents:
        parent = parents.pop(0)
        for page in org.get_paginator("list_accounts_for_parent").paginate(ParentId=parent):
            found += [Member(str(a["Id"]), str(a.get("Name", "")), parent) for a in page["Accounts"] if _active(a)]
        for page in org.get_paginator("list_organizational_units_for_parent").paginate(ParentId=parent):
            parents += [str(child["Id"]) for child in page["OrganizationalUnits"]]
    return found


def _active(account: dict[str, object]) -> bool:
    # `State` replaces `Status` (ACTIVE, SUSPENDED, PENDING_CLOSURE ...); older answers carry Status only.
    return str(account.get("State") or account.get("Status") or "") == "ACTIVE"


def _code(exc: bx.ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _who(gw: Gateway) -> str:
    return who(gw.profile)
