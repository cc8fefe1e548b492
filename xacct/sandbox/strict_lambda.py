"""Lambda's refusals for deprecated runtimes (rule `lambda-runtime`): no function is created on a
runtime past its block-create date; past its block-update date neither a function's code nor a
configuration update that names that runtime is accepted, unless the update moves the function to
a supported runtime. CloudFormation's update of an AWS::Lambda::Function sends its whole
configuration, runtime included, so any change to such a function in a template fails."""

from __future__ import annotations

from typing import Any

from xacct.core import runtimes

# A new account's Lambda concurrency quota (Lambda developer guide, "Lambda quotas": new accounts
# may start lower than the default 1,000; seen at 10). Every emulated account is a new account.
NEW_ACCOUNT_CONCURRENCY = 10
UNRESERVED_MINIMUM = 100


def _refusal(runtime: str) -> Exception:
    from moto.awslambda.exceptions import InvalidParameterValueException

    return InvalidParameterValueException(
        f"The runtime parameter of {runtime} is no longer supported for creating or updating AWS Lambda "
        "functions. We recommend you use a supported runtime while creating or updating functions."
    )


def install() -> None:
    from moto.awslambda import models as lam

    create_function = lam.LambdaBackend.create_function
    update_configuration = lam.LambdaFunction.update_configuration
    update_function_code = lam.LambdaFunction.update_function_code

    def create(self: Any, spec: dict[str, Any]) -> Any:
        runtime = str(spec.get("Runtime") or "")
        if runtimes.create_blocked(runtime):
            raise _refusal(runtime)
        return create_function(self, spec)

    def configure(self: Any, config_updates: dict[str, Any]) -> Any:
        runtime = config_updates.get("Runtime")
        if runtime is not None and runtimes.update_blocked(str(runtime)):
            raise _refusal(str(runtime))
        return update_configuration(self, config_updates)

    def code(self: Any, updated_spec: dict[str, Any]) -> Any:
        if runtimes.update_blocked(str(self.run_time or "")):
            raise _refusal(str(self.run_time))
        return update_function_code(self, updated_spec)

    lam.LambdaBackend.create_function = create  # type: ignore[method-assign]
    lam.LambdaFunction.update_configuration = configure  # type: ignore[method-assign]
    lam.LambdaFunction.update_function_code = code  # type: ignore[method-assign]


def account_settings(environ: dict[str, Any], start: Any) -> list[bytes] | None:
    """GetAccountSettings, which moto lacks: the account's concurrency as the emulator holds it (a new
    account's quota, less what its functions reserve) and its usage."""
    import json
    import re

    from moto.awslambda.models import lambda_backends

    from xacct.sandbox import access

    if environ.get("REQUEST_METHOD") != "GET" or not re.match(r"^/[\d-]+/account-settings/?$", environ["PATH_INFO"]):
        return None
    found = access.credential(environ)
    if found is None:
        return None
    from moto.iam.models import get_account_id_from

    backend = lambda_backends[get_account_id_from(found[0])][found[1]]
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
