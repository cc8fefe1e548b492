"""CloudFormation's rules on a request before anything is made, enforced in front of moto's server: a
template body over 51,200 bytes sent inline, stack sets' too (rule `template-size`), a parameter value
over 4,096 bytes (rule `parameter-size`), a service role (RoleARN) that CloudFormation cannot assume
(rule `service-role`), and a retried request carrying a token CloudFormation already took, which gets
the first answer (rule `requests-once`)."""

from __future__ import annotations

import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

TEMPLATE_BODY_LIMIT = 51_200
PARAMETER_VALUE_LIMIT = 4_096
_WRITES = {"CreateStack", "UpdateStack", "CreateChangeSet", "ValidateTemplate", "CreateStackSet", "UpdateStackSet"}
_TOKENED = {"CreateStack", "UpdateStack", "DeleteStack", "ExecuteChangeSet", "CreateChangeSet"}
_ANSWERED: dict[tuple[str, str, str], tuple[str, list[tuple[str, str]], bytes]] = {}
_ANSWERED_LOCK = threading.Lock()
_ANSWERED_MAX = 10_000

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _error(start: StartResponse, message: str) -> list[bytes]:
    body = (
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
        f"<Code>ValidationError</Code><Message>{_xml(message)}</Message></Error>"
        "<RequestId>xacct-strict</RequestId></ErrorResponse>"
    ).encode()
    start("400 Bad Request", [("Content-Type", "text/xml"), ("Content-Length", str(len(body)))])
    return [body]


# The operations that take a service role (CloudFormation API reference, RoleARN).
SERVICE_ROLE_ACTIONS = {"CreateStack", "UpdateStack", "CreateChangeSet", "DeleteStack", "ContinueUpdateRollback"}
CLOUDFORMATION = "cloudformation.amazonaws.com"


def assumable_by_cloudformation(role: str) -> bool:
    """Whether the role exists and its trust policy lets CloudFormation assume it, as IAM holds it now
    (a new role or trust takes effect eventually: propagation.py)."""
    from xacct.sandbox.iam.access import role_trust
    from xacct.sandbox.policy_eval import Caller, Request, decide

    owner, trust = role_trust(role)
    if owner is None or trust is None:
        return False
    service = Caller(owner, CLOUDFORMATION, CLOUDFORMATION, "Service", service=CLOUDFORMATION)
    return decide(Request(service, "sts:AssumeRole", role, owner), [], trust, "trust").allowed


def problem(form: dict[str, str]) -> str | None:
    """Why CloudFormation refuses this request before it starts (template-size, parameter-size)."""
    if form.get("Action") not in _WRITES:
        return None
    body = form.get("TemplateBody")
    if body is not None and len(body.encode()) > TEMPLATE_BODY_LIMIT:
        return (
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: "
            f"Member must have length less than or equal to {TEMPLATE_BODY_LIMIT}"
        )
    role = form.get("RoleARN")
    if role and form.get("Action") in SERVICE_ROLE_ACTIONS and not assumable_by_cloudformation(role):
        return f"Role {role} is invalid or cannot be assumed"
    for key, value in form.items():
        m = re.match(r"^Parameters\.member\.(\d+)\.ParameterValue$", key)
        if m and len(value.encode()) > PARAMETER_VALUE_LIMIT:
            name = form.get(f"Parameters.member.{m.group(1)}.ParameterKey", "?")
            return (
                f"Parameter '{name}' is {len(value.encode())} bytes; a parameter value may hold at most "
                f"{PARAMETER_VALUE_LIMIT} bytes"
            )
    return None


def _answer_once(app: App, environ: Environ, start: StartResponse, key: tuple[str, str, str]) -> Iterable[bytes]:
    """A request carrying a token CloudFormation already took gets the answer it got then (its
    ClientRequestToken, or ClientToken for a change set); the first one is carried out."""
    with _ANSWERED_LOCK:
        known = _ANSWERED.get(key)
    if known is not None:
        status, headers, body = known
        start(status, headers)
        return [body]
    captured: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
        captured.update(status=status, headers=headers)
        return start(status, headers, exc_info) if exc_info else start(status, headers)

    body = b"".join(app(environ, capture))
    if str(captured.get("status", "")).startswith("200"):
        with _ANSWERED_LOCK:
            if len(_ANSWERED) >= _ANSWERED_MAX:
                _ANSWERED.clear()
            _ANSWERED[key] = (captured["status"], list(captured["headers"]), body)
    return [body]


def answered(app: App, environ: Environ, start: StartResponse, raw: bytes, account: str) -> Iterable[bytes] | None:
    """CloudFormation's answer before moto's, for a request it refuses or has answered already (None:
    moto's, as it is)."""
    if environ.get("REQUEST_METHOD") != "POST":
        return None
    form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
    refused = problem(form)
    if refused:
        return _error(start, refused)
    token = form.get("ClientRequestToken") or form.get("ClientToken")
    if form.get("Action") in _TOKENED and token:
        return _answer_once(app, environ, start, (account, form["Action"], token))
    return None
