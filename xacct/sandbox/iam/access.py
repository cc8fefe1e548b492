"""What an IAM or STS request needs authorized; AssumeRole under the role's trust policy (IAM user
guide, "How IAM roles differ from resource-based policies"): a role that does not exist trusts nobody
(rule `assume-role-trust`)."""

from __future__ import annotations

import json
import re
from typing import Any

from xacct.sandbox import propagation
from xacct.sandbox.access import Call, Check


def _iam_arn(call: Call) -> str:
    from xacct.sandbox.iam._moto import iam_backends

    backend = iam_backends[call.caller.account]["aws"]
    if "PolicyArn" in call.params:
        return str(call.params["PolicyArn"])
    if "RoleName" in call.params:
        role = next((r for r in backend.roles.values() if r.name == call.params["RoleName"]), None)
        return role.arn if role is not None else f"arn:aws:iam::{call.caller.account}:role/{call.params['RoleName']}"
    if "UserName" in call.params:
        return f"arn:aws:iam::{call.caller.account}:user/{call.params['UserName']}"
    return "*"


def role_trust(role_arn: str, *, live: bool = False) -> tuple[str | None, Any | None]:
    """(owner account, trust policy) of a role; (account, None) when it does not exist. As it
    authorizes now (a new trust takes effect eventually: propagation.py), or as IAM holds it (`live`)."""
    from xacct.sandbox.iam._moto import iam_backends

    found = re.match(r"^arn:[\w-]+:iam::(\d{12}):role/", role_arn)
    if not found:
        return None, None
    account = found.group(1)
    role = next((r for r in iam_backends[account]["aws"].roles.values() if r.arn == role_arn), None)
    trust = json.loads(role.assume_role_policy_document) if role is not None else None
    return account, trust if live else propagation.effective("trust", role_arn, trust)


def sts_checks(call: Call) -> list[Check]:
    if call.operation == "GetCallerIdentity":
        return []  # always allowed, even under an explicit deny (STS API reference)
    if call.operation == "AssumeRole":
        role = str(call.params.get("RoleArn", ""))
        owner, trust = role_trust(role)
        external = call.params.get("ExternalId")
        context: dict[str, tuple[str, ...]] = {"sts:externalid": (str(external),)} if external else {}
        # A role that does not exist trusts nobody: AWS answers AccessDenied, not NoSuchEntity.
        return [Check("sts:AssumeRole", role, owner, trust or {"Statement": []}, "trust", context)]
    return [Check(f"sts:{call.operation}", "*")]


def iam_checks(call: Call) -> list[Check]:
    return [Check(f"iam:{call.operation}", _iam_arn(call))]
