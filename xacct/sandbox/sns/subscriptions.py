"""SNS subscriptions as AWS keeps them: an e-mail or HTTP/S endpoint must confirm before anything is
delivered to it (rules `email-confirmation`, `http-confirmation`), and AWS::SNS::Subscription, which
moto's CloudFormation lacks."""

from __future__ import annotations

import json
from typing import Any

from xacct.sandbox._moto import ActionResult, CloudFormationModel
from xacct.sandbox.cloudformation import resource_type
from xacct.sandbox.patching import around, replace
from xacct.sandbox.sns import mail
from xacct.sandbox.sns._moto import SNSInvalidParameter, sns_backends, sns_models

CONFIRMED_BY_OWNER = ("email", "email-json", "http", "https")  # the endpoint's owner must confirm
PENDING = "PendingConfirmation"


def install() -> None:
    _confirmation()
    _subscription_resource()


def pending(subscription: Any) -> bool:
    return subscription.protocol in CONFIRMED_BY_OWNER and not subscription.confirmed


def _confirmation() -> None:
    """SNS developer guide, "Subscribing an endpoint to an Amazon SNS topic": an e-mail endpoint gets a
    confirmation message, and "Amazon SNS doesn't send messages to an endpoint until the subscription
    is confirmed"; Subscribe answers "pending confirmation" and ListSubscriptionsByTopic lists its ARN
    as "PendingConfirmation" until then (Subscribe, ReturnSubscriptionArn). moto confirmed everything."""
    known: set[str] = set()

    @around(sns_models.SNSBackend, "subscribe")
    def subscribe(original: Any, self: Any, topic_arn: str, endpoint: str, protocol: str) -> Any:
        before = set(self.subscriptions)
        subscription = original(self, topic_arn, endpoint, protocol)
        if subscription.arn in before or protocol not in CONFIRMED_BY_OWNER:
            subscription.confirmed = True if subscription.arn not in before else subscription.confirmed
            return subscription
        subscription.confirmed = False
        subscription.attributes["PendingConfirmation"] = "true"
        subscription.attributes["ConfirmationWasAuthenticated"] = "false"
        token = mail.token_for(subscription.arn)
        known.add(subscription.arn)
        if protocol in ("http", "https"):
            _post_confirmation(endpoint, topic_arn, token, self.region_name)
            return subscription
        body = (
            f"You have chosen to subscribe to the topic:\n{topic_arn}\n\nTo confirm this subscription, click or "
            f"visit the link below (If this was in error no action is necessary):\nConfirm subscription: "
            f"https://sns.{self.region_name}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic_arn}"
            f"&Token={token}"
        )
        mail.send(endpoint, "AWS Notification - Subscription Confirmation", body, topic_arn)
        return subscription

    @around(sns_models.Subscription, "publish")
    def publish(original: Any, self: Any, message: str, message_id: str, *args: Any, **kwargs: Any) -> None:
        if pending(self):
            return
        if self.protocol in ("email", "email-json"):
            subject = kwargs.get("subject") or (args[0] if args else None) or "AWS Notification Message"
            structure = kwargs.get("message_structure")
            if structure == "json":
                parsed = json.loads(message)
                message = parsed.get(self.protocol, parsed.get("default", ""))
            if self.protocol == "email-json":
                message = json.dumps(self.get_post_data(message, message_id, subject))
            mail.send(self.endpoint, str(subject), message, self.topic.arn)
            return
        if self.protocol in ("http", "https"):
            # As SNS posts it (x-amz-sns-message-type and the rest), after Publish answers.
            subject = kwargs.get("subject") or (args[0] if args else None)
            data = self.get_post_data(message, message_id, subject)
            _post(self.endpoint, data, "Notification", self.topic.arn)
            return
        original(self, message, message_id, *args, **kwargs)

    from xacct.sandbox.sns._moto import sns_responses

    @replace(sns_responses.SNSResponse, "confirm_subscription")
    def confirm_subscription(self: Any) -> Any:
        topic, token = self._get_param("TopicArn"), self._get_param("Token")
        arn = mail.subscription_of(str(token))
        subscription = self.backend.subscriptions.get(arn) if arn else None
        if subscription is None or subscription.topic.arn != topic:
            raise SNSInvalidParameter("Invalid parameter: Token")
        subscription.confirmed = True
        subscription.attributes["PendingConfirmation"] = "false"
        return ActionResult({"SubscriptionArn": subscription.arn})

    @around(sns_responses.SNSResponse, "subscribe")
    def subscribe_response(original: Any, self: Any) -> Any:
        result = original(self)
        made = self.backend.subscriptions.get(_result_arn(result))
        if made is not None and pending(made) and str(self._get_param("ReturnSubscriptionArn")).lower() != "true":
            return ActionResult({"SubscriptionArn": "pending confirmation"})
        return result

    @around(sns_responses.SNSResponse, "list_subscriptions_by_topic")
    def listed(original: Any, self: Any) -> Any:
        topic = self._get_param("TopicArn")
        subscriptions, token = self.backend.list_subscriptions_by_topic(topic, next_token=self._get_param("NextToken"))
        rows = [
            {
                "SubscriptionArn": PENDING if pending(s) else s.arn,
                "Owner": s.account_id,
                "Protocol": s.protocol,
                "Endpoint": s.endpoint,
                "TopicArn": s.topic.arn,
            }
            for s in subscriptions
        ]
        return ActionResult({"Subscriptions": rows, "NextToken": token})


def _post_confirmation(endpoint: str, topic_arn: str, token: str, region: str) -> None:
    """SNS developer guide, "Fanout to HTTP/S endpoints": SNS POSTs a SubscriptionConfirmation whose
    Token and SubscribeURL confirm it; until then nothing is delivered. An endpoint that cannot be
    reached stays pending."""
    import datetime
    import uuid

    url = f"https://sns.{region}.amazonaws.com/?Action=ConfirmSubscription&TopicArn={topic_arn}&Token={token}"
    body = {
        "Type": "SubscriptionConfirmation",
        "MessageId": str(uuid.uuid4()),
        "Token": token,
        "TopicArn": topic_arn,
        "Message": f"You have chosen to subscribe to the topic {topic_arn}.\nTo confirm the subscription, visit "
        "the SubscribeURL included in this message.",
        "SubscribeURL": url,
        "Timestamp": datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z",
        "SignatureVersion": "1",
        "Signature": "EXAMPLE",
        "SigningCertURL": f"https://sns.{region}.amazonaws.com/SimpleNotificationService-example.pem",
    }
    _post(endpoint, body, "SubscriptionConfirmation", topic_arn)


def _post(endpoint: str, body: dict[str, Any], kind: str, topic_arn: str) -> None:
    """One POST to an HTTP/S endpoint, with SNS's headers, on a thread of its own: SNS delivers after
    its API call has answered, and an endpoint that is slow or gone does not hold the caller."""
    import contextlib
    import threading
    import urllib.request

    headers = {
        "Content-Type": "text/plain; charset=UTF-8",
        "x-amz-sns-message-type": kind,
        "x-amz-sns-message-id": str(body.get("MessageId", "")),
        "x-amz-sns-topic-arn": topic_arn,
    }

    def post() -> None:
        request = urllib.request.Request(endpoint, data=json.dumps(body).encode(), headers=headers, method="POST")
        with contextlib.suppress(OSError):
            urllib.request.urlopen(request, timeout=15).close()

    threading.Thread(target=post, name="sns-http", daemon=True).start()


def _result_arn(result: Any) -> str:
    data = getattr(result, "result", None) or {}
    return str(data.get("SubscriptionArn", "")) if isinstance(data, dict) else ""


def _subscription_resource() -> None:
    """AWS::SNS::Subscription: TopicArn, Protocol and Endpoint (each create-only: a change replaces
    the subscription); Ref is its ARN. An e-mail endpoint's subscription is made pending, as by
    Subscribe."""

    class TopicSubscription(CloudFormationModel):
        def __init__(self, subscription: Any) -> None:
            self.subscription = subscription

        @property
        def physical_resource_id(self) -> str:
            return str(self.subscription.arn)

        @staticmethod
        def cloudformation_name_type() -> str:
            return ""

        @staticmethod
        def cloudformation_type() -> str:
            return "AWS::SNS::Subscription"

        @classmethod
        def has_cfn_attr(cls, attr: str) -> bool:
            return attr == "Arn"

        def get_cfn_attribute(self, attribute_name: str) -> str:
            return self.physical_resource_id

        @classmethod
        def create_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str, **kwargs: Any
        ) -> TopicSubscription:
            p = cloudformation_json["Properties"]
            topic = str(p["TopicArn"])
            backend = sns_backends[account_id][topic.split(":")[3] if topic.count(":") >= 5 else region_name]
            return cls(backend.subscribe(topic, str(p["Endpoint"]), str(p["Protocol"])))

        @classmethod
        def update_from_cloudformation_json(
            cls, original_resource: Any, new_resource_name: str, cloudformation_json: Any, account_id: str,
            region_name: str,
        ) -> TopicSubscription:  # fmt: skip
            p, old = cloudformation_json["Properties"], original_resource.subscription
            if (old.topic.arn, old.endpoint, old.protocol) == (p["TopicArn"], p["Endpoint"], p["Protocol"]):
                return original_resource  # type: ignore[no-any-return]
            original_resource.delete(account_id, region_name)
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)

        @classmethod
        def delete_from_cloudformation_json(
            cls, resource_name: str, cloudformation_json: Any, account_id: str, region_name: str
        ) -> None:
            for backend in sns_backends[account_id].values():
                backend.unsubscribe(resource_name)

        def delete(self, account_id: str, region_name: str) -> None:
            topic = self.subscription.topic.arn
            sns_backends[account_id][topic.split(":")[3]].unsubscribe(self.subscription.arn)

        def is_created(self) -> bool:
            return True

    resource_type(TopicSubscription)
