"""S3 Lifecycle, applied and visible (rule `lifecycle`): moto stored a bucket's lifecycle rules but never
carried them out, and its CloudFormation ignored an AWS::S3::Bucket's LifecycleConfiguration, so the
build and pipeline buckets' rules (noncurrent versions expire after NoncurrentVersionDays, incomplete
multipart uploads are aborted after a day) did nothing anywhere and nothing showed that they work.

- A template's LifecycleConfiguration is put on the bucket, on create and on update, as
  PutBucketLifecycleConfiguration would put it (GetBucketLifecycleConfiguration shows it).
- S3 carries the rules out in the background, by days (AWS::S3::Bucket NoncurrentVersionExpiration:
  "Upon expiration, Amazon S3 permanently deletes the noncurrent object versions"; NoncurrentDays:
  "the number of days an object is noncurrent before Amazon S3 can perform the associated action",
  counted from when its successor arrived). Days do not pass in a test, so the emulator's clock is
  explicit: `run(after_days)` carries out every enabled rule as S3 would once that many days have passed.
"""

from __future__ import annotations

import datetime as dt
import itertools
from typing import Any

from xacct.sandbox.patching import after_template, around
from xacct.sandbox.s3._moto import s3_backends, s3_models


def api_rules(configuration: dict[str, Any]) -> list[dict[str, Any]]:
    """A template's LifecycleConfiguration as PutBucketLifecycleConfiguration's rules (as moto reads them)."""
    found = []
    for rule in configuration.get("Rules") or []:
        made: dict[str, Any] = {"ID": rule.get("Id"), "Status": rule.get("Status", "Enabled")}
        made["Filter"] = {"Prefix": (rule.get("Prefix") or "")}
        if rule.get("ExpirationInDays") is not None:
            made["Expiration"] = {"Days": str(rule["ExpirationInDays"])}
        noncurrent = rule.get("NoncurrentVersionExpiration") or {}
        days = noncurrent.get("NoncurrentDays", rule.get("NoncurrentVersionExpirationInDays"))
        if days is not None:
            made["NoncurrentVersionExpiration"] = {"NoncurrentDays": str(days)}
        abort = rule.get("AbortIncompleteMultipartUpload") or {}
        if abort.get("DaysAfterInitiation") is not None:
            made["AbortIncompleteMultipartUpload"] = {"DaysAfterInitiation": str(abort["DaysAfterInitiation"])}
        found.append(made)
    return found


def install() -> None:
    from xacct.sandbox.s3.resources import s3_backend

    @after_template(s3_models.FakeBucket)
    def apply(bucket: Any, cfn: Any, account_id: str, region: str, *, created: bool) -> None:
        configuration = (cfn.get("Properties") or {}).get("LifecycleConfiguration")
        backend = s3_backend(account_id, region)
        if configuration:
            backend.put_bucket_lifecycle_configuration(bucket.name, api_rules(configuration))
        elif bucket.rules:
            backend.delete_bucket_lifecycle(bucket.name)

    @around(s3_models.FakeMultipart, "__init__")
    def initiated(original: Any, self: Any, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.xacct_initiated = dt.datetime.now(dt.UTC).replace(tzinfo=None)  # moto keeps no initiation time


def _prefix(rule: Any) -> str:
    if rule.filter is not None and getattr(rule.filter, "prefix", None) is not None:
        return str(rule.filter.prefix)
    return str(rule.prefix or "")


def run(after_days: float) -> int:
    """Carry out every bucket's enabled lifecycle rules as S3 would `after_days` from now; how many
    object versions and uploads it removed."""
    now = dt.datetime.now(dt.UTC).replace(tzinfo=None) + dt.timedelta(days=after_days)
    removed = 0
    for account in list(dict.keys(s3_backends)):
        backend = s3_backends[account]["aws"]
        for bucket in list(backend.buckets.values()):
            for rule in [r for r in bucket.rules if r.status == "Enabled"]:
                removed += _apply(backend, bucket, rule, now)
    return removed


def _apply(backend: Any, bucket: Any, rule: Any, now: dt.datetime) -> int:
    prefix, removed = _prefix(rule), 0
    for name in [k for k in list(bucket.keys.keys()) if k.startswith(prefix)]:
        versions = list(bucket.keys.getlist(name, []))
        if rule.nve_noncurrent_days is not None:
            days = dt.timedelta(days=int(rule.nve_noncurrent_days))
            for older, newer in itertools.pairwise(versions):
                if now - newer.last_modified >= days:  # noncurrent since its successor arrived
                    backend.delete_object(bucket.name, name, version_id=str(older.version_id))
                    removed += 1
        current = versions[-1] if versions else None
        if (
            rule.expiration_days is not None
            and current is not None
            and not getattr(current, "is_delete_marker", False)
            and now - current.last_modified >= dt.timedelta(days=int(rule.expiration_days))
        ):
            backend.delete_object(bucket.name, name)  # versioned: a delete marker, as S3 adds
            removed += 1
    if rule.aimu_days is not None:
        days = dt.timedelta(days=int(rule.aimu_days))
        for upload_id, upload in list(bucket.multiparts.items()):
            initiated = getattr(upload, "xacct_initiated", None)
            if upload.key_name.startswith(prefix) and initiated is not None and now - initiated >= days:
                del bucket.multiparts[upload_id]
                removed += 1
    return removed
