"""What SNS would have sent to an e-mail address: the confirmation request a new e-mail
subscription gets, then, once confirmed, each message published to its topic (rule
`email-confirmation`). Read through the emulator's public face, `Emulator.mail(address)`."""

from __future__ import annotations

import threading
import time
import uuid
from dataclasses import dataclass


@dataclass(frozen=True)
class Mail:
    to: str
    subject: str
    body: str
    topic: str
    sent: float


_SENT: list[Mail] = []
_TOKENS: dict[str, str] = {}  # confirmation token -> subscription ARN
_LOCK = threading.Lock()


def send(to: str, subject: str, body: str, topic: str) -> None:
    with _LOCK:
        _SENT.append(Mail(to, subject, body, topic, time.time()))


def sent(to: str) -> list[Mail]:
    with _LOCK:
        return [m for m in _SENT if m.to == to]


def token_for(subscription: str) -> str:
    token = uuid.uuid4().hex * 2
    with _LOCK:
        _TOKENS[token] = subscription
    return token


def subscription_of(token: str) -> str | None:
    with _LOCK:
        return _TOKENS.get(token)


def forget() -> None:
    with _LOCK:
        _SENT.clear()
        _TOKENS.clear()
