"""What an SNS request needs authorized: the action on the topic it names (a subscription's
requests, on the topic the subscription belongs to; rule `authorized`), with the topic's own access policy, which is
what lets another account publish or subscribe (SNS developer guide, "Access policy use cases")."""

from __future__ import annotations

from typing import Any

from xacct.sandbox.access import Call, Check


def _topic_policy(arn: str) -> Any | None:
    from xacct.sandbox.sns._moto import sns_backends

    parts = arn.split(":")
    try:
        return sns_backends[parts[4]][parts[3]].topics[arn]._policy_json
    except (IndexError, KeyError):
        return None


def checks(call: Call) -> list[Check]:
    topic = call.params.get("TopicArn") or call.params.get("TargetArn")
    subscription = call.params.get("SubscriptionArn")
    if not topic and subscription and subscription.count(":") >= 6:
        topic = subscription.rsplit(":", 1)[0]
    if not topic and call.operation == "CreateTopic" and call.params.get("Name"):
        topic = f"arn:aws:sns:{call.region}:{call.caller.account}:{call.params['Name']}"
    if not topic or topic.count(":") < 5:
        return [Check(f"sns:{call.operation}", "*")]
    return [Check(f"sns:{call.operation}", topic, topic.split(":")[4], _topic_policy(topic))]
