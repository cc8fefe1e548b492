"""Strict rules that AWS applies to a request before any resource is touched, enforced in front of
moto's server (a WSGI middleware): sizes of CloudFormation requests, S3's bucket-owner conditions,
and who may touch objects of another account's bucket. See `rules.RULES` for what each refuses
and its source."""

from __future__ import annotations

import io
import json
import re
import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from xacct.sandbox import conditional, s3_missing

TEMPLATE_BODY_LIMIT = 51_200
PARAMETER_VALUE_LIMIT = 4_096
_CFN_WRITES = {"CreateStack", "UpdateStack", "CreateChangeSet", "ValidateTemplate", "CreateStackSet", "UpdateStackSet"}
_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def _reply(start: StartResponse, status: str, content_type: str, body: str) -> list[bytes]:
    data = body.encode()
    start(status, [("Content-Type", content_type), ("Content-Length", str(len(data)))])
    return [data]


def _cfn_error(start: StartResponse, message: str) -> list[bytes]:
    body = (
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><Error><Type>Sender</Type>'
        f"<Code>ValidationError</Code><Message>{_xml(message)}</Message></Error>"
        "<RequestId>xacct-strict</RequestId></ErrorResponse>"
    )
    return _reply(start, "400 Bad Request", "text/xml", body)


def _s3_denied(start: StartResponse) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
        "<RequestId>xacct-strict</RequestId></Error>"
    )
    return _reply(start, "403 Forbidden", "application/xml", body)


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def cloudformation_problem(form: dict[str, str]) -> str | None:
    """Why CloudFormation refuses this request before it starts (template-size, parameter-size)."""
    if form.get("Action") not in _CFN_WRITES:
        return None
    body = form.get("TemplateBody")
    if body is not None and len(body.encode()) > TEMPLATE_BODY_LIMIT:
        return (
            "1 validation error detected: Value at 'templateBody' failed to satisfy constraint: "
            f"Member must have length less than or equal to {TEMPLATE_BODY_LIMIT}"
        )
    for key, value in form.items():
        m = re.match(r"^Parameters\.member\.(\d+)\.ParameterValue$", key)
        if m and len(value.encode()) > PARAMETER_VALUE_LIMIT:
            name = form.get(f"Parameters.member.{m.group(1)}.ParameterKey", "?")
            return (
                f"Parameter '{name}' is {len(value.encode())} bytes; a parameter value may hold at most "
                f"{PARAMETER_VALUE_LIMIT} bytes"
            )
    return None


def _caller_account(environ: Environ) -> str:
    from moto.iam.models import get_account_id_from

    from xacct.sandbox import access

    found = access.credential(environ)
    return get_account_id_from(found[0]) if found else ""


def owner_problem(environ: Environ) -> bool:
    """True when a bucket-owner condition names another account than the bucket's owner."""
    from xacct.sandbox.access_s3 import bucket_and_key, copy_source, owner

    expected = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
    if expected:
        found = owner(bucket_and_key(environ)[0])
        if found is not None and found != expected:
            return True
    source_expected = environ.get("HTTP_X_AMZ_SOURCE_EXPECTED_BUCKET_OWNER")
    source = copy_source(environ)
    if source_expected and source:
        found = owner(source[0])
        if found is not None and found != source_expected:
            return True
    return False


def acl_problem(environ: Environ) -> bool:
    """True for an ACL a bucket with ACLs disabled refuses: Object Ownership "bucket owner enforced"
    (the default for every bucket created since April 2023, and what the templates set) accepts a
    write that names no ACL or bucket-owner-full-control, and no request that sets an ACL otherwise."""
    from xacct.sandbox.access_s3 import bucket_and_key, bucket_of, owner

    if environ.get("REQUEST_METHOD") not in ("PUT", "POST"):
        return False
    canned = environ.get("HTTP_X_AMZ_ACL")
    granted = any(str(k).startswith("HTTP_X_AMZ_GRANT_") for k in environ)
    setting = "acl" in urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    if not (canned or granted or setting):
        return False
    name = bucket_and_key(environ)[0]
    account = owner(name)
    bucket = bucket_of(name, account) if account else None
    if bucket is None:
        return False
    rule = str(getattr(bucket, "ownership_rule", None) or "")
    if "ObjectWriter" in rule or "BucketOwnerPreferred" in rule:
        return False  # ACLs enabled
    return granted or canned != "bucket-owner-full-control"


def _acl_refused(start: StartResponse) -> list[bytes]:
    body = (
        '<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessControlListNotSupported</Code>'
        "<Message>The bucket does not allow ACLs</Message><RequestId>xacct-strict</RequestId></Error>"
    )
    return _reply(start, "400 Bad Request", "application/xml", body)


# ---- authorization ----------------------------------------------------------------------------

_JSON_ERRORS = {"kms", "ssm", "logs", "events", "secretsmanager", "dynamodb"}


def _denied(start: StartResponse, service: str, code: str, message: str) -> list[bytes]:
    """AccessDenied (or an unknown key) in the wire format of the service's protocol."""
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{_xml(message)}</Message>'
            "<RequestId>xacct-strict</RequestId></Error>"
        )
        return _reply(start, "403 Forbidden", "application/xml", body)
    if service in _JSON_ERRORS:
        code = {"AccessDenied": "AccessDeniedException", "InvalidClientTokenId": "UnrecognizedClientException"}[code]
        return _reply(
            start, "400 Bad Request", "application/x-amz-json-1.1", json.dumps({"__type": code, "message": message})
        )
    if service == "lambda":
        data = json.dumps({"Type": "User", "Message": message}).encode()
        start(
            "403 Forbidden",
            [
                ("Content-Type", "application/json"),
                ("Content-Length", str(len(data))),
                ("x-amzn-ErrorType", f"{code}Exception"),
            ],
        )
        return [data]
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
        "<RequestId>xacct-strict</RequestId></ErrorResponse>"
    )
    return _reply(start, "403 Forbidden", "text/xml", body)


def authorization_problem(environ: Environ, raw: bytes, start: StartResponse) -> list[bytes] | None:
    """The error AWS answers when the caller may not make this request (None: it may)."""
    from xacct.sandbox import access, access_s3

    service = (access.credential(environ) or ("", "", ""))[2]
    try:
        call = access.call_of(environ, raw)
    except access.Unauthenticated:
        return _denied(start, service, "InvalidClientTokenId", "The security token included in the request is invalid.")
    if call is None:
        return None
    for check in (access_s3.checks if service == "s3" else access.checks)(call):
        decision = access.judge(call, check)
        if not decision.allowed:
            message = (
                f"User: {call.caller.arn} is not authorized to perform: {check.action} on resource: "
                f"{check.resource} because {decision.reason}"
            )
            return _denied(start, service, "AccessDenied", message)
    return None


# ---- idempotent writes ------------------------------------------------------------------------

_TOKENED = {"CreateStack", "UpdateStack", "DeleteStack", "ExecuteChangeSet", "CreateChangeSet"}
_ANSWERED: dict[tuple[str, str, str], tuple[str, list[tuple[str, str]], bytes]] = {}
_ANSWERED_LOCK = threading.Lock()
_ANSWERED_MAX = 10_000


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


def _body(environ: Environ, needed: bool) -> bytes:
    """The request body, read once and put back for moto."""
    if not needed:
        return b""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def middleware(app: App) -> App:
    """moto's WSGI application behind the request-level rules."""

    def strict_app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return app(environ, start)  # the emulator's own controls, not an AWS API
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else ""
        query = str(environ.get("QUERY_STRING", ""))
        raw = _body(environ, service != "s3" or (environ.get("REQUEST_METHOD") == "POST" and "delete" in query))
        if service == "s3" and owner_problem(environ):
            return _s3_denied(start)
        refused = authorization_problem(environ, raw, start)
        if refused is not None:
            return refused
        if service == "s3" and acl_problem(environ):
            return _acl_refused(start)
        if service == "s3":
            from xacct.sandbox.access_s3 import bucket_and_key

            answered = conditional.guarded(app, environ, start, *bucket_and_key(environ))
            if answered is None:
                answered = s3_missing.answered(app, environ, start, raw)
            if answered is not None:
                return answered
        if service == "lambda":
            from xacct.sandbox import strict_lambda

            settings = strict_lambda.account_settings(environ, start)
            if settings is not None:
                return settings
        if service == "cloudformation" and environ.get("REQUEST_METHOD") == "POST":
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
            problem = cloudformation_problem(form)
            if problem:
                return _cfn_error(start, problem)
            token = form.get("ClientRequestToken") or form.get("ClientToken")
            if form.get("Action") in _TOKENED and token:
                return _answer_once(app, environ, start, (_caller_account(environ), form["Action"], token))
        return app(environ, start)

    return strict_app
