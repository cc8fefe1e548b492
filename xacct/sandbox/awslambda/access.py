"""What a Lambda request needs authorized: its action (from the REST path) on the function."""

from __future__ import annotations

import re
import urllib.parse

from xacct.sandbox import access
from xacct.sandbox.access import Call, Check

_LAMBDA = {
    ("GET", ""): "GetFunction",
    ("DELETE", ""): "DeleteFunction",
    ("GET", "configuration"): "GetFunctionConfiguration",
    ("PUT", "configuration"): "UpdateFunctionConfiguration",
    ("PUT", "code"): "UpdateFunctionCode",
    ("POST", "invocations"): "InvokeFunction",
    ("GET", "policy"): "GetPolicy",
    ("POST", "policy"): "AddPermission",
    ("DELETE", "policy"): "RemovePermission",
    ("PUT", "concurrency"): "PutFunctionConcurrency",
}


def checks(call: Call) -> list[Check]:
    path = urllib.parse.unquote(str(call.environ.get("PATH_INFO", "")))
    method = str(call.environ.get("REQUEST_METHOD", ""))
    found = re.match(r"^/[\d-]+/functions/?([^/]*)/?([^/]*)", path)
    if not found or not found.group(1):
        return [Check("lambda:" + ("CreateFunction" if method == "POST" else "ListFunctions"), "*")]
    name, sub = found.groups()
    action = _LAMBDA.get((method, sub), "Unmapped")  # an operation not mapped needs lambda:* or *
    if name.startswith("arn:"):
        arn = name
    else:
        arn = access.arn("lambda", call.region, call.caller.account, f"function:{name}")
    return [Check(f"lambda:{action}", arn)]
