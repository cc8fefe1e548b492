"""What a KMS request needs authorized: the key's own policy decides with the caller's (KMS developer
guide, "Key policies in AWS KMS"; across accounts both must allow: "Allowing users in other accounts to
use a KMS key"), on the key named by id, alias or ARN, or inside a Decrypt's ciphertext. Rules
`key-policy` and `kms-cross-account`."""

from __future__ import annotations

import json
from typing import Any

from xacct.sandbox import access, propagation
from xacct.sandbox.access import Call, Check


def kms_key(reference: str, account: str, region: str) -> tuple[str, str, Any | None]:
    """(owner account, key ARN, key policy) of a key id, key ARN, alias or alias ARN."""
    from xacct.sandbox.kms._moto import kms_backends

    if reference.startswith("arn:"):
        parts = reference.split(":", 5)
        region, account, reference = parts[3], parts[4], parts[5]
    backend = kms_backends[account][region]
    key_id = reference.removeprefix("key/")
    if reference.startswith("alias/"):
        key_id = backend.get_key_id_from_alias(reference) or reference
    key = backend.keys.get(key_id)
    policy = json.loads(key.policy) if key is not None and key.policy else None
    arn = access.arn("kms", region, account, f"key/{key_id}")
    return account, arn, propagation.effective("key", arn, policy)


def kms_check(action: str, reference: str, call: Call, account: str, via: str | None = None) -> Check:
    owner, arn, policy = kms_key(reference, account, call.region)
    context: dict[str, tuple[str, ...]] = {"kms:calleraccount": (call.caller.account,)}
    if via:
        context["kms:viaservice"] = (via,)
    return Check(f"kms:{action}", arn, owner, policy or {}, "kms", context)


def checks(call: Call) -> list[Check]:
    from xacct.sandbox.kms import accounts

    reference = call.params.get("KeyId") or call.params.get("TargetKeyId")
    if not reference and call.params.get("CiphertextBlob"):  # Decrypt: the key the ciphertext names
        found = accounts.key_of_ciphertext(str(call.params["CiphertextBlob"]), call.region)
        reference = access.arn("kms", call.region, found[0], f"key/{found[1]}") if found else None
    if not reference:
        return [Check(f"kms:{call.operation}", "*")]
    check = kms_check(call.operation, str(reference), call, call.caller.account)
    if check.resource_account != call.caller.account and call.operation not in accounts.CROSS_ACCOUNT:
        # Cross-account permissions for other operations "have no effect" (KMS developer guide).
        return [Check(check.action, check.resource, check.resource_account, {"Statement": []}, "kms")]
    return [check]
