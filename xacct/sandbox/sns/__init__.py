"""SNS: e-mail subscriptions confirmed by their owner before anything is delivered, what would have
been mailed recorded (mail.py), and AWS::SNS::Subscription (subscriptions.py). Authorization: access.py."""

from __future__ import annotations


def install() -> None:
    from xacct.sandbox.sns import subscriptions

    subscriptions.install()
