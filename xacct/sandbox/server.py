"""moto's server with AWS's rules in front of it: every request is authorized as AWS authorizes it
(access.py, checks.py, policy_eval.py), then each service's rules on the request itself (its
`requests.py`) answer before moto does where AWS would."""

from __future__ import annotations

import io
import json
import re
from collections.abc import Callable, Iterable
from typing import Any

from xacct.sandbox import access, checks

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]
_SERVICE = re.compile(r"Credential=[^/]+/\d{8}/[^/]+/([^/]+)/aws4_request")
_JSON_ERRORS = {"kms", "ssm", "logs", "events", "secretsmanager", "dynamodb"}


def _xml(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _reply(start: StartResponse, status: str, headers: list[tuple[str, str]], data: bytes) -> list[bytes]:
    start(status, [*headers, ("Content-Length", str(len(data)))])
    return [data]


def denied(start: StartResponse, service: str, code: str, message: str) -> list[bytes]:
    """AccessDenied (or an unknown key) in the wire format of the service's protocol."""
    if service == "s3":
        body = (
            f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{_xml(message)}</Message>'
            "<RequestId>xacct-strict</RequestId></Error>"
        )
        return _reply(start, "403 Forbidden", [("Content-Type", "application/xml")], body.encode())
    if service in _JSON_ERRORS:
        code = {"AccessDenied": "AccessDeniedException", "InvalidClientTokenId": "UnrecognizedClientException"}[code]
        data = json.dumps({"__type": code, "message": message}).encode()
        return _reply(start, "400 Bad Request", [("Content-Type", "application/x-amz-json-1.1")], data)
    if service == "lambda":
        data = json.dumps({"Type": "User", "Message": message}).encode()
        headers = [("Content-Type", "application/json"), ("x-amzn-ErrorType", f"{code}Exception")]
        return _reply(start, "403 Forbidden", headers, data)
    body = (
        f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{_xml(message)}</Message></Error>"
        "<RequestId>xacct-strict</RequestId></ErrorResponse>"
    )
    return _reply(start, "403 Forbidden", [("Content-Type", "text/xml")], body.encode())


def authorization_problem(environ: Environ, raw: bytes, start: StartResponse) -> list[bytes] | None:
    """The error AWS answers when the caller may not make this request (None: it may)."""
    service = (access.credential(environ) or ("", "", ""))[2]
    try:
        call = access.call_of(environ, raw)
    except access.Unauthenticated:
        return denied(start, service, "InvalidClientTokenId", "The security token included in the request is invalid.")
    if call is None:
        return None
    for check in checks.checks(call):
        decision = access.judge(call, check)
        if not decision.allowed:
            message = (
                f"User: {call.caller.arn} is not authorized to perform: {check.action} on resource: "
                f"{check.resource} because {decision.reason}"
            )
            return denied(start, service, "AccessDenied", message)
    return None


def _body(environ: Environ, needed: bool) -> bytes:
    """The request body, read once and put back for moto."""
    if not needed:
        return b""
    length = int(environ.get("CONTENT_LENGTH") or 0)
    raw = environ["wsgi.input"].read(length) if length else b""
    environ["wsgi.input"] = io.BytesIO(raw)
    return raw


def _caller_account(environ: Environ) -> str:
    from xacct.sandbox.iam._moto import iam_models

    found = access.credential(environ)
    return iam_models.get_account_id_from(found[0]) if found else ""


def middleware(app: App) -> App:
    """moto's WSGI application behind AWS's rules on requests."""
    from xacct.sandbox.awslambda import limits
    from xacct.sandbox.cloudformation import requests as cloudformation
    from xacct.sandbox.s3 import requests as s3

    def strict_app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        if str(environ.get("PATH_INFO", "")).startswith("/moto-api"):
            return app(environ, start)  # the emulator's own controls, not an AWS API
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else ""
        query = str(environ.get("QUERY_STRING", ""))
        raw = _body(environ, service != "s3" or (environ.get("REQUEST_METHOD") == "POST" and "delete" in query))
        if service == "s3":
            early = s3.before_authorization(environ, start)
            if early is not None:
                return early
        refused = authorization_problem(environ, raw, start)
        if refused is not None:
            return refused
        answered: Iterable[bytes] | None = None
        if service == "s3":
            answered = s3.answered(app, environ, start, raw)
        elif service == "lambda":
            answered = limits.account_settings(environ, start)
        elif service == "cloudformation":
            answered = cloudformation.answered(app, environ, start, raw, _caller_account(environ))
        return answered if answered is not None else app(environ, start)

    return strict_app


def server_class() -> Any:
    """moto's threaded server with the request-level rules in front of it."""
    from werkzeug.serving import make_server

    from xacct.sandbox._moto import server_parts

    ThreadedMotoServer, DomainDispatcherApplication, MotoRequestHandler, create_backend_app = server_parts()

    class StrictServer(ThreadedMotoServer):  # type: ignore[misc,valid-type]
        def _server_entry(self) -> None:
            app = middleware(DomainDispatcherApplication(create_backend_app))
            self._server = make_server(self._ip_address, self._port, app, True, request_handler=MotoRequestHandler)
            self._server_ready_event.set()
            self._server.serve_forever()

    return StrictServer
