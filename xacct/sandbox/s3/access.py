"""What an S3 request needs authorized (S3 user guide, "Actions, resources, and condition keys for
Amazon S3", and "How Amazon S3 authorizes a request"): the IAM action of each operation, on the
bucket or the object, under the bucket's policy; a copy also reads its source; and for SSE-KMS the
KMS use S3 makes with the caller's own permissions (S3 user guide, "Using server-side encryption
with AWS KMS keys": GenerateDataKey to write, Decrypt to read and for every part of a multipart
upload)."""

from __future__ import annotations

import json
import re
import urllib.parse
from typing import Any

from xacct.sandbox import propagation
from xacct.sandbox.access import Call, Check
from xacct.sandbox.kms.access import kms_check

_BUCKET_GET = {
    "policy": "GetBucketPolicy",
    "policyStatus": "GetBucketPolicyStatus",
    "versioning": "GetBucketVersioning",
    "notification": "GetBucketNotification",
    "encryption": "GetEncryptionConfiguration",
    "lifecycle": "GetLifecycleConfiguration",
    "location": "GetBucketLocation",
    "acl": "GetBucketAcl",
    "tagging": "GetBucketTagging",
    "versions": "ListBucketVersions",
    "uploads": "ListBucketMultipartUploads",
    "ownershipControls": "GetBucketOwnershipControls",
    "publicAccessBlock": "GetBucketPublicAccessBlock",
    "cors": "GetBucketCORS",
    "logging": "GetBucketLogging",
    "object-lock": "GetBucketObjectLockConfiguration",
    "replication": "GetReplicationConfiguration",
    "website": "GetBucketWebsite",
    "accelerate": "GetAccelerateConfiguration",
    "requestPayment": "GetBucketRequestPayment",
}
_BUCKET_PUT = {
    "policy": "PutBucketPolicy",
    "versioning": "PutBucketVersioning",
    "notification": "PutBucketNotification",
    "encryption": "PutEncryptionConfiguration",
    "lifecycle": "PutLifecycleConfiguration",
    "acl": "PutBucketAcl",
    "tagging": "PutBucketTagging",
    "ownershipControls": "PutBucketOwnershipControls",
    "publicAccessBlock": "PutBucketPublicAccessBlock",
    "cors": "PutBucketCORS",
    "logging": "PutBucketLogging",
    "object-lock": "PutBucketObjectLockConfiguration",
    "replication": "PutReplicationConfiguration",
    "website": "PutBucketWebsite",
    "accelerate": "PutAccelerateConfiguration",
}
_BUCKET_DELETE = {
    "policy": "DeleteBucketPolicy",
    "tagging": "PutBucketTagging",
    "lifecycle": "PutLifecycleConfiguration",
    "encryption": "PutEncryptionConfiguration",
    "cors": "PutBucketCORS",
    "publicAccessBlock": "PutBucketPublicAccessBlock",
    "ownershipControls": "PutBucketOwnershipControls",
    "replication": "PutReplicationConfiguration",
    "website": "DeleteBucketWebsite",
}


def owner(bucket: str) -> str | None:
    from xacct.sandbox.s3._moto import s3_backends

    found = s3_backends.bucket_accounts.get(bucket)
    return str(found[1]) if found else None


def bucket_of(bucket: str, account: str) -> Any | None:
    from xacct.sandbox.s3._moto import s3_backends

    return s3_backends[account]["aws"].buckets.get(bucket)


def bucket_and_key(environ: dict[str, Any]) -> tuple[str, str]:
    """The bucket and key a request names, path-style or virtual-hosted."""
    path = urllib.parse.unquote(str(environ.get("PATH_INFO", ""))).lstrip("/")
    host = str(environ.get("HTTP_HOST", "")).split(":")[0]
    if host.endswith(".localhost") or re.match(r"^[a-z0-9.-]+\.s3[.-]", host):
        return host.split(".")[0], path  # virtual-hosted style
    bucket, _, key = path.partition("/")
    return bucket, key


def copy_source(environ: dict[str, Any]) -> tuple[str, str, str | None] | None:
    """(bucket, key, version) a copy reads from (x-amz-copy-source), or None for no copy."""
    source = environ.get("HTTP_X_AMZ_COPY_SOURCE")
    if not source:
        return None
    path, _, query = urllib.parse.unquote(str(source)).lstrip("/").partition("?")
    bucket, _, key = path.partition("/")
    return bucket, key, next(iter(urllib.parse.parse_qs(query).get("versionId") or []), None)


def _object_actions(method: str, query: dict[str, list[str]], environ: dict[str, Any]) -> list[str]:
    versioned = "versionId" in query
    if method in ("GET", "HEAD"):
        if "tagging" in query:
            return ["GetObjectVersionTagging" if versioned else "GetObjectTagging"]
        if "acl" in query:
            return ["GetObjectVersionAcl" if versioned else "GetObjectAcl"]
        if "uploadId" in query:
            return ["ListMultipartUploadParts"]
        if "attributes" in query:
            return ["GetObjectVersionAttributes" if versioned else "GetObjectAttributes"]
        return ["GetObjectVersion" if versioned else "GetObject"]
    if method == "DELETE":
        if "uploadId" in query:
            return ["AbortMultipartUpload"]
        if "tagging" in query:
            return ["DeleteObjectVersionTagging" if versioned else "DeleteObjectTagging"]
        return ["DeleteObjectVersion" if versioned else "DeleteObject"]
    if "tagging" in query:
        return ["PutObjectVersionTagging" if versioned else "PutObjectTagging"]
    if "acl" in query:
        return ["PutObjectVersionAcl" if versioned else "PutObjectAcl"]
    actions = ["PutObject"]  # PutObject, UploadPart, CopyObject, Create/CompleteMultipartUpload
    if environ.get("HTTP_X_AMZ_TAGGING"):
        actions.append("PutObjectTagging")
    if environ.get("HTTP_X_AMZ_ACL"):
        actions.append("PutObjectAcl")
    return actions


def _bucket_actions(method: str, query: dict[str, list[str]]) -> list[str]:
    table = {"GET": _BUCKET_GET, "PUT": _BUCKET_PUT, "DELETE": _BUCKET_DELETE}.get(method, {})
    for name, action in table.items():
        if name in query:
            return [action]
    if method == "POST" and "delete" in query:
        return []  # DeleteObjects: authorized per key (below)
    return [
        {"GET": "ListBucket", "HEAD": "ListBucket", "PUT": "CreateBucket", "DELETE": "DeleteBucket"}.get(method, "")
    ]


def _deleted_keys(body: bytes) -> list[tuple[str, bool]]:
    keys = re.findall(rb"<Object>(.*?)</Object>", body, re.S)
    found = []
    for item in keys:
        key = re.search(rb"<Key>(.*?)</Key>", item, re.S)
        if key:
            import html

            found.append((html.unescape(key.group(1).decode()), b"<VersionId>" in item))
    return found


def _object_key(bucket: Any, key: str, version: str | None) -> Any | None:
    if bucket is None:
        return None
    try:
        if version:
            return next((k for k in bucket.keys.getlist(key, []) if str(k.version_id) == version), None)
        return bucket.keys.get(key)
    except Exception:
        return None


def _write_key(call: Call, bucket: Any) -> str | None:
    """The KMS key S3 encrypts a new object with: the request's, else the bucket default's."""
    environ = call.environ
    if environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"):
        return str(environ["HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"])
    if environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION") not in (None, "aws:kms", "aws:kms:dsse"):
        return None
    rule = ((bucket.encryption or {}).get("Rule") or {}) if bucket is not None else {}
    default = rule.get("ApplyServerSideEncryptionByDefault") or {}
    if str(default.get("SSEAlgorithm", "")).startswith("aws:kms"):
        return str(default.get("KMSMasterKeyID") or "alias/aws/s3")
    return None


def _read_key(stored: Any) -> str | None:
    if stored is not None and str(getattr(stored, "encryption", "") or "").startswith("aws:kms"):
        return str(stored.kms_key_id) if stored.kms_key_id else None
    return None


def _kms_uses(call: Call, bucket_name: str, bucket_owner: str, query: dict[str, list[str]]) -> list[Check]:
    """The KMS permissions S3 uses on the caller's behalf, for the object operations that encrypt
    or decrypt."""
    environ, method = call.environ, str(call.environ.get("REQUEST_METHOD", ""))
    via = f"s3.{call.region}.amazonaws.com"
    bucket = bucket_of(bucket_name, bucket_owner)
    uses: list[Check] = []
    if method == "GET" and not (set(query) & {"tagging", "acl", "uploadId", "attributes"}):
        _, key = bucket_and_key(environ)
        read = _read_key(_object_key(bucket, key, next(iter(query.get("versionId") or []), None)))
        if read:
            uses.append(kms_check("Decrypt", read, call, bucket_owner, via))
    elif method in ("PUT", "POST") and not (set(query) & {"tagging", "acl"}):
        write = _write_key(call, bucket)
        if write:
            uses.append(kms_check("GenerateDataKey", write, call, bucket_owner, via))
            if "uploadId" in query:  # every part and the completion decrypt the upload's data key
                uses.append(kms_check("Decrypt", write, call, bucket_owner, via))
        source = copy_source(environ)
        if source:
            src_bucket_name, src_key, version = source
            src_owner = owner(src_bucket_name) or call.caller.account
            read = _read_key(_object_key(bucket_of(src_bucket_name, src_owner), src_key, version))
            if read:
                uses.append(kms_check("Decrypt", read, call, src_owner, via))
    return uses


def bucket_policy(bucket_name: str, account: str) -> Any | None:
    """The bucket's policy as it authorizes now (a new one takes effect eventually: propagation.py)."""
    bucket = bucket_of(bucket_name, account)
    current = json.loads(bucket.policy) if bucket is not None and bucket.policy is not None else None
    return propagation.effective("bucket", bucket_name, current)


def checks(call: Call) -> list[Check]:
    """The authorizations an S3 request needs: its action on the bucket or object, a copy's read of its
    source, and the KMS use S3 makes for the caller."""
    environ = call.environ
    method = str(environ.get("REQUEST_METHOD", ""))
    query = urllib.parse.parse_qs(str(environ.get("QUERY_STRING", "")), keep_blank_values=True)
    bucket, key = bucket_and_key(environ)
    if not bucket:
        return [Check("s3:ListAllMyBuckets", "*")]
    bucket_owner = owner(bucket) or call.caller.account
    policy = bucket_policy(bucket, bucket_owner)
    context = {"s3:resourceaccount": (bucket_owner,)}
    if environ.get("HTTP_X_AMZ_ACL"):
        context["s3:x-amz-acl"] = (str(environ["HTTP_X_AMZ_ACL"]),)
    if environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION"):
        context["s3:x-amz-server-side-encryption"] = (str(environ["HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION"]),)
    if environ.get("HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"):
        key_id = str(environ["HTTP_X_AMZ_SERVER_SIDE_ENCRYPTION_AWS_KMS_KEY_ID"])
        context["s3:x-amz-server-side-encryption-aws-kms-key-id"] = (key_id,)

    def on(action: str, arn: str, owner_: str = bucket_owner, policy_: Any = policy) -> Check:
        return Check(f"s3:{action}", arn, owner_, policy_, "normal", {**context, "s3:resourceaccount": (owner_,)})

    if not key:
        found = [on(a, f"arn:aws:s3:::{bucket}") for a in _bucket_actions(method, query) if a]
        if method == "POST" and "delete" in query:
            for name, versioned in _deleted_keys(call.body):
                action = "DeleteObjectVersion" if versioned else "DeleteObject"
                found.append(on(action, f"arn:aws:s3:::{bucket}/{name}"))
        return found
    found = [on(a, f"arn:aws:s3:::{bucket}/{key}") for a in _object_actions(method, query, environ)]
    source = copy_source(environ)
    if source and method == "PUT":
        src_bucket, src_key, version = source
        src_owner = owner(src_bucket) or call.caller.account
        action = "GetObjectVersion" if version else "GetObject"
        found.append(
            on(action, f"arn:aws:s3:::{src_bucket}/{src_key}", src_owner, bucket_policy(src_bucket, src_owner))
        )
    return found + _kms_uses(call, bucket, bucket_owner, query)
