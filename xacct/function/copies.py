"""One build artifact copied into its targets: each target at most once, never an older build over
a newer one. S3 events come late, out of order and more than once: the newest build wins (current
versions only, ordered by the events' sequencers), each copy records its source version, and every
write is conditional on what was read, so of racing duplicates exactly one writes. A key the role may
not read (S3 answers a missing key with 403 to a caller without s3:ListBucket) is written only if it is
still absent. Each write names the target's owner (ExpectedBucketOwner).

Part of the replication function (replicator.py says how it is deployed).
"""

import json
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

WORKERS = 16  # copies at a time; every copy is server-side, so threads only wait
SINGLE_COPY_LIMIT = 5 * 1024**3  # CopyObject copies up to 5 GB; above, a multipart copy
PART_SIZE = 512 * 1024**2
MAX_PARTS = 10_000
ROUNDS = 3  # attempts per target for transient failures, after botocore's own retries
SOURCE_VERSION = "xacct-source-version"  # user metadata recording what a copy was made from
SOURCE_SEQUENCER = "xacct-source-sequencer"  # and the S3 event's sequencer, which orders events for one key
CONFLICTS = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"}
DECISIONS = 4  # reads and conditional writes per target before the race is called transient
UNSEEN: dict[str, str] = {}  # HeadObject refused: absent to a caller without s3:ListBucket, or unreadable
KEPT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType")
TRANSIENT = {"InternalError", "RequestTimeout", "ServiceUnavailable", "SlowDown", "Throttling"}
TRANSIENT |= {"ThrottlingException", "RequestLimitExceeded", "KMS.ThrottlingException"}


class Transient(Exception):  # some targets failed in a way that may pass: Lambda retries the event
    pass


def denied(exc: Exception) -> bool:
    """Refused for want of a grant (the bucket's policy, the key's, our own)."""
    if not isinstance(exc, ClientError):
        return False
    error = exc.response.get("Error", {})
    return "AccessDenied" in str(error.get("Code", "")) or "not authorized" in str(error.get("Message", ""))


def transient(exc: Exception) -> bool:
    if isinstance(exc, BotoCoreError):
        return True  # connection reset, timeout: the network, not the target
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        status = int(exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0)
        return code in TRANSIENT or status >= 500
    return False


def reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        return f"{error.get('Code')}: {error.get('Message', '')}".strip()
    return f"{type(exc).__name__}: {exc}"


def newer(a: str, b: str) -> bool:
    """Whether sequencer a comes after sequencer b, for one key (S3 user guide, "Event message
    structure": compare the hexadecimal strings after padding the shorter with leading zeros)."""
    width = max(len(a), len(b))
    return a.upper().rjust(width, "0") > b.upper().rjust(width, "0")


def decide(held: dict[str, str] | None, token: str, sequencer: str) -> str:
    """Write, or skip: the target holds this version ("held") or a newer one ("stale"); None: nothing."""
    if held is None:
        return "write"
    if held.get("token") == token:
        return "held"
    theirs = held.get("sequencer", "")
    if theirs and sequencer and not newer(sequencer, theirs):
        return "stale"
    return "write"


class _Conditions:
    """The calling thread's next S3 write's condition, sent as a header whatever the SDK knows of
    IfMatch / IfNoneMatch (S3 API reference: PutObject, CopyObject, CompleteMultipartUpload)."""

    def __init__(self, s3: Any) -> None:
        self.local = threading.local()
        for operation in ("CopyObject", "PutObject", "CompleteMultipartUpload"):
            s3.meta.events.register(f"before-sign.s3.{operation}", self._add)

    def _add(self, request: Any, **_: Any) -> None:
        for name, value in (getattr(self.local, "headers", None) or {}).items():
            request.headers[name] = value

    def set(self, headers: dict[str, str] | None) -> None:
        self.local.headers = headers


def log(record: dict[str, Any]) -> None:
    print(json.dumps({"xacct": "replication", **record}, sort_keys=True), flush=True)


class Artifact:
    """One new object of the build bucket, read once, copied to each target."""

    def __init__(self, s3: Any, bucket: str, key: str, version: str | None, owner: str, *, sequencer: str = "") -> None:
        self.s3, self.bucket, self.key, self.version, self.owner = s3, bucket, key, version, owner
        self.conditions = getattr(s3, "_xacct_conditions", None) or _Conditions(s3)
        s3._xacct_conditions = self.conditions
        source = {"Bucket": bucket, "Key": key, **({"VersionId": version} if version else {})}
        head = s3.head_object(**source, ExpectedBucketOwner=owner)
        self.read_current = not version  # this very read was of the key's current version
        if not version and head.get("VersionId") not in (None, "null"):
            # The current version, as read: the copy is of exactly that one, whatever comes after.
            self.version = version = str(head["VersionId"])
            source = {**source, "VersionId": version}
        tags = s3.get_object_tagging(**source, ExpectedBucketOwner=owner).get("TagSet", [])
        self.source = source
        self.size = int(head["ContentLength"])
        # The version id names exactly this artifact; without versioning, its ETag does.
        self.token = version or head.get("VersionId") or head["ETag"].strip('"')
        self.sequencer = sequencer
        self.headers = {h: head[h] for h in KEPT_HEADERS if head.get(h)}
        self.metadata = {**head.get("Metadata", {}), SOURCE_VERSION: self.token}
        if sequencer:
            self.metadata[SOURCE_SEQUENCER] = sequencer
        self.tagging = urllib.parse.urlencode({t["Key"]: t["Value"] for t in tags})

    def current(self, *, again: bool = False) -> bool:
        """Whether this is still the newest build of its key (a later one's own event delivers it)."""
        if not self.version or (self.read_current and not again):
            return True
        head = self.s3.head_object(Bucket=self.bucket, Key=self.key, ExpectedBucketOwner=self.owner)
        return bool(head.get("VersionId") == self.version)

    def held_by(self, bucket: str, owner: str) -> dict[str, str] | None:
        """What the target holds at this key: the version and sequencer it was copied from, and
        its ETag for the next write's condition (None: nothing; UNSEEN when the read is refused)."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=self.key, ExpectedBucketOwner=owner)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchKey"):
                return None
            if code in ("403", "AccessDenied"):
                # S3 answers 403 for a missing key to a caller without s3:ListBucket (HeadObject,
                # "Permissions"), which the replication role is not given: absent, or not ours to read.
                return UNSEEN
            raise
        meta, etag = head.get("Metadata", {}), head["ETag"]
        return {"token": meta.get(SOURCE_VERSION, ""), "sequencer": meta.get(SOURCE_SEQUENCER, ""), "etag": etag}

    def copy_to(self, bucket: str, owner: str) -> str:
        exists = False  # a write that needed the key absent found it there
        for _ in range(DECISIONS):
            held = self.held_by(bucket, owner)
            if held is UNSEEN and exists:
                # It is there, and the read is still refused: only a read can order this write.
                message = f"{bucket} holds {self.key} but the replication role may not read it (s3:GetObject)"
                raise ClientError({"Error": {"Code": "AccessDenied", "Message": message}}, "HeadObject")
            decision = decide(held, self.token, self.sequencer)
            if decision == "write" and held and held.get("sequencer") and not self.sequencer:
                # An event's copy against one without a sequencer (a sync): only the source can order them.
                decision = "write" if self.current(again=True) else "stale"
            if decision != "write":
                return "skipped" if decision == "held" else "stale"
            # Every write is conditional on what was read: absent (or unseen) -> only if still absent.
            absent = held is None or held is UNSEEN
            condition = {"If-None-Match": "*"} if absent else {"If-Match": str((held or {})["etag"])}
            try:
                self._write(bucket, owner, condition)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) not in CONFLICTS:
                    raise
                # Another writer got there first: read again, and decide again.
                exists = exists or absent
                if not self.current(again=True):
                    return "stale"
                continue
            return "delivered"
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "writers kept racing on this key"}}, "CopyObject")

    def _write(self, bucket: str, owner: str, condition: dict[str, str]) -> None:
        owners = {"ExpectedBucketOwner": owner, "ExpectedSourceBucketOwner": self.owner}
        self.conditions.set(condition)
        try:
            if self.size <= SINGLE_COPY_LIMIT:
                replaced = {"MetadataDirective": "REPLACE", "TaggingDirective": "REPLACE", "Tagging": self.tagging}
                copy = {"CopySource": self.source, "Metadata": self.metadata, **replaced, **self.headers, **owners}
                self.s3.copy_object(Bucket=bucket, Key=self.key, **copy)
            else:
                self._multipart(bucket, owner, owners, condition)
        finally:
            self.conditions.set(None)

    def _multipart(self, bucket: str, owner: str, owners: dict[str, str], condition: dict[str, str]) -> None:
        """Above 5 GB: metadata and tags set on CreateMultipartUpload; a failed upload aborted."""
        self.conditions.set(None)  # the condition is the completion's
        target = {"Bucket": bucket, "Key": self.key}
        described = {"Metadata": self.metadata, "Tagging": self.tagging, **self.headers}
        upload = self.s3.create_multipart_upload(**target, **described, ExpectedBucketOwner=owner)["UploadId"]
        part = max(PART_SIZE, -(-self.size // MAX_PARTS))
        try:
            parts = []
            for number, start in enumerate(range(0, self.size, part), 1):
                span = f"bytes={start}-{min(start + part, self.size) - 1}"
                copied = self.s3.upload_part_copy(
                    **target, UploadId=upload, PartNumber=number, CopySource=self.source, CopySourceRange=span, **owners
                )
                parts.append({"ETag": copied["CopyPartResult"]["ETag"], "PartNumber": number})
            self.conditions.set(condition)
            done = {"UploadId": upload, "MultipartUpload": {"Parts": parts}}
            self.s3.complete_multipart_upload(**target, **done, ExpectedBucketOwner=owner)
        except Exception:
            try:
                self.s3.abort_multipart_upload(**target, UploadId=upload, ExpectedBucketOwner=owner)
            except Exception as exc:  # the lifecycle rule removes it later
                log({"warning": "abort failed", "bucket": bucket, "upload": upload, "reason": reason(exc)})
            raise


def deliver(artifact: Artifact, chosen: list[tuple[str, str]]) -> dict[str, Any]:
    """Copy to every target at once; retry the transient failures, for those targets only."""
    result: dict[str, Any] = {"delivered": [], "skipped": [], "failed": {}}
    if not artifact.current():
        # A newer build of this key exists: its own event delivers it, and this one would go back.
        return {**result, "skipped": [b for b, _ in chosen], "stale": [b for b, _ in chosen]}
    pending = list(chosen)
    for attempt in range(ROUNDS):
        retry: list[tuple[str, str]] = []
        with ThreadPoolExecutor(max_workers=max(1, min(WORKERS, len(pending)))) as pool:
            outcomes = list(zip(pending, pool.map(lambda t: _attempt(artifact, *t), pending), strict=True))
        for (bucket, owner), (status, exc) in outcomes:
            if status in ("delivered", "skipped", "stale"):
                result["delivered" if status == "delivered" else "skipped"].append(bucket)
                if status == "stale":
                    result.setdefault("stale", []).append(bucket)
                result["failed"].pop(bucket, None)
                continue
            assert exc is not None
            permanent = not transient(exc) and not (getattr(chosen, "recent", False) and denied(exc))
            result["failed"][bucket] = {"owner": owner, "reason": reason(exc), "permanent": permanent}
            if not permanent:
                retry.append((bucket, owner))
        if not retry:
            break
        pending = retry
        time.sleep(2**attempt)
    return result


def _attempt(artifact: Artifact, bucket: str, owner: str) -> tuple[str, Exception | None]:
    try:
        return artifact.copy_to(bucket, owner), None
    except Exception as exc:
        return "failed", exc
