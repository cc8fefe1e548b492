"""KMS keys used from another account, as the KMS developer guide describes it ("Allowing users in
other accounts to use a KMS key"): the caller names the key by its ARN (or an alias ARN) and the
request reaches the key in its own account, for the operations that work across accounts; for any
other, "those permissions have no effect". moto looks every key up in the caller's own account, so a
key ARN of another account answered NotFoundException where AWS serves it. Decrypt names its key
inside the ciphertext: it is authorized on that key, in that key's account, as on AWS (rule
`kms-cross-account`).

Authorization stays `access._kms`'s: both the key policy and the caller's own IAM policies must allow
a use across accounts (policy_eval.decide, mode "kms").
"""

from __future__ import annotations

import base64
import json
from typing import Any

from xacct.sandbox.kms._moto import kms_backends, kms_responses
from xacct.sandbox.patching import replace

# KMS developer guide, "Allowing users in other accounts to use a KMS key": the operations whose
# "Cross-account use" is Yes in the KMS API reference.
CROSS_ACCOUNT = frozenset(
    {
        "CreateGrant", "Decrypt", "DescribeKey", "DeriveSharedSecret", "Encrypt", "GenerateDataKey",
        "GenerateDataKeyPair", "GenerateDataKeyPairWithoutPlaintext", "GenerateDataKeyWithoutPlaintext",
        "GenerateMac", "GetKeyRotationStatus", "GetPublicKey", "ListGrants", "ReEncrypt", "RetireGrant",
        "RevokeGrant", "Sign", "Verify", "VerifyMac",
    }
)  # fmt: skip
KEY_ID_LEN = 36  # moto's ciphertext begins with its key's id


def key_of_ciphertext(blob: str, region: str) -> tuple[str, str] | None:
    """(account, key id) of the key a base64 ciphertext was made with, wherever it lives."""
    try:
        key_id = base64.b64decode(blob)[:KEY_ID_LEN].decode()
    except (ValueError, UnicodeDecodeError):
        return None
    for account in list(dict.keys(kms_backends)):
        backend = dict.get(kms_backends[account], region)
        if backend is not None and key_id in backend.keys:
            return account, key_id
    return None


def owner(operation: str, params: dict[str, Any], caller: str, region: str) -> str:
    """The account whose KMS serves this request: the key's, for an operation that works across
    accounts on a key named by ARN (or, for Decrypt, the ciphertext's key); else the caller's."""
    if operation not in CROSS_ACCOUNT:
        return caller
    reference = str(params.get("KeyId") or params.get("SourceKeyId") or "")
    if reference.startswith("arn:"):
        return reference.split(":")[4]
    if not reference and params.get("CiphertextBlob"):
        found = key_of_ciphertext(str(params["CiphertextBlob"]), region)
        return found[0] if found else caller
    return caller


def install() -> None:
    @replace(kms_responses.KmsResponse, "kms_backend")
    def kms_backend(self: Any) -> Any:
        operation = str(self.headers.get("X-Amz-Target", "")).rpartition(".")[2]
        try:
            params = json.loads(self.body or "{}")
        except ValueError:
            params = {}
        return kms_backends[owner(operation, params, self.current_account, self.region)][self.region]
