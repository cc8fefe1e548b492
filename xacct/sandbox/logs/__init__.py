"""CloudWatch Logs: a log group's ARN as CloudFormation gives it. Authorization: access.py; a function's
own log lines: awslambda/runtime.py."""

from __future__ import annotations

from typing import Any


def install() -> None:
    """Fn::GetAtt LogGroup.Arn ends in `:*` (AWS::Logs::LogGroup return values: "arn:aws:logs:
    us-west-1:123456789012:log-group:/mystack-testgroup-12ABC1AB12A1:*"), so a policy granting it
    covers the group's streams. moto answers the ARN without it."""
    from xacct.sandbox.logs._moto import LogGroup
    from xacct.sandbox.patching import around

    @around(LogGroup, "get_cfn_attribute")
    def get_cfn_attribute(original: Any, self: Any, attribute_name: str) -> str:
        value = original(self, attribute_name)
        return f"{value}:*" if attribute_name == "Arn" and not str(value).endswith(":*") else str(value)
