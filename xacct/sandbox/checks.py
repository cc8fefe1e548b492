"""What each request needs authorized, per service (each service's `access.py`), and AWS's decision."""

from __future__ import annotations

from collections.abc import Callable

from xacct.sandbox import access
from xacct.sandbox.access import Call, Check
from xacct.sandbox.awslambda import access as lambda_access
from xacct.sandbox.cloudformation import access as cloudformation_access
from xacct.sandbox.iam import access as iam_access
from xacct.sandbox.kms import access as kms_access
from xacct.sandbox.logs import access as logs_access
from xacct.sandbox.s3 import access as s3_access
from xacct.sandbox.sns import access as sns_access
from xacct.sandbox.ssm import access as ssm_access

BY_SERVICE: dict[str, Callable[[Call], list[Check]]] = {
    "kms": kms_access.checks,
    "ssm": ssm_access.checks,
    "logs": logs_access.checks,
    "cloudformation": cloudformation_access.checks,
    "sts": iam_access.sts_checks,
    "iam": iam_access.iam_checks,
    "lambda": lambda_access.checks,
    "s3": s3_access.checks,
    "sns": sns_access.checks,
}


def checks(call: Call) -> list[Check]:
    """The authorizations AWS makes for a request (a service not emulated: its action on anything)."""
    found = BY_SERVICE.get(call.service)
    if found is not None:
        return found(call)
    return [Check(f"{access.PREFIX.get(call.service, call.service)}:{call.operation or 'Unmapped'}", "*")]
