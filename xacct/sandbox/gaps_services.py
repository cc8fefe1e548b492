"""Where moto's services do something other than what AWS documents, and the product depends on
it: S3 (bucket policies from templates, notifications and their events, tags), KMS, Lambda.
Each closes one gap towards AWS's documented behaviour; none makes moto accept what AWS refuses."""

from __future__ import annotations

import base64
import contextlib
import json
import time
from typing import Any

from xacct.sandbox import gaps_kms


def install() -> None:
    _bucket_policy_resource()
    _bucket_policies_decided_once()
    _kms_key_updates()
    _kms_key_arns()
    gaps_kms.install()
    _inline_lambda_code_updates()
    _template_notifications()
    _function_logging()
    _functions_run()
    _event_versions()
    _object_tags_with_their_bucket()
    _log_group_arn()


def _bucket_policy_resource() -> None:
    """moto's CloudFormation ignores AWS::S3::BucketPolicy (the bucket reports no policy): apply it
    through S3 as AWS does. (That a bucket has only one, and what it may name, is in strict.py.)"""
    from moto.cloudformation import parsing
    from moto.core.common_models import CloudFormationModel

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
            props = cloudformation_json["Properties"]
            s3_backend(account_id, region_name).put_bucket_policy(
                props["Bucket"], json.dumps(props["PolicyDocument"]).encode()
            )
            return cls(props["Bucket"])

        @classmethod
        def update_from_cloudformation_json(
            cls,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> BucketPolicy:
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

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def s3_backend(account_id: str, region_name: str) -> Any:
    from moto.s3 import models as s3m
    from moto.utilities.utils import get_partition

    return s3m.s3_backends[account_id][get_partition(region_name)]


def _bucket_policies_decided_once() -> None:
    """A bucket policy is evaluated once per request, by the authorization in front of moto
    (access_s3.py, policy_eval.py: AWS's evaluation logic, conditions and all). moto evaluated it a
    second time without reading conditions: a Deny whose condition does not hold (TLS-only, "only
    this role" on aws:userid, a required SSE-KMS key) refused what AWS accepts, with an empty 403."""
    from moto.iam.access_control import PermissionResult
    from moto.s3 import models as s3m

    def get_permission(self: Any, action: str, resource: str) -> Any:
        return PermissionResult.NEUTRAL

    s3m.FakeBucket.get_permission = get_permission  # type: ignore[method-assign]


def _kms_key_updates() -> None:
    """AWS::KMS::Key updates its key policy, rotation and description in place (resource schema:
    KeyPolicy, EnableKeyRotation and Description update without interruption); moto cannot
    update a key at all, so a stack update that admits a new account left the old policy. moto
    also keeps a template's key policy as an object, where the KMS API returns a JSON string."""
    from moto.kms import models as kms

    create = kms.Key.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        props = dict(cloudformation_json["Properties"])
        if not isinstance(props.get("KeyPolicy"), str):
            props["KeyPolicy"] = json.dumps(props["KeyPolicy"])
        return create(
            cls, resource_name, {**cloudformation_json, "Properties": props}, account_id, region_name, **kwargs
        )

    kms.Key.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment,method-assign,arg-type]

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        props = cloudformation_json["Properties"]
        backend = kms.kms_backends[account_id][region_name]
        policy = props["KeyPolicy"]
        backend.put_key_policy(original_resource.id, policy if isinstance(policy, str) else json.dumps(policy))
        original_resource.key_rotation_status = props.get("EnableKeyRotation", False)
        original_resource.description = props.get("Description", original_resource.description)
        return original_resource

    kms.Key.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment,method-assign]


def _kms_key_arns() -> None:
    """ScheduleKeyDeletion takes a key id or a key ARN (KMS API reference); moto takes the id only."""
    from moto.kms import models as kms

    original = kms.KmsBackend.schedule_key_deletion

    def schedule_key_deletion(self: Any, key_id: str, pending_window_in_days: int) -> Any:
        return original(self, self.get_key_id(key_id), pending_window_in_days)

    kms.KmsBackend.schedule_key_deletion = schedule_key_deletion  # type: ignore[method-assign]


def _inline_lambda_code_updates() -> None:
    """An inline function (Code.ZipFile) is zipped by CloudFormation on update as on create; moto
    zips it on create only, and fails when an update hands it the plain source."""
    from moto.awslambda import models as lam

    original = lam.LambdaFunction.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        code = dict(cloudformation_json["Properties"]["Code"])
        if "ZipFile" in code:
            code["ZipFile"] = base64.b64encode(cls._create_zipfile_from_plaintext_code(code["ZipFile"]))
            properties = {**cloudformation_json["Properties"], "Code": code}
            cloudformation_json = {**cloudformation_json, "Properties": properties}
        return original(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

    lam.LambdaFunction.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment,method-assign]


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
    from moto.s3 import models as s3m

    def apply(bucket: Any, cfn: Any, account_id: str, region_name: str) -> None:
        props = cfn.get("Properties", {})
        if "NotificationConfiguration" in props:
            s3_backend(account_id, region_name).put_bucket_notification_configuration(
                bucket.name, notification_config(props) or {}
            )

    create = s3m.FakeBucket.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]
    update = s3m.FakeBucket.update_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        bucket = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        try:
            apply(bucket, cloudformation_json, account_id, region_name)
        except Exception:
            # A resource whose creation fails does not exist afterwards: its handler cleans up.
            s3_backend(account_id, region_name).delete_bucket(bucket.name)
            raise
        return bucket

    def update_from_cloudformation_json(
        cls: Any,
        original_resource: Any,
        new_resource_name: str,
        cloudformation_json: Any,
        account_id: str,
        region_name: str,
    ) -> Any:
        bucket = update(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
        apply(bucket, cloudformation_json, account_id, region_name)
        return bucket

    s3m.FakeBucket.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment,method-assign,arg-type]
    s3m.FakeBucket.update_from_cloudformation_json = classmethod(update_from_cloudformation_json)  # type: ignore[assignment,method-assign]


def _function_logging() -> None:
    """A function's LoggingConfig (its log group) is kept, so its output lands where the template
    says; moto drops the property."""
    from moto.awslambda import models as lam

    create = lam.LambdaFunction.create_from_cloudformation_json.__func__  # type: ignore[attr-defined]

    def create_from_cloudformation_json(
        cls: Any, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
    ) -> Any:
        function = create(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
        function.xacct_logging_config = cloudformation_json["Properties"].get("LoggingConfig")
        return function

    lam.LambdaFunction.create_from_cloudformation_json = classmethod(create_from_cloudformation_json)  # type: ignore[assignment,method-assign,arg-type]


def _functions_run() -> None:
    """An S3 notification invokes the function, asynchronously, with its own code and role
    (lambda_runtime.py), when its resource policy lets S3 invoke it from that bucket (s3_invoke.py);
    moto needs Docker for that and silently drops the event without it."""
    from moto.awslambda.utils import get_backend
    from moto.s3 import notifications

    from xacct.sandbox import access_s3, lambda_runtime, s3_invoke

    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        try:
            function = get_backend(fn_arn.split(":")[4], region_name).get_function(fn_arn)
        except Exception:  # an asynchronous invocation of a missing function fails silently, as on AWS
            return
        bucket = str(event_body["Records"][0]["s3"]["bucket"]["name"])
        if not s3_invoke.allows(function, bucket, access_s3.owner(bucket) or account_id):
            return  # S3's invocation is refused by the function's resource policy: the event is lost
        lambda_runtime.invoke_async(function, event_body)

    notifications._invoke_awslambda = _invoke_awslambda
    lambda_runtime.install_invoke()


def _event_versions() -> None:
    """S3's event names the object's version (versionId, for a versioned bucket) and carries a
    sequencer (S3 user guide, "Event message structure"); moto's has neither."""
    from moto.s3 import notifications

    original = notifications._get_s3_event

    def _get_s3_event(event_name: str, bucket: Any, key: Any, notification_id: str) -> dict[str, Any]:
        event = original(event_name, bucket, key, notification_id)
        obj = event["Records"][0]["s3"]["object"]
        if bucket.is_versioned and key.version_id not in (None, "null"):
            obj["versionId"] = key.version_id
        obj["sequencer"] = f"{int(time.time() * 1e6):016X}"
        return event

    notifications._get_s3_event = _get_s3_event


def _object_tags_with_their_bucket() -> None:
    """An object's tags belong to the object, in its bucket's account, whoever wrote them; moto
    keeps them with the writer's account, so tags a build account writes into a developer's bucket
    (a copy, a multipart upload) were invisible to the developer."""
    from moto.s3 import models as s3m

    def owner_backend(backend: Any, key: Any) -> Any:
        found = s3m.s3_backends.bucket_accounts.get(key.bucket_name)
        return s3m.s3_backends[found[1]][found[0]] if found else backend

    for name in ("get_object_tagging", "put_object_tagging"):
        original = getattr(s3m.S3Backend, name)

        def make(original: Any) -> Any:
            def delegate(self: Any, key: Any, *args: Any, **kwargs: Any) -> Any:
                owner = owner_backend(self, key)
                return original(owner, key, *args, **kwargs)

            return delegate

        setattr(s3m.S3Backend, name, make(original))


def _log_group_arn() -> None:
    """Fn::GetAtt LogGroup.Arn ends in `:*` (AWS::Logs::LogGroup return values: "arn:aws:logs:
    us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*"), so a policy granting it
    covers the group's streams. moto answers the ARN without it."""
    from moto.logs.models import LogGroup

    original = LogGroup.get_cfn_attribute

    def get_cfn_attribute(self: Any, attribute_name: str) -> str:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" and not str(value).endswith(":*") else str(value)

    LogGroup.get_cfn_attribute = get_cfn_attribute  # type: ignore[method-assign]
