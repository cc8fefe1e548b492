"""S3 invokes a function only as the function's resource policy lets S3 invoke it from that bucket
(rule `notification-permission`). PutBucketNotificationConfiguration (S3 API reference): "In the case
of Lambda destinations, Amazon S3 verifies that the Lambda function permissions grant Amazon S3
permission to invoke the function from the Amazon S3 bucket." S3 calls Lambda as the service
principal s3.amazonaws.com, with the bucket's ARN as aws:SourceArn and its owner as
aws:SourceAccount (IAM user guide, "AWS global condition context keys": "aws:SourceArn ... when a
service calls another service on your behalf"), so a permission bound to another bucket or account
does not admit it. The same test decides whether a notification is accepted and whether an event
runs the function."""

from __future__ import annotations

from typing import Any

S3 = "s3.amazonaws.com"


def s3_may_invoke(function: Any, bucket: str, owner: str) -> bool:
    """Whether the function's resource policy lets S3 invoke it for `bucket`, owned by `owner`."""
    from xacct.sandbox.policy_eval import Caller, Request, decide

    statements = list(getattr(function.policy, "statements", None) or [])
    if not statements:
        return False  # no resource policy: no other principal may invoke it
    # A service principal has no identity policies: the function's resource policy alone decides.
    service = Caller(function.account_id, S3, S3, "Service", S3)
    context = {
        "aws:securetransport": ("true",),
        "aws:sourcearn": (f"arn:aws:s3:::{bucket}",),
        "aws:sourceaccount": (owner,),
    }
    request = Request(service, "lambda:InvokeFunction", function.function_arn, function.account_id, context)
    return decide(request, [], {"Statement": statements}).allowed
