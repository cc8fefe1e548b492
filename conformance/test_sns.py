"""SNS's answers: an e-mail subscription waits for its owner's confirmation."""

from __future__ import annotations

import pytest

from conformance.conftest import World, error_code


@pytest.mark.rule("email-confirmation")
def test_an_email_subscription_is_pending_until_its_owner_confirms(world: World) -> None:
    """SNS API reference, Subscribe: "If the endpoint owner has not yet confirmed the subscription, the
    response returns 'pending confirmation'" (without ReturnSubscriptionArn), and ListSubscriptionsByTopic
    lists it as "PendingConfirmation"; ConfirmSubscription takes only the token sent to the endpoint
    (InvalidParameter otherwise)."""
    sns = world.a.client("sns")
    topic = sns.create_topic(Name=world.name("alerts"))["TopicArn"]
    world.later(lambda: sns.delete_topic(TopicArn=topic))
    answer = sns.subscribe(TopicArn=topic, Protocol="email", Endpoint="nobody@example.com")
    assert answer["SubscriptionArn"] == "pending confirmation"
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [(s["Endpoint"], s["SubscriptionArn"]) for s in listed] == [("nobody@example.com", "PendingConfirmation")]
    assert error_code(lambda: sns.confirm_subscription(TopicArn=topic, Token="0" * 64)) == "InvalidParameter"
