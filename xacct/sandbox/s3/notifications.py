"""S3's event notifications: its events name the object's version and carry a sequencer, and a Lambda
destination is accepted only as the function's resource policy lets S3 invoke it from that bucket
(rule `notification-permission`; the invocation itself: awslambda/invoke.py)."""

from __future__ import annotations

import time
from typing import Any

from xacct.sandbox.awslambda import permission
from xacct.sandbox.awslambda._moto import lambda_backend_of
from xacct.sandbox.patching import around
from xacct.sandbox.s3._moto import InvalidArgumentError, s3_models, s3_notifications


def install_gaps() -> None:
    """S3's event names the object's version (versionId, for a versioned bucket) and carries a
    sequencer (S3 user guide, "Event message structure"); moto's has neither."""

    @around(s3_notifications, "_get_s3_event")
    def _get_s3_event(original: Any, event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event: dict[str, Any] = original(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        if bucket.is_versioned and key.version_id not in (None, "null"):
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{int(time.time() * 1e6):016X}"
        return event


def install_rules() -> None:
    """S3 validates a notification's Lambda destination when the configuration is put: the
    function's resource policy must let s3.amazonaws.com invoke it from this bucket and its account
    (which is why a template puts the AWS::Lambda::Permission before the bucket that notifies)."""
    from xacct.sandbox.s3.access import owner

    def invokable(arn: str, bucket: str) -> bool:
        try:
            function = lambda_backend_of(arn.split(":")[4], arn.split(":")[3]).get_function(arn)
        except Exception:
            return False
        return permission.s3_may_invoke(function, bucket, owner(bucket) or function.account_id)

    @around(s3_models.S3Backend, "put_bucket_notification_configuration")
    def put(original: Any, self: Any, bucket_name: str, config: dict[str, Any]) -> None:
        for item in (config or {}).get("CloudFunctionConfiguration") or []:
            if not invokable(item["CloudFunction"], bucket_name):
                raise InvalidArgumentError(
                    "Unable to validate the following destination configurations",
                    item["CloudFunction"],
                    "Permission denied",
                )
        original(self, bucket_name, config)
