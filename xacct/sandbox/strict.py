"""The emulator refuses what AWS refuses.

moto accepts much that AWS refuses, and every such gap hides a failure a user meets on the first
real run. Each rule below makes moto *stricter*, towards what AWS documents, never more lenient;
each names its source and has a test in tests/test_strict_emulator.py that fails without it.
Rules enforced on the wire (request headers and sizes) live in `wire.py`; `rules.RULES` lists them
all with their sources, and the README's table is checked against it.

There is no switch back to lenient moto: installing the emulator installs every rule.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from xacct.sandbox import (
    failures,
    gaps,
    gaps_services,
    propagation,
    speed,
    strict_lambda,
    strict_parameters,
    strict_policies,
)
from xacct.sandbox.failures import ResourceFailed

NEW_ACCOUNT_CONCURRENCY, UNRESERVED_MINIMUM = strict_lambda.NEW_ACCOUNT_CONCURRENCY, strict_lambda.UNRESERVED_MINIMUM
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")
SSM_STANDARD, SSM_ADVANCED = 4096, 8192
_PATCHED = "_xacct_strict"


def install() -> None:
    from moto.cloudformation import models

    speed.install()
    gaps.install()
    if getattr(models.CloudFormationBackend, _PATCHED, False):
        return
    for install_rule in (
        _one_bucket_policy,
        _reserved_concurrency,
        strict_policies.install,
        _template_versioning,
        _bucket_not_empty,
        _export_in_use,
        _export_in_use_on_update,
        _function_name,
        _ssm_value_size,
        _notification_permission,
        _requests_once,
        strict_lambda.install,
        strict_parameters.install,
        propagation.install,  # last: a change is recorded once every rule has let it through
    ):
        install_rule()
    setattr(models.CloudFormationBackend, _PATCHED, True)


def _wrap(owner: Any, name: str, make: Callable[[Any], Any], *, classmethod_: bool = False) -> None:
    original = getattr(owner, name)
    if classmethod_:
        setattr(owner, name, classmethod(make(original.__func__)))
    else:
        setattr(owner, name, make(original))


# ---- rules ---------------------------------------------------------------------------------


def _one_bucket_policy() -> None:
    """A bucket has one policy, and one resource owns it: creating an AWS::S3::BucketPolicy for a
    bucket that already has a policy fails with AlreadyExists. (moto, with the bucket policy
    resource of gaps.py alone, would let the second silently replace the first.)"""
    from moto.cloudformation import parsing

    model = parsing.get_model_map()["AWS::S3::BucketPolicy"]

    def make(original: Any) -> Any:
        def create(cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
            bucket = gaps_services.s3_backend(account_id, region_name).get_bucket(cfn["Properties"]["Bucket"])
            if bucket.policy is not None:
                raise ResourceFailed("Bucket Policy Already Exists", "AlreadyExists")
            return original(cls, name, cfn, account_id, region_name, **kw)

        return create

    _wrap(model, "create_from_cloudformation_json", make, classmethod_=True)


def _concurrency_problem(account_id: str, region: str, function_name: str, value: Any) -> str | None:
    from moto.awslambda.models import lambda_backends

    if value in (None, ""):
        return None
    backend = lambda_backends[account_id][region]
    others = sum(
        int(f.reserved_concurrency or 0)
        for f in backend.list_functions()
        if f.function_name != function_name and f.reserved_concurrency
    )
    minimum = min(UNRESERVED_MINIMUM, NEW_ACCOUNT_CONCURRENCY)
    if NEW_ACCOUNT_CONCURRENCY - others - int(value) < minimum:
        return (
            "Specified ReservedConcurrentExecutions for function decreases account's "
            f"UnreservedConcurrentExecution below its minimum value of [{minimum}]."
        )
    return None


def _reserved_concurrency() -> None:
    """A reservation must leave min(100, quota) executions unreserved; a new account's quota is 10,
    so there any reservation fails (CloudFormation and PutFunctionConcurrency alike)."""
    from moto.awslambda import models as lam
    from moto.awslambda.exceptions import InvalidParameterValueException

    def make_cfn(original: Any) -> Any:
        def create(cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
            reserved = cfn["Properties"].get("ReservedConcurrentExecutions")
            problem = _concurrency_problem(account_id, region_name, name, reserved)
            if problem:
                raise ResourceFailed(problem, "InvalidRequest")
            return original(cls, name, cfn, account_id, region_name, **kw)

        return create

    def make_update(original: Any) -> Any:
        def update(
            cls: Any,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            reserved = cloudformation_json["Properties"].get("ReservedConcurrentExecutions")
            name = original_resource.function_name
            problem = _concurrency_problem(account_id, region_name, name, reserved)
            if problem:
                raise ResourceFailed(problem, "InvalidRequest")
            return original(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)

        return update

    def make_api(original: Any) -> Any:
        def put_function_concurrency(self: Any, function_name: str, reserved: str) -> Any:
            name = self.get_function(function_name).function_name
            problem = _concurrency_problem(self.account_id, self.region_name, name, reserved)
            if problem:
                raise InvalidParameterValueException(problem)
            return original(self, function_name, reserved)

        return put_function_concurrency

    _wrap(lam.LambdaFunction, "create_from_cloudformation_json", make_cfn, classmethod_=True)
    _wrap(lam.LambdaFunction, "update_from_cloudformation_json", make_update, classmethod_=True)
    _wrap(lam.LambdaBackend, "put_function_concurrency", make_api)


def _template_versioning() -> None:
    """VersioningConfiguration in a template versions the bucket (moto ignores the property, so a
    product relying on version ids would pass here and fail nowhere else)."""
    from moto.s3 import models as s3m

    def apply(bucket_name: str, cfn: Any, account_id: str, region: str) -> None:
        status = (cfn.get("Properties", {}).get("VersioningConfiguration") or {}).get("Status")
        if status:
            gaps_services.s3_backend(account_id, region).put_bucket_versioning(bucket_name, status)

    def make_create(original: Any) -> Any:
        def create(cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
            bucket = original(cls, name, cfn, account_id, region_name, **kw)
            apply(bucket.name, cfn, account_id, region_name)
            return bucket

        return create

    def make_update(original: Any) -> Any:
        def update(
            cls: Any,
            original_resource: Any,
            new_resource_name: str,
            cloudformation_json: Any,
            account_id: str,
            region_name: str,
        ) -> Any:
            bucket = original(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
            apply(bucket.name, cloudformation_json, account_id, region_name)
            return bucket

        return update

    _wrap(s3m.FakeBucket, "create_from_cloudformation_json", make_create, classmethod_=True)
    _wrap(s3m.FakeBucket, "update_from_cloudformation_json", make_update, classmethod_=True)


def _bucket_not_empty() -> None:
    """CloudFormation cannot delete a bucket that holds objects or object versions: the stack ends
    DELETE_FAILED. moto deletes nothing and reports the stack deleted."""
    from moto.s3 import models as s3m
    from moto.s3.exceptions import BucketNotEmpty

    def make(original: Any) -> Any:
        def delete(cls: Any, name: str, cfn: Any, account_id: str, region_name: str) -> None:
            backend = gaps_services.s3_backend(account_id, region_name)
            bucket = backend.buckets.get(name)
            if bucket is not None and (len(bucket.keys) or bucket.multiparts):
                raise BucketNotEmpty(name)
            original(cls, name, cfn, account_id, region_name)

        return delete

    _wrap(s3m.FakeBucket, "delete_from_cloudformation_json", make, classmethod_=True)


def _export_in_use() -> None:
    """A stack whose export another stack imports cannot be deleted: it ends DELETE_FAILED and
    keeps everything (moto deletes it and leaves the importer pointing at nothing)."""
    from moto.cloudformation import models

    def make(original: Any) -> Any:
        def delete_stack(self: Any, name_or_stack_id: str) -> None:
            stack = failures.find_stack(self, name_or_stack_id)
            if stack is not None:
                for export in stack.exports:
                    users = [s for s in gaps.importers(self, export.name) if s != stack.name]
                    if users:
                        failures.fail_delete(
                            stack, f"Export {export.name} cannot be deleted as it is in use by {users[0]}"
                        )
                        return
            original(self, name_or_stack_id)

        return delete_stack

    _wrap(models.CloudFormationBackend, "delete_stack", make)


def _export_in_use_on_update() -> None:
    """An update may not change or remove an output value another stack imports: it fails and rolls
    back, naming the importer ("You can't modify or remove an output value that is referenced by
    another stack"); moto changes the export and leaves the importer holding a stale value."""
    from moto.cloudformation import models

    def make(original: Any) -> Any:
        def update(self: Any, *args: Any, **kwargs: Any) -> None:
            backend = models.cloudformation_backends[self.account_id][self.region_name]
            held = {e.name: e.value for e in backend.exports.values() if e.exporting_stack_id == self.stack_id}
            before = failures.Before.of(self)
            original(self, *args, **kwargs)
            if self.status != "UPDATE_COMPLETE":
                return
            after = {e.name: e.value for e in self.exports}
            for name, value in held.items():
                users = [s for s in gaps.importers(backend, name) if s != self.name]
                if users and after.get(name) != value:
                    verb = "updated" if name in after else "deleted"
                    reason = f"Export {name} cannot be {verb} as it is in use by {', '.join(users)}"
                    failures.roll_back_update(self, before, reason)
                    return

        return update

    _wrap(models.Stack, "update", make)


def _function_name() -> None:
    """Function names are 1-64 characters of letters, digits, '-' and '_'."""
    from moto.awslambda import models as lam
    from moto.awslambda.exceptions import InvalidParameterValueException

    def make(original: Any) -> Any:
        def create_function(self: Any, spec: dict[str, Any]) -> Any:
            name = str(spec.get("FunctionName", ""))
            if not name.startswith("arn:") and not FUNCTION_NAME.match(name):
                raise InvalidParameterValueException(
                    f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                    "Member must have length less than or equal to 64 and match [a-zA-Z0-9-_]+"
                )
            return original(self, spec)

        return create_function

    _wrap(lam.LambdaBackend, "create_function", make)


def _ssm_value_size() -> None:
    """Standard parameters hold at most 4,096 characters, advanced ones 8,192; Intelligent-Tiering
    takes the advanced tier only when the value needs it."""
    from moto.ssm import models as ssm
    from moto.ssm.exceptions import ValidationException

    def make(original: Any) -> Any:
        def put_parameter(self: Any, *args: Any, **kwargs: Any) -> Any:
            value = str(kwargs.get("value", args[2] if len(args) > 2 else ""))
            tier = kwargs.get("tier") or "Standard"
            limit = SSM_STANDARD if tier == "Standard" else SSM_ADVANCED
            if len(value) > limit:
                raise ValidationException(
                    f"{'Standard' if limit == SSM_STANDARD else 'Advanced'} tier parameters support a maximum "
                    f"parameter value of {limit} characters."
                )
            return original(self, *args, **kwargs)

        return put_parameter

    _wrap(ssm.SimpleSystemManagerBackend, "put_parameter", make)


def _notification_permission() -> None:
    """S3 validates a notification's Lambda destination when the configuration is put: the
    function's resource policy must let s3.amazonaws.com invoke it from this bucket and its account
    (s3_invoke.allows; which is why a template puts the AWS::Lambda::Permission before the bucket
    that notifies)."""
    from moto.awslambda.utils import get_backend
    from moto.s3 import models as s3m
    from moto.s3.exceptions import InvalidArgumentError

    from xacct.sandbox import access_s3, s3_invoke

    def invokable(arn: str, bucket: str) -> bool:
        try:
            function = get_backend(arn.split(":")[4], arn.split(":")[3]).get_function(arn)
        except Exception:
            return False
        return s3_invoke.allows(function, bucket, access_s3.owner(bucket) or function.account_id)

    def make(original: Any) -> Any:
        def put_bucket_notification_configuration(self: Any, bucket_name: str, config: dict[str, Any]) -> None:
            for item in (config or {}).get("CloudFunctionConfiguration") or []:
                if not invokable(item["CloudFunction"], bucket_name):
                    raise InvalidArgumentError(
                        "Unable to validate the following destination configurations",
                        item["CloudFunction"],
                        "Permission denied",
                    )
            original(self, bucket_name, config)

        return put_bucket_notification_configuration

    _wrap(s3m.S3Backend, "put_bucket_notification_configuration", make)


def _requests_once() -> None:
    """A change set runs once: executing it again is refused (InvalidChangeSetStatus, as for a
    change set in EXECUTE_COMPLETE), and a second change set of the same name for a stack is
    AlreadyExists. (A retry carrying the first request's token is answered in wire.py.)"""
    from moto.cloudformation import models
    from moto.cloudformation.exceptions import CloudFormationError

    class InvalidChangeSetStatus(CloudFormationError):
        code = "InvalidChangeSetStatus"

    class ChangeSetAlreadyExists(CloudFormationError):
        code = "AlreadyExistsException"

    def make_execute(original: Any) -> Any:
        def execute_change_set(self: Any, change_set_name: str, stack_name: str | None = None) -> None:
            found = self.change_sets.get(change_set_name) or next(
                (cs for cs in self.change_sets.values() if cs.change_set_name == change_set_name), None
            )
            if found is not None and found.execution_status == "EXECUTE_COMPLETE":
                raise InvalidChangeSetStatus(
                    f"ChangeSet [{found.change_set_id}] cannot be executed in its current execution status of "
                    "[EXECUTE_COMPLETE]"
                )
            original(self, change_set_name, stack_name)

        return execute_change_set

    def make_create(original: Any) -> Any:
        def create_change_set(self: Any, stack_name: str, change_set_name: str, *args: Any, **kwargs: Any) -> Any:
            if any(
                cs.change_set_name == change_set_name and cs.stack_name == stack_name
                for cs in self.change_sets.values()
            ):
                raise ChangeSetAlreadyExists(f"ChangeSet {change_set_name} already exists")
            return original(self, stack_name, change_set_name, *args, **kwargs)

        return create_change_set

    _wrap(models.CloudFormationBackend, "execute_change_set", make_execute)
    _wrap(models.CloudFormationBackend, "create_change_set", make_create)
