"""S3 conditional writes as the S3 API reference documents them (PutObject, CopyObject and
CompleteMultipartUpload: If-None-Match and If-Match; S3 user guide, "Add preconditions to S3
operations with conditional requests"): `If-None-Match: *` fails with 412 PreconditionFailed when
the key has a current object, `If-Match: ETAG` fails with 412 when the current object's ETag
differs and with 404 NoSuchKey when there is none. Of two writes racing on one key, one succeeds
and the other sees the first's object. moto checked PutObject only, after reading the key without
holding it, and ignored the headers on CopyObject and CompleteMultipartUpload."""

from __future__ import annotations

import threading
import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
_LOCKS: dict[tuple[str, str], threading.Lock] = {}
_GUARD = threading.Lock()


def _lock(bucket: str, key: str) -> threading.Lock:
    with _GUARD:
        return _LOCKS.setdefault((bucket, key), threading.Lock())


def _conditional(environ: Environ) -> bool:
    """A write that names a condition on its target: PUT object (or copy), or POST ?uploadId."""
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    method = environ.get("REQUEST_METHOD")
    write = (method == "PUT" and not ({"partNumber", "tagging", "acl", "retention", "legal-hold"} & set(query))) or (
        method == "POST" and "uploadId" in query
    )
    return write and bool(environ.get("HTTP_IF_NONE_MATCH") or environ.get("HTTP_IF_MATCH"))


def _problem(bucket: str, key: str, environ: Environ) -> tuple[str, str, str] | None:
    from xacct.sandbox.s3._moto import s3_backends
    from xacct.sandbox.s3.access import owner

    account = owner(bucket)
    if account is None:
        return None  # no such bucket: S3's own answer
    current = s3_backends[account]["aws"].get_object(bucket, key)
    none_match, match = environ.get("HTTP_IF_NONE_MATCH"), environ.get("HTTP_IF_MATCH")
    if none_match == "*" and current is not None:
        return "412 Precondition Failed", "PreconditionFailed", "If-None-Match"
    if match:
        if current is None:
            return "404 Not Found", "NoSuchKey", ""
        if str(match).strip('"') != str(current.etag).strip('"'):
            return "412 Precondition Failed", "PreconditionFailed", "If-Match"
    return None


def guarded(
    app: Callable[..., Iterable[bytes]], environ: Environ, start: Callable[..., Any], bucket: str, key: str
) -> Iterable[bytes] | None:
    """The request answered under its key's lock when it carries a write condition (None otherwise)."""
    if not key or not _conditional(environ):
        return None
    with _lock(bucket, key):
        problem = _problem(bucket, key, environ)
        if problem is not None:
            status, code, condition = problem
            message = (
                "At least one of the pre-conditions you specified did not hold"
                if code == "PreconditionFailed"
                else "The specified key does not exist."
            )
            body = (
                f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
                + (f"<Condition>{condition}</Condition>" if condition else "")
                + "<RequestId>xacct-strict</RequestId></Error>"
            ).encode()
            start(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(body)))])
            return [body]
        return list(app(environ, start))  # the write completes before the next one on this key is decided
