"""CloudFormation's S3 resources as their handlers carry them out, where moto's differ: a bucket
policy resource applied through S3, one per bucket (rule `one-bucket-policy`); a bucket's versioning
(rule `template-versioning`) and notifications from its template; a bucket that holds objects cannot
be deleted (rule `bucket-not-empty`)."""

from __future__ import annotations

import contextlib
import json
from typing import Any

from xacct.sandbox._moto import CloudFormationModel, get_partition
from xacct.sandbox.cloudformation import resource_type
from xacct.sandbox.cloudformation._moto import parsing
from xacct.sandbox.cloudformation.failures import ResourceFailed
from xacct.sandbox.patching import after_template, around
from xacct.sandbox.s3._moto import BucketNotEmpty, s3_models


def s3_backend(account_id: str, region_name: str) -> Any:
    return s3_models.s3_backends[account_id][get_partition(region_name)]


def install_gaps() -> None:
    _bucket_policy_resource()
    _template_notifications()


def install_rules() -> None:
    _one_bucket_policy()
    _template_versioning()
    _bucket_not_empty()


def _bucket_policy_resource() -> None:
    """moto's CloudFormation ignores AWS::S3::BucketPolicy (the bucket reports no policy): apply it
    through S3 as AWS does."""

    class BucketPolicy(CloudFormationModel):
        def __init__(self, bucket: str) -> None:
            self.bucket = bucket

        @property
        def physical_resource_id(self) -> str:
            return self.bucket

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::S3::BucketPolicy"

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> BucketPolicy:
            return cls._put(cloudformation_json, account_id, region_name)

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> BucketPolicy:
            return cls._put(cloudformation_json, account_id, region_name)

        @classmethod
        def _put(cls, cloudformation_json: Any, account_id: str, region_name: str) -> BucketPolicy:
            props = cloudformation_json["Properties"]
            s3_backend(account_id, region_name).put_bucket_policy(
                props["Bucket"], json.dumps(props["PolicyDocument"]).encode()
            )
            return cls(props["Bucket"])

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            # On a stack update moto hands over the template's unresolved properties (a Bucket that
            # is an Fn::ImportValue, say); the physical id is the bucket's name either way.
            bucket = cloudformation_json["Properties"]["Bucket"]
            with contextlib.suppress(Exception):  # the bucket may be gone already
                s3_backend(account_id, region_name).delete_bucket_policy(
                    bucket if isinstance(bucket, str) else resource_name
                )

    resource_type(BucketPolicy)


def notification_config(props: dict[str, Any]) -> dict[str, Any] | None:
    """A template's NotificationConfiguration in the shape of PutBucketNotificationConfiguration."""
    cfn = props.get("NotificationConfiguration")
    if not cfn:
        return None

    def rules(item: dict[str, Any]) -> dict[str, Any]:
        found = (item.get("Filter") or {}).get("S3Key", {}).get("Rules")
        return {"Filter": {"S3Key": {"FilterRule": found}}} if found else {}

    config: dict[str, Any] = {
        "CloudFunctionConfiguration": [
            {"CloudFunction": c["Function"], "Event": [c["Event"]], **rules(c)}
            for c in cfn.get("LambdaConfigurations", [])
        ],
        "QueueConfiguration": [
            {"Queue": c["Queue"], "Event": [c["Event"]], **rules(c)} for c in cfn.get("QueueConfigurations", [])
        ],
        "TopicConfiguration": [
            {"Topic": c["Topic"], "Event": [c["Event"]], **rules(c)} for c in cfn.get("TopicConfigurations", [])
        ],
    }
    if (cfn.get("EventBridgeConfiguration") or {}).get("EventBridgeEnabled"):
        config["EventBridgeConfiguration"] = {}
    return config


def _template_notifications() -> None:
    """An S3 bucket's NotificationConfiguration given in a template is applied, on create and on
    update, as PutBucketNotificationConfiguration would apply it; moto ignores it."""

    @after_template(s3_models.FakeBucket)
    def apply(bucket: Any, cfn: Any, account_id: str, region_name: str, *, created: bool) -> None:
        props = cfn.get("Properties", {})
        if "NotificationConfiguration" not in props:
            return
        backend = s3_backend(account_id, region_name)
        try:
            backend.put_bucket_notification_configuration(bucket.name, notification_config(props) or {})
        except Exception:
            if created:  # a resource whose creation fails does not exist afterwards: its handler cleans up
                backend.delete_bucket(bucket.name)
            raise


def _one_bucket_policy() -> None:
    """A bucket has one policy, and one resource owns it: creating an AWS::S3::BucketPolicy for a
    bucket that already has a policy fails with AlreadyExists. (moto, with the bucket policy resource
    above alone, would let the second silently replace the first.)"""

    @around(parsing.get_model_map()["AWS::S3::BucketPolicy"], "create_from_cloudformation_json")
    def create(original: Any, cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
        bucket = s3_backend(account_id, region_name).get_bucket(cfn["Properties"]["Bucket"])
        if bucket.policy is not None:
            raise ResourceFailed("Bucket Policy Already Exists", "AlreadyExists")
        return original(cls, name, cfn, account_id, region_name, **kw)


def _template_versioning() -> None:
    """VersioningConfiguration in a template versions the bucket (moto ignores the property, so a
    product relying on version ids would pass here and fail nowhere else)."""

    @after_template(s3_models.FakeBucket)
    def apply(bucket: Any, cfn: Any, account_id: str, region: str, *, created: bool) -> None:
        status = (cfn.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status")
        if status:
            s3_backend(account_id, region).put_bucket_versioning(bucket.name, status)


def _bucket_not_empty() -> None:
    """CloudFormation cannot delete a bucket that holds objects or object versions: the stack ends
    DELETE_FAILED. moto deletes nothing and reports the stack deleted."""

    @around(s3_models.FakeBucket, "delete_from_cloudformation_json")
    def delete(original: Any, cls: Any, name: str, cfn: Any, account_id: str, region_name: str) -> None:
        bucket = s3_backend(account_id, region_name).buckets.get(name)
        if bucket is not None and (len(bucket.keys) or bucket.multiparts):
            raise BucketNotEmpty(name)
        original(cls, name, cfn, account_id, region_name)
