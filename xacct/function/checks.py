"""The registrar's checks of a join request, the way --verify reads a developer's path: through the
developer's read-only path reader (CrossAccountDeveloper), the bucket by its owner and its policy,
the key by its policy and by whether it answers the build account at all."""

from __future__ import annotations

from typing import Any

import boto3
import botocore.config
import botocore.exceptions as bx

from xacct.core import joining, limits, policies
from xacct.core.joining import Check, Request

CONFIG = botocore.config.Config(retries={"mode": "standard", "max_attempts": 8})


class Checker:
    def __init__(self, account: str, partition: str, sts: Any, kms: Any) -> None:
        self.account, self.partition, self.sts, self.kms = account, partition, sts, kms

    def check(self, request: Request, replication_role: str) -> list[Check]:
        checks = joining.static_checks(request)
        if joining.first_failure(checks):
            return checks
        reader = f"arn:{self.partition}:iam::{request.account}:role/xacct-verify-{self.account}-{request.region}"
        try:
            creds = self.sts.assume_role(RoleArn=reader, RoleSessionName="xacct-registrar")["Credentials"]
        except bx.ClientError as exc:
            detail = f"cannot assume {reader} ({exc.response['Error']['Code']}): CrossAccountDeveloper is not deployed"
            return [*checks, Check("developer stacks", False, detail)]
        view = boto3.Session(
            aws_access_key_id=creds["AccessKeyId"],
            aws_secret_access_key=creds["SecretAccessKey"],
            aws_session_token=creds["SessionToken"],
            region_name=request.region,
        )
        checks.append(self._bucket(view.client("s3", config=CONFIG), request, replication_role))
        # The key answers the build account only if its policy admits it: asked first, it names the
        # refusal a reviewer acts on; then its policy, read as --verify reads it, for each action.
        checks.append(self._key_answers(request))
        if checks[-1].ok:
            checks.append(self._key_policy(view.client("kms", config=CONFIG), request))
        return checks

    def _bucket(self, s3: Any, request: Request, role: str) -> Check:
        name = "bucket owner and policy"
        try:
            policy = s3.get_bucket_policy(Bucket=request.bucket, ExpectedBucketOwner=request.account)["Policy"]
        except bx.ClientError as exc:
            code = exc.response["Error"]["Code"]
            if code == "NoSuchBucketPolicy":
                return Check(name, False, f"{request.bucket} has no policy: it does not admit {role}")
            if code == "NoSuchBucket":
                return Check(name, False, f"{request.bucket} does not exist")
            return Check(
                name,
                False,
                f"{request.bucket} is not the build bucket of account {request.account} "
                f"(S3 answered {code} to its owner, ExpectedBucketOwner {request.account})",
            )
        artifact = f"arn:{self.partition}:s3:::{request.bucket}/x"
        lacking = [a for a in limits.WRITE_ACTIONS if not policies.admits(policy, role, a, artifact)]
        if lacking:
            return Check(name, False, f"the policy of {request.bucket} does not give {role} {', '.join(lacking)}")
        return Check(name, True, f"{request.bucket} is account {request.account}'s and admits {role}")

    def _key_policy(self, kms: Any, request: Request) -> Check:
        name = "key admits the build account"
        root = f"arn:{self.partition}:iam::{self.account}:root"
        try:
            policy = kms.get_key_policy(KeyId=request.cmk, PolicyName="default")["Policy"]
        except bx.ClientError as exc:
            return Check(name, False, f"cannot read the policy of {request.cmk}: {exc.response['Error']['Code']}")
        lacking = [a for a in limits.KEY_ACTIONS if not policies.admits_account(policy, root, a)]
        if lacking:
            return Check(name, False, f"the key policy of {request.cmk} does not give {root} {', '.join(lacking)}")
        return Check(name, True, f"{root} may {', '.join(limits.KEY_ACTIONS)} with {request.cmk}")

    def _key_answers(self, request: Request) -> Check:
        name = "key answers the build account"
        try:
            meta = self.kms.describe_key(KeyId=request.cmk)["KeyMetadata"]
        except bx.ClientError as exc:
            code = exc.response["Error"]["Code"]
            return Check(
                name,
                False,
                f"{request.cmk} refused the build account ({code}): its policy does not admit {self.account}",
            )
        if meta.get("KeyState") != "Enabled":
            return Check(name, False, f"{request.cmk} is {meta.get('KeyState')}")
        return Check(name, True, f"{request.cmk} is enabled and answers {self.account}")
