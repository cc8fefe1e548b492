"""The central stack's delivery alarms and who hears of them, as CloudWatch and SNS report them."""

from __future__ import annotations

from typing import Any

import botocore.exceptions as bx

from xacct.core import alerts


def _at(value: Any) -> str:
    return value.isoformat(timespec="seconds").replace("+00:00", "Z") if hasattr(value, "isoformat") else str(value)


def read(cloudwatch: Any, sns: Any, stack: str, topic: str | None) -> dict[str, Any]:
    """{"alarms": [{name, state, since, reason}], "topic", "subscribers": [{endpoint, protocol, pending}]};
    "set_up": False when the stack has no alarms (a template from before them)."""
    names = list(alerts.alarm_names(stack))
    try:
        found = cloudwatch.describe_alarms(AlarmNames=names).get("MetricAlarms", [])
    except bx.ClientError as exc:
        return {"set_up": None, "unreadable": str(exc.response.get("Error", {}).get("Code", "")), "alarms": []}
    alarms = [
        {
            "name": a["AlarmName"],
            "state": a["StateValue"],
            "since": _at(a.get("StateUpdatedTimestamp", "")),
            "reason": a.get("StateReason", ""),
        }
        for a in sorted(found, key=lambda a: names.index(a["AlarmName"]) if a["AlarmName"] in names else 9)
    ]
    subscribers: list[dict[str, Any]] = []
    if topic:
        try:
            for s in sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", []):
                pending = s.get("SubscriptionArn") == "PendingConfirmation"
                subscribers.append({"endpoint": s.get("Endpoint"), "protocol": s.get("Protocol"), "pending": pending})
        except bx.ClientError as exc:
            subscribers = [{"endpoint": None, "protocol": None, "unreadable": exc.response["Error"]["Code"]}]
    return {"set_up": bool(alarms), "alarms": alarms, "topic": topic, "subscribers": subscribers}
