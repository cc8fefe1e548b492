"""What Lambda refuses that moto accepts: a reservation a new account's concurrency cannot leave room
for (rule `reserved-concurrency`), a function name over 64 characters (rule `function-name`), a
runtime past its deprecation dates (rule `lambda-runtime`); and GetAccountSettings, which moto lacks."""

from __future__ import annotations

import json
import re
from typing import Any

from xacct.core import runtimes
from xacct.sandbox.awslambda._moto import InvalidParameterValueException, lambda_backends, lambda_models
from xacct.sandbox.cloudformation.failures import ResourceFailed
from xacct.sandbox.patching import around

# A new account's Lambda concurrency quota (Lambda developer guide, "Lambda quotas": new accounts
# may start lower than the default 1,000; seen at 10). Every emulated account is a new account.
NEW_ACCOUNT_CONCURRENCY = 10
UNRESERVED_MINIMUM = 100
FUNCTION_NAME = re.compile(r"^[a-zA-Z0-9_-]{1,64}$")


def install() -> None:
    _reserved_concurrency()
    _function_name()
    _runtimes()


def _concurrency_problem(account_id: str, region: str, function_name: str, value: Any) -> str | None:
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

    @around(lambda_models.LambdaFunction, "create_from_cloudformation_json")
    def create(original: Any, cls: Any, name: str, cfn: Any, account_id: str, region_name: str, **kw: Any) -> Any:
        reserved = cfn["Properties"].get("ReservedConcurrentExecutions")
        problem = _concurrency_problem(account_id, region_name, name, reserved)
        if problem:
            raise ResourceFailed(problem, "InvalidRequest")
        return original(cls, name, cfn, account_id, region_name, **kw)

    @around(lambda_models.LambdaFunction, "update_from_cloudformation_json")
    def update(original: Any, cls: Any, original_resource: Any, new_resource_name: str, cfn: Any,
               account_id: str, region_name: str) -> Any:  # fmt: skip
        reserved = cfn["Properties"].get("ReservedConcurrentExecutions")
        problem = _concurrency_problem(account_id, region_name, original_resource.function_name, reserved)
        if problem:
            raise ResourceFailed(problem, "InvalidRequest")
        return original(cls, original_resource, new_resource_name, cfn, account_id, region_name)

    @around(lambda_models.LambdaBackend, "put_function_concurrency")
    def put_function_concurrency(original: Any, self: Any, function_name: str, reserved: str) -> Any:
        name = self.get_function(function_name).function_name
        problem = _concurrency_problem(self.account_id, self.region_name, name, reserved)
        if problem:
            raise InvalidParameterValueException(problem)
        return original(self, function_name, reserved)


def _function_name() -> None:
    """Function names are 1-64 characters of letters, digits, '-' and '_'."""

    @around(lambda_models.LambdaBackend, "create_function")
    def create_function(original: Any, self: Any, spec: dict[str, Any]) -> Any:
        name = str(spec.get("FunctionName", ""))
        if not name.startswith("arn:") and not FUNCTION_NAME.match(name):
            raise InvalidParameterValueException(
                f"1 validation error detected: Value '{name}' at 'functionName' failed to satisfy constraint: "
                "Member must have length less than or equal to 64 and match [a-zA-Z0-9-_]+"
            )
        return original(self, spec)


def _refusal(runtime: str) -> Exception:
    return InvalidParameterValueException(
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating functions."
    )


def _runtimes() -> None:
    """No function is created on a runtime past its block-create date; past its block-update date
    neither a function's code nor a configuration update that names that runtime is accepted, unless
    the update moves the function to a supported runtime (Lambda developer guide, "Runtime
    deprecation"). CloudFormation's update of an AWS::Lambda::Function sends its whole configuration,
    runtime included, so any change to such a function in a template fails."""

    @around(lambda_models.LambdaBackend, "create_function")
    def create(original: Any, self: Any, spec: dict[str, Any]) -> Any:
        runtime = str(spec.get("Runtime") or "")
        if runtimes.create_blocked(runtime):
            raise _refusal(runtime)
        return original(self, spec)

    @around(lambda_models.LambdaFunction, "update_configuration")
    def configure(original: Any, self: Any, config_updates: dict[str, Any]) -> Any:
        runtime = config_updates.get("Runtime")
        if runtime is not None and runtimes.update_blocked(str(runtime)):
            raise _refusal(str(runtime))
        return original(self, config_updates)

    @around(lambda_models.LambdaFunction, "update_function_code")
    def code(original: Any, self: Any, updated_spec: dict[str, Any]) -> Any:
        if runtimes.update_blocked(str(self.run_time or "")):
            raise _refusal(str(self.run_time))
        return original(self, updated_spec)


def account_settings(environ: dict[str, Any], start: Any) -> list[bytes] | None:
    """GetAccountSettings, which moto lacks: the account's concurrency as the emulator holds it (a new
    account's quota, less what its functions reserve) and its usage."""
    from xacct.sandbox import access
    from xacct.sandbox.iam._moto import iam_models

    if environ.get("REQUEST_METHOD") != "GET" or not re.match(r"^/[\d-]+/account-settings/?$", environ["PATH_INFO"]):
        return None
    found = access.credential(environ)
    if found is None:
        return None
    backend = lambda_backends[iam_models.get_account_id_from(found[0])][found[1]]
    functions = list(backend.list_functions())
    reserved = sum(int(f.reserved_concurrency or 0) for f in functions)
    code = sum(int(f.code_size or 0) for f in functions)
    body = json.dumps({
        "AccountLimit": {
            "TotalCodeSize": 80_530_636_800, "CodeSizeUnzipped": 262_144_000, "CodeSizeZipped": 52_428_800,
            "ConcurrentExecutions": NEW_ACCOUNT_CONCURRENCY,
            "UnreservedConcurrentExecutions": NEW_ACCOUNT_CONCURRENCY - reserved,
        },
        "AccountUsage": {"TotalCodeSize": code, "FunctionCount": len(functions)},
    }).encode()  # fmt: skip
    start("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
