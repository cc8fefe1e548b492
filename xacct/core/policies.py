"""Reading resource and identity policies the way `--verify` needs: does this policy let this
role do this action on this resource? Pure; covers what the templates write (principals as role
ARNs or account roots, aws:PrincipalArn conditions, wildcards in actions and resources), and
answers False for anything it cannot read rather than guessing.
"""

from __future__ import annotations

import fnmatch
import json
from typing import Any

_ARN_CONDITIONS = ("ArnEquals", "ArnLike", "StringEquals", "StringLike")


def statements(policy: str | dict[str, Any]) -> list[dict[str, Any]]:
    doc = json.loads(policy) if isinstance(policy, str) else policy
    found = doc.get("Statement", [])
    return found if isinstance(found, list) else [found]


def as_list(value: Any) -> list[str]:
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _matches(patterns: list[str], value: str) -> bool:
    return any(fnmatch.fnmatchcase(value.lower(), p.lower()) for p in patterns)


def _account(arn: str) -> str:
    parts = arn.split(":")
    return parts[4] if len(parts) > 4 else ""


def _principal_admits(statement: dict[str, Any], role_arn: str) -> bool:
    """The statement's principal covers the role: named itself, or its account's root (or id)
    with any aws:PrincipalArn condition naming the role."""
    who = statement.get("Principal", {})
    principals = as_list(who.get("AWS", [])) if isinstance(who, dict) else as_list(who)
    account = _account(role_arn)
    if role_arn in principals:
        return True
    if not any(p in ("*", account) or (p.endswith(":root") and _account(p) == account) for p in principals):
        return False
    conditions = statement.get("Condition", {})
    for operator, tests in conditions.items():
        for key, values in tests.items():
            if key.lower() != "aws:principalarn":
                return False  # a condition this reader does not evaluate: do not claim access
            if operator.split(":")[-1] not in _ARN_CONDITIONS:
                return False
            wildcard = operator.endswith("Like")
            wanted = as_list(values)
            if not (_matches(wanted, role_arn) if wildcard else role_arn in wanted):
                return False
    return True


def allows(statement: dict[str, Any], action: str, resource: str | None) -> bool:
    if statement.get("Effect") != "Allow":
        return False
    if not _matches(as_list(statement.get("Action", [])), action):
        return False
    return resource is None or _matches(as_list(statement.get("Resource", [])), resource)


def admits(policy: str | dict[str, Any], role_arn: str, action: str, resource: str | None = None) -> bool:
    """A resource policy (bucket or key) lets `role_arn` do `action` on `resource`."""
    return any(allows(s, action, resource) and _principal_admits(s, role_arn) for s in statements(policy))


def admits_account(policy: str | dict[str, Any], account_root: str, action: str) -> bool:
    """A key policy lets an account (its IAM policies deciding) do `action`."""
    for s in statements(policy):
        who = s.get("Principal", {})
        principals = as_list(who.get("AWS", [])) if isinstance(who, dict) else as_list(who)
        if allows(s, action, None) and account_root in principals and not s.get("Condition"):
            return True
    return False


def _holds(statement: dict[str, Any], context: dict[str, str]) -> bool:
    """The statement's conditions hold for the request context: StringEquals / StringLike on keys
    the context has; any other condition is not claimed to hold."""
    known = {k.lower(): v for k, v in context.items()}
    for operator, tests in statement.get("Condition", {}).items():
        if operator not in ("StringEquals", "StringLike"):
            return False
        for key, values in tests.items():
            value = known.get(key.lower())
            wanted = as_list(values)
            if value is None or not (_matches(wanted, value) if operator == "StringLike" else value in wanted):
                return False
    return True


def identity_allows(
    documents: list[str | dict[str, Any]], action: str, resource: str, context: dict[str, str] | None = None
) -> bool:
    """One of a role's identity policies allows `action` on `resource`, for a request with
    `context` (condition keys, such as aws:ResourceAccount)."""
    return any(allows(s, action, resource) and _holds(s, context or {}) for doc in documents for s in statements(doc))
