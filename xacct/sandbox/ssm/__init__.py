"""Systems Manager: a parameter's value held to its tier (rule `ssm-value-size`), and the name
CloudFormation gives a parameter declared without one (rule `ssm-names`). Authorization: access.py."""

from __future__ import annotations

from typing import Any

SSM_STANDARD, SSM_ADVANCED = 4096, 8192


def install() -> None:
    _value_size()
    _generated_names()


def _value_size() -> None:
    """Standard parameters hold at most 4,096 characters, advanced ones 8,192; Intelligent-Tiering
    takes the advanced tier only when the value needs it."""
    from xacct.sandbox.patching import around
    from xacct.sandbox.ssm._moto import ValidationException, ssm_models

    @around(ssm_models.SimpleSystemManagerBackend, "put_parameter")
    def put_parameter(original: Any, self: Any, *args: Any, **kwargs: Any) -> Any:
        value = str(kwargs.get("value", args[2] if len(args) > 2 else ""))
        tier = kwargs.get("tier") or "Standard"
        limit = SSM_STANDARD if tier == "Standard" else SSM_ADVANCED
        if len(value) > limit:
            raise ValidationException(
                f"{'Standard' if limit == SSM_STANDARD else 'Advanced'} tier parameters support a maximum "
                f"parameter value of {limit} characters."
            )
        return original(self, *args, **kwargs)


def _generated_names() -> None:
    """An AWS::SSM::Parameter without Name gets a name CloudFormation generates ("Name: The name of the
    parameter ... If you don't specify a name, AWS CloudFormation generates a unique physical ID"),
    kept through updates; moto refused the resource. (Less strict than before.)"""
    from xacct.sandbox.patching import around
    from xacct.sandbox.ssm._moto import ssm_models

    def named(cloudformation_json: Any, name: str) -> Any:
        properties = cloudformation_json.get("Properties") or {}
        if properties.get("Name"):
            return cloudformation_json
        return {**cloudformation_json, "Properties": {**properties, "Name": name}}

    @around(ssm_models.Parameter, "create_from_cloudformation_json")
    def create(original: Any, cls: Any, resource_name: str, cfn: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:  # fmt: skip
        # resource_name: the name moto generates for the resource (STACK-LOGICALID-RANDOM)
        return original(cls, resource_name, named(cfn, f"CFN-{resource_name}"), account_id, region_name, **kwargs)

    @around(ssm_models.Parameter, "update_from_cloudformation_json")
    def update(original: Any, cls: Any, original_resource: Any, new_resource_name: str, cfn: Any,
               account_id: str, region_name: str) -> Any:  # fmt: skip
        kept = named(cfn, original_resource.name)
        return original(cls, original_resource, new_resource_name, kept, account_id, region_name)
