"""Lambda's answers: names, runtimes and concurrency it refuses, and who may invoke a function: S3
only as the function's resource policy allows, for that bucket and its account."""

from __future__ import annotations

import io
import time
import zipfile
from typing import Any

import pytest

from conformance import make
from conformance.conftest import World, error_code, eventually

CODE = """
import urllib.parse
import boto3

def handler(event, context):
    record = event["Records"][0]["s3"]
    key = urllib.parse.unquote_plus(record["object"]["key"])  # S3 event keys are URL-encoded
    boto3.client("s3").put_object(Bucket=record["bucket"]["name"], Key="seen/" + key, Body=b"1")
    return 1
"""


def zipped(code: str) -> bytes:
    data = io.BytesIO()
    with zipfile.ZipFile(data, "w") as archive:
        archive.writestr("index.py", code)
    return data.getvalue()


def execution_role(world: World, *statements: dict[str, Any]) -> str:
    lam = {"Service": "lambda.amazonaws.com"}
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": lam, "Action": "sts:AssumeRole"}]}
    policies = {"run": {"Version": "2012-10-17", "Statement": list(statements)}} if statements else None
    return make.role(world, world.a, trust, policies)


def function(world: World, role: str, **extra: Any) -> str:
    """A function in account a (retried while its new role propagates); its name."""
    lam = world.a.client("lambda")
    name = extra.pop("FunctionName", None) or world.name("fn")[:64]
    spec = {"FunctionName": name, "Runtime": "python3.12", "Role": role, "Handler": "index.handler",
            "Code": {"ZipFile": zipped(CODE)}, "Timeout": 10, **extra}  # fmt: skip
    eventually(lambda: lam.create_function(**spec))
    world.later(lambda: lam.delete_function(FunctionName=name))
    return name


@pytest.mark.rule("function-name")
def test_a_function_name_over_64_characters_is_refused(world: World) -> None:
    """Lambda API reference, CreateFunction, FunctionName: "The length constraint applies only to the
    full ARN. If you specify only the function name, it is limited to 64 characters in length." """
    role = execution_role(world)
    function(world, role)  # the role works: what follows is refused for its name alone
    lam = world.a.client("lambda")
    spec = {"Runtime": "python3.12", "Role": role, "Handler": "index.handler", "Code": {"ZipFile": zipped(CODE)}}
    refused = error_code(lambda: lam.create_function(FunctionName="f" * 65, **spec))
    assert refused in ("InvalidParameterValueException", "ValidationException")
    assert error_code(lambda: lam.get_function(FunctionName="f" * 64)) == "ResourceNotFoundException"


@pytest.mark.rule("lambda-runtime")
def test_a_runtime_past_its_block_create_date_is_refused(world: World) -> None:
    """Lambda developer guide, "Runtime deprecation": after the block function create date "you can no
    longer create new Lambda functions that use the deprecated runtime"; Node.js 10 was blocked in 2021
    ("The runtime parameter of nodejs10.x is no longer supported for creating or updating AWS Lambda
    functions")."""
    role = execution_role(world)
    function(world, role)
    lam = world.a.client("lambda")
    spec = {"Role": role, "Handler": "index.handler", "Code": {"ZipFile": zipped("exports.handler = () => 1;")}}
    name = world.name("old")[:64]
    assert error_code(lambda: lam.create_function(FunctionName=name, Runtime="nodejs10.x", **spec)) == (
        "InvalidParameterValueException"
    )


@pytest.mark.rule("reserved-concurrency")
def test_a_reservation_must_leave_the_accounts_unreserved_minimum(world: World) -> None:
    """Lambda developer guide, "Configuring reserved concurrency": "Lambda requires at least 100 units
    of unreserved concurrency" ... "If your account has a lower limit" (new accounts: "Lambda quotas"),
    the minimum is that limit: a reservation that leaves less unreserved is refused. What the account
    reports (GetAccountSettings) decides what is expected."""
    lam = world.a.client("lambda")
    name = function(world, execution_role(world))
    limit = lam.get_account_settings()["AccountLimit"]
    unreserved, quota = int(limit["UnreservedConcurrentExecutions"]), int(limit["ConcurrentExecutions"])
    refused = unreserved - 1 < min(100, quota)
    answer = error_code(lambda: lam.put_function_concurrency(FunctionName=name, ReservedConcurrentExecutions=1))
    assert answer == ("InvalidParameterValueException" if refused else "")
    if not refused:
        lam.delete_function_concurrency(FunctionName=name)


@pytest.mark.rule("notification-permission")
def test_s3_invokes_a_function_only_as_its_policy_allows_for_that_bucket_and_account(world: World) -> None:
    """S3 API reference, PutBucketNotificationConfiguration: "In the case of Lambda destinations, Amazon
    S3 verifies that the Lambda function permissions grant Amazon S3 permission to invoke the function
    from the Amazon S3 bucket" ("Unable to validate the following destination configurations"). S3
    calls as s3.amazonaws.com with the bucket as aws:SourceArn and its owner as aws:SourceAccount, so a
    permission for another bucket admits nothing, and an event after the permission is removed runs
    nothing."""
    bucket = make.bucket(world, world.a)
    role = execution_role(world, {"Effect": "Allow", "Action": "s3:PutObject", "Resource": f"arn:aws:s3:::{bucket}/*"})
    lam, s3 = world.a.client("lambda"), world.a.client("s3")
    name = function(world, role)
    arn = lam.get_function(FunctionName=name)["Configuration"]["FunctionArn"]
    notify = {"LambdaFunctionConfigurations": [{"LambdaFunctionArn": arn, "Events": ["s3:ObjectCreated:*"],
              "Filter": {"Key": {"FilterRules": [{"Name": "prefix", "Value": "in/"}]}}}]}  # fmt: skip

    def configure() -> str:
        return error_code(
            lambda: s3.put_bucket_notification_configuration(Bucket=bucket, NotificationConfiguration=notify)
        )

    assert configure() == "InvalidArgument"  # no permission at all
    permit = {"FunctionName": name, "Action": "lambda:InvokeFunction", "Principal": "s3.amazonaws.com"}
    lam.add_permission(StatementId="other-bucket", SourceArn=f"arn:aws:s3:::{bucket}-other",
                       SourceAccount=world.a.id, **permit)  # fmt: skip
    assert configure() == "InvalidArgument"  # a permission for another bucket
    lam.add_permission(StatementId="this-bucket", SourceArn=f"arn:aws:s3:::{bucket}", SourceAccount=world.a.id,
                       **permit)  # fmt: skip
    eventually(lambda: assert_equal(configure(), ""))
    s3.put_object(Bucket=bucket, Key="in/one", Body=b"1")
    eventually(lambda: s3.head_object(Bucket=bucket, Key="seen/in/one"), seconds=120, every=2)
    lam.remove_permission(FunctionName=name, StatementId="this-bucket")
    time.sleep(10 if world.on_aws else 0)  # a removed permission takes effect eventually too
    s3.put_object(Bucket=bucket, Key="in/two", Body=b"2")
    time.sleep(30 if world.on_aws else 4)  # long enough for an invocation and its retries to have run
    assert error_code(lambda: s3.head_object(Bucket=bucket, Key="seen/in/two")) == "404"


def assert_equal(found: object, expected: object) -> None:
    assert found == expected, found
