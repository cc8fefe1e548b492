"""Copy each new build artifact into every registered developer bucket: once, only to its owner.

Inlined into cfn/CrossAccountPrimary.yaml by tools/inline_replicator.py (a test keeps them equal).
S3 events come late, out of order and more than once: the newest build wins (current versions only,
ordered by the events' sequencers), each copy records its source version, and every write is
conditional on what was read, so of racing duplicates exactly one writes. Targets live in SSM
parameters (Lambda's 4 KB environment would bind first); each write names the owner
(ExpectedBucketOwner). One JSON line per artifact says what was delivered, skipped and failed.
"""

import json
import os
import threading
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

WORKERS = 16  # copies at a time; every copy is server-side, so threads only wait
SINGLE_COPY_LIMIT = 5 * 1024**3  # CopyObject copies up to 5 GB; above, a multipart copy
PART_SIZE = 512 * 1024**2
MAX_PARTS = 10_000
ROUNDS = 3  # attempts per target for transient failures, after botocore's own retries
# IAM and KMS changes take effect eventually: a target registered this recently whose write is
# refused may be waiting for its grants, so the refusal is retried (Lambda retries the event too).
RECENT_SECONDS = 600
SOURCE_VERSION = "xacct-source-version"  # user metadata recording what a copy was made from
SOURCE_SEQUENCER = "xacct-source-sequencer"  # and the S3 event's sequencer, which orders events for one key
CONFLICTS = {"PreconditionFailed", "ConditionalRequestConflict", "NoSuchKey", "412", "409"}
DECISIONS = 4  # reads and conditional writes per target before the race is called transient
PROBE_PREFIX = "xacct-probe/"  # xacct-probe/BUCKET/...: a verification, for that bucket only
KEPT_HEADERS = ("CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType")
TRANSIENT = {"InternalError", "RequestTimeout", "ServiceUnavailable", "SlowDown", "Throttling"}
TRANSIENT |= {"ThrottlingException", "RequestLimitExceeded", "KMS.ThrottlingException"}


class Transient(Exception):  # some targets failed in a way that may pass: Lambda retries the event
    pass


class Targets(list):  # type: ignore[type-arg]
    """The registered (bucket, owner) pairs; `recent` when the list changed within RECENT_SECONDS."""

    def __init__(self, pairs: Any = (), recent: bool = False) -> None:
        super().__init__(pairs)
        self.recent = recent


MORE = 10  # ReplicationMore01..10: developers past the four lists, as BUCKET=KEY-ID


def targets(ssm: Any, buckets_name: str, keys_name: str, more_prefix: str = "") -> Targets:
    """(bucket, owner) of each registered developer, once, or none when replication is off: "true:b1,b2"
    (EnableReplication:ReplicationBucketList) with "keys:arn1,arn2" (ReplicationCMKs, whose accounts own
    the buckets), then "more:xacct-build-ACCOUNT-REGION=KEY-ID,..." (ReplicationMoreNN, owned by ACCOUNT)."""
    names_read = [buckets_name, keys_name] + [f"{more_prefix}{n:02d}" for n in range(1, MORE + 1) if more_prefix]
    found = []
    for start in range(0, len(names_read), 10):  # GetParameters takes up to 10 names
        found += ssm.get_parameters(Names=names_read[start : start + 10])["Parameters"]
    values = {p["Name"]: p["Value"] for p in found}
    changed = [p["LastModifiedDate"] for p in found if p.get("LastModifiedDate")]
    recent = bool(changed) and time.time() - max(c.timestamp() for c in changed) < RECENT_SECONDS
    enabled, _, buckets = values.get(buckets_name, "false:").partition(":")
    _, _, keys = values.get(keys_name, "keys:").partition(":")
    if enabled.strip() != "true":
        return Targets()
    names = [b.strip() for b in buckets.split(",") if b.strip()]
    owners = [k.strip().split(":")[4] if k.count(":") >= 5 else "" for k in keys.split(",") if k.strip()]
    if len(names) != len(owners):
        # Never write by name alone: an entry without its owner is not served.
        log({"error": "the bucket and key lists differ in length", "buckets": names, "owners": owners})
    pairs = [(b, o) for b, o in zip(names, owners, strict=False) if o]
    for name in names_read[2:]:
        for item in values.get(name, "more:").partition(":")[2].split(","):
            bucket = item.strip().partition("=")[0]
            parts = bucket.split("-")
            if bucket.startswith("xacct-build-") and len(parts) > 3 and len(parts[2]) == 12 and parts[2].isdigit():
                pairs.append((bucket, parts[2]))
    # Once each: while CloudFormation rewrites the parameters one by one, an entry may be read twice.
    return Targets(dict.fromkeys(pairs), recent)


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
        its ETag for the next write's condition (None: nothing; {} when we may not read it)."""
        try:
            head = self.s3.head_object(Bucket=bucket, Key=self.key, ExpectedBucketOwner=owner)
        except ClientError as exc:
            code = str(exc.response.get("Error", {}).get("Code"))
            if code in ("404", "NoSuchKey"):
                return None
            if code in ("403", "AccessDenied"):
                return {}  # not ours to read: the write decides, unconditionally
            raise
        meta, etag = head.get("Metadata", {}), head["ETag"]
        return {"token": meta.get(SOURCE_VERSION, ""), "sequencer": meta.get(SOURCE_SEQUENCER, ""), "etag": etag}

    def copy_to(self, bucket: str, owner: str) -> str:
        for _ in range(DECISIONS):
            held = self.held_by(bucket, owner)
            decision = decide(held, self.token, self.sequencer)
            if decision == "write" and held and held.get("sequencer") and not self.sequencer:
                # An event's copy against one without a sequencer (a sync): only the source can order them.
                decision = "write" if self.current(again=True) else "stale"
            if decision != "write":
                return "skipped" if decision == "held" else "stale"
            condition = {"If-None-Match": "*"} if held is None else ({"If-Match": held["etag"]} if held else None)
            try:
                self._write(bucket, owner, condition)
            except ClientError as exc:
                if str(exc.response.get("Error", {}).get("Code")) not in CONFLICTS or condition is None:
                    raise
                # Another writer got there first: read again, and decide again.
                if not self.current(again=True):
                    return "stale"
                continue
            return "delivered"
        raise ClientError({"Error": {"Code": "SlowDown", "Message": "writers kept racing on this key"}}, "CopyObject")

    def _write(self, bucket: str, owner: str, condition: dict[str, str] | None) -> None:
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

    def _multipart(self, bucket: str, owner: str, owners: dict[str, str], condition: dict[str, str] | None) -> None:
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


def sync(s3: Any, event: dict[str, Any], registered: Targets, owner: str, context: Any) -> dict[str, Any]:
    """Start a developer current: the current version of every build artifact into the named (and
    registered) targets, a page at a time, within the budget; `next` is where to resume (None: done)."""
    wanted = set(event.get("targets") or [])
    chosen = Targets((t for t in registered if t[0] in wanted), registered.recent)
    # Within the caller's budget, and never near the invocation's own limit (copies in flight).
    remaining = context.get_remaining_time_in_millis() / 1000 - 30
    deadline = time.monotonic() + max(1.0, min(float(event.get("budget_seconds") or 60), remaining))
    bucket = str(event["bucket"])
    listing: dict[str, Any] = {"Bucket": bucket, "ExpectedBucketOwner": owner, "MaxKeys": 1000}
    listing.update({"StartAfter": event["start_after"]} if event.get("start_after") else {})
    by: dict[str, list[int]] = {b: [0, 0, 0] for b, _ in chosen}  # each target's delivered, skipped, failed
    totals: dict[str, Any] = {"delivered": 0, "skipped": 0, "failed": 0, "failures": [], "next": None, "by_target": by}
    if not chosen:
        return totals
    page = s3.list_objects_v2(**listing)
    keys = [o["Key"] for o in page.get("Contents", []) if not o["Key"].startswith(PROBE_PREFIX)]

    def one(key: str) -> dict[str, Any]:
        try:
            artifact = Artifact(s3, bucket, key, None, owner)
            return {"version": artifact.token, **deliver(artifact, chosen)}
        except ClientError as exc:  # the artifact went away while the page was read
            return {"delivered": [], "skipped": [], "failed": {"": {"reason": reason(exc), "permanent": True}}}

    step = max(1, WORKERS // len(chosen))  # artifacts at a time: copies in flight stay near WORKERS
    with ThreadPoolExecutor(max_workers=step) as pool:
        for start in range(0, len(keys), step):
            batch = keys[start : start + step]
            for key, result in zip(batch, pool.map(one, batch), strict=True):
                for i, name in enumerate(("delivered", "skipped", "failed")):
                    totals[name] += len(result[name])
                    for b in by if "" in result[name] else result[name]:  # "": the artifact itself failed
                        by[b][i] += 1
                totals["failures"] += [{"artifact": key, "target": b, **f} for b, f in result["failed"].items()][:5]
                if result["delivered"] or result["failed"]:
                    log({"artifact": f"s3://{bucket}/{key}", "sync": True, **result})
            if time.monotonic() > deadline and batch[-1] != keys[-1]:
                totals["next"] = batch[-1]
                return totals
    totals["next"] = (page.get("Contents") or [{}])[-1].get("Key") if page.get("IsTruncated") else None
    totals["failures"] = totals["failures"][:20]
    return totals


def per_invocation(size: int) -> int:
    """Targets for one invocation: what WORKERS copies at a time finish in 10 of Lambda's 15 minutes (a
    server-side copy estimated at 5 s plus 50 MB/s), at most FAN_OUT_AT."""
    seconds = 5 + size / (50 * 1024**2)
    return max(WORKERS, min(int(os.environ.get("FAN_OUT_AT") or 100), int(WORKERS * 600 / seconds)))


def fan_out(client: Any, function: str, record: dict[str, Any], rest: list[Targets]) -> list[str]:
    """Each further slice to an asynchronous invocation of this function (Lambda queues those when
    concurrency is short, and retries them twice); returns the targets whose hand-off failed."""
    failed: list[str] = []
    for part in rest:
        payload = {"xacct": "fan", "Records": [record], "targets": [b for b, _ in part]}
        try:
            client.invoke(FunctionName=function, InvocationType="Event", Payload=json.dumps(payload).encode())
        except Exception as exc:
            log({"error": "fan-out failed", "targets": len(part), "reason": reason(exc)})
            failed += [b for b, _ in part]
    return failed


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    config = Config(retries={"mode": "standard", "max_attempts": 5}, max_pool_connections=WORKERS + 4)
    s3, ssm = boto3.client("s3", config=config), boto3.client("ssm", config=config)
    owner = str(context.invoked_function_arn).split(":")[4]
    names = (os.environ["TARGETS_PARAMETER"], os.environ["KEYS_PARAMETER"], os.environ.get("MORE_PARAMETERS", ""))
    registered = targets(ssm, *names)
    if event.get("xacct") == "sync":
        return sync(s3, event, registered, owner, context)
    totals = {"delivered": 0, "skipped": 0, "failed": 0}
    if not registered:
        return totals  # replication off, or nobody registered (a developer account's own function): nothing to read
    unfinished = []
    for record in event.get("Records", []):
        started = time.monotonic()
        obj = record["s3"]["object"]
        key = urllib.parse.unquote_plus(obj["key"])  # S3 event keys are URL-encoded, '+' for spaces
        source = record["s3"]["bucket"]["name"]
        wanted = [key[len(PROBE_PREFIX) :].split("/", 1)[0]] if key.startswith(PROBE_PREFIX) else event.get("targets")
        # A probe, or a slice handed over: still only what is registered.
        chosen = registered if wanted is None else Targets((t for t in registered if t[0] in wanted), registered.recent)
        artifact = Artifact(s3, source, key, obj.get("versionId"), owner, sequencer=str(obj.get("sequencer") or ""))
        step = max(1, len(chosen) if event.get("xacct") == "fan" else per_invocation(artifact.size))
        mine = Targets(chosen[:step], chosen.recent)
        rest = [Targets(chosen[i : i + step]) for i in range(step, len(chosen), step)]
        if rest:
            unfinished += fan_out(boto3.client("lambda", config=config), context.invoked_function_arn, record, rest)
        result = deliver(artifact, mine)
        line = {"artifact": f"s3://{source}/{key}", "version": artifact.token, "targets": len(mine)}
        line.update({"handed": [len(p) for p in rest]} if rest else {})
        log({**line, "seconds": round(time.monotonic() - started, 3), **result})
        for name in ("delivered", "skipped", "failed"):
            totals[name] += len(result[name])
        unfinished += [b for b, f in result["failed"].items() if not f["permanent"]]
    if unfinished:
        # Lambda retries the event; every target already served is skipped then.
        raise Transient(f"transient failures for {', '.join(unfinished[:20])}")
    return totals
