"""KMS's answers: a key is used only as its key policy allows, and across accounts only as both the
key policy and the caller's own IAM policies allow, on a key named by its ARN."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance import make
from conformance.conftest import Account, World, error_code, eventually


def key(world: World, owner: Account, *statements: dict[str, Any]) -> str:
    """A customer managed key in `owner` that its account administers, plus `statements`; its ARN."""
    kms = owner.client("kms")
    administers = make.allow(make.root(owner), ["kms:*"], "*", Sid="AccountAdministers")
    document = json.dumps({"Version": "2012-10-17", "Statement": [administers, *statements]})
    arn = str(kms.create_key(Policy=document, Description="xacct conformance")["KeyMetadata"]["Arn"])
    world.later(lambda: kms.schedule_key_deletion(KeyId=arn, PendingWindowInDays=7))
    return arn


@pytest.mark.rule("key-policy")
def test_a_key_is_used_only_as_its_key_policy_allows(world: World) -> None:
    """KMS developer guide, "Key policies in AWS KMS": "Every KMS key must have exactly one key
    policy" ... "No AWS principal, including the account root user or key creator, has any
    permissions to a KMS key unless they are explicitly allowed, and never denied, in a key policy,
    IAM policy, or grant." An administrator of another account, whose IAM policies allow every
    action, is refused a key whose policy names only its own account."""
    arn = key(world, world.a)
    b = world.b.client("kms")
    assert error_code(lambda: b.generate_data_key(KeyId=arn, KeySpec="AES_256")) == "AccessDeniedException"
    assert error_code(lambda: b.encrypt(KeyId=arn, Plaintext=b"x")) == "AccessDeniedException"
    world.a.client("kms").encrypt(KeyId=arn, Plaintext=b"x")  # its own account, through IAM: allowed


@pytest.mark.rule("kms-cross-account")
def test_across_accounts_a_key_needs_its_key_policy_and_the_callers_own_policy(world: World) -> None:
    """KMS developer guide, "Allowing users in other accounts to use a KMS key": "Cross-account access
    requires permission in the key policy of the KMS key and in an IAM policy in the external user's
    account." ... "The key policy determines who can have access to the KMS key. The IAM policy
    determines who does have access to the KMS key. Neither the key policy nor the IAM policy alone
    is sufficient—you must change both." ... "specify the key ARN or alias ARN" in the request: the
    key is served from its own account."""
    caller = make.role(world, world.b, make.trusting(world.b))
    use = ["kms:Encrypt", "kms:DescribeKey", "kms:GenerateDataKey"]
    arn = key(world, world.a, make.allow(caller, use, "*", Sid="UseFromB"))
    as_role = make.assumed(world, world.b, caller).client("kms")

    def refused_by_iam() -> None:  # the key policy names the role itself; its own policies say nothing
        assert error_code(lambda: as_role.encrypt(KeyId=arn, Plaintext=b"x")) == "AccessDeniedException"

    eventually(refused_by_iam)
    iam = world.b.client("iam")
    allowed = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": use, "Resource": arn}]}
    iam.put_role_policy(RoleName=caller.rsplit("/", 1)[1], PolicyName="use-key", PolicyDocument=json.dumps(allowed))
    described = eventually(lambda: as_role.describe_key(KeyId=arn))["KeyMetadata"]
    assert described["Arn"] == arn
    assert described["AWSAccountId"] == world.a.id  # served by the key's account
    blob = eventually(lambda: as_role.encrypt(KeyId=arn, Plaintext=b"x"))["CiphertextBlob"]
    assert world.a.client("kms").decrypt(CiphertextBlob=blob)["Plaintext"] == b"x"
    # The other account's administrator (IAM allows it everything) is not the role the key names.
    assert error_code(lambda: world.b.client("kms").encrypt(KeyId=arn, Plaintext=b"x")) == "AccessDeniedException"
