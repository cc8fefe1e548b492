"""What IAM holds policy documents to (rules `principals-exist` and `managed-policy-size`): the role
and user principals a trust policy names must exist (AWS resolves them to unique ids when the policy
is saved, and refuses one that does not exist: "Invalid principal in policy"; key and bucket policies
ask the same of IAM, kms/keys.py and s3/policies.py), and documents fit IAM's quotas."""

from __future__ import annotations

import json
import re
from typing import Any

from xacct.sandbox.iam._moto import LimitExceededException, MalformedPolicyDocument, iam_backends, iam_models
from xacct.sandbox.patching import around

MANAGED_POLICY_CHARACTERS = 6144
ROLE_INLINE_POLICY_CHARACTERS = 10240


def missing_principals(policy: str | dict[str, Any], partition: str = "aws") -> list[str]:
    """The role and user principals a policy names that do not exist in their account."""
    doc = json.loads(policy) if isinstance(policy, str | bytes) else policy
    statements = doc.get("Statement", [])
    missing = []
    for statement in statements if isinstance(statements, list) else [statements]:
        principal = statement.get("Principal")
        values = principal.get("AWS", []) if isinstance(principal, dict) else []
        for arn in values if isinstance(values, list) else [values]:
            m = re.match(r"^arn:[\w-]+:iam::(\d{12}):(role|user)/(?:.*/)?([^/]+)$", str(arn))
            if not m:
                continue
            account, kind, name = m.groups()
            backend = iam_backends[account][partition]
            known = {r.name for r in backend.roles.values()} if kind == "role" else set(backend.users)
            if name not in known:
                missing.append(str(arn))
    return missing


def policy_characters(document: str | dict[str, Any]) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    return len(re.sub(r"\s", "", text))


def install() -> None:
    _trust_principals_exist()
    _managed_policy_size()


def _trust_principals_exist() -> None:
    def check(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        document = kwargs.get("assume_role_policy_document") or kwargs.get("policy_document") or args[1]
        missing = missing_principals(document)
        if missing:
            raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{missing[0]}"')
        return original(self, *args, **kwargs)

    around(iam_models.IAMBackend, "create_role")(check)
    around(iam_models.IAMBackend, "update_assume_role_policy")(check)


def _managed_policy_size() -> None:
    """A managed policy document is at most 6,144 characters and a role's inline policies at most
    10,240 together, whitespace not counted."""

    def fits(document: str) -> None:
        if policy_characters(document) > MANAGED_POLICY_CHARACTERS:
            raise LimitExceededException(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARACTERS}")

    @around(iam_models.IAMBackend, "create_policy")
    def create_policy(original: Any, self: Any, description: str, path: str, policy_document: str, *a: Any,
                      **k: Any) -> Any:  # fmt: skip
        fits(policy_document)
        return original(self, description, path, policy_document, *a, **k)

    @around(iam_models.IAMBackend, "create_policy_version")
    def create_policy_version(original: Any, self: Any, policy_arn: str, policy_document: str, *a: Any,
                              **k: Any) -> Any:  # fmt: skip
        fits(policy_document)
        return original(self, policy_arn, policy_document, *a, **k)

    @around(iam_models.Role, "put_policy")
    def put_policy(original: Any, self: Any, policy_name: str, policy_json: Any) -> None:
        others = sum(policy_characters(d) for n, d in self.policies.items() if n != policy_name)
        if others + policy_characters(policy_json) > ROLE_INLINE_POLICY_CHARACTERS:
            raise LimitExceededException(
                f"Maximum policy size of {ROLE_INLINE_POLICY_CHARACTERS} bytes exceeded for role {self.name}"
            )
        original(self, policy_name, policy_json)
