"""Who the emulator's profiles are: real IAM identities, so that nothing is allowed merely by being
unknown (with authorization enforced, an unknown access key is refused as on AWS).

The profiles' base credentials belong to a user in an identity account of their own, allowed only to
assume roles; each emulated account has a role `Admin` that trusts that account and holds an
`AdministratorAccess` policy (the document of AWS's managed policy of that name). Other roles (an
operator holding exactly `--print-policy`'s policy) are made the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

IDENTITY_ACCOUNT = "000000000000"
BASE_USER = "base"
BASE_KEY = "AKIAEXAMPLEEXAMPLE00"
BASE_SECRET = "example"
ADMIN_ROLE = "Admin"
ADMINISTRATOR_ACCESS = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
ASSUME_ANY_ROLE = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/*"}],
}


def _iam(account: str) -> Any:
    from xacct.sandbox.iam._moto import iam_backends

    return iam_backends[account]["aws"]


def _base_user() -> None:
    iam = _iam(IDENTITY_ACCOUNT)
    if BASE_USER in iam.users:
        return
    iam.create_user(region_name="us-east-1", user_name=BASE_USER, path="/", tags=[])
    key = iam.create_access_key(BASE_USER)
    iam.access_keys.pop(key.physical_resource_id, None)
    key.access_key_id, key.secret_access_key = BASE_KEY, BASE_SECRET
    iam.access_keys[key.physical_resource_id] = key
    iam.put_user_policy(BASE_USER, "assume-roles", json.dumps(ASSUME_ANY_ROLE))


def role(account: str, name: str, policy: Mapping[str, Any], *, trusted: str = IDENTITY_ACCOUNT) -> str:
    """A role in `account`, assumable from `trusted`, holding `policy` as a managed policy."""
    iam = _iam(account)
    existing = next((r for r in iam.roles.values() if r.name == name), None)
    if existing is not None:
        return str(existing.arn)
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{trusted}:root"}, "Action": "sts:AssumeRole"}
        ],
    }
    made = iam.create_role(
        role_name=name,
        assume_role_policy_document=json.dumps(trust),
        path="/",
        permissions_boundary=None,
        description="an emulator profile's role",
        tags=[],
        max_session_duration="3600",
    )
    policy_name = "AdministratorAccess" if policy == ADMINISTRATOR_ACCESS else f"{name}-policy"
    managed = iam.create_policy(
        description="", path="/", policy_document=json.dumps(policy), policy_name=policy_name, tags=[]
    )
    iam.attach_role_policy(managed.arn, name)
    return str(made.arn)


def seed(accounts: Iterable[str]) -> None:
    """The base user and an Admin role in every account (again after every reset)."""
    _base_user()
    for account in dict.fromkeys(accounts):
        role(account, ADMIN_ROLE, ADMINISTRATOR_ACCESS)
