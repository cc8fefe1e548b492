"""Strict rules about policy documents: the principals they name must exist, and they must fit
IAM's quotas. See rules.py for what each refuses and its source."""

from __future__ import annotations

import json
import re
from typing import Any

MANAGED_POLICY_CHARACTERS = 6144
ROLE_INLINE_POLICY_CHARACTERS = 10240


def install() -> None:
    _principals_exist()
    _managed_policy_size()


def _wrap(owner: Any, name: str, make: Any) -> None:
    setattr(owner, name, make(getattr(owner, name)))


def missing_principals(policy: str | dict[str, Any], partition: str = "aws") -> list[str]:
    """The role and user principals a policy names that do not exist in their account."""
    from moto.iam.models import iam_backends

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


def _principals_exist() -> None:
    """Key, bucket and role trust policies may name only principals that exist: AWS resolves a
    role or user principal to its unique id when the policy is saved, and refuses one that does not
    exist (which is why this product grants to account roots with aws:PrincipalArn conditions)."""
    from moto.core.exceptions import JsonRESTError
    from moto.iam import models as iam
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.kms import models as kms
    from moto.s3 import models as s3m
    from moto.s3.exceptions import S3ClientError

    class KmsMalformedPolicy(JsonRESTError):
        code = 400

        def __init__(self) -> None:
            super().__init__(
                "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."
            )

    class S3MalformedPolicy(S3ClientError):
        code = "MalformedPolicy"

        def __init__(self) -> None:
            super().__init__("MalformedPolicy", "Invalid principal in policy")

    def make_create_key(original: Any) -> Any:
        def create_key(self: Any, policy: Any, *args: Any, **kwargs: Any) -> Any:
            if policy and missing_principals(policy):
                raise KmsMalformedPolicy()
            return original(self, policy, *args, **kwargs)

        return create_key

    def make_put_key_policy(original: Any) -> Any:
        def put_key_policy(self: Any, key_id: str, policy: str) -> None:
            if missing_principals(policy):
                raise KmsMalformedPolicy()
            original(self, key_id, policy)

        return put_key_policy

    def make_bucket_policy(original: Any) -> Any:
        def put_bucket_policy(self: Any, bucket_name: str, policy: bytes) -> None:
            if missing_principals(policy.decode() if isinstance(policy, bytes) else policy):
                raise S3MalformedPolicy()
            original(self, bucket_name, policy)

        return put_bucket_policy

    def make_trust(original: Any, position: int) -> Any:
        def check(self: Any, *args: Any, **kwargs: Any) -> Any:
            document = kwargs.get("assume_role_policy_document") or kwargs.get("policy_document") or args[position]
            missing = missing_principals(document)
            if missing:
                raise MalformedPolicyDocument(f'Invalid principal in policy: "AWS":"{missing[0]}"')
            return original(self, *args, **kwargs)

        return check

    _wrap(kms.KmsBackend, "create_key", make_create_key)
    _wrap(kms.KmsBackend, "put_key_policy", make_put_key_policy)
    _wrap(s3m.S3Backend, "put_bucket_policy", make_bucket_policy)
    _wrap(iam.IAMBackend, "create_role", lambda o: make_trust(o, 1))
    _wrap(iam.IAMBackend, "update_assume_role_policy", lambda o: make_trust(o, 1))


def policy_characters(document: str | dict[str, Any]) -> int:
    text = document if isinstance(document, str) else json.dumps(document)
    return len(re.sub(r"\s", "", text))


def _managed_policy_size() -> None:
    """A managed policy document is at most 6,144 characters and a role's inline policies at most
    10,240 together, whitespace not counted."""
    from moto.iam import models as iam
    from moto.iam.exceptions import LimitExceededException

    def check(document: str) -> None:
        if policy_characters(document) > MANAGED_POLICY_CHARACTERS:
            raise LimitExceededException(f"Cannot exceed quota for PolicySize: {MANAGED_POLICY_CHARACTERS}")

    def make_create(original: Any) -> Any:
        def create_policy(self: Any, description: str, path: str, policy_document: str, *a: Any, **k: Any) -> Any:
            check(policy_document)
            return original(self, description, path, policy_document, *a, **k)

        return create_policy

    def make_version(original: Any) -> Any:
        def create_policy_version(self: Any, policy_arn: str, policy_document: str, *a: Any, **k: Any) -> Any:
            check(policy_document)
            return original(self, policy_arn, policy_document, *a, **k)

        return create_policy_version

    def make_inline(original: Any) -> Any:
        def put_policy(self: Any, policy_name: str, policy_json: Any) -> None:
            others = sum(policy_characters(d) for n, d in self.policies.items() if n != policy_name)
            if others + policy_characters(policy_json) > ROLE_INLINE_POLICY_CHARACTERS:
                raise LimitExceededException(
                    f"Maximum policy size of {ROLE_INLINE_POLICY_CHARACTERS} bytes exceeded for role {self.name}"
                )
            original(self, policy_name, policy_json)

        return put_policy

    _wrap(iam.IAMBackend, "create_policy", make_create)
    _wrap(iam.IAMBackend, "create_policy_version", make_version)
    _wrap(iam.Role, "put_policy", make_inline)
