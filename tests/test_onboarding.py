"""Onboard, remove and dry-run end to end on the emulator, through real named profiles."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    ROOT,
    cfn,
    deploy_central,
    fake_entry,
    full_lists,
    onboard_args,
    run_cli,
    session,
    stack,
    stack_outputs,
    stack_parameters,
)
from xacct.core import registry as reg
from xacct.sandbox.emulator import Emulator

READ_PREFIXES = ("Describe", "Get", "List", "Head")
CREDENTIAL_CALLS = {"AssumeRole", "GetCallerIdentity"}


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Every AWS operation the product makes, recorded from botocore's own event hooks."""
    seen: list[str] = []
    original = boto3.Session.__init__

    def init(self: boto3.Session, *args: Any, **kwargs: Any) -> None:
        original(self, *args, **kwargs)
        self.events.register("before-call", lambda model, **_: seen.append(model.name))

    monkeypatch.setattr(boto3.Session, "__init__", init)
    return seen


def writes(calls: list[str]) -> list[str]:
    return [c for c in calls if not c.startswith(READ_PREFIXES) and c not in CREDENTIAL_CALLS]


def central_lists() -> reg.Registry:
    return reg.parse(stack_parameters("CrossAccountPrimary", "build"))


def everything(profiles: tuple[str, ...] = ("build", "dev1", "dev2")) -> dict[str, object]:
    """A snapshot of every stack (status, parameters, outputs) in the accounts that matter."""
    snap: dict[str, object] = {}
    for p in profiles:
        for s in cfn(p).describe_stacks()["Stacks"]:
            snap[f"{p}:{s['StackName']}"] = (
                s["StackStatus"],
                sorted((x["ParameterKey"], x.get("ParameterValue")) for x in s.get("Parameters", [])),
            )
    return snap


TWO = [fake_entry(1), fake_entry(2)]


def test_onboarding_from_an_empty_developer_account(aws: Emulator) -> None:
    deploy_central(TWO)
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    for name in ("CrossAccountPrimary", "CrossAccountDeploy", "CrossAccountDeveloper"):
        assert stack(name, "dev1")["StackStatus"].endswith("_COMPLETE")  # type: ignore[index]
    t = central_lists()
    primary = stack_outputs("CrossAccountPrimary", "dev1")
    assert t.enabled
    assert t.buckets == [TWO[0][0], TWO[1][0], primary["BuildBucket"]]
    assert t.entries[2].cmk == primary["CMK"]
    assert t.entries[2].star_arn == f"arn:aws:s3:::{primary['BuildBucket']}/*"
    central_role = stack_outputs("CrossAccountPrimary", "build")["ReplicationRoleArn"]
    assert stack_parameters("CrossAccountDeveloper", "dev1")["ReplicationFunctionRoleArn"] == central_role
    dev_primary = stack_parameters("CrossAccountPrimary", "dev1")
    assert dev_primary["RootAccountArns"] == f"arn:aws:iam::{BUILD}:root"
    # The build bucket's one policy (the primary's) admits the central role; no deploy-ready step.
    assert dev_primary["ReplicationWriterRoleArn"] == central_role
    assert "Onboarded in" in r.out
    assert primary["BuildBucket"] in r.out
    # whom the sync started current is said, even when there was nothing to copy
    assert f"Started current: {primary['BuildBucket']}: the build bucket holds no artifact yet" in r.out
    # Every link of the replication path holds (the two earlier developers are fictitious:
    # their buckets do not exist, so they show as orphans).
    verify = run_cli(*onboard_args(), "--verify")
    assert "broken" not in verify.out, verify.out
    assert verify.out.count("ok ") == 6


def test_the_same_command_again_writes_nothing(aws: Emulator, calls: list[str]) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    before = everything()
    calls.clear()
    r = run_cli(*onboard_args(), "--yes")
    assert r.code == 0, r.err
    assert "Nothing to do" in r.out
    assert calls, "the recorder saw no call at all"
    assert writes(calls) == []
    assert everything() == before


def test_dry_run_changes_nothing_and_the_plan_is_exact(aws: Emulator, calls: list[str]) -> None:
    # Two developers registered by hand in the console, with spaces after the commas.
    deploy_central(
        raw={
            "EnableReplication": "true",
            "ReplicationBucketList": f"{TWO[0][0]}, {TWO[1][0]}",
            "ReplicationBucketStarArns": f"{TWO[0][1]}, {TWO[1][1]}",
            "ReplicationCMKs": f"{TWO[0][2]}, {TWO[1][2]}",
        }
    )
    before = everything()
    calls.clear()
    r = run_cli(*onboard_args(), "--dry-run", "--json")
    assert r.code == 0, r.err
    assert writes(calls) == []
    assert everything() == before
    plan = json.loads(r.out)
    new_bucket = f"xacct-build-{DEV1}-{REGION}"
    params = plan["central"]["parameters"]
    assert set(params) == set(reg.PARAMETERS)
    assert params["ReplicationBucketList"] == {
        "before": f"{TWO[0][0]}, {TWO[1][0]}",
        "after": f"{TWO[0][0]},{TWO[1][0]},{new_bucket}",
    }
    assert params["ReplicationBucketStarArns"]["after"] == f"{TWO[0][1]},{TWO[1][1]},arn:aws:s3:::{new_bucket}/*"
    pending = params["ReplicationCMKs"]["after"].split(",")[2]
    assert params["ReplicationCMKs"]["after"].split(",")[:2] == [TWO[0][2], TWO[1][2]]
    assert pending.startswith(f"arn:aws:kms:{REGION}:{DEV1}:key/<")
    assert "created" in pending
    assert params["EnableReplication"] == {"before": "true", "after": "true"}
    assert plan["action"] == "onboard"
    assert plan["central"]["account"] == BUILD
    assert plan["central"]["stack"] == "CrossAccountPrimary"
    assert plan["developer"] | {"stacks": None} == {
        "account": DEV1,
        "region": REGION,
        "bucket": new_bucket,
        "cmk": None,
        "stacks": None,
    }
    assert [(s["name"], s["action"]) for s in plan["developer"]["stacks"]] == [
        ("CrossAccountPrimary", "create"),
        ("CrossAccountDeploy", "create"),
        ("CrossAccountDeveloper", "create"),
    ]
    assert [e["status"] for e in plan["central"]["entries"]] == ["unchanged", "unchanged", "added"]


def test_dry_run_without_json_prints_the_plan_for_people(aws: Emulator) -> None:
    deploy_central(TWO)
    r = run_cli(*onboard_args(), "--dry-run")
    assert r.code == 0
    assert "+   3" in r.out
    assert "dry run: nothing was changed" in r.out


@pytest.mark.parametrize(
    ("setup", "args", "message"),
    [
        ("two", onboard_args("dev2", DEV1), "reaches account 333333333333, not the developer account 222222222222"),
        (
            "two",
            [*onboard_args()[:6], "--dev-account", BUILD, "--dev-region", REGION, "--dev-profile", "build"],
            "is the build account itself",
        ),
        ("none", onboard_args(), "no stack CrossAccountPrimary in the build account"),
        ("unequal", onboard_args(), "unequal lengths"),
        ("full", onboard_args(), "ReplicationMore01 to ReplicationMore10) would be full"),
        ("two", [*onboard_args(), "--build-account", "12345"], "12 digits"),
    ],
)
def test_refusals_exit_2_and_change_nothing(
    aws: Emulator, calls: list[str], setup: str, args: list[str], message: str
) -> None:
    if setup == "two":
        deploy_central(TWO)
    elif setup == "unequal":
        deploy_central(
            raw={
                "EnableReplication": "true",
                "ReplicationBucketList": f"{TWO[0][0]},{TWO[1][0]}",
                "ReplicationBucketStarArns": TWO[0][1],
                "ReplicationCMKs": TWO[0][2],
            }
        )
    elif setup == "full":
        deploy_central(raw=full_lists())
    before = everything()
    calls.clear()
    r = run_cli(*args, "--yes")
    assert r.code == 2, r.err
    assert message in r.err
    assert "Traceback" not in r.err
    assert len([line for line in r.err.splitlines() if line.startswith("error:")]) == 1
    assert writes(calls) == []
    assert everything() == before


def test_remove_takes_exactly_that_developer_out(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0
    dev1_bucket = stack_outputs("CrossAccountPrimary", "dev1")["BuildBucket"]
    dev2_bucket = stack_outputs("CrossAccountPrimary", "dev2")["BuildBucket"]
    assert central_lists().buckets == [TWO[0][0], TWO[1][0], dev1_bucket, dev2_bucket]
    r = run_cli(*onboard_args(), "--remove", "--yes")
    assert r.code == 0, r.err
    t = central_lists()
    assert t.buckets == [TWO[0][0], TWO[1][0], dev2_bucket]
    assert t.enabled
    assert stack("CrossAccountDeveloper", "dev1") is None
    assert stack("CrossAccountPrimary", "dev1") is not None  # their own pipeline stays
    assert "your own pipeline stacks stay" in r.out
    again = run_cli(*onboard_args(), "--remove", "--yes")
    assert again.code == 0
    assert "not registered" in again.out


def test_removing_the_last_developer_turns_replication_off(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert central_lists().enabled  # a fresh central stack: onboarding enables replication
    assert run_cli(*onboard_args(), "--remove", "--yes").code == 0
    assert {k: stack_parameters("CrossAccountPrimary", "build")[k] for k in reg.PARAMETERS} == {
        "EnableReplication": "false",
        "ReplicationBucketList": "",
        "ReplicationBucketStarArns": "",
        "ReplicationCMKs": "",
    }


def test_without_a_terminal_the_profiles_are_enough(aws: Emulator, monkeypatch: pytest.MonkeyPatch) -> None:
    """The CI recipe: accounts read from the profiles, regions from the profiles' config."""
    deploy_central(TWO)
    monkeypatch.delenv("AWS_DEFAULT_REGION")
    r = run_cli("--build-profile", "build", "--dev-profile", "dev1", "--yes")
    assert r.code == 0, r.err
    assert f"Onboarding developer account {DEV1} ({REGION}) onto build account {BUILD} ({REGION})" in r.out
    assert [e.bucket for e in central_lists().entries][-1] == f"xacct-build-{DEV1}-{REGION}"
    # The default credential chain (here AWS_PROFILE) answers for the side with no profile named.
    monkeypatch.setenv("AWS_PROFILE", "build")
    r = run_cli("--dev-profile", "dev2", "--yes")
    assert r.code == 0, r.err
    assert [e.bucket for e in central_lists().entries][-1] == f"xacct-build-{DEV2}-{REGION}"


def test_without_a_terminal_what_cannot_be_derived_is_refused_before_any_write(aws: Emulator) -> None:
    r = run_cli("--yes")
    assert r.code == 2
    assert "both accounts would be reached with the same default credentials" in r.err
    assert "--dev-profile" in r.err
    r = run_cli(*onboard_args())
    assert r.code == 2
    assert "--yes" in r.err
    r = run_cli(*onboard_args(dev_account=DEV2), "--yes")  # the account flag is a check
    assert r.code == 2
    assert f"profile 'dev1' reaches account {DEV1}, not the developer account {DEV2} you gave" in r.err
    r = run_cli("--build-profile", "build", "--dev-profile", "build", "--yes")
    assert r.code == 2
    assert f"the developer account {BUILD} is the build account itself" in r.err
    r = run_cli("--build-account", "123")  # a value that cannot be right comes first
    assert r.code == 2
    assert "'123'" in r.err
    assert "12 digits" in r.err
    assert stack("CrossAccountPrimary", "dev1") is None


def test_answers_are_saved_and_reused(aws: Emulator, tmp_path: Path) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    saved = (tmp_path / "xdg" / "xacct" / "answers.yaml").read_text()
    assert "dev_profile: dev1" in saved
    assert "aws_secret" not in saved.lower()
    assert BUILD not in saved  # as the docs promise: never account ids (each is read from its profile)
    assert DEV1 not in saved
    r = run_cli("--remove", "--yes")  # everything else from the saved answers
    assert r.code == 0, r.err
    assert len(central_lists().entries) == 2


def test_config_file_supplies_answers(aws: Emulator, tmp_path: Path) -> None:
    deploy_central(TWO)
    cfg = tmp_path / "answers.yaml"
    cfg.write_text(
        f"build_account: '{BUILD}'\nbuild_region: {REGION}\nbuild_profile: build\ndev_account: '{DEV1}'\ndev_region: {REGION}\ndev_profile: dev1\n"
    )
    r = run_cli("--config", str(cfg), "--dry-run", "--json")
    assert r.code == 0, r.err
    assert json.loads(r.out)["developer"]["account"] == DEV1
    cfg.write_text("build_acount: 1\n")
    bad = run_cli("--config", str(cfg), "--dry-run")
    assert bad.code == 2
    assert "unknown keys build_acount" in bad.err


def test_purge_removes_only_stacks_this_tool_created(aws: Emulator) -> None:
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 0, r.err
    for name in ("CrossAccountDeveloper", "CrossAccountDeploy", "CrossAccountPrimary"):
        assert stack(name, "dev1") is None
    assert central_lists().buckets == [TWO[0][0], TWO[1][0]]


def test_purge_leaves_a_stack_it_did_not_create(aws: Emulator) -> None:
    deploy_central(TWO)
    dev = cfn("dev1")
    dev.create_stack(
        StackName="CrossAccountPrimary",
        TemplateBody=(ROOT / "cfn" / "CrossAccountPrimary.yaml").read_text(),
        Parameters=[{"ParameterKey": "RootAccountArns", "ParameterValue": f"arn:aws:iam::{BUILD}:root"}],
        Capabilities=["CAPABILITY_IAM"],
    )
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 0, r.err
    assert "CrossAccountPrimary was not created by this tool" in r.out
    assert stack("CrossAccountPrimary", "dev1") is not None
    assert stack("CrossAccountDeploy", "dev1") is None


def test_purge_without_a_terminal_needs_yes_and_then_says_what_it_deletes(aws: Emulator) -> None:
    """The plan names every bucket with objects and how many; without a terminal nothing is
    asked: without --yes the run is refused before anything starts, with --yes it purges."""
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    bucket = stack_outputs("CrossAccountPrimary", "dev1")["BuildBucket"]
    session("dev1").client("s3").put_object(Bucket=bucket, Key="a.zip", Body=b"x")
    before = everything(("build", "dev1"))
    r = run_cli(*onboard_args(), "--remove", "--purge")
    assert r.code == 2
    assert "--yes" in r.err
    assert everything(("build", "dev1")) == before  # the developer stack too: nothing started
    r = run_cli(*onboard_args(), "--remove", "--purge", "--yes")
    assert r.code == 0, r.err
    assert f"purge: {bucket} holds 1 object versions, deleted with it" in r.out
    assert stack("CrossAccountPrimary", "dev1") is None


def test_remove_leaves_the_build_bucket_with_its_own_tls_only_policy(aws: Emulator) -> None:
    """CrossAccountDeveloper owned the bucket's one policy; after it goes, the bucket keeps the
    TLS-only rule its primary stack declares, and no grant for the central role."""
    deploy_central(TWO)
    assert run_cli(*onboard_args(), "--yes").code == 0
    bucket = stack_outputs("CrossAccountPrimary", "dev1")["BuildBucket"]
    assert run_cli(*onboard_args(), "--remove", "--yes").code == 0
    policy = json.loads(session("dev1").client("s3").get_bucket_policy(Bucket=bucket)["Policy"])
    assert [(st["Sid"], st["Effect"]) for st in policy["Statement"]] == [("TlsOnly", "Deny")]
    assert policy["Statement"][0]["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    assert policy["Statement"][0]["Resource"] == [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]
    # Without the central writer the stack is still the developer's: it grows no alert topic or alarms.
    made = {r["LogicalResourceId"] for r in cfn("dev1").list_stack_resources(StackName="CrossAccountPrimary")[
        "StackResourceSummaries"]}  # fmt: skip
    assert not made & {"Alerts", "DeliveryAlarm", "FunctionAlarm", "ReplicatorAlerts"}
    assert session("dev1").client("cloudwatch").describe_alarms()["MetricAlarms"] == []


def test_a_markdown_dry_run_holds_what_a_reviewer_approves(aws: Emulator) -> None:
    """For a pull request: the stacks' resource changes and the grants, as the review shows them."""
    deploy_central(TWO)
    r = run_cli(*onboard_args(), "--dry-run", "--markdown")
    assert r.code == 0, r.err
    assert "#### What CloudFormation will do" in r.out
    assert re.search(r"\| developer \d{12} \S+ \| CrossAccountPrimary \| Add \| ArtifactKey \| AWS::KMS::Key \|", r.out)
    assert "#### Permissions granted (+) and withdrawn (-)" in r.out
    granted = [line for line in r.out.splitlines() if line.startswith("| + |")]
    assert any("s3:PutObject" in line for line in granted)
    assert stack("CrossAccountPrimary", "dev1") is None  # a dry run
