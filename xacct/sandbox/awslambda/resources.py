"""CloudFormation's Lambda resources as their handlers carry them out, where moto's differ: inline code
zipped on update too, the function's log group kept, its environment strings, generated names within
64 characters."""

from __future__ import annotations

import base64
from typing import Any

from xacct.sandbox.awslambda._moto import lambda_models
from xacct.sandbox.cloudformation._moto import parsing
from xacct.sandbox.patching import around


def install() -> None:
    _inline_code_updates()
    _logging()
    _generated_names()


def _inline_code_updates() -> None:
    """An inline function (Code.ZipFile) is zipped by CloudFormation on update as on create; moto
    zips it on create only, and fails when an update hands it the plain source."""

    @around(lambda_models.LambdaFunction, "update_from_cloudformation_json")
    def update(original: Any, cls: Any, original_resource: Any, new_resource_name: str, cfn: Any,
               account_id: str, region_name: str) -> Any:  # fmt: skip
        code = dict(cfn["Properties"]["Code"])
        if "ZipFile" in code:
            code["ZipFile"] = base64.b64encode(cls._create_zipfile_from_plaintext_code(code["ZipFile"]))
            cfn = {**cfn, "Properties": {**cfn["Properties"], "Code": code}}
        function = original(cls, original_resource, new_resource_name, cfn, account_id, region_name)
        _strings(function)
        return function


def _logging() -> None:
    """A function's LoggingConfig (its log group) is kept, so its output lands where the template
    says; moto drops the property."""

    @around(lambda_models.LambdaFunction, "create_from_cloudformation_json")
    def create(original: Any, cls: Any, resource_name: str, cfn: Any, account_id: str, region_name: str,
               **kwargs: Any) -> Any:  # fmt: skip
        function = original(cls, resource_name, cfn, account_id, region_name, **kwargs)
        function.xacct_logging_config = cfn["Properties"].get("LoggingConfig")
        _strings(function)
        return function


def _strings(function: Any) -> None:
    """Environment variables are strings (Lambda API reference, Environment: "Variables: map of
    string to string"); moto kept a Number parameter's value, referenced, as an int."""
    if function.environment_vars:
        function.environment_vars = {str(k): str(v) for k, v in function.environment_vars.items()}


def _generated_names() -> None:
    """A Lambda function without FunctionName gets a generated name that CloudFormation keeps
    within the 64-character limit (stack name and logical id truncated); moto's grows with the
    stack name."""

    @around(parsing, "generate_resource_name")
    def generate_resource_name(original: Any, resource_type: str, stack_name: str, logical_id: str) -> str:
        name = str(original(resource_type, stack_name, logical_id))
        if resource_type == "AWS::Lambda::Function" and len(name) > 64:
            suffix = name.rsplit("-", 1)[1]
            head = f"{stack_name}-{logical_id}"[: 64 - len(suffix) - 1].rstrip("-")
            name = f"{head}-{suffix}"
        return name
