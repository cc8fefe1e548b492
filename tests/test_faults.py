"""The tool under faults (tests/fault_proxy.py between it and the emulator): throttling, server
errors, dropped connections, an outage, and responses lost after AWS carried the request out.
Each run either completes or exits 1 with a message that names what failed; a plain re-run then
ends with the central lists exact, no lease and no change set left."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.cfn_double import CloudFormationDouble
from tests.conftest import BUILD, DEV1, REGION, Run, cfn, deploy_central, fake_entry, onboard_args, run_cli, session
from tests.fault_proxy import FaultProxy
from xacct.core import registry as reg
from xacct.sandbox.emulator import Emulator

TWO = [fake_entry(1), fake_entry(2)]
DEV1_BUCKET = f"xacct-build-{DEV1}-{REGION}"
STACKS = {
    "build": ["CrossAccountPrimary"],
    "dev1": ["CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper"],
}


@pytest.fixture
def proxy(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    deploy_central(TWO)  # straight to the emulator
    faults = FaultProxy(aws.endpoint)
    monkeypatch.setenv("AWS_ENDPOINT_URL", faults.start())
    yield faults
    faults.stop()


@pytest.fixture
def slow_proxy(slow_aws: CloudFormationDouble, monkeypatch: pytest.MonkeyPatch) -> Iterator[FaultProxy]:
    """Faults in front of the CloudFormation latency double: operations take their time."""
    import os

    deploy_central(TWO)
    faults = FaultProxy(os.environ["AWS_ENDPOINT_URL"])
    monkeypatch.setenv("AWS_ENDPOINT_URL", faults.start())
    yield faults
    faults.stop()


def exact_and_clean(registered: bool = True) -> None:
    """The central lists as they must be, and nothing of a run left behind."""
    lists = reg.parse(
        {
            p["ParameterKey"]: p.get("ParameterValue", "")
            for p in cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["Parameters"]
        }
    )
    assert lists.buckets == [TWO[0][0], TWO[1][0], *([DEV1_BUCKET] if registered else [])]
    ssm = session("build").client("ssm")
    assert ssm.get_parameters_by_path(Path="/xacct/locks", Recursive=True)["Parameters"] == []
    for profile, names in STACKS.items():
        existing = {s["StackName"] for s in cfn(profile).describe_stacks()["Stacks"]}
        for name in names:
            if name not in existing:
                continue  # a stack that does not exist has no change set either
            summaries = cfn(profile).list_change_sets(StackName=name)["Summaries"]
            waiting = [s["ChangeSetName"] for s in summaries if s.get("ExecutionStatus") != "EXECUTE_COMPLETE"]
            assert waiting == [], (profile, name)


def finished_truly(r: Run) -> None:
    assert r.code in (0, 1), r.err
    assert "Traceback" not in r.err
    if r.code == 0:
        assert "Onboarded in" in r.out
    else:
        assert r.err.startswith("error: ") or "\nerror: " in r.err
        assert "next: " in r.err


@pytest.mark.parametrize(
    ("fault", "setting"),
    [("throttle", 0.3), ("server_errors", 0.15), ("drops", 0.1)],
    ids=["throttling on 30% of calls", "500 and 503 on 15%", "dropped connections on 10%"],
)
def test_a_run_under_random_faults_completes_or_says_why_and_a_rerun_finishes(
    proxy: FaultProxy, fault: str, setting: float
) -> None:
    setattr(proxy, fault, setting)
    r = run_cli(*onboard_args(), "--yes")
    assert any(what not in ("200", "204", "206") for _, what in proxy.log), "no fault was injected"
    finished_truly(r)
    proxy.calm()
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    exact_and_clean()


def test_a_twenty_second_outage(proxy: FaultProxy) -> None:
    results = []
    runner = threading.Thread(target=lambda: results.append(run_cli(*onboard_args(), "--yes")))
    runner.start()
    deadline = time.monotonic() + 30
    while not any(op == "CreateStack" for op, _ in proxy.log) and time.monotonic() < deadline:
        time.sleep(0.05)
    proxy.outage(20)
    runner.join(timeout=300)
    assert results, "the run did not end"
    assert any(what == "dropped" for _, what in proxy.log)
    finished_truly(results[0])
    proxy.calm()
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    exact_and_clean()


@pytest.mark.parametrize("operation", ["CreateStack", "CreateChangeSet", "ExecuteChangeSet", "PutParameter"])
def test_a_lost_response_is_recognised_as_our_own_request(slow_proxy: FaultProxy, operation: str) -> None:
    """AWS carried the request out and the answer never came: the retry carries the same token
    (or finds our own lease), so the run completes, and says so only once the central stack is done."""
    slow_proxy.lose = {operation}
    r = run_cli(*onboard_args(), "--yes")
    assert (operation, "response lost") in slow_proxy.log
    assert r.code == 0, r.err
    assert "Onboarded in" in r.out
    assert (
        cfn("build").describe_stacks(StackName="CrossAccountPrimary")["Stacks"][0]["StackStatus"] == "UPDATE_COMPLETE"
    )
    exact_and_clean()


def test_lost_update_and_delete_responses(slow_proxy: FaultProxy) -> None:
    assert run_cli(*onboard_args(), "--yes").code == 0
    slow_proxy.lose = {"DeleteStack", "UpdateStack"}
    removed = run_cli(*onboard_args(), "--remove", "--yes")
    assert ("DeleteStack", "response lost") in slow_proxy.log
    assert removed.code == 0, removed.err
    exact_and_clean(registered=False)
    slow_proxy.lose = {"UpdateStack"}
    back = run_cli(*onboard_args(), "--yes")  # the primary is updated to admit the central role again
    assert ("UpdateStack", "response lost") in slow_proxy.log
    assert back.code == 0, back.err
    exact_and_clean()
    assert BUILD  # the build account's lists, checked above


def test_aws_out_of_reach_is_said_at_once_with_what_to_check(proxy: FaultProxy) -> None:
    """Before anything is read: two attempts at STS (not botocore's ten), one line, a hint."""
    proxy.outage(600)
    r = run_cli(*onboard_args(), "--yes")
    assert r.code != 0
    lines = r.err.strip().splitlines()
    assert lines[0].startswith("error: ")
    assert "build" in lines[0]
    assert lines[-1].startswith("  next: ")
    assert "Traceback" not in r.err
    assert 1 <= len(proxy.log) <= 2, proxy.log  # the first identity's two attempts, then it stops
    proxy.calm()
    exact_and_clean(registered=False)  # nothing was written


def test_log_file_holds_the_whole_run_for_a_ticket(proxy: FaultProxy, tmp_path: Path) -> None:
    log = tmp_path / "run.log"
    r = run_cli(*onboard_args(), "--yes", "--log", str(log))
    assert r.code == 0, r.err
    text = log.read_text()
    lines = text.splitlines()
    assert lines[0].startswith("# xacct ")
    assert "--log" in lines[0]
    assert "Central replication lists" in text  # the plan
    assert "dev:CrossAccountPrimary (stack) CREATE_COMPLETE" in text  # the events
    assert "Onboarded in" in text
    assert lines[-1].startswith("# exit 0 after ")
    assert "\x1b[" not in text
