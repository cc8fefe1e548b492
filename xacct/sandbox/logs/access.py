"""What a CloudWatch Logs request needs authorized: the action on the group, or on the stream."""

from __future__ import annotations

from xacct.sandbox import access
from xacct.sandbox.access import Call, Check

_STREAM_ACTIONS = {"CreateLogStream", "PutLogEvents", "GetLogEvents", "DeleteLogStream"}


def checks(call: Call) -> list[Check]:
    group = call.params.get("logGroupName")
    if not group:
        return [Check(f"logs:{call.operation}", "*")]
    rest = f"log-group:{group}:*"
    if call.operation in _STREAM_ACTIONS and call.params.get("logStreamName"):
        rest = f"log-group:{group}:log-stream:{call.params['logStreamName']}"
    return [Check(f"logs:{call.operation}", access.arn("logs", call.region, call.caller.account, rest))]
