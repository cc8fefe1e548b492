"""Functions run as Lambda runs them (runtime.py): when S3 notifies them, if their resource policy lets
S3 invoke them from that bucket (permission.py), and through the Invoke API. moto needs Docker to run
a function: without it S3's event is dropped and Invoke answers a canned "Simple Lambda happy path OK"."""

from __future__ import annotations

import json
from typing import Any

from xacct.sandbox.awslambda import permission, runtime
from xacct.sandbox.awslambda._moto import lambda_backend_of, lambda_models
from xacct.sandbox.patching import replace
from xacct.sandbox.s3._moto import s3_notifications


def install() -> None:
    from xacct.sandbox.s3.access import owner

    @replace(s3_notifications, "_invoke_awslambda")
    def _invoke_awslambda(account_id: str, event_body: Any, fn_arn: str, region_name: str) -> None:
        try:
            function = lambda_backend_of(fn_arn.split(":")[4], region_name).get_function(fn_arn)
        except Exception:  # an asynchronous invocation of a missing function fails silently, as on AWS
            return
        bucket = str(event_body["Records"][0]["s3"]["bucket"]["name"])
        if not permission.s3_may_invoke(function, bucket, owner(bucket) or account_id):
            return  # S3's invocation is refused by the function's resource policy: the event is lost
        runtime.invoke_async(function, event_body)

    @replace(lambda_models.LambdaFunction, "invoke")
    def api_invoke(self: Any, body: str, request_headers: Any, response_headers: Any) -> bytes:
        """RequestResponse returns the handler's result, or its error with X-Amz-Function-Error;
        Event runs it asynchronously, retried as S3's are."""
        event = json.loads(body) if body else {}
        kind = next((v for k, v in dict(request_headers).items() if k.lower() == "x-amz-invocation-type"), None)
        if kind == "Event":
            runtime.invoke_async(self, event)
            return b""
        outcome = runtime.invoke(self, event)
        if not outcome.ok:
            response_headers["x-amz-function-error"] = "Unhandled"
            lines = [line for line in outcome.output.splitlines() if line.strip()]
            return json.dumps({"errorMessage": lines[-1] if lines else "failed", "errorType": "Error"}).encode()
        return json.dumps(runtime.last_result(outcome.output)).encode()
