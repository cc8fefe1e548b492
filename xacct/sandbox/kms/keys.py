"""KMS keys as CloudFormation and the KMS API treat them, where moto does otherwise: a key policy may
name only principals that exist (rule `principals-exist`), AWS::KMS::Key updates its policy in place,
ScheduleKeyDeletion takes a key ARN, and an RSA key is made only for what uses one."""

from __future__ import annotations

import functools
import json
import threading
from typing import Any

from xacct.sandbox._moto import JsonRESTError
from xacct.sandbox.iam.policies import missing_principals
from xacct.sandbox.kms._moto import kms_backends, kms_models
from xacct.sandbox.patching import around, replace


def install() -> None:
    _lazy_private_keys()
    _key_updates()
    _key_arns()
    _principals_exist()


class _MalformedPolicy(JsonRESTError):
    code = 400

    def __init__(self) -> None:
        super().__init__(
            "MalformedPolicyDocumentException", "Policy contains a statement with one or more invalid principals."
        )


def _principals_exist() -> None:
    """A key policy may name only principals that exist (IAM resolves them when the policy is saved)."""

    @around(kms_models.KmsBackend, "create_key")
    def create_key(original: Any, self: Any, policy: Any, *args: Any, **kwargs: Any) -> Any:
        if policy and missing_principals(policy):
            raise _MalformedPolicy()
        return original(self, policy, *args, **kwargs)

    @around(kms_models.KmsBackend, "put_key_policy")
    def put_key_policy(original: Any, self: Any, key_id: str, policy: str) -> None:
        if missing_principals(policy):
            raise _MalformedPolicy()
        original(self, key_id, policy)


def _key_updates() -> None:
    """AWS::KMS::Key updates its key policy, rotation and description in place (resource schema:
    KeyPolicy, EnableKeyRotation and Description update without interruption); moto cannot
    update a key at all, so a stack update that admits a new account left the old policy. moto
    also keeps a template's key policy as an object, where the KMS API returns a JSON string."""

    @around(kms_models.Key, "create_from_cloudformation_json")
    def create(original: Any, cls: Any, resource_name: str, cfn: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:  # fmt: skip
        props = dict(cfn["Properties"])
        if not isinstance(props.get("KeyPolicy"), str):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return original(cls, resource_name, {**cfn, "Properties": props}, account_id, region_name, **kwargs)

    @replace(kms_models.Key, "update_from_cloudformation_json")
    def update(cls: Any, original_resource: Any, new_resource_name: str, cfn: Any, account_id: str,
               region_name: str) -> Any:  # fmt: skip
        props = cfn["Properties"]
        backend = kms_backends[account_id][region_name]
        policy = props["KeyPolicy"]
        backend.put_key_policy(original_resource.id, policy if isinstance(policy, str) else json.dumps(policy))
        original_resource.key_rotation_status = props.get("EnableKeyRotation", False)
        original_resource.description = props.get("Description", original_resource.description)
        return original_resource


def _key_arns() -> None:
    """ScheduleKeyDeletion takes a key id or a key ARN (KMS API reference); moto takes the id only."""

    @around(kms_models.KmsBackend, "schedule_key_deletion")
    def schedule_key_deletion(original: Any, self: Any, key_id: str, pending_window_in_days: int) -> Any:
        return original(self, self.get_key_id(key_id), pending_window_in_days)


class _LazyKey:
    """A private key made on first use, once, behind a lock."""

    def __init__(self, make: Any, key_spec: str) -> None:
        self._make, self._spec, self._lock, self._key = make, key_spec, threading.Lock(), None

    def __getattr__(self, name: str) -> Any:
        with self._lock:
            if self._key is None:
                self._key = self._make(self._spec)
        return getattr(self._key, name)


def _lazy_private_keys() -> None:
    """moto made a 2,048-bit RSA key for every KMS key, symmetric ones too; only Sign, Verify and
    GetPublicKey use it: made then, the same key (speed, no other change)."""
    make = kms_models.generate_private_key  # type: ignore[attr-defined]
    replace(kms_models, "generate_private_key")(functools.partial(_LazyKey, make))
