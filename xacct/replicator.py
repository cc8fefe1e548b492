"""Copy each new build artifact into every developer bucket.

Runs as the central stack's Lambda function (inlined into cfn/CrossAccountPrimary.yaml,
kept identical by a test). The target list lives in an SSM parameter, not in the
environment, because Lambda's 4 KB environment limit would bind before the 4,096-byte
CloudFormation parameter limit does.
"""

import os
import urllib.parse
from typing import Any

import boto3


class ReplicationError(Exception):
    pass


def targets(ssm: Any, name: str) -> list[str]:
    # "true:bucket-a,bucket-b" (EnableReplication:ReplicationBucketList)
    enabled, _, buckets = ssm.get_parameter(Name=name)["Parameter"]["Value"].partition(":")
    if enabled.strip() != "true":
        return []
    return [b.strip() for b in buckets.split(",") if b.strip()]


def replicate(s3: Any, source: str, key: str, version: str | None, buckets: list[str]) -> dict[str, str]:
    src: dict[str, str] = {"Bucket": source, "Key": key}
    if version:
        src["VersionId"] = version
    failed: dict[str, str] = {}
    for bucket in buckets:
        try:
            # The destination encrypts with its own default key; tags stay behind so
            # the writer needs s3:PutObject and nothing more on the developer's bucket.
            s3.copy(src, bucket, key, ExtraArgs={"TaggingDirective": "REPLACE"})
        except Exception as exc:
            failed[bucket] = str(exc)
    return failed


def handler(event: dict[str, Any], context: Any, s3: Any = None, ssm: Any = None) -> dict[str, Any]:
    s3 = s3 or boto3.client("s3")
    ssm = ssm or boto3.client("ssm")
    buckets = targets(ssm, os.environ["TARGETS_PARAMETER"])
    failures: list[str] = []
    copied = 0
    for record in event.get("Records", []):
        obj = record["s3"]["object"]
        # S3 event keys are URL-encoded with '+' for spaces.
        key = urllib.parse.unquote_plus(obj["key"])
        source = record["s3"]["bucket"]["name"]
        failed = replicate(s3, source, key, obj.get("versionId"), buckets)
        copied += len(buckets) - len(failed)
        failures += [f"{key} -> {b}: {why}" for b, why in failed.items()]
    if failures:
        # Raising makes Lambda retry the event; copies that worked are simply repeated.
        raise ReplicationError("; ".join(failures))
    return {"copied": copied, "targets": buckets}
