"""`--alerts EMAIL|TOPIC_ARN|none`: who hears of failed deliveries, as central stack parameters
(AlertEmail, AlertTopicArn), never the registry's; and what --status says of the alarms. Pure."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from xacct.errors import InvalidInput

EMAIL = re.compile(r"^[^@\s,]+@[^@\s,]+\.[^@\s,]+$")
TOPIC = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$")
PARAMETERS = ("AlertEmail", "AlertTopicArn")


def alarm_names(stack: str) -> tuple[str, str]:
    """The delivery alarm and the function's (CrossAccountPrimary.yaml, DeliveryAlarm and FunctionAlarm)."""
    return f"xacct-{stack}-deliveries", f"xacct-{stack}-function"


HINT = "--alerts ops@example.com subscribes an address; --alerts none stops the notifications"


def target_problem(target: str) -> str | None:
    """Why `--alerts target` cannot be right, said before anything is asked of AWS (None: it can)."""
    if target.strip().lower() == "none" or TOPIC.match(target) or EMAIL.match(target):
        return None
    return (
        f"--alerts {target}: neither an e-mail address nor an SNS topic ARN (arn:aws:sns:REGION:ACCOUNT:NAME); "
        "none stops the notifications"
    )


def wanted(target: str) -> dict[str, str]:
    """The parameters `--alerts target` sets: an address, a topic, or `none` (both cleared)."""
    problem = target_problem(target)
    if problem:
        raise InvalidInput(problem, hint=HINT)
    if target.strip().lower() == "none":
        return {"AlertEmail": "", "AlertTopicArn": ""}
    return {"AlertTopicArn": target} if TOPIC.match(target) else {"AlertEmail": target}


@dataclass(frozen=True)
class AlertsChange:
    before: dict[str, str]  # the parameters as the stack holds them ("" where it lacks them)
    after: dict[str, str]

    @property
    def changes_anything(self) -> bool:
        return self.before != self.after

    def lines(self) -> list[str]:
        said = []
        for name in self.after:
            old, new = self.before.get(name, ""), self.after[name]
            if old != new:
                said.append(f"{name}: {old or '(none)'} -> {new or '(none)'}")
        return said


def change(held: Mapping[str, str], target: str) -> AlertsChange:
    values = wanted(target)
    return AlertsChange({k: held.get(k, "") for k in values}, values)


def failing(developers: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The developers whose last delivery failed: a failure newer than their last delivery."""
    found = []
    for d in developers:
        failure, delivery = d.get("last_failure"), d.get("last_delivery")
        if failure and (not delivery or str(failure["at"]) >= str(delivery["at"])):
            found.append(d)
    return found
