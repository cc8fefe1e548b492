"""The replication function: copy each new build artifact into every registered developer bucket,
once, only to its owner (copies.py), the registered targets read from SSM (targets.py); start a new
developer current (sync); hand large fan-outs to further invocations of itself. One JSON line per
artifact says what was delivered, skipped and failed; one per invocation carries its metrics, and
lasting failures go to the alert topic (alerts.py).

Deployed inline in cfn/CrossAccountPrimary.yaml as one file: tools/inline_replicator.py joins
copies.py, targets.py, alerts.py and this module (a test keeps the template and the modules equal).
"""

import json
import os
import time
import urllib.parse
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import ClientError

from xacct.function.alerts import Tally, tell
from xacct.function.copies import WORKERS, Artifact, Transient, deliver, log, reason
from xacct.function.targets import Targets, targets

PROBE_PREFIX = "xacct-probe/"  # xacct-probe/BUCKET/...: a verification, for that bucket only


def sync(
    s3: Any, event: dict[str, Any], registered: Targets, owner: str, context: Any, *, tally: Tally
) -> dict[str, Any]:
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
                tally.add(f"s3://{bucket}/{key}", result)
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
    tally = Tally()
    try:
        if event.get("xacct") == "sync":
            return sync(s3, event, registered, owner, context, tally=tally)
        return replicate(s3, event, registered, owner, context, config=config, tally=tally)
    finally:
        report(tally, owner, config)


def report(tally: Tally, account: str, config: Config) -> None:
    """The invocation's counts as metrics (one embedded-metric-format line), and its lasting failures
    on the alert topic."""
    if not tally.by:
        return
    stack, region = os.environ.get("STACK", ""), os.environ.get("AWS_REGION", "")
    print(json.dumps(tally.metrics(stack), sort_keys=True), flush=True)
    if tally.failures:
        tell(boto3.client("sns", config=config), tally.failures, stack, account, region)


def replicate(
    s3: Any, event: dict[str, Any], registered: Targets, owner: str, context: Any, *, config: Config, tally: Tally
) -> dict[str, Any]:
    """Each S3 event's artifact into the registered targets (a slice of them when handed over)."""
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
        tally.add(f"s3://{source}/{key}", result)
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
