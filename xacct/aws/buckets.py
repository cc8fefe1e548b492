"""What --purge does to a developer's buckets: count what they hold (for the plan and its one
typed confirmation), empty them, delete them. The primary stack retains both buckets when it is
deleted (DeletionPolicy), so deleting them is purge's explicit job."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import botocore.exceptions as bx

from xacct.core.plan import BucketContents as Contents
from xacct.core.state import Progress
from xacct.errors import AwsFailure

BATCH = 1000  # DeleteObjects takes at most 1,000 keys a request (S3 API reference)


def _versions(s3: Any, bucket: str) -> Iterator[dict[str, str]]:
    for page in s3.get_paginator("list_object_versions").paginate(Bucket=bucket):
        for item in page.get("Versions", []) + page.get("DeleteMarkers", []):
            yield {"Key": item["Key"], "VersionId": item["VersionId"]}


def contents(s3: Any, bucket: str) -> Contents | None:
    """What `bucket` holds, or None when it does not exist."""
    try:
        return Contents(bucket, sum(1 for _ in _versions(s3, bucket)))
    except bx.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") in ("NoSuchBucket", "404"):
            return None
        raise


def empty(s3: Any, bucket: str, progress: Progress) -> None:
    """Delete every object version and delete marker; report each version S3 would not delete."""
    batch: list[dict[str, str]] = []
    failed: list[str] = []
    deleted = 0

    def flush() -> None:
        nonlocal deleted
        if not batch:
            return
        answer = s3.delete_objects(Bucket=bucket, Delete={"Objects": list(batch), "Quiet": True})
        errors = answer.get("Errors", [])
        failed.extend(
            f"{e.get('Key')} ({e.get('VersionId', '?')}): {e.get('Code')} {e.get('Message', '')}".strip()
            for e in errors
        )
        deleted += len(batch) - len(errors)
        batch.clear()

    try:
        for version in _versions(s3, bucket):
            batch.append(version)
            if len(batch) == BATCH:
                flush()
        flush()
    except bx.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return
        raise
    if failed:
        shown = "; ".join(failed[:5]) + (f"; and {len(failed) - 5} more" if len(failed) > 5 else "")
        raise AwsFailure(
            f"{bucket}: {len(failed)} object versions could not be deleted ({deleted} were): {shown}",
            hint="fix what S3 reports (object lock, a bucket policy), then run the same command again",
        )
    if deleted:
        progress.note(f"dev:{bucket}", f"{deleted} object versions deleted")


def schedule_key_deletion(kms: Any, key: str) -> bool:
    """Schedule the key's deletion in 7 days (KMS's shortest window); False when it already is."""
    if kms.describe_key(KeyId=key)["KeyMetadata"].get("KeyState") == "PendingDeletion":
        return False
    kms.schedule_key_deletion(KeyId=key, PendingWindowInDays=7)
    return True


def delete(s3: Any, bucket: str, progress: Progress) -> None:
    try:
        s3.delete_bucket(Bucket=bucket)
    except bx.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") == "NoSuchBucket":
            return
        raise
    progress.note(f"dev:{bucket}", "bucket deleted")
