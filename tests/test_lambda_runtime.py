"""The emulator's Lambda runtime, through Lambda's own Invoke API: each invocation a process of its
own (forked from a zygote that has boto3 imported), with only the environment Lambda gives it, its
failures and timeouts reported as Lambda reports them."""

from __future__ import annotations

import io
import json
import os
import time
import uuid
import zipfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import session
from xacct.sandbox import emulator as emu_mod

CODE = """
import json, os, sys, time
import boto3
CALLS = []

def handler(event, context):
    CALLS.append(1)
    if event.get("raise"):
        raise ValueError(event["raise"])
    if event.get("exit") is not None:
        sys.exit(event["exit"])
    if event.get("sleep"):
        with open(event["pidfile"], "w") as f:
            f.write(str(os.getpid()))
        time.sleep(event["sleep"])
    print("hello from", context.function_name)
    return {
        "calls": len(CALLS),
        "pid": os.getpid(),
        "color": os.environ.get("COLOR"),
        "leak": os.environ.get("XACCT_TEST_LEAK"),
        "region": os.environ.get("AWS_REGION"),
        "remaining_ms": context.get_remaining_time_in_millis(),
        "account": boto3.client("sts").get_caller_identity()["Account"],
    }
"""


def _function(timeout: int = 3) -> tuple[Any, str]:
    iam, lam = session("dev1").client("iam"), session("dev1").client("lambda")
    name = f"rt-{uuid.uuid4().hex[:8]}"
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
    role = iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    zipped = io.BytesIO()
    with zipfile.ZipFile(zipped, "w") as archive:
        archive.writestr("index.py", CODE)
    lam.create_function(
        FunctionName=name,
        Runtime="python3.12",
        Role=role,
        Handler="index.handler",
        Code={"ZipFile": zipped.getvalue()},
        Timeout=timeout,
        Environment={"Variables": {"COLOR": "blue"}},
    )
    return lam, name


def _invoke(lam: Any, name: str, event: dict[str, Any]) -> tuple[str | None, Any]:
    answer = lam.invoke(FunctionName=name, Payload=json.dumps(event).encode())
    return answer.get("FunctionError"), json.loads(answer["Payload"].read())


def test_each_invocation_is_a_new_process_with_only_what_lambda_gives_it(
    aws: emu_mod.Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XACCT_TEST_LEAK", "the emulator's own environment")
    lam, name = _function()
    with ThreadPoolExecutor(4) as pool:
        answers = list(pool.map(lambda _: _invoke(lam, name, {}), range(4)))
    assert [error for error, _ in answers] == [None] * 4
    results = [result for _, result in answers]
    assert {r["calls"] for r in results} == {1}  # module state new each time: no warm reuse
    assert len({r["pid"] for r in results}) == 4
    assert all(r["pid"] != os.getpid() for r in results)
    assert {(r["color"], r["leak"], r["region"], r["account"]) for r in results} == {
        ("blue", None, emu_mod.REGION, emu_mod.DEV_ACCOUNTS[0])
    }
    assert all(0 < r["remaining_ms"] <= 3000 for r in results)


@pytest.mark.parametrize(
    ("event", "message"),
    [({"raise": "boom"}, "ValueError: boom"), ({"exit": 3}, None), ({"exit": "bad input"}, "bad input")],
)
def test_a_failed_invocation_is_a_function_error_with_its_last_words(
    aws: emu_mod.Emulator, event: dict[str, Any], message: str | None
) -> None:
    lam, name = _function()
    error, body = _invoke(lam, name, event)
    assert error == "Unhandled"
    if message:
        assert body["errorMessage"] == message
    error, body = _invoke(lam, name, {})  # the function still answers afterwards
    assert error is None
    assert body["calls"] == 1


def test_an_invocation_past_its_timeout_is_ended(aws: emu_mod.Emulator, tmp_path: Path) -> None:
    lam, name = _function(timeout=1)
    pidfile = tmp_path / "pid"
    error, body = _invoke(lam, name, {"sleep": 60, "pidfile": str(pidfile)})
    assert error == "Unhandled"
    assert body["errorMessage"] == "Task timed out after 1 s"
    pid = int(pidfile.read_text())
    deadline = time.monotonic() + 5
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not _alive(pid)  # killed, not left sleeping


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def test_the_runtime_recovers_when_its_zygote_is_killed(aws: emu_mod.Emulator) -> None:
    from xacct.sandbox.awslambda import zygote as lambda_zygote

    lam, name = _function()
    assert _invoke(lam, name, {})[0] is None
    first = lambda_zygote.zygote()
    first._process.kill()
    first._process.wait()
    error, body = _invoke(lam, name, {})
    assert error is None
    assert body["color"] == "blue"
    assert lambda_zygote.zygote() is not first


def test_ctrl_c_is_the_tools_the_zygote_carries_on(aws: emu_mod.Emulator) -> None:
    """A terminal's Ctrl-C reaches the whole process group; the tool handles it (exit 130, no
    traceback), and the zygote, whose stderr is not the terminal's, neither dies nor speaks."""
    import signal

    from xacct.sandbox.awslambda import zygote as lambda_zygote

    lam, name = _function()
    assert _invoke(lam, name, {})[0] is None
    zygote = lambda_zygote.zygote()
    os.kill(zygote._process.pid, signal.SIGINT)
    time.sleep(0.2)
    assert not zygote.ended()
    assert _invoke(lam, name, {})[0] is None
    assert lambda_zygote.zygote() is zygote
