"""S3's rules on a request before any object is touched, enforced in front of moto's server: the
bucket-owner conditions (rule `expected-bucket-owner`), ACLs on a bucket with ACLs disabled (rule
`acls-disabled`), conditional writes decided under the key's lock (conditional.py), and a missing key's
answer to a caller that may not list the bucket (rule `missing-key`, missing.py)."""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

from xacct.sandbox.s3 import conditional, missing
from xacct.sandbox.s3.access import bucket_and_key, bucket_of, copy_source, owner

Environ = dict[str, Any]
StartResponse = Callable[..., Any]
App = Callable[[Environ, StartResponse], Iterable[bytes]]


def _reply(start: StartResponse, status: str, code: str, message: str) -> list[bytes]:
    data = (
        f'<?xml version="1.0" encoding="UTF-8"?><Error><Code>{code}</Code><Message>{message}</Message>'
        "<RequestId>xacct-strict</RequestId></Error>"
    ).encode()
    start(status, [("Content-Type", "application/xml"), ("Content-Length", str(len(data)))])
    return [data]


def owner_problem(environ: Environ) -> bool:
    """True when a bucket-owner condition names another account than the bucket's owner."""
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


def before_authorization(environ: Environ, start: StartResponse) -> list[bytes] | None:
    """S3's answer before the caller is authorized (None: none)."""
    if owner_problem(environ):
        return _reply(start, "403 Forbidden", "AccessDenied", "Access Denied")
    return None


def answered(app: App, environ: Environ, start: StartResponse, raw: bytes) -> Iterable[bytes] | None:
    """S3's answer once the caller is authorized (None: moto's, as it is)."""
    if acl_problem(environ):
        return _reply(start, "400 Bad Request", "AccessControlListNotSupported", "The bucket does not allow ACLs")
    found = conditional.guarded(app, environ, start, *bucket_and_key(environ))
    if found is None:
        found = missing.answered(app, environ, start, raw)
    return found
