"""Eventual consistency as an emulator setting (rule `eventual-consistency`). IAM user guide,
"Troubleshoot IAM", "Changes that I make are not always immediately visible": "IAM ... is eventually
consistent" ... "the change must be replicated across IAM, which can take some time"; KMS and S3 apply
a changed key or bucket policy the same way. With `settings.propagation_seconds` at N, a new role, a
trust policy, a role's inline or managed policies, a key policy and a bucket policy take effect N
seconds after the call that made them: until then the authorization in front of moto (access.py)
sees what was there before (nothing, for something new). Reading them back (GetRole, GetKeyPolicy,
GetBucketPolicy) shows the change at once, as on AWS.

Changes are recorded only while the setting is above zero, so a suite that leaves it at zero pays
nothing; an emulator reset forgets them.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any

from xacct.sandbox.iam._moto import iam_models
from xacct.sandbox.kms._moto import kms_models
from xacct.sandbox.patching import around
from xacct.sandbox.s3._moto import s3_models

# (kind, id) -> [(when, before, after)], oldest first: kinds "trust" and "policies" (a role, by ARN),
# "key" (a key, by ARN), "bucket" (a bucket, by name).
_HISTORY: dict[tuple[str, str], list[tuple[float, Any, Any]]] = {}
_LOCK = threading.Lock()


def _delay() -> float:
    from xacct.sandbox.settings import SETTINGS

    return SETTINGS.propagation_seconds


def record(kind: str, ident: str, before: Any, after: Any) -> None:
    if _delay() <= 0 or before == after:
        return
    with _LOCK:
        _HISTORY.setdefault((kind, ident), []).append((time.monotonic(), before, after))


def effective(kind: str, ident: str, current: Any) -> Any:
    """What authorizes now: the state just before the oldest change not yet in effect, else `current`."""
    delay = _delay()
    with _LOCK:
        entries = _HISTORY.get((kind, ident))
        if not entries or delay <= 0:
            return current
        cutoff = time.monotonic() - delay
        pending = [entry for entry in entries if entry[0] > cutoff]
        if not pending:
            del _HISTORY[(kind, ident)]
            return current
        return pending[0][1]


def forget() -> None:
    with _LOCK:
        _HISTORY.clear()


# ---- what is recorded ---------------------------------------------------------------------------------


def _parsed(document: Any) -> Any:
    return json.loads(document) if isinstance(document, str | bytes) else document


def role_documents(role: Any) -> list[Any]:
    """A role's inline and managed policy documents, as the authorization reads them."""
    inline = [_parsed(d) for d in role.policies.values()]
    managed = []
    for policy in role.managed_policies.values():
        default = next((v for v in policy.versions if v.is_default), None)
        if default is not None:
            managed.append(_parsed(default.document))
    return inline + managed


def _role_state(role: Any) -> tuple[Any, list[Any]] | None:
    if role is None:
        return None
    return _parsed(role.assume_role_policy_document), role_documents(role)


def _record_role(arn: str, before: tuple[Any, list[Any]] | None, after: tuple[Any, list[Any]] | None) -> None:
    record("trust", arn, before[0] if before else None, after[0] if after else None)
    record("policies", arn, before[1] if before else None, after[1] if after else None)


def install() -> None:
    _roles()
    _managed_policies()
    _keys()
    _buckets()


def _roles() -> None:

    @around(iam_models.IAMBackend, "create_role")
    def created(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        role = original(self, *args, **kwargs)
        _record_role(role.arn, None, _role_state(role))
        return role

    @around(iam_models.IAMBackend, "delete_role")
    def deleted(original: Any, self: Any, role_name: str) -> None:
        role = self.get_role(role_name)
        before = _role_state(role)
        original(self, role_name)
        _record_role(role.arn, before, None)

    @around(iam_models.IAMBackend, "update_assume_role_policy")
    def trust_changed(original: Any, self: Any, role_name: str, policy_document: str) -> None:
        role = self.get_role(role_name)
        before = _role_state(role)
        original(self, role_name, policy_document)
        _record_role(role.arn, before, _role_state(role))

    def changing(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        before = _role_state(self)
        result = original(self, *args, **kwargs)
        _record_role(self.arn, before, _role_state(self))
        return result

    around(iam_models.Role, "put_policy")(changing)
    around(iam_models.Role, "delete_policy")(changing)


def _managed_policies() -> None:
    """Attaching, detaching, or a new default version: every role holding the policy changes."""

    def roles_of(backend: Any, arn: str) -> list[Any]:
        return [r for r in backend.roles.values() if arn in r.managed_policies]

    def attaching(original: Any, self: Any, obj: Any) -> Any:
        if not isinstance(obj, iam_models.Role):
            return original(self, obj)
        before = _role_state(obj)
        result = original(self, obj)
        _record_role(obj.arn, before, _role_state(obj))
        return result

    def versioning(original: Any, self: Any, policy_arn: str, *args: Any, **kwargs: Any) -> Any:
        before = {r.arn: _role_state(r) for r in roles_of(self, policy_arn)}
        result = original(self, policy_arn, *args, **kwargs)
        for role in roles_of(self, policy_arn):
            _record_role(role.arn, before.get(role.arn), _role_state(role))
        return result

    around(iam_models.ManagedPolicy, "attach_to")(attaching)
    around(iam_models.ManagedPolicy, "detach_from")(attaching)
    for name in ("create_policy_version", "set_default_policy_version"):
        around(iam_models.IAMBackend, name)(versioning)


def _keys() -> None:

    @around(kms_models.KmsBackend, "create_key")
    def created(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        key = original(self, *args, **kwargs)
        record("key", key.arn, None, _parsed(key.policy) if key.policy else None)
        return key

    @around(kms_models.KmsBackend, "put_key_policy")
    def policy_put(original: Any, self: Any, key_id: str, policy: str) -> None:
        key = self.keys[self.get_key_id(key_id)]
        before = _parsed(key.policy) if key.policy else None
        original(self, key_id, policy)
        record("key", key.arn, before, _parsed(key.policy))


def _buckets() -> None:

    def policy_of(self: Any, bucket_name: str) -> Any:
        bucket = self.get_bucket(bucket_name)
        return _parsed(bucket.policy) if bucket.policy else None

    @around(s3_models.S3Backend, "put_bucket_policy")
    def policy_put(original: Any, self: Any, bucket_name: str, policy: bytes) -> None:
        before = policy_of(self, bucket_name)
        original(self, bucket_name, policy)
        record("bucket", bucket_name, before, policy_of(self, bucket_name))

    @around(s3_models.S3Backend, "delete_bucket_policy")
    def policy_deleted(original: Any, self: Any, bucket_name: str) -> None:
        before = policy_of(self, bucket_name)
        original(self, bucket_name)
        record("bucket", bucket_name, before, None)
