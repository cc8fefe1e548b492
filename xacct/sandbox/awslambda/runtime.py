"""Lambda functions run as Lambda runs them, without Docker.

moto runs a function only inside a Docker container, and there is none here, so S3's notification
to the replication function did nothing. This runtime runs a function's *deployed* code (the zip
moto stores; for an inline function, the index.py CloudFormation made from the template) in a
process of its own (forked from one with boto3 imported: zygote.py), as Lambda does: the
function's environment variables, temporary credentials of its execution role (AssumeRole, if it
trusts Lambda: rule `assume-role-trust`), the
region, a context object, and nothing of the caller's environment. What the function prints goes
to its log group. S3 invokes a function asynchronously, and Lambda retries a failed asynchronous
invocation twice (Lambda developer guide, "Error handling and automatic retries"); here the
retries come after seconds, not minutes.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xacct.sandbox import access, propagation
from xacct.sandbox._moto import get_partition
from xacct.sandbox.awslambda import zygote as lambda_zygote
from xacct.sandbox.iam._moto import iam_backends, sts_backends
from xacct.sandbox.iam.access import role_trust
from xacct.sandbox.logs._moto import logs_backends
from xacct.sandbox.policy_eval import Caller, Request, decide

ENDPOINT: list[str] = []  # the emulator's own endpoint, set when it starts
RETRY_DELAYS = (1.0, 2.0)
TIMEOUT_CAP = 120  # seconds: an emulated invocation never waits out a 15-minute timeout


@dataclass
class Invocation:
    ok: bool
    output: str  # what the function printed, its traceback included


def log_group(function: Any) -> str:
    config = getattr(function, "xacct_logging_config", None) or {}
    return str(config.get("LogGroup") or f"/aws/lambda/{function.function_name}")


class CannotAssume(Exception):
    """Lambda cannot assume the execution role (it is gone, or does not trust lambda.amazonaws.com)."""


def _lambda_may_assume(function: Any) -> bool:
    """Whether the execution role exists and its trust policy lets lambda.amazonaws.com assume it."""
    # Lambda could assume the role when the function was created (CreateFunction checks it, and
    # CloudFormation retries until it can): its trust is the one IAM holds, not one still spreading.
    owner, trust = role_trust(function.role, live=True)
    service = "lambda.amazonaws.com"
    lam = Caller(function.account_id, service, service, "Service", service)
    request = Request(lam, "sts:AssumeRole", function.role, owner, {"aws:securetransport": ("true",)})
    return trust is not None and decide(request, [], trust, "trust").allowed


def _role_allows(function: Any, action: str, resource: str, policies: list[Any]) -> bool:
    """Whether the execution role's own policies allow the action (what Lambda does as the role)."""
    caller = Caller(function.account_id, function.role, function.role)
    context = access.caller_context(caller, function.account_id)
    return decide(Request(caller, action, resource, function.account_id, context), policies, None).allowed


def execution_credentials(function: Any) -> dict[str, str]:
    if not _lambda_may_assume(function):
        # Lambda developer guide, "Lambda execution role": Lambda assumes the role for every invocation.
        raise CannotAssume(f"The role defined for the function cannot be assumed by Lambda: {function.role}")
    backend = sts_backends[function.account_id][get_partition(function.region)]
    role = backend.assume_role(
        region_name=function.region,
        role_session_name=function.function_name[:64],
        role_arn=function.role,
        policy="",
        duration=3600,
        external_id="",
    )
    return {
        "AWS_ACCESS_KEY_ID": role.access_key_id,
        "AWS_SECRET_ACCESS_KEY": role.secret_access_key,
        "AWS_SESSION_TOKEN": role.session_token,
    }


def invoke(function: Any, event: dict[str, Any]) -> Invocation:
    """One synchronous invocation of the function's deployed code."""
    started = time.monotonic()
    if not ENDPOINT:
        raise RuntimeError("the emulator's endpoint is not known: a function run here must never reach AWS")
    try:
        credentials = execution_credentials(function)
    except CannotAssume as exc:
        return Invocation(False, f"AccessDeniedException: {exc}")
    with (
        tempfile.TemporaryDirectory(prefix="xacct-lambda-") as task,
        tempfile.TemporaryDirectory(prefix="xacct-lambda-out-") as scratch,
    ):
        zipfile.ZipFile(io.BytesIO(function.code_bytes)).extractall(task)
        env = {
            "PATH": os.environ.get("PATH", ""),
            "AWS_CONFIG_FILE": os.devnull,
            "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
            "AWS_REGION": function.region,
            "AWS_DEFAULT_REGION": function.region,
            "AWS_LAMBDA_FUNCTION_NAME": function.function_name,
            "AWS_ENDPOINT_URL": ENDPOINT[0],
            **{str(k): str(v) for k, v in (function.environment_vars or {}).items()},
            **credentials,
        }
        meta = {
            "name": function.function_name,
            "arn": function.function_arn,
            "request": str(uuid.uuid4()),
            "memory": int(function.memory_size or 128),
            "timeout": int(function.timeout or 3),
            "log_group": log_group(function),
            "handler": function.handler,
        }
        outputs = (Path(scratch, "stdout"), Path(scratch, "stderr"))
        for path in outputs:
            path.touch()
        request = {"id": meta["request"], "task": task, "meta": meta, "event": event, "env": env,
                   "stdout": str(outputs[0]), "stderr": str(outputs[1])}  # fmt: skip
        try:
            code = lambda_zygote.zygote().run(request, min(TIMEOUT_CAP, meta["timeout"] + 5))
        except lambda_zygote.ZygoteGone as exc:
            code, lost = 1, f"{exc}\n"
        else:
            lost = ""
        # stdout then stderr, as a process's two pipes read to their end would give them
        text = "".join(path.read_text(encoding="utf-8", errors="replace") for path in outputs) + lost
        if code is None:
            outcome = Invocation(False, f"{text}Task timed out after {meta['timeout']} s")
        else:
            outcome = Invocation(code == 0, text)
    _write_log(function, outcome.output)  # every invocation's output, synchronous or not, as Lambda does
    _record(function, outcome, time.monotonic() - started)
    return outcome


def _role_policies(function: Any) -> list[Any]:
    name = function.role.rsplit("/", 1)[-1]
    backend = iam_backends[function.account_id]["aws"]
    try:
        inline = [backend.get_role_policy(name, n)[1] for n in backend.list_role_policies(name)]
        attached = backend.list_attached_role_policies(name)[0]
    except Exception:  # the role is gone
        return []
    documents = access.documents([json.loads(d) if isinstance(d, str) else d for d in inline] + list(attached))
    return list(propagation.effective("policies", function.role, documents) or [])


def _write_log(function: Any, text: str) -> None:
    """What the function printed, in its log group, written as Lambda writes it: with the execution
    role's own logs:CreateLogStream and logs:PutLogEvents; without them the lines are lost."""
    backend = logs_backends[function.account_id][function.region]
    group = log_group(function)
    stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{uuid.uuid4().hex}"
    arn = f"arn:aws:logs:{function.region}:{function.account_id}:log-group:{group}:log-stream:{stream}"
    policies = _role_policies(function)
    if not all(_role_allows(function, f"logs:{a}", arn, policies) for a in ("CreateLogStream", "PutLogEvents")):
        return
    try:
        backend.create_log_stream(group, stream)
        now = int(time.time() * 1000)
        lines = [line for line in text.splitlines() if line.strip()] or ["(no output)"]
        backend.put_log_events(group, stream, [{"timestamp": now, "message": line} for line in lines])
    except Exception:  # a function without its log group logs nowhere, as on AWS
        return
    from xacct.sandbox.cloudwatch import emf

    emf.extract(function.account_id, function.region, lines)  # rule `emf-extraction`: what reached the log


def _record(function: Any, outcome: Invocation, seconds: float) -> None:
    """Lambda's own metrics of the invocation (rule `lambda-metrics`; Lambda developer guide, "Types of
    metrics for Lambda functions": Invocations, Errors "the number of invocations that result in a
    function error", Duration), in AWS/Lambda by FunctionName. Nothing is throttled here, so Throttles,
    which Lambda sends only for throttled requests, never is."""
    from xacct.sandbox.cloudwatch._moto import cloudwatch_backends

    dims = [{"Name": "FunctionName", "Value": function.function_name}]
    data = [
        {"MetricName": "Invocations", "Value": 1.0, "Unit": "Count", "Dimensions": dims},
        {"MetricName": "Errors", "Value": 0.0 if outcome.ok else 1.0, "Unit": "Count", "Dimensions": dims},
        {"MetricName": "Duration", "Value": round(seconds * 1000, 3), "Unit": "Milliseconds", "Dimensions": dims},
    ]
    cloudwatch_backends[function.account_id][function.region].put_metric_data("AWS/Lambda", data)


def invoke_async(function: Any, event: dict[str, Any]) -> threading.Thread:
    """As S3 invokes: return at once; run, and retry twice on failure."""

    def run() -> None:
        for delay in (0.0, *RETRY_DELAYS):
            time.sleep(delay)
            outcome = invoke(function, event)
            if outcome.ok:
                return

    thread = threading.Thread(target=run, name=f"lambda:{function.function_name}", daemon=True)
    thread.start()
    return thread


def last_result(output: str) -> Any:
    """The handler's return value, from an invocation's output."""
    for line in reversed(output.splitlines()):
        if line.startswith("REPORT "):
            return json.loads(line[len("REPORT ") :])["result"]
    return None
