"""--status and --verify on the emulator."""

from __future__ import annotations

import itertools
import json
from pathlib import Path

from tests.conftest import (
    BUILD,
    DEV1,
    DEV2,
    REGION,
    cfn,
    deploy_central,
    fake_entry,
    onboard_args,
    run_cli,
    session,
    stack_outputs,
    stack_parameters,
)
from xacct.sandbox.emulator import Emulator

BUILD_ONLY = ["--build-account", BUILD, "--build-region", REGION, "--build-profile", "build"]


def replace_bucket_policy_by_hand(profile: str, account: str, bucket: str) -> None:
    """What someone does in the console: a policy of their own, without the central role's grant."""
    statement = {
        "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"},
        "Action": "s3:GetObject",
        "Resource": f"arn:aws:s3:::{bucket}/*",
    }
    policy = json.dumps({"Version": "2012-10-17", "Statement": [statement]})
    session(profile).client("s3").put_bucket_policy(Bucket=bucket, Policy=policy)


def paragraph(text: str, start: str) -> str:
    """The logical line that begins with `start`, its wrapped continuation lines (indented deeper)
    joined back."""
    lines = text.splitlines()
    i = next(n for n, line in enumerate(lines) if line.lstrip().startswith(start))
    indent = len(lines[i]) - len(lines[i].lstrip())
    rest = itertools.takewhile(lambda line: len(line) - len(line.lstrip()) > indent, lines[i + 1 :])
    return " ".join(line.strip() for line in [lines[i], *rest])


def test_status_with_several_developers(aws: Emulator) -> None:
    entries = [fake_entry(n) for n in (1, 2, 3)]
    deploy_central(entries)
    r = run_cli(*BUILD_ONLY, "--status", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["replication"] is True
    assert [d["bucket"] for d in data["developers"]] == [e[0] for e in entries]
    assert [d["account"] for d in data["developers"]] == [e[2].split(":")[4] for e in entries]
    assert data["developers"][0]["region"] == REGION
    cap = data["capacity"]
    assert (cap["registered"], cap["fits"]) == (3, 613)  # 53 in the four lists, 56 in each of ten more
    assert cap["in_the_four_lists"] == 3
    assert {
        "what": "ReplicationCMKs",
        "used": len(",".join(e[2] for e in entries)),
        "limit": 4096,
        "unit": "bytes",
    } in (cap["limits"])
    people = run_cli(*BUILD_ONLY, "--status")
    assert "replication on" in people.out
    assert "3 registered, about 613 fit (610 more): 3 in the four lists" in people.out


def test_status_with_nobody_registered(aws: Emulator) -> None:
    deploy_central()
    r = run_cli(*BUILD_ONLY, "--status", "--json")
    assert r.code == 0, r.err
    data = json.loads(r.out)
    assert data["replication"] is False
    assert data["developers"] == []
    assert data["capacity"]["registered"] == 0


def test_verify_a_healthy_developer(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0
    r = run_cli(*onboard_args(), "--verify")
    assert r.code == 0, r.out + r.err
    assert "broken" not in r.out
    assert r.out.count("ok ") == 6
    assert "Every link holds." in r.out


def test_verify_json_for_a_scheduled_job(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--verify", "--json")
    assert r.code == 0, r.err
    report = json.loads(r.out)
    assert report["ok"] is True
    assert report["developer"] == {"account": DEV1, "region": REGION}
    assert report["links"]
    assert all(link["ok"] for link in report["links"])
    # Broken: replication switched off by hand. The report says which link, with its fix.
    cfn("build").update_stack(
        StackName="CrossAccountPrimary",
        UsePreviousTemplate=True,
        Parameters=[
            {"ParameterKey": k, "UsePreviousValue": True} if k != "EnableReplication" else
            {"ParameterKey": k, "ParameterValue": "false"}
            for k in stack_parameters("CrossAccountPrimary", "build")
        ],
        Capabilities=["CAPABILITY_IAM"],
    )  # fmt: skip
    r = run_cli(*onboard_args(), "--verify", "--json")
    assert r.code == 3
    report = json.loads(r.out)
    assert report["ok"] is False
    broken = [link for link in report["links"] if not link["ok"]]
    assert broken
    assert all(link["fix"] for link in broken)


def test_verify_after_the_bucket_policy_was_changed_by_hand(aws: Emulator) -> None:
    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    bucket = stack_outputs("CrossAccountPrimary", "dev1")["BuildBucket"]
    replace_bucket_policy_by_hand("dev1", DEV1, bucket)
    r = run_cli(*onboard_args(), "--verify")
    assert r.code == 3
    assert "broken bucket policy admits the central role" in r.out
    # CloudFormation restores a policy changed behind its back only when the resource changes:
    # removing withdraws the grant (an update), onboarding again restores it (another).
    fix = paragraph(r.out, "fix:")
    assert "python onboard.py --remove" in fix
    assert "then onboard again" in fix
    assert "ok     registered centrally" in r.out


def test_an_orphan_entry_is_reported_with_the_command_that_cleans_it(aws: Emulator) -> None:
    ghost = fake_entry(7)
    deploy_central([ghost])
    assert run_cli(*onboard_args(), "--yes").code == 0
    r = run_cli(*onboard_args(), "--verify")
    assert r.code == 3
    line = next(x for x in r.out.splitlines() if "--orphan" in x)
    assert f"orphan {ghost[0]}" in r.out
    command = line.split("fix: python onboard.py ", 1)[1].split()
    cleaned = run_cli(*command, "--yes")
    assert cleaned.code == 0, cleaned.err
    again = run_cli(*onboard_args(), "--verify")
    assert again.code == 0, again.out
    status = json.loads(run_cli(*BUILD_ONLY, "--status", "--json").out)
    assert [d["bucket"] for d in status["developers"]] == [f"xacct-build-{DEV1}-{REGION}"]


def test_verify_refuses_invalid_input(aws: Emulator) -> None:
    r = run_cli(*onboard_args("dev1", "123"), "--verify")
    assert r.code == 2


def test_verify_all_from_the_build_account_alone(aws: Emulator, tmp_path: Path) -> None:
    """Every registered developer, read through the reader role each developer account gives the
    build account; a scheduled job reads the JUnit report or the JSON."""
    import xml.etree.ElementTree as ET

    deploy_central()
    assert run_cli(*onboard_args(), "--yes").code == 0
    assert run_cli(*onboard_args("dev2", DEV2), "--yes").code == 0
    report = tmp_path / "verify.xml"
    r = run_cli("--verify", "--all", "--build-profile", "build", "--junit", str(report))
    assert r.code == 0, r.out + r.err
    assert "2 healthy" in r.out
    suite = ET.parse(report).getroot()
    assert (suite.get("tests"), suite.get("failures")) == ("2", "0")

    bucket = stack_outputs("CrossAccountPrimary", "dev2")["BuildBucket"]
    replace_bucket_policy_by_hand("dev2", DEV2, bucket)
    r = run_cli("--verify", "--all", "--build-profile", "build", "--junit", str(report))
    assert r.code == 3
    assert "1 healthy, 1 broken" in r.out
    failures = ET.parse(report).getroot().findall("./testcase/failure")
    assert len(failures) == 1
    assert f"broken: {bucket}" == failures[0].get("message")
    assert "bucket policy admits the central role" in (failures[0].text or "")
    r = run_cli("--verify", "--all", "--build-profile", "build", "--json")
    states = {d["account"]: d["state"] for d in json.loads(r.out)["developers"]}
    assert states == {DEV1: "healthy", DEV2: "broken"}
