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

TEMPLATE_BODY_LIMIT = 51_200
PARAMETER_VALUE_LIMIT = 4_096
_CFN_WRITES = {"CreateStack", "UpdateStack", "CreateChangeSet", "ValidateTemplate"}
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


def bucket_owner(bucket: str) -> str | None:
    from moto.s3.models import s3_backends

    found = s3_backends.bucket_accounts.get(bucket)
    return str(found[1]) if found else None


def _path_bucket(environ: Environ) -> str:
    path = urllib.parse.unquote(str(environ.get("PATH_INFO", "")))
    host = str(environ.get("HTTP_HOST", "")).split(":")[0]
    if host.endswith(".localhost") or re.match(r"^[a-z0-9.-]+\.s3[.-]", host):
        return host.split(".")[0]  # virtual-hosted style
    return path.lstrip("/").split("/", 1)[0]


def owner_problem(environ: Environ) -> bool:
    """True when a bucket-owner condition names another account than the bucket's owner."""
    expected = environ.get("HTTP_X_AMZ_EXPECTED_BUCKET_OWNER")
    if expected:
        owner = bucket_owner(_path_bucket(environ))
        if owner is not None and owner != expected:
            return True
    source_expected = environ.get("HTTP_X_AMZ_SOURCE_EXPECTED_BUCKET_OWNER")
    copy_source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    if source_expected and copy_source:
        source_bucket = urllib.parse.unquote(copy_source).lstrip("/").split("/", 1)[0]
        owner = bucket_owner(source_bucket)
        if owner is not None and owner != source_expected:
            return True
    return False


# ---- cross-account object access ------------------------------------------------------------


def _caller(environ: Environ) -> tuple[str, str | None]:
    """The calling account, and the IAM role behind the caller's temporary key (if any)."""
    from moto.iam.models import get_account_id_from, iam_backends

    m = re.search(r"Credential=([^/]+)/", str(environ.get("HTTP_AUTHORIZATION", "")))
    if not m:
        return "", None
    key = m.group(1)
    account = get_account_id_from(key)
    found = iam_backends[account]["aws"].access_keys.get(key)
    return account, getattr(found, "role_arn", None)


def s3_actions(environ: Environ) -> list[tuple[str, str, str]]:
    """(action, bucket, key) the request needs, for object-level requests; copies also need the
    source object. Bucket-level requests are not covered."""
    method = environ.get("REQUEST_METHOD", "")
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    path = urllib.parse.unquote(str(environ.get("PATH_INFO", ""))).lstrip("/")
    bucket, _, key = path.partition("/")
    if not bucket or not key:
        return []
    versioned = "versionId" in query
    needed: list[tuple[str, str, str]] = []
    if method in ("GET", "HEAD"):
        action = "s3:GetObjectVersionTagging" if versioned else "s3:GetObjectTagging"
        if "tagging" not in query:
            action = "s3:GetObjectVersion" if versioned else "s3:GetObject"
        needed.append((action, bucket, key))
    elif method == "DELETE":
        action = "s3:AbortMultipartUpload" if "uploadId" in query else "s3:DeleteObject"
        needed.append((action, bucket, key))
    elif method in ("PUT", "POST"):
        needed.append(("s3:PutObjectTagging" if "tagging" in query else "s3:PutObject", bucket, key))
        if environ.get("HTTP_X_AMZ_TAGGING"):
            needed.append(("s3:PutObjectTagging", bucket, key))
        source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
        if source:
            src_path, _, src_query = urllib.parse.unquote(str(source)).lstrip("/").partition("?")
            src_bucket, _, src_key = src_path.partition("/")
            action = "s3:GetObjectVersion" if "versionId=" in src_query else "s3:GetObject"
            needed.append((action, src_bucket, src_key))
    return needed


def _matches(patterns: Any, value: str) -> bool:
    import fnmatch

    items = patterns if isinstance(patterns, list) else [patterns]
    return any(fnmatch.fnmatchcase(value.lower(), str(p).lower()) for p in items)


def _statement_applies(statement: dict[str, Any], account: str, role: str | None, action: str, arn: str) -> bool:
    principal = statement.get("Principal")
    names = principal.get("AWS", []) if isinstance(principal, dict) else principal
    names = names if isinstance(names, list) else [names]
    caller = {"*", account, f"arn:aws:iam::{account}:root", *([role] if role else [])}
    if not caller & {str(n) for n in names}:
        return False
    if not _matches(statement.get("Action", []), action) or not _matches(statement.get("Resource", []), arn):
        return False
    for operator, tests in (statement.get("Condition") or {}).items():
        for name, wanted in tests.items():
            if name == "aws:SecureTransport":
                value = "true"  # every request to AWS travels over TLS (see gaps._policies_over_tls)
            elif name == "aws:PrincipalArn":
                value = role or f"arn:aws:iam::{account}:root"
            elif name == "aws:PrincipalAccount":
                value = account
            else:
                return False  # a condition the emulator cannot evaluate grants nothing
            match = _matches(wanted, value) if operator.endswith("Like") else value in _values(wanted)
            if not match:
                return False
    return True


def _values(wanted: Any) -> set[str]:
    return {
        str(w).lower() if isinstance(w, bool) else str(w) for w in (wanted if isinstance(wanted, list) else [wanted])
    }


def _bucket_allows(bucket: str, owner: str, account: str, role: str | None, action: str, key: str) -> bool:
    from moto.s3.models import s3_backends

    policy = s3_backends[owner]["aws"].buckets[bucket].policy
    if policy is None:
        return False
    statements = json.loads(policy).get("Statement", [])
    arn = f"arn:aws:s3:::{bucket}/{key}"
    applying = [s for s in statements if _statement_applies(s, account, role, action, arn)]
    return any(s.get("Effect") == "Allow" for s in applying) and not any(s.get("Effect") == "Deny" for s in applying)


def _identity_allows(account: str, role: str | None, action: str, arn: str) -> bool:
    """The caller's own policies: a role the emulator knows is held to them; the profiles' Admin
    roles (which exist in no emulated IAM) stand for administrators."""
    from moto.iam.access_control import IAMPolicy, PermissionResult
    from moto.iam.models import iam_backends

    if role is None:
        return True
    backend = iam_backends[account]["aws"]
    known = next((r for r in backend.roles.values() if r.arn == role), None)
    if known is None:
        return True
    documents = [IAMPolicy(doc if isinstance(doc, str) else json.dumps(doc)) for doc in known.policies.values()]
    documents += [IAMPolicy(p) for p in known.managed_policies.values()]
    results = [d.is_action_permitted(action, arn) for d in documents]
    return PermissionResult.PERMITTED in results and PermissionResult.DENIED not in results


def cross_account_denied(environ: Environ) -> bool:
    """True when the request touches an object of a bucket another account owns, and either that
    bucket's policy or the caller's own policies do not allow it."""
    needed = s3_actions(environ)
    if not needed:
        return False
    account, role = _caller(environ)
    for action, bucket, key in needed:
        owner = bucket_owner(bucket)
        if owner is None or owner == account:
            continue
        arn = f"arn:aws:s3:::{bucket}/{key}"
        if not (
            _bucket_allows(bucket, owner, account, role, action, key) and _identity_allows(account, role, action, arn)
        ):
            return True
    return False


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


def middleware(app: App) -> App:
    """moto's WSGI application behind the request-level rules."""

    def strict_app(environ: Environ, start: StartResponse) -> Iterable[bytes]:
        match = _SERVICE.search(environ.get("HTTP_AUTHORIZATION", ""))
        service = match.group(1) if match else ""
        if service == "cloudformation" and environ.get("REQUEST_METHOD") == "POST":
            length = int(environ.get("CONTENT_LENGTH") or 0)
            raw = environ["wsgi.input"].read(length) if length else b""
            environ["wsgi.input"] = io.BytesIO(raw)
            form = {k: v[0] for k, v in urllib.parse.parse_qs(raw.decode("utf-8", "replace")).items()}
            problem = cloudformation_problem(form)
            if problem:
                return _cfn_error(start, problem)
            token = form.get("ClientRequestToken") or form.get("ClientToken")
            if form.get("Action") in _TOKENED and token:
                return _answer_once(app, environ, start, (_caller(environ)[0], form["Action"], token))
        elif service == "s3" and (owner_problem(environ) or cross_account_denied(environ)):
            return _s3_denied(start)
        return app(environ, start)

    return strict_app
