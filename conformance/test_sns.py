"""SNS's answers: an e-mail or HTTP subscription waits for its owner's confirmation."""

from __future__ import annotations

import json
from typing import Any

import pytest

from conformance.conftest import World, emulator_only, error_code, eventually


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


@pytest.mark.rule("http-confirmation")
def test_an_http_subscription_is_pending_until_the_endpoint_confirms(world: World) -> None:
    """SNS developer guide, "Fanout to HTTP/S endpoints": "Before you subscribe your HTTP or HTTPS
    endpoint ... the endpoint must be able to handle the HTTP POST requests that Amazon SNS uses to send
    the subscription confirmation and notification messages"; the confirmation carries a Token (its
    x-amz-sns-message-type is SubscriptionConfirmation) that ConfirmSubscription takes; no notification is
    delivered before."""
    import http.server
    import threading

    emulator_only(world, "AWS cannot reach an endpoint on this machine")
    received: list[tuple[str, dict[str, Any]]] = []

    class Endpoint(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            received.append((str(self.headers["x-amz-sns-message-type"]), body))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Endpoint)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    world.later(server.shutdown)
    sns = world.a.client("sns")
    topic = sns.create_topic(Name=world.name("hooks"))["TopicArn"]
    world.later(lambda: sns.delete_topic(TopicArn=topic))
    endpoint = f"http://127.0.0.1:{server.server_address[1]}/sns"
    assert (
        sns.subscribe(TopicArn=topic, Protocol="http", Endpoint=endpoint)["SubscriptionArn"] == "pending confirmation"
    )

    def arrived(n: int) -> tuple[str, dict[str, Any]]:
        assert len(received) > n, received
        return received[n]

    kind, confirmation = eventually(lambda: arrived(0))
    assert kind == "SubscriptionConfirmation"
    assert confirmation["TopicArn"] == topic
    assert confirmation["Token"] in confirmation["SubscribeURL"]
    sns.publish(TopicArn=topic, Message="before")
    listed = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    assert [s["SubscriptionArn"] for s in listed] == ["PendingConfirmation"]
    sns.confirm_subscription(TopicArn=topic, Token=confirmation["Token"])
    sns.publish(TopicArn=topic, Message="after")
    kind, notification = eventually(lambda: arrived(1))
    assert (kind, notification["Message"]) == ("Notification", "after")
    assert len(received) == 2  # "before" was never delivered
