"""Where moto does something other than what AWS documents, and the product depends on it.

Each function closes one gap towards AWS's documented behaviour; none makes moto accept anything
AWS refuses (those rules are in `strict.py`). The product never knows: it talks to whatever
endpoint botocore is given, exactly as it does on AWS.
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import time
from typing import Any

from xacct.emulator import failures

_PATCHED = "_xacct_gaps"


def install() -> None:
    from moto.cloudformation import models

    if getattr(models.CloudFormationBackend, _PATCHED, False):
        return
    failures.install()
    _change_sets()
    _depends_on()
    _retain_except_on_create()
    _resource_updates()
    _parameter_driven_updates()
    _bucket_policy_resource()
    _policies_over_tls()
    _kms_key_updates()
    _kms_key_arns()
    _inline_lambda_code_updates()
    _generated_function_names()
    _list_imports()
    _template_notifications()
    _function_logging()
    _functions_run()
    _event_versions()
    _object_tags_with_their_bucket()
    setattr(models.CloudFormationBackend, _PATCHED, True)


def _change_sets() -> None:
    """ExecuteChangeSet as the ExecuteChangeSet API reference describes it.

    moto builds a CREATE change set's stack with an empty template and never computes its outputs
    or registers its exports; it sets `*_COMPLETE` whatever happened; it does not delete the
    stack's other change sets, which AWS does because they no longer match the stack; and an
    unknown change set is a server error where AWS answers ChangeSetNotFound.
    """
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import CloudFormationError

    class ChangeSetNotFound(CloudFormationError):
        code = "ChangeSetNotFound"

    def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
        change_set = self.change_sets.get(change_set_name) or next(
            (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
        )
        if change_set is None:
            raise ChangeSetNotFound(f"ChangeSet [{change_set_name}] does not exist")
        stack = self.stacks[change_set.stack_id]
        if change_set.change_set_type == "CREATE":
            stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
            stack.template = change_set.template
            stack._parse_template()
            stack.description = stack.template_dict.get("Description")
            stack.cross_stack_resources = self.exports  # what create_stack gives for Fn::ImportValue
            stack.resource_map = stack._create_resource_map()
            stack.create_resources()  # ends CREATE_COMPLETE, or ROLLBACK_COMPLETE (failures.py)
            if stack.status == "CREATE_COMPLETE":
                stack.output_map = stack._create_output_map()
                try:
                    self._validate_export_uniqueness(stack)
                except failures.ResourceFailed as failure:
                    failures.roll_back_create(stack, failure)
        else:
            stack.update(change_set.template, role_arn=stack.role_arn, parameters=change_set.parameters)
        change_set.execution_status = "EXECUTE_COMPLETE"
        if stack.status in ("CREATE_COMPLETE", "UPDATE_COMPLETE"):
            stack.output_map = stack._create_output_map()
            for export in stack.exports:
                self.exports[export.name] = export
        for cs_id, cs in list(self.change_sets.items()):
            if cs.stack_id == change_set.stack_id and cs is not change_set:
                del self.change_sets[cs_id]

    models.CloudFormationBackend.execute_change_set = execute_change_set  # type: ignore[method-assign]


def _depends_on() -> None:
    """A resource is created only after everything in its DependsOn (CloudFormation user guide,
    "DependsOn attribute"); moto creates a resource as soon as another one refers to it, and then
    skips its DependsOn (a bucket notified a function before the permission to invoke it existed)."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.__getitem__

    def __getitem__(self: Any, key: str) -> Any:
        if key not in self._parsed_resources:
            body = self._resource_json_map.get(key) or {}
            after = body.get("DependsOn", [])
            for dependency in [after] if isinstance(after, str) else after:
                if dependency in self._resource_json_map:
                    self[dependency]
        return original(self, key)

    parsing.ResourceMap.__getitem__ = __getitem__  # type: ignore[method-assign]


def _retain_except_on_create() -> None:
    """DeletionPolicy RetainExceptOnCreate keeps the resource when its stack is deleted, as Retain
    does, except when the operation that created it rolls back (CloudFormation user guide,
    "DeletionPolicy attribute"); moto knows only Retain and deletes the resource."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.delete

    def delete(self: Any) -> None:
        if getattr(self, "_xacct_create_rollback", False):
            return original(self)
        saved = {}
        for name, body in self._resource_json_map.items():
            if body.get("DeletionPolicy") == "RetainExceptOnCreate":
                saved[name] = body
                self._resource_json_map[name] = {**body, "DeletionPolicy": "Retain"}
        try:
            original(self)
        finally:
            self._resource_json_map.update(saved)

    parsing.ResourceMap.delete = delete  # type: ignore[method-assign]


def _resource_updates() -> None:
    """Updating a resource whose type moto cannot update leaves None in its place, and every later
    Fn::GetAtt on it fails; on AWS the resource stays. An AWS::IAM::ManagedPolicy keeps its first
    document through updates in moto; AWS publishes the new document as the default version. A
    resource whose Condition turns false on update is deleted on AWS; moto keeps it."""
    from moto.cloudformation import parsing

    update_resource = parsing.parse_and_update_resource

    def parse_and_update_resource(
        logical_id: str, resource_json: dict[str, Any], resources_map: Any, account_id: str, region_name: str
    ) -> Any:
        updated = update_resource(logical_id, resource_json, resources_map, account_id, region_name)
        if updated is not None:
            return updated
        # moto cannot update this type: the resource (created just now if its condition turned
        # true) stays, and a managed policy publishes its new document.
        existing = resources_map._parsed_resources.get(logical_id)
        if existing is not None and type(existing).__name__ == "ManagedPolicy":
            _publish_policy_version(resources_map, logical_id, existing)
        return existing

    parsing.parse_and_update_resource = parse_and_update_resource

    original_update = parsing.ResourceMap.update

    def update(self: Any, template: dict[str, Any], parameters: dict[str, Any] | None = None) -> None:
        original_update(self, template, parameters)
        for logical_id, body in list(self._resource_json_map.items()):
            condition = body.get("Condition")
            resource = self._parsed_resources.get(logical_id)
            if condition and resource is not None and not self.lazy_condition_map[condition]:
                self._delete_resource(resource, body)
                self._parsed_resources.pop(logical_id, None)

    parsing.ResourceMap.update = update  # type: ignore[method-assign]


def _publish_policy_version(resource_map: Any, logical_id: str, policy: Any) -> None:
    """The new document as the default version, as AWS does (at most five versions)."""
    from moto.cloudformation import parsing
    from moto.iam import models as iam

    document = parsing.clean_json(
        resource_map._resource_json_map[logical_id]["Properties"]["PolicyDocument"], resource_map
    )
    current = next(v for v in policy.versions if v.is_default).document
    if (json.loads(current) if isinstance(current, str) else current) == document:
        return
    backend = iam.iam_backends[policy.account_id][policy.partition]
    old = [v for v in policy.versions if not v.is_default]
    if len(policy.versions) >= 5 and old:
        backend.delete_policy_version(policy.arn, old[0].version_id)
    backend.create_policy_version(policy.arn, json.dumps(document), set_as_default=True)


def _parameter_driven_updates() -> None:
    """A parameter change must update every resource that uses the parameter; moto updates only
    those that Ref it directly, not those that use it through Fn::If, Fn::Sub or Fn::Split (an SSM
    value or a bucket policy stays stale)."""
    from moto.cloudformation import parsing

    original = parsing.ResourceMap.build_resource_diff

    def build_resource_diff(self: Any, other: dict[str, Any], parameters: dict[str, Any] | None = None) -> Any:
        actions: dict[str, Any] = original(self, other, parameters)
        if not parameters:
            return actions
        changed = [p for p in parameters if self.input_parameters.get(p) != parameters[p]]
        old, new = self._resource_json_map, other["Resources"]
        for name, body in new.items():
            text = json.dumps(body)
            if (
                name in old
                and name not in actions["Modify"]
                and (any(re.search(rf"\b{re.escape(c)}\b", text) for c in changed) or '"Fn::If"' in text)
            ):
                actions["Modify"].append(name)
        return actions

    parsing.ResourceMap.build_resource_diff = build_resource_diff  # type: ignore[method-assign,assignment]


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
            with contextlib.suppress(Exception):  # the bucket may be gone already
                s3_backend(account_id, region_name).delete_bucket_policy(cloudformation_json["Properties"]["Bucket"])

    for cached in (parsing.get_model_list, parsing.get_model_map, parsing.get_name_type_map):
        cached.cache_clear()


def s3_backend(account_id: str, region_name: str) -> Any:
    from moto.s3 import models as s3m
    from moto.utilities.utils import get_partition

    return s3m.s3_backends[account_id][get_partition(region_name)]


def _policies_over_tls() -> None:
    """Every request to AWS travels over TLS; the emulator speaks plain HTTP, so a TLS-only deny
    (aws:SecureTransport false) would refuse every request it never refuses on AWS. Bucket
    policies are evaluated as they are on AWS: as for a request over TLS."""
    from moto.s3 import models as s3m

    original = s3m.FakeBucket.get_permission

    def get_permission(self: Any, action: str, resource: str) -> Any:
        if self.policy is None:
            return original(self, action, resource)
        doc = json.loads(self.policy)
        kept = [s for s in doc.get("Statement", []) if "aws:SecureTransport" not in json.dumps(s.get("Condition", {}))]
        saved, self.policy = self.policy, json.dumps({**doc, "Statement": kept}).encode()
        try:
            return original(self, action, resource)
        finally:
            self.policy = saved

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


def _generated_function_names() -> None:
    """A Lambda function without FunctionName gets a generated name that CloudFormation keeps
    within the 64-character limit (stack name and logical id truncated); moto's grows with the
    stack name."""
    from moto.cloudformation import parsing

    original = parsing.generate_resource_name

    def generate_resource_name(resource_type: str, stack_name: str, logical_id: str) -> str:
        name = original(resource_type, stack_name, logical_id)
        if resource_type == "AWS::Lambda::Function" and len(name) > 64:
            suffix = name.rsplit("-", 1)[1]
            head = f"{stack_name}-{logical_id}"[: 64 - len(suffix) - 1].rstrip("-")
            name = f"{head}-{suffix}"
        return name

    parsing.generate_resource_name = generate_resource_name


def importers(backend: Any, export_name: str) -> list[str]:
    """The stacks whose template imports `export_name` (a literal Fn::ImportValue)."""
    found = []
    for stack in backend.stacks.values():
        if stack.status in ("DELETE_COMPLETE", "REVIEW_IN_PROGRESS"):
            continue
        if export_name in _imports(getattr(stack, "template_dict", {}) or {}):
            found.append(stack.name)
    return found


def _imports(node: Any) -> set[str]:
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            if key == "Fn::ImportValue" and isinstance(value, str):
                found.add(value)
            else:
                found |= _imports(value)
        return found
    if isinstance(node, list):
        return set().union(*(_imports(v) for v in node)) if node else set()
    return set()


def _list_imports() -> None:
    """ListImports, which moto lacks: the stacks importing an export; AWS answers a ValidationError
    ("Export 'NAME' is not imported by any stack.") when there is none (ListImports API)."""
    from moto.cloudformation import responses
    from moto.cloudformation.exceptions import ValidationError
    from moto.core.responses import ActionResult

    def list_imports(self: Any) -> Any:
        name = self._get_param("ExportName")
        stacks = importers(self.cloudformation_backend, name)
        if not stacks:
            raise ValidationError(name, message=f"Export '{name}' is not imported by any stack.")
        return ActionResult({"Imports": stacks})

    responses.CloudFormationResponse.list_imports = list_imports  # type: ignore[attr-defined]


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
    (lambda_runtime.py); moto needs Docker for that and silently drops the event without it."""
    from moto.awslambda.utils import get_backend
    from moto.s3 import notifications

    from xacct.emulator import lambda_runtime

    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        try:
            function = get_backend(fn_arn.split(":")[4], region_name).get_function(fn_arn)
        except Exception:  # an asynchronous invocation of a missing function fails silently, as on AWS
            return
        lambda_runtime.invoke_async(function, event_body)

    notifications._invoke_awslambda = _invoke_awslambda


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
