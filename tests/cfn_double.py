"""A CloudFormation latency double: an HTTP proxy in front of the emulator.

moto finishes every stack operation instantly, so waiting, progress, interruption and
concurrency would go untested. Through this proxy, as on AWS:
- each stack operation stays *_IN_PROGRESS for `stack_seconds` (its terminal stack event is
  held back until then), and each change set stays CREATE_IN_PROGRESS for `change_set_seconds`;
- executing a change set that is not ready yet, or writing to a stack that is busy, is
  refused with CloudFormation's errors, and so is executing a change set made before another
  operation changed its stack (AWS marks it OBSOLETE);
- an operation can be made to fail: it then ends ROLLBACK_COMPLETE (a create) or
  UPDATE_ROLLBACK_COMPLETE (an update), with the failed resource's event and reason.
It also records every CloudFormation call and the intervals CloudFormation was busy, for the
benchmarks. Everything else (STS, SSM, S3...) passes through untouched.
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
import xml.etree.ElementTree as ET
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from tests.forwarding import Server

NS = "http://cloudformation.amazonaws.com/doc/2010-05-15/"
ET.register_namespace("", NS)
CFN_VERSION = "Version=2010-05-15"
MUTATING = {"UpdateStack", "DeleteStack", "ExecuteChangeSet"}


def q(tag: str) -> str:
    return f"{{{NS}}}{tag}"


@dataclass
class Operation:
    stack_name: str
    stack_id: str
    kind: str  # CREATE | UPDATE | DELETE
    start: float
    end: float
    fail: tuple[str, str, str] | None = None  # (logical id, type, reason)


@dataclass
class Call:
    at: float
    action: str
    stack: str
    who: str = ""


@dataclass
class CloudFormationDouble:
    upstream: str
    stack_seconds: float = 20.0
    change_set_seconds: float = 5.0
    calls: list[Call] = field(default_factory=list)
    busy: list[tuple[float, float]] = field(default_factory=list)
    operations: list[tuple[str, str, float, float]] = field(default_factory=list)  # (who, stack, start, end)
    _ops: dict[str, Operation] = field(default_factory=dict)  # by stack name
    _change_sets: dict[str, tuple[float, str]] = field(default_factory=dict)  # id -> (ready, kind)
    _obsolete: set[str] = field(default_factory=set)
    _cs_stack: dict[str, tuple[str, str]] = field(default_factory=dict)  # id -> (name, stack id)
    _cs_who: dict[str, str] = field(default_factory=dict)  # id -> account
    _failures: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    _after_change_set: dict[str, Callable[[], None]] = field(default_factory=dict)
    _accounts: dict[str, str] = field(default_factory=dict)  # access key id -> account
    _tokens: set[str] = field(default_factory=set)  # ClientRequestTokens of requests already taken
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None

    # ---- control ----------------------------------------------------------------------

    def start(self) -> str:
        double = self

        class Handler(BaseHTTPRequestHandler):
            # HTTP/1.1, as AWS's endpoints speak it: botocore sends an S3 upload with "Expect:
            # 100-continue" and, from an HTTP/1.0 server that never says "100 Continue", waits a
            # second before sending the body; AWS answers at once.
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:
                double._handle(self)

            do_GET = do_PUT = do_DELETE = do_HEAD = do_POST

            def log_message(self, *args: Any) -> None:
                pass

        self._server = Server(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def stop(self) -> None:
        if self._server:
            self._server.shutdown()
            self._server.server_close()

    def fail_next(self, stack: str, logical_id: str, resource_type: str, reason: str) -> None:
        """The next operation on `stack` fails at `logical_id` with CloudFormation's `reason`."""
        self._failures[stack] = (logical_id, resource_type, reason)

    def after_change_set(self, stack: str, hook: Callable[[], None]) -> None:
        """Run `hook` once, after a change set for `stack` is created and before its creator hears
        back (a concurrent edit that always wins the race)."""
        self._after_change_set[stack] = hook

    def polls_per_second_while_waiting(self) -> float:
        """The highest rate of status reads for one stack while one of its operations ran: from
        the call that started it to the first read after it ended (the one that sees the end).
        Reads after that (the run looking at its result) are not waiting."""
        worst = 0.0
        for i, call in enumerate(self.calls):
            if call.action not in ("ExecuteChangeSet", "DeleteStack"):
                continue
            ends = [e for who, name, s, e in self.operations if (who, name) == (call.who, call.stack) and s >= call.at]
            if not ends:
                continue
            polls: list[float] = []
            for later in self.calls[i + 1 :]:
                if (later.who, later.stack) != (call.who, call.stack):
                    continue
                if later.action not in ("DescribeStacks", "DescribeStackEvents"):
                    break
                polls.append(later.at)
                if later.at >= min(ends):
                    break
            if len(polls) >= 2:
                worst = max(worst, (len(polls) - 1) / (polls[-1] - call.at))
        return worst

    def busy_seconds(self) -> float:
        """How long CloudFormation was working on at least one operation or change set."""
        total, end = 0.0, 0.0
        for s, e in sorted(self.busy):
            if e <= end:
                continue
            total += e - max(s, end)
            end = e
        return total

    # ---- proxying ---------------------------------------------------------------------

    def _forward(self, h: BaseHTTPRequestHandler, body: bytes) -> tuple[int, dict[str, str], bytes]:
        from tests.forwarding import forward

        return forward(self.upstream, h, body, timeout=60)

    def _reply(self, h: BaseHTTPRequestHandler, status: int, headers: dict[str, str], body: bytes) -> None:
        from tests.forwarding import reply

        reply(h, status, headers, body)

    def _error(self, h: BaseHTTPRequestHandler, code: str, message: str) -> None:
        body = (
            f'<ErrorResponse xmlns="{NS}"><Error><Type>Sender</Type><Code>{code}</Code>'
            f"<Message>{message}</Message></Error><RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
        ).encode()
        self._reply(h, 400, {"Content-Type": "text/xml"}, body)

    def _handle(self, h: BaseHTTPRequestHandler) -> None:
        body = h.rfile.read(int(h.headers.get("Content-Length") or 0))
        text = body.decode("utf-8", "replace")
        if CFN_VERSION not in text:
            status, headers, out = self._forward(h, body)
            if "Action=AssumeRole" in text and status == 200:
                self._learn_account(out)
            self._reply(h, status, headers, out)
            return
        form = {k: v[0] for k, v in urllib.parse.parse_qs(text).items()}
        action = form.get("Action", "")
        now = time.monotonic()
        # Stacks of the same name live in several accounts: key them by the caller's account.
        match = re.search(r"Credential=([^/]+)/", h.headers.get("Authorization", ""))
        who = self._accounts.get(match.group(1), match.group(1)) if match else ""
        stack = form.get("StackName", "") or self._cs_stack.get(form.get("ChangeSetName", ""), ("", ""))[0]
        if stack.startswith("arn:"):
            stack = stack.split("/")[1]
        form["_who"] = who
        with self._lock:
            self.calls.append(Call(now, action, stack, who))
        refusal = self._refuse(action, form, stack, now)
        if refusal:
            self._error(h, *refusal)
            return
        status, headers, out = self._forward(h, body)
        if status == 200:
            token = form.get("ClientRequestToken")
            if token:
                if token in self._tokens:
                    self._reply(h, status, headers, out)
                    return
                self._tokens.add(token)
            out = self._after(action, form, stack, out, time.monotonic())
        self._reply(h, status, headers, out)

    def _learn_account(self, out: bytes) -> None:
        """Each session assumes its role anew: map its temporary key to the role's account."""
        key = re.search(rb"<AccessKeyId>([^<]+)</AccessKeyId>", out)
        arn = re.search(rb"<Arn>arn:aws:sts::(\d{12}):", out)
        if key and arn:
            self._accounts[key.group(1).decode()] = arn.group(1).decode()

    def _busy(self, key: str, now: float) -> Operation | None:
        op = self._ops.get(key)
        return op if op and op.end > now else None

    def _refuse(self, action: str, form: dict[str, str], stack: str, now: float) -> tuple[str, str] | None:
        token = form.get("ClientRequestToken")
        if token and token in self._tokens:
            return None  # a retry of a request CloudFormation took: answered as the first one was
        if action == "ExecuteChangeSet":
            ready = self._change_sets.get(form.get("ChangeSetName", ""))
            if ready and ready[0] > now:
                return "InvalidChangeSetStatus", "ChangeSet is in CREATE_IN_PROGRESS status and cannot be executed"
            if form.get("ChangeSetName", "") in self._obsolete:
                return "InvalidChangeSetStatus", "ChangeSet cannot be executed in its current status of [OBSOLETE]"
        if action in MUTATING:
            op = self._busy(f"{form['_who']}:{stack}", now)
            if op and not (action == "DeleteStack" and op.kind == "DELETE"):  # deleting twice is no error
                return (
                    "ValidationError",
                    f"Stack:{op.stack_id} is in {op.kind}_IN_PROGRESS state and can not be updated.",
                )
        return None

    def _begin(self, who: str, name: str, stack_id: str, kind: str, now: float) -> None:
        op = Operation(name, stack_id, kind, now, now + self.stack_seconds, self._failures.pop(name, None))
        with self._lock:
            # Every change set made for this stack before this operation no longer matches it.
            self._obsolete.update(
                cs for cs, (stack, _) in self._cs_stack.items() if stack == name and self._cs_who.get(cs) == who
            )
            self._ops[f"{who}:{name}"] = op
            self.busy.append((op.start, op.end))
            self.operations.append((who, name, op.start, op.end))

    def _after(self, action: str, form: dict[str, str], stack: str, out: bytes, now: float) -> bytes:
        if action == "CreateChangeSet":
            root = ET.fromstring(out)
            cs_id = root.findtext(f".//{q('Id')}") or ""
            stack_id = root.findtext(f".//{q('StackId')}") or ""
            kind = form.get("ChangeSetType", "UPDATE")
            with self._lock:
                self._change_sets[cs_id] = (now + self.change_set_seconds, kind)
                self._cs_stack[cs_id] = (form["StackName"], stack_id)
                self._cs_who[cs_id] = form["_who"]
                self.busy.append((now, now + self.change_set_seconds))
            hook = self._after_change_set.pop(form["StackName"], None)
            if hook:
                # Before the caller even learns its change set id: the edit always lands between
                # the change set's creation and its execution.
                hook()
        elif action == "ExecuteChangeSet":
            name, stack_id = self._cs_stack.get(form["ChangeSetName"], (stack, ""))
            kind = self._change_sets.get(form["ChangeSetName"], (0, "UPDATE"))[1]
            self._begin(form["_who"], name, stack_id, kind, now)
        elif action in ("CreateStack", "UpdateStack", "DeleteStack"):
            stack_id = form["StackName"] if form["StackName"].startswith("arn:") else ""
            self._begin(form["_who"], stack, stack_id, action.replace("Stack", "").upper(), now)
        elif action == "DescribeChangeSet":
            return self._pending_change_set(form.get("ChangeSetName", ""), out, now)
        elif action == "DescribeStacks":
            return self._describe_stacks(form["_who"], out, now)
        elif action == "DescribeStackEvents":
            return self._describe_events(form["_who"], out, now)
        return out

    def _pending_change_set(self, cs_id: str, out: bytes, now: float) -> bytes:
        ready = self._change_sets.get(cs_id)
        if not ready or ready[0] <= now:
            return out
        root = ET.fromstring(out)
        for tag, value in (("Status", "CREATE_IN_PROGRESS"), ("ExecutionStatus", "UNAVAILABLE")):
            node = root.find(f".//{q(tag)}")
            if node is not None:
                node.text = value
        for tag in ("StatusReason", "Changes"):
            parent = root.find(f".//{q('DescribeChangeSetResult')}")
            node = parent.find(q(tag)) if parent is not None else None
            if node is not None and parent is not None:
                parent.remove(node)
        return ET.tostring(root)

    def _status(self, op: Operation, now: float) -> str:
        if op.end > now:
            return f"{op.kind}_IN_PROGRESS"
        if op.fail:
            return "ROLLBACK_COMPLETE" if op.kind == "CREATE" else "UPDATE_ROLLBACK_COMPLETE"
        return ""

    def _describe_stacks(self, who: str, out: bytes, now: float) -> bytes:
        root = ET.fromstring(out)
        for member in root.iter(q("member")):
            name = member.findtext(q("StackName"))
            status = member.find(q("StackStatus"))
            op = self._ops.get(f"{who}:{name}")
            if status is None or op is None:
                continue
            if op.stack_id and member.findtext(q("StackId")) != op.stack_id:
                continue  # an older stack of the same name
            override = self._status(op, now)
            if override:
                status.text = override
        return ET.tostring(root)

    def _describe_events(self, who: str, out: bytes, now: float) -> bytes:
        root = ET.fromstring(out)
        events = root.find(f".//{q('StackEvents')}")
        if events is None:
            return out
        members = list(events)
        if not members:
            return out
        name = members[0].findtext(q("StackName")) or ""
        op = self._ops.get(f"{who}:{name}")
        if op is None:
            return out
        if op.end > now:
            # Hold back the stack's own terminal event until the operation "finishes".
            for m in members:
                if m.findtext(q("LogicalResourceId")) == name and not (m.findtext(q("ResourceStatus")) or "").endswith(
                    "_IN_PROGRESS"
                ):
                    events.remove(m)
                    break
        elif op.fail:
            logical, rtype, reason = op.fail
            rollback = self._status(op, now)
            synthetic = [
                (name, "AWS::CloudFormation::Stack", rollback, ""),
                (
                    name,
                    "AWS::CloudFormation::Stack",
                    rollback.replace("COMPLETE", "IN_PROGRESS"),
                    "The following resource(s) failed: [" + logical + "]",
                ),
                (logical, rtype, f"{op.kind}_FAILED", reason),
            ]
            for i, (lid, typ, status, why) in enumerate(synthetic):
                m = ET.Element(q("member"))
                for tag, value in (
                    ("EventId", f"double-{op.start}-{i}"),
                    ("StackId", op.stack_id),
                    ("StackName", name),
                    ("LogicalResourceId", lid),
                    ("ResourceType", typ),
                    ("Timestamp", time.strftime("%Y-%m-%dT%H:%M:%S.000Z", time.gmtime())),
                    ("ResourceStatus", status),
                    ("ResourceStatusReason", why),
                ):
                    if value:
                        ET.SubElement(m, q(tag)).text = value
                events.insert(i, m)
        return ET.tostring(root)
