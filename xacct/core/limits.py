"""The AWS limits the central stack's registry meets, as sizes of the values it renders to. Pure,
on plain strings, so that the registry can ask "does one more fit here" cheaply and exactly.

Sources: CloudFormation user guide, "CloudFormation quotas" (4,096 bytes per parameter value,
200 parameters, 51,200 bytes of template body inline); IAM user guide, "IAM and AWS STS quotas"
(6,144 characters per managed policy and 10,240 for a role's inline policies together, both
whitespace not counted; 10 managed policies per role); KMS developer guide, "Quotas" (32 KB per
key policy); S3 user guide, "Bucket policy examples" / PutBucketPolicy (20 KB per bucket policy).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass

PARAMETER_LIMIT = 4096  # bytes, one CloudFormation parameter value
PARAMETERS_PER_STACK = 200
INLINE_TEMPLATE_LIMIT = 51_200  # bytes, TemplateBody; up to 1 MB through TemplateURL
MANAGED_POLICY_LIMIT = 6144  # characters, whitespace not counted
ROLE_INLINE_LIMIT = 10_240  # characters, all of a role's inline policies, whitespace not counted
MANAGED_PER_ROLE = 10
KEY_POLICY_LIMIT = 32_768  # bytes
BUCKET_POLICY_LIMIT = 20_480  # bytes

# What the central template's managed policies grant (a test keeps them equal to the template),
# so that the size model counts exactly what IAM will count.
WRITE_ACTIONS = ("s3:AbortMultipartUpload", "s3:GetObject", "s3:PutObject", "s3:PutObjectTagging")
KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey")
BUILD_BUCKETS = "arn:aws:s3:::xacct-build-*/*"
ANY_KEY = "arn:aws:kms:*:*:key/*"


@dataclass(frozen=True)
class Use:
    """One limit as a value would use it: what, how much, of how much."""

    what: str
    used: int
    limit: int
    unit: str

    @property
    def over(self) -> bool:
        return self.used > self.limit

    def refusal(self) -> str:
        owner = "IAM's" if "policy" in self.what else "CloudFormation's"
        return (
            f"{self.what} would be {self.used:,} {self.unit}, over {owner} {self.limit:,}-{self.unit.rstrip('s')} limit"
            + (" for a parameter value" if self.unit == "bytes" and "policy" not in self.what else "")
        )


def compact(document: object) -> int:
    """Characters IAM counts for a policy: its JSON without whitespace."""
    return len(re.sub(r"\s", "", json.dumps(document)))


def statement_policy(
    actions: Sequence[str], resources: Sequence[str], condition: dict[str, object] | None = None
) -> int:
    statement: dict[str, object] = {"Effect": "Allow", "Action": list(actions), "Resource": list(resources)}
    if condition:
        statement["Condition"] = condition
    return compact({"Version": "2012-10-17", "Statement": [statement]})


def parameter(name: str, value: str) -> Use:
    return Use(name, len(value.encode()), PARAMETER_LIMIT, "bytes")


def named_grants(stars: Sequence[str], cmks: Sequence[str]) -> list[Use]:
    """The two managed policies that name each developer of the four lists."""
    return [
        Use(
            "the managed policy ReplicationWriteBuckets",
            statement_policy(WRITE_ACTIONS, stars),
            MANAGED_POLICY_LIMIT,
            "characters",
        ),
        Use(
            "the managed policy ReplicationUseKeys",
            statement_policy(KEY_ACTIONS, cmks),
            MANAGED_POLICY_LIMIT,
            "characters",
        ),
    ]


def account_grant(n: int, accounts: Sequence[str]) -> Use:
    """The managed policy that admits the build buckets and keys of one list of accounts."""
    size = statement_policy(
        WRITE_ACTIONS + KEY_ACTIONS,
        [BUILD_BUCKETS, ANY_KEY],
        {"StringEquals": {"aws:ResourceAccount": list(accounts)}},
    )
    return Use(f"the managed policy ReplicationMoreGrant{n}", size, MANAGED_POLICY_LIMIT, "characters")
