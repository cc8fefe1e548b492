"""Bucket policies and objects as S3 holds them: a policy may name only principals that exist (rule
`principals-exist`), it is evaluated once per request (by the authorization in front of moto), and an
object's tags belong to the object, in its bucket's account."""

from __future__ import annotations

from typing import Any

from xacct.sandbox.iam._moto import PermissionResult
from xacct.sandbox.iam.policies import missing_principals
from xacct.sandbox.patching import around, replace
from xacct.sandbox.s3._moto import S3ClientError, s3_models


class _MalformedPolicy(S3ClientError):
    code = "MalformedPolicy"

    def __init__(self) -> None:
        super().__init__("MalformedPolicy", "Invalid principal in policy")


def install_gaps() -> None:
    _decided_once()
    _object_tags_with_their_bucket()


def install_rules() -> None:
    @around(s3_models.S3Backend, "put_bucket_policy")
    def put_bucket_policy(original: Any, self: Any, bucket_name: str, policy: bytes) -> None:
        if missing_principals(policy.decode() if isinstance(policy, bytes) else policy):
            raise _MalformedPolicy()
        original(self, bucket_name, policy)


def _decided_once() -> None:
    """A bucket policy is evaluated once per request, by the authorization in front of moto
    (s3/access.py, policy_eval.py: AWS's evaluation logic, conditions and all). moto evaluated it a
    second time without reading conditions: a Deny whose condition does not hold (TLS-only, "only
    this role" on aws:userid, a required SSE-KMS key) refused what AWS accepts, with an empty 403."""

    @replace(s3_models.FakeBucket, "get_permission")
    def get_permission(self: Any, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL


def _object_tags_with_their_bucket() -> None:
    """An object's tags belong to the object, in its bucket's account, whoever wrote them; moto
    keeps them with the writer's account, so tags a build account writes into a developer's bucket
    (a copy, a multipart upload) were invisible to the developer."""

    def owner_backend(backend: Any, key: Any) -> Any:
        found = s3_models.s3_backends.bucket_accounts.get(key.bucket_name)
        return s3_models.s3_backends[found[1]][found[0]] if found else backend

    def delegate(original: Any, self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
        return original(owner_backend(self, key), key, *args, **kwargs)

    around(s3_models.S3Backend, "get_object_tagging")(delegate)
    around(s3_models.S3Backend, "put_object_tagging")(delegate)
