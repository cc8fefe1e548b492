"""The registrar: the build account's function that answers join requests (cfn/CrossAccountJoining.yaml).

Deployed as a zip of this package's AWS-facing core (xacct/aws/code.py builds it), so that it
registers with the very code the command line uses: the central stack's lease, the merge that keeps
every other developer's entry and order, and the check after the update. Each invocation reads the
whole inbox, so requests that arrive together are served by whichever invocation holds the lease
first, in one change set, and the others find them answered; a failed invocation is made good by
the next (Lambda retries it, and every later request reads the inbox again).
"""

from __future__ import annotations

import json
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import boto3
import botocore.config
import botocore.exceptions as bx

from xacct.aws import backfill, lease
from xacct.aws.central import CentralUpdate
from xacct.aws.stacks import Stacks
from xacct.core import capacity, joining
from xacct.core import registry as reg
from xacct.core.fleet import merge_all
from xacct.core.joining import Answer, Check, Request
from xacct.errors import XacctError
from xacct.function.checks import CONFIG, Checker

REGISTRAR = "xacct-registrar"  # the lease holder's name: user@host:pid
FRESH_SECONDS = 30.0  # a registrar's lease renewed this recently is held by a live invocation
QUIET_SECONDS = 2.0  # a batch is gathered until no request has come for this long...
GATHER_SECONDS = 15.0  # ...or for this long at most


def log(**fields: Any) -> None:
    print(json.dumps(fields, default=str), flush=True)


class LogProgress:
    """The engine's progress lines, as JSON lines in the function's log."""

    def note(self, stack: str, text: str) -> None:
        log(stack=stack, note=text)

    def event(self, stack: str, event: Any) -> None:
        log(stack=stack, resource=event.get("LogicalResourceId"), status=event.get("ResourceStatus"))


@dataclass
class Open:
    """A request not yet answered for what it now holds (its ETag)."""

    request: Request | None
    etag: str
    account: str
    answer: Answer | None
    problem: str = ""


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    os.environ["USER"] = REGISTRAR  # names the lease's holder: for people, and for _another_serves
    arn = context.invoked_function_arn.split(":")
    registrar = Registrar(
        inbox=os.environ["INBOX"],
        stack=os.environ["CENTRAL_STACK"],
        auto=os.environ.get("AUTO_APPROVE") == "true",
        service_role=os.environ["SERVICE_ROLE"],
        partition=arn[1],
        region=arn[3],
        account=arn[4],
    )
    return registrar.run()


class Registrar:
    def __init__(
        self, *, inbox: str, stack: str, auto: bool, service_role: str, partition: str, region: str, account: str
    ) -> None:
        self.inbox, self.stack, self.auto, self.service_role = inbox, stack, auto, service_role
        self.partition, self.region, self.account = partition, region, account
        self.s3 = boto3.client("s3", config=CONFIG)
        self.sts = boto3.client("sts", config=CONFIG)
        self.checker = Checker(account, partition, self.sts, boto3.client("kms", config=CONFIG))
        self.cfn = boto3.client("cloudformation", config=CONFIG)

    # ---- the inbox ---------------------------------------------------------------------

    def _keys(self, prefix: str) -> list[dict[str, Any]]:
        found: list[dict[str, Any]] = []
        for page in self.s3.get_paginator("list_objects_v2").paginate(Bucket=self.inbox, Prefix=prefix):
            found.extend(dict(item) for item in page.get("Contents", []))
        return found

    def _read(self, key: str) -> bytes | None:
        try:
            return bytes(self.s3.get_object(Bucket=self.inbox, Key=key)["Body"].read())
        except bx.ClientError as exc:
            if exc.response["Error"]["Code"] in ("NoSuchKey", "404"):
                return None
            raise

    def approved(self) -> dict[str, str]:
        """Account -> the request ETag a person approved (--approve)."""
        found: dict[str, str] = {}
        for item in self._keys("approvals/"):
            body = self._read(item["Key"])
            if body:
                found.update(json.loads(body).get("approved", {}))
        return found

    def open_requests(self) -> list[Open]:
        found = []
        for item in self._keys("requests/"):
            account = joining.account_of_key(item["Key"])
            if account is None or item["Key"] != joining.request_key(account):
                continue
            etag = item["ETag"].strip('"')
            raw = self._read(joining.answer_key(account))
            answer = Answer.parse(raw) if raw else None
            if answer is not None and answer.request_etag == etag and answer.status != "pending":
                continue
            body = self._read(item["Key"]) or b""
            try:
                found.append(Open(Request.parse(account, body), etag, account, answer))
            except XacctError as exc:
                found.append(Open(None, etag, account, answer, exc.message))
        return found

    def answer(self, account: str, answer: Answer) -> None:
        self.s3.put_object(
            Bucket=self.inbox,
            Key=joining.answer_key(account),
            Body=answer.to_json().encode(),
            ContentType="application/json",
            ExpectedBucketOwner=self.account,
        )
        log(account=account, status=answer.status, reason=answer.reason)

    # ---- registration --------------------------------------------------------------------

    def central(self) -> Any:
        stacks = Stacks(self.cfn, "", label="central")
        stacks.service_role = self.service_role
        return stacks

    def run(self) -> dict[str, Any]:
        """Serve the inbox, under the central stack's lease, until a pass finds nothing left to do.
        Only the lease's holder reads and checks: an invocation that finds another invocation of this
        function holding it leaves its request to that one, which reads the inbox again after each
        pass, before it lets go, so requests that arrive together share one change set."""
        done: dict[str, list[str]] = {"registered": [], "pending": [], "refused": [], "left": []}
        ssm = boto3.client("ssm", config=CONFIG)
        stacks = self.central()
        while True:
            held = lease.Lease(ssm, self.stack, LogProgress(), yield_to=self._a_registrar)
            try:
                held.acquire()
            except lease.Yielded as exc:
                log(deferred=f"{exc} holds the lease and serves the inbox before it lets go")
                return done
            try:
                registered = self.serve(done, ssm, stacks, held)
            finally:
                held.release()
            if registered is None:
                return done
            self.start_current(stacks, registered)

    def _a_registrar(self, seen: lease.Seen) -> bool:
        """The lease is held by a live invocation of this function. Its renewal is compared with this
        clock: both are Lambda's, which AWS keeps in time (the command line never compares clocks)."""
        if not seen.holder.who.startswith(f"{REGISTRAR}@"):
            return False
        try:
            renewed = float(json.loads(seen.raw).get("renewed", 0))
        except (ValueError, AttributeError):
            return False
        return time.time() - renewed < FRESH_SECONDS

    def quiet(self) -> None:
        """Wait (under the lease) until no request has arrived for QUIET_SECONDS, at most
        GATHER_SECONDS: developers who join together (an OU's new accounts, a team's first day)
        file their requests seconds apart, and a change set costs more than the wait."""
        deadline = time.time() + GATHER_SECONDS
        while time.time() < deadline:
            times = [item["LastModified"].timestamp() for item in self._keys("requests/")]
            wait = (max(times) + QUIET_SECONDS - time.time()) if times else 0
            if wait <= 0:
                return
            time.sleep(min(wait, deadline - time.time(), QUIET_SECONDS))

    def serve(
        self, done: dict[str, list[str]], ssm: Any, stacks: Any, held: lease.Lease
    ) -> list[tuple[Open, list[Check]]] | None:
        """One pass over the inbox: each open request checked and answered; those ready registered in
        one change set. What it registered (to start current), or None when it changed nothing."""
        self.quiet()
        opened = self.open_requests()
        if not opened:
            return None
        state = stacks.describe(self.stack)
        role = state.outputs.get("ReplicationRoleArn", "")
        approved = self.approved()
        before = reg.parse(state.parameters, self.partition)
        joins = [o.request for o in opened if o.request is not None and o.request.action == "join"]
        with ThreadPoolExecutor(max_workers=8) as pool:  # each check is a few calls to another account
            results = list(pool.map(lambda r: self.checker.check(r, role), joins))
        checked = {r.account: c for r, c in zip(joins, results, strict=True)}
        ready: list[tuple[Open, list[Check]]] = []
        leaving: list[Open] = []
        for item in opened:
            if item.request is None:
                self.answer(item.account, Answer("refused", item.problem, item.etag))
                done["refused"].append(item.account)
                continue
            if item.request.action == "leave":
                leaving.append(item)
                continue
            checks = checked[item.account]
            failed = joining.first_failure(checks)
            if failed is not None:
                reason = f"{failed.name}: {failed.detail}"
                self.answer(item.account, Answer("refused", reason, item.etag, tuple(checks)))
                done["refused"].append(item.account)
            elif item.request.entry(self.partition) in before.entries:
                reason = f"{item.request.bucket} is registered in {self.stack}"
                kept = {"skipped": "registered before this request: every new build reaches it"}
                self.answer(item.account, Answer("registered", reason, item.etag, tuple(checks), kept))
                done["registered"].append(item.account)
            elif self.auto or approved.get(item.account) == item.etag:
                ready.append((item, checks))
            elif item.answer is None or item.answer.status != "pending" or item.answer.request_etag != item.etag:
                waiting = Answer("pending", "waiting for the platform team's --approve", item.etag, tuple(checks))
                self.answer(item.account, waiting)
                done["pending"].append(item.account)
        if not (ready or leaving):
            return None
        return self.register(stacks, ssm, held, ready=ready, leaving=leaving, done=done)

    def register(
        self,
        stacks: Any,
        ssm: Any,
        held: lease.Lease,
        *,
        ready: list[tuple[Open, list[Check]]],
        leaving: list[Open],
        done: dict[str, list[str]],
    ) -> list[tuple[Open, list[Check]]] | None:
        """One central change for every join and leave at hand: leavers out first, then joiners in
        after every entry already there. Answers each; returns those registered."""
        entries = {o.account: o.request.entry(self.partition) for o, _ in ready if o.request is not None}
        left_out: list[str] = []
        gone: dict[str, list[str]] = {}

        def compute(before: reg.Registry) -> reg.Change:
            start = before
            for item in leaving:
                gone[item.account] = joining.leaving(start, item.account)
                for bucket in gone[item.account]:
                    start = reg.remove(start, bucket=bucket).after
            wanted = list(entries.values())
            fitting = len(wanted)
            while fitting and capacity.limit_problems(merge_all(start, wanted[:fitting]).after):
                fitting -= 1
            left_out[:] = [e.bucket for e in wanted[fitting:]]
            merged = merge_all(start, wanted[:fitting])
            return reg.Change(before, merged.after, merged.kind if wanted else "removed", merged.message)

        started = time.monotonic()
        change = CentralUpdate(stacks, ssm, self.stack, LogProgress(), held=held).run(compute)
        log(
            registered=len(entries) - len(left_out),
            left=sum(len(b) for b in gone.values()),
            change_set=change.changes_anything,
            seconds=round(time.monotonic() - started, 3),
        )
        for item in leaving:
            buckets = gone.get(item.account) or []
            reason = f"{', '.join(buckets)} no longer registered in {self.stack}" if buckets else "was not registered"
            self.answer(item.account, Answer("left", reason, item.etag))
            done["left"].append(item.account)
        registered = []
        for item, checks in ready:
            request = item.request
            assert request is not None
            if request.bucket in left_out:
                reason = "capacity: the central stack holds no more developers; ask the platform team"
                self.answer(item.account, Answer("refused", reason, item.etag, tuple(checks)))
                done["refused"].append(item.account)
                continue
            reason = f"{request.bucket} is registered in {self.stack}"
            answer = Answer("registered", reason, item.etag, tuple(checks), {}, request.bucket, request.cmk)
            self.answer(item.account, answer)
            done["registered"].append(item.account)
            registered.append((item, checks))
        return registered

    def start_current(self, stacks: Any, registered: list[tuple[Open, list[Check]]]) -> None:
        """Every new developer's bucket current, in one sync for them all (outside the lease: it
        changes no list); each answer then says what was copied."""
        if not registered:
            return
        central = stacks.describe(self.stack)
        buckets = [item.request.bucket for item, _ in registered if item.request is not None]
        if backfill.available(central):
            synced = self._sync(central, buckets)
        else:
            synced = {b: {"skipped": "the central function cannot sync"} for b in buckets}
        for item, checks in registered:
            request = item.request
            assert request is not None
            reason = f"{request.bucket} is registered in {self.stack}"
            current = synced.get(request.bucket) or {"error": "the sync said nothing of this bucket"}
            answer = Answer("registered", reason, item.etag, tuple(checks), current, request.bucket, request.cmk)
            self.answer(item.account, answer)

    def _sync(self, central: Any, buckets: list[str]) -> dict[str, dict[str, Any]]:
        lam = boto3.client("lambda", config=botocore.config.Config(read_timeout=900, retries={"max_attempts": 0}))
        try:
            return {s.bucket: s.to_json() for s in backfill.sync_group(lam, central, buckets)}
        except XacctError as exc:
            return {b: {"error": exc.message} for b in buckets}
