"""What S3 answers for an object that does not exist (rule `missing-key`).

S3 API reference, GetObject and HeadObject, "Permissions": "If the object you request doesn't exist,
the error that Amazon S3 returns depends on whether you also have the s3:ListBucket permission. If
you have the s3:ListBucket permission on the bucket, Amazon S3 returns an HTTP status code 404 Not
Found error. If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code
403 Forbidden error." moto answers 404 to everyone, so a caller that branches on 404 (the key is
free) passed here and failed on AWS. A bucket that does not exist is still 404 NoSuchBucket.

Whether the caller may list the bucket is decided as every other request is (access.judge): across
accounts both the caller's policies and the bucket policy must allow s3:ListBucket on the bucket.
"""

from __future__ import annotations

import urllib.parse
from collections.abc import Callable, Iterable
from typing import Any

Environ = dict[str, Any]
StartResponse = Callable[..., Any]

# Object reads whose missing key is this rule's; a read of a version, a tag set or an ACL is not.
_OTHER_READS = {"versionId", "uploadId", "tagging", "acl", "attributes", "torrent", "retention", "legal-hold"}
_DENIED = (
    b'<?xml version="1.0" encoding="UTF-8"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message>'
    b"<RequestId>xacct-strict</RequestId></Error>"
)


def _object_read(environ: Environ) -> tuple[str, str] | None:
    from xacct.sandbox.s3.access import bucket_and_key

    if environ.get("REQUEST_METHOD") not in ("GET", "HEAD"):
        return None
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    bucket, key = bucket_and_key(environ)
    if not bucket or not key or set(query) & _OTHER_READS:
        return None
    return bucket, key


def may_list(environ: Environ, raw: bytes, bucket: str, owner: str) -> bool:
    """Whether the request's caller is allowed s3:ListBucket on the bucket (its policy included)."""
    from xacct.sandbox import access
    from xacct.sandbox.s3.access import bucket_policy

    call = access.call_of(environ, raw)
    if call is None:
        return False
    check = access.Check(
        "s3:ListBucket", f"arn:aws:s3:::{bucket}", owner, bucket_policy(bucket, owner), "normal",
        {"s3:resourceaccount": (owner,)},
    )  # fmt: skip
    return access.judge(call, check).allowed


def answered(app: Callable[..., Iterable[bytes]], environ: Environ, start: StartResponse, raw: bytes) -> Any:
    """The response, with moto's 404 for a missing key turned into 403 for a caller that may not
    list the bucket; None when the request is no object read."""
    from xacct.sandbox.s3.access import owner

    read = _object_read(environ)
    if read is None:
        return None
    bucket, _ = read
    held: dict[str, Any] = {}

    def capture(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
        held.update(status=status, headers=headers)
        return lambda _data: None

    body = app(environ, capture)
    if "status" not in held:  # an application may answer on its first iteration
        body = list(body)
    account = owner(bucket)
    if not str(held.get("status", "")).startswith("404") or account is None or may_list(environ, raw, bucket, account):
        start(held["status"], held["headers"])
        return body
    if hasattr(body, "close"):
        body.close()
    content = b"" if environ.get("REQUEST_METHOD") == "HEAD" else _DENIED
    start("403 Forbidden", [("Content-Type", "application/xml"), ("Content-Length", str(len(content)))])
    return [content]
