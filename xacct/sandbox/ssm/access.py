"""What a Systems Manager request needs authorized: the action on each parameter it names."""

from __future__ import annotations

from xacct.sandbox import access
from xacct.sandbox.access import Call, Check


def checks(call: Call) -> list[Check]:
    names = call.params.get("Names") or ([call.params["Name"]] if "Name" in call.params else [])
    if "Path" in call.params:
        names = [call.params["Path"]]
    if not names:
        return [Check(f"ssm:{call.operation}", "*")]
    action = f"ssm:{call.operation}"
    return [
        Check(action, access.arn("ssm", call.region, call.caller.account, "parameter/" + n.lstrip("/"))) for n in names
    ]
