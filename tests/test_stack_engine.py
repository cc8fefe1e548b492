"""The stack engine against a CloudFormation that takes its time (tests/cfn_double.py) and
against stack states that need a decision."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

from tests.cfn_double import CloudFormationDouble
from tests.conftest import (
    BUILD,
    CFN,
    DEV1,
    DEV2,
    DEV3,
    REGION,
    ROOT,
    Run,
    cfn,
    deploy_central,
    fake_entry,
    moto_stack,
    onboard_args,
    run_cli,
    settled,
    stack,
    stack_outputs,
    stack_parameters,
)
from xacct.aws.gateway import Gateway
from xacct.aws.stacks import Stacks
from xacct.core import registry as reg
from xacct.core.state import Silent
from xacct.core.status import Next, decide, why_failed
from xacct.sandbox.emulator import Emulator

TWO = [fake_entry(1), fake_entry(2)]


def central() -> reg.Registry:
    return reg.parse(stack_parameters("CrossAccountPrimary", "build"))


def engine(profile: str = "dev1") -> Stacks:
    return Stacks(Gateway(profile, REGION, "t").cfn)


# ---- pure decisions ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (None, Next.CREATE),
        ("DELETE_COMPLETE", Next.CREATE),
        ("CREATE_COMPLETE", Next.UPDATE),
        ("UPDATE_ROLLBACK_COMPLETE", Next.UPDATE),
        ("UPDATE_IN_PROGRESS", Next.WAIT),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Next.WAIT),
        ("ROLLBACK_COMPLETE", Next.RECREATE),
        ("REVIEW_IN_PROGRESS", Next.RECREATE),
        ("UPDATE_ROLLBACK_FAILED", Next.BLOCKED),
        ("DELETE_FAILED", Next.BLOCKED),
    ],
)
def test_status_decisions(status: str | None, expected: Next) -> None:
    assert decide(status, "S").next is expected


def test_a_failure_is_said_with_the_resource_that_failed_else_the_stacks_own_reason() -> None:
    def event(logical: str, kind: str, status: str, reason: str = "") -> dict[str, Any]:
        return {"LogicalResourceId": logical, "ResourceType": kind, "ResourceStatus": status,
                **({"ResourceStatusReason": reason} if reason else {})}  # fmt: skip

    stack = "AWS::CloudFormation::Stack"
    export = "Export BuildBucket cannot be updated as it is in use by Importer"
    events = [
        event("S", stack, "UPDATE_ROLLBACK_IN_PROGRESS", export),
        event("Role", "AWS::IAM::Role", "UPDATE_FAILED", "denied"),
    ]
    assert why_failed("S", "UPDATE_ROLLBACK_COMPLETE", events) == (
        "stack S ended UPDATE_ROLLBACK_COMPLETE: Role (AWS::IAM::Role) UPDATE_FAILED: denied"
    )
    # No resource failed: the reason the stack gave for rolling back (an export another stack imports).
    assert why_failed("S", "UPDATE_ROLLBACK_COMPLETE", events[:1]).endswith(f"UPDATE_ROLLBACK_IN_PROGRESS: {export}")
    assert why_failed("S", "ROLLBACK_COMPLETE", []) == "stack S ended ROLLBACK_COMPLETE"


def test_update_rollback_failed_names_the_exact_next_step() -> None:
    reason = decide("UPDATE_ROLLBACK_FAILED", "Central", " --profile build --region us-east-1").reason
    assert (
        "aws cloudformation continue-update-rollback --stack-name Central --profile build --region us-east-1" in reason
    )


# ---- change sets ---------------------------------------------------------------------------


def test_declining_a_create_leaves_no_stack_and_no_change_set(slow_aws: CloudFormationDouble) -> None:
    e = engine()
    body = (CFN / "CrossAccountDeveloper.yaml").read_text()
    prepared = e.prepare(
        "CrossAccountDeveloper", body, {"ReplicationFunctionRoleArn": f"arn:aws:iam::{BUILD}:role/x"}, {}, Silent()
    )
    assert prepared.action == "create"
    assert stack("CrossAccountDeveloper", "dev1")["StackStatus"] == "REVIEW_IN_PROGRESS"  # type: ignore[index]
    e.discard(prepared)
    assert stack("CrossAccountDeveloper", "dev1") is None


def test_no_change_means_no_change_set(aws: Emulator) -> None:
    deploy_central()
    e = engine("build")
    params = stack_parameters("CrossAccountPrimary", "build")
    prepared = e.prepare("CrossAccountPrimary", (CFN / "CrossAccountPrimary.yaml").read_text(), params, {}, Silent())
    assert prepared.action == "none"
    assert prepared.change_set_id is None
    assert cfn("build").list_change_sets(StackName="CrossAccountPrimary")["Summaries"] == []


# ---- waiting --------------------------------------------------------------------------------


class Recorder(Silent):
    def __init__(self) -> None:
        self.notes: list[str] = []
        self.events: list[str] = []

    def note(self, stack: str, text: str) -> None:
        self.notes.append(f"{stack} {text}")

    def event(self, stack: str, event: Mapping[str, Any]) -> None:
        self.events.append(f"{event['LogicalResourceId']} {event['ResourceStatus']}")


def test_onboarding_waits_for_cloudformation_and_polls_gently(slow_aws: CloudFormationDouble) -> None:
    slow_aws.stack_seconds = 4.0  # long enough for the steady polling rate to show
    deploy_central(TWO)
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    assert len(central().entries) == 3
    assert "IN_PROGRESS" in r.err
    # At most about one call a second per stack while CloudFormation works on it.
    assert 0 < slow_aws.polls_per_second_while_waiting() <= 1.3


def test_a_busy_stack_is_waited_for_first(slow_aws: CloudFormationDouble) -> None:
    deploy_central(TWO)
    # One engine, its session made before the update starts, and an update held long enough that a
    # loaded machine still reads it in progress (with a second's hold, making a session on six busy
    # workers could outlast it, and the test read a stack already done).
    stacks = engine("build")
    stacks.wait_until_idle("CrossAccountPrimary", Silent())
    slow_aws.stack_seconds = 4.0
    current = stack_parameters("CrossAccountPrimary", "build")
    cfn("build").update_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=(CFN / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in {**current, "DeployReady": "true"}.items()],
        Capabilities=["CAPABILITY_IAM"],
    )
    rec = Recorder()
    state = stacks.wait_until_idle("CrossAccountPrimary", rec)
    assert state.status == "UPDATE_COMPLETE"
    assert any("waiting for CloudFormation to finish it first" in n for n in rec.notes)


def test_failure_names_the_resource_and_reason_and_a_rerun_recovers(
    slow_aws: CloudFormationDouble, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The developer's primary stack is what everything else needs: when it fails, nothing else
    starts and nobody is registered. The failure is real (the emulator's KMS refuses one key), so
    the stack really rolls back and its buckets go with it (RetainExceptOnCreate)."""
    from moto.kms.models import KmsBackend

    from xacct.sandbox.cloudformation.failures import ResourceFailed

    deploy_central(TWO)
    create_key = KmsBackend.create_key
    refused: list[str] = []

    def quota_once(self, *args, **kwargs):  # type: ignore[no-untyped-def]
        if self.account_id == DEV1 and not refused:
            refused.append(self.account_id)
            raise ResourceFailed("Key quota exceeded", "ServiceLimitExceeded")
        return create_key(self, *args, **kwargs)

    monkeypatch.setattr(KmsBackend, "create_key", quota_once)
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 1
    assert "ArtifactKey (AWS::KMS::Key) CREATE_FAILED: Resource handler returned message: " in r.err
    assert "Key quota exceeded" in r.err
    assert "ended ROLLBACK_COMPLETE" in r.err
    assert "Completed: nothing. Not started: " in r.err
    assert "central CrossAccountPrimary" in r.err.split("Not started: ", 1)[1]
    assert "then run again: python onboard.py --build-account 111111111111" in r.err
    assert "--dev-profile dev1" in r.err
    assert "Traceback" not in r.err
    assert len(central().entries) == 2  # nobody was registered half-way
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    assert "deleting it to create it again" in again.err
    assert central().buckets.count(f"xacct-build-{DEV1}-{REGION}") == 1


def test_a_failed_side_stack_is_reported_and_a_rerun_completes_it(slow_aws: CloudFormationDouble) -> None:
    """The deployment roles, the developer stack and the central update run side by side once the
    primary exists: one of them failing says exactly what completed, and the re-run finishes it
    without registering anyone twice."""
    deploy_central(TWO)
    slow_aws.fail_next(
        "CrossAccountDeveloper", "ReplicationPathReader", "AWS::IAM::Role", "Role quota exceeded for this account"
    )
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 1
    assert "ReplicationPathReader (AWS::IAM::Role) CREATE_FAILED: Role quota exceeded for this account" in r.err
    completed = r.err.split("Completed: ", 1)[1].split(". Not started", 1)[0]
    assert "developer CrossAccountPrimary" in completed
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    assert central().buckets.count(f"xacct-build-{DEV1}-{REGION}") == 1
    assert stack("CrossAccountDeveloper", "dev1")["StackStatus"] == "CREATE_COMPLETE"  # type: ignore[index]


# ---- stack states ---------------------------------------------------------------------------


def test_an_empty_review_stack_is_deleted_and_created_again(aws: Emulator) -> None:
    deploy_central(TWO)
    cfn("dev1").create_change_set(
        StackName="CrossAccountPrimary",
        ChangeSetName="abandoned",
        ChangeSetType="CREATE",
        TemplateBody=(CFN / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[{"ParameterKey": "RootAccountArns", "ParameterValue": f"arn:aws:iam::{BUILD}:root"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    assert "REVIEW_IN_PROGRESS" in r.err
    assert "deleting it to create it again" in r.err
    assert len(central().entries) == 3


def test_update_rollback_failed_central_stack_is_refused_with_the_next_step(aws: Emulator) -> None:
    deploy_central(TWO)
    moto_stack(BUILD, "CrossAccountPrimary").status = "UPDATE_ROLLBACK_FAILED"
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 2
    assert "continue-update-rollback --stack-name CrossAccountPrimary --profile build --region us-east-1" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None


def test_delete_failed_developer_stack_is_reported_with_what_remains(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    moto_stack(DEV1, "CrossAccountDeploy").status = "DELETE_FAILED"
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 2
    assert "CrossAccountDeploy is DELETE_FAILED; resources that remain: " in r.err
    assert "PipelineDeployRole (" in r.err


# ---- the shared central stack ---------------------------------------------------------------


def test_two_concurrent_onboardings_both_land(slow_aws: CloudFormationDouble) -> None:
    deploy_central(TWO)
    results: dict[str, Run] = {}

    def go(profile: str, account: str) -> None:
        results[profile] = run_cli(*onboard_args(profile, account), "--yes")

    threads = [threading.Thread(target=go, args=a) for a in (("dev1", DEV1), ("dev2", DEV2))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    for profile in ("dev1", "dev2"):
        assert results[profile].code == 0, results[profile].err
    lists = central()
    assert lists.buckets[:2] == [TWO[0][0], TWO[1][0]]
    assert sorted(lists.buckets[2:]) == sorted([f"xacct-build-{DEV1}-{REGION}", f"xacct-build-{DEV2}-{REGION}"])
    assert lists.enabled


def test_a_console_edit_racing_our_change_set_is_kept(slow_aws: CloudFormationDouble) -> None:
    """Someone edits the lists by hand (no lease) while our change set is being made: executing
    ours fails as stale, the tool reads again, and both entries land."""
    deploy_central(TWO)
    third = fake_entry(3)

    def console_edit() -> None:
        values = stack_parameters("CrossAccountPrimary", "build")
        values.update(
            ReplicationBucketList=values["ReplicationBucketList"] + "," + third[0],
            ReplicationBucketStarArns=values["ReplicationBucketStarArns"] + "," + third[1],
            ReplicationCMKs=values["ReplicationCMKs"] + "," + third[2],
        )
        cfn("build").update_stack(
            StackName="CrossAccountPrimary",
            TemplateBody=(CFN / "CrossAccountPrimary.yaml").read_text(),
            Parameters=[{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()],
            Capabilities=["CAPABILITY_IAM"],
        )

    # The developer side runs first (no change set with --yes); the first change set for a
    # CrossAccountPrimary is then the central one.
    slow_aws.after_change_set("CrossAccountPrimary", console_edit)
    # Only the central update runs here: the developer side is ready.
    deploy_dev = run_cli(*onboard_args("dev3", DEV3), "--yes")
    assert deploy_dev.code == 0, deploy_dev.err
    t = central()
    assert third[0] in t.buckets
    assert f"xacct-build-{DEV3}-{REGION}" in t.buckets
    assert t.buckets[:2] == [TWO[0][0], TWO[1][0]]
    assert len(t.buckets) == len(set(t.buckets)) == 4
    assert "the change set was not executed by this call; reading again" in deploy_dev.err


def test_the_lease_is_released_after_a_failure(slow_aws: CloudFormationDouble) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    ssm = Gateway("build", REGION, "b").ssm
    assert ssm.get_parameters_by_path(Path="/xacct/locks")["Parameters"] == []


# ---- interruption ---------------------------------------------------------------------------


def test_ctrl_c_while_cloudformation_works_then_a_rerun_registers_once(
    slow_aws: CloudFormationDouble, tmp_path: Path
) -> None:
    deploy_central(TWO)
    env = {**os.environ, "NO_COLOR": "1", "XDG_CONFIG_HOME": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "onboard.py"), *onboard_args(), "--yes"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        stdin=subprocess.DEVNULL,
        env=env,
        text=True,
    )
    assert proc.stderr is not None
    seen = ""
    deadline = time.monotonic() + 60
    while "in progress" not in seen and time.monotonic() < deadline:
        seen += proc.stderr.readline()
    proc.send_signal(signal.SIGINT)
    _out, err = proc.communicate(timeout=60)
    err = seen + err
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted; CloudFormation is still working on dev:CrossAccountPrimary (create)" in err
    # What never started is named too, and the command that finishes it all.
    assert re.search(
        r"not started: dev:CrossAccountDeploy, dev:CrossAccountDeveloper,\s+build:CrossAccountPrimary", err
    )
    assert "run the same command again to finish: python onboard.py" in err
    settled("dev1")  # the double's operation finishes, as CloudFormation's would
    again = run_cli(*onboard_args(), "--yes")
    assert again.code == 0, again.err
    assert central().buckets.count(f"xacct-build-{DEV1}-{REGION}") == 1
    assert Gateway("build", REGION, "b").ssm.get_parameters_by_path(Path="/xacct/locks")["Parameters"] == []
    assert stack_outputs("CrossAccountDeveloper", "dev1")["ReplicationFunctionRoleArn"]
